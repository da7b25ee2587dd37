package proxy

import (
	"bufio"
	"io"
	"net"
)

// h2ReadBufferSize is the read buffer of a cleartext HTTP/2 connection.
const h2ReadBufferSize = 16 << 10

// h2Input is what the connection's frames are read from. Over TLS the
// frames are read from the tls.Conn directly: it decrypts a whole record
// into a buffer of its own, so a second buffer would only copy the bytes
// again, and an idle connection would hold 16 KiB for nothing while it
// waits. A cleartext connection reads through a bufio.Reader, to take a
// burst of frames in one read.
type h2Input struct {
	io.Reader               // br, or the tls.Conn
	br        *bufio.Reader // nil over TLS
}

func newH2Input(nc net.Conn) h2Input {
	if _, ok := nc.(tlsConn); ok {
		return h2Input{Reader: nc}
	}
	br := bufio.NewReaderSize(nc, h2ReadBufferSize)
	return h2Input{Reader: br, br: br}
}

// buffered is how many bytes were read from the socket and not taken;
// over TLS, those the tls.Conn holds are not counted.
func (in *h2Input) buffered() int {
	if in.br == nil {
		return 0
	}
	return in.br.Buffered()
}
