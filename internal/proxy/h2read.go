package proxy

import "net"

// h2ReadBufferSize is the read buffer of a cleartext HTTP/2 connection.
const h2ReadBufferSize = 16 << 10

// h2Input is what the connection's frames are read from. Over TLS the
// frames are read from the tls.Conn directly: it decrypts a whole record
// into a buffer of its own, so a second buffer would only copy the bytes
// again, and an idle connection would hold 16 KiB for nothing while it
// waits. A cleartext connection reads through a buffer, as a bufio.Reader
// would, to take a burst of frames in one read.
type h2Input struct {
	nc   net.Conn
	buf  []byte // nil over TLS
	r, w int    // buf[r:w] is read and not yet taken
}

func newH2Input(nc net.Conn) h2Input {
	in := h2Input{nc: nc}
	if _, ok := nc.(tlsConn); !ok {
		in.buf = make([]byte, h2ReadBufferSize)
	}
	return in
}

func (in *h2Input) Read(p []byte) (int, error) {
	if in.r == in.w {
		if len(p) >= len(in.buf) {
			return in.nc.Read(p)
		}
		n, err := in.nc.Read(in.buf)
		in.r, in.w = 0, n
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, in.buf[in.r:in.w])
	in.r += n
	return n, nil
}

// buffered is how many bytes were read from the socket and not taken;
// over TLS, those the tls.Conn holds are not counted.
func (in *h2Input) buffered() int { return in.w - in.r }
