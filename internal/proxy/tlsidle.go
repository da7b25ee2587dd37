package proxy

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Idle HTTPS keep-alive connections are parked in the idle poller as plain
// ones are, so that a client thinking between pages costs no goroutine.
// The poller watches the TCP socket, but crypto/tls buffers: the next
// request may already sit in the tls.Conn, decrypted or as a whole record,
// where the socket's readability will never announce it. So a TLS
// connection parks only after a read that could not wait found nothing:
// tls.Conn.Read returns buffered plaintext, decrypts a buffered record, and
// otherwise reads the socket through tlsSocket, which in that read reports
// an empty socket as a temporary timeout. crypto/tls keeps a timeout
// (a net.Error that is Temporary) out of its sticky error and keeps the
// bytes of a partial record for the next read, so nothing is lost: the rest
// of the record makes the socket readable and wakes the connection.
//
// HTTP/2 connections are not parked: net/http owns them (http2.go).

// tlsSocket is the TCP connection under a client's tls.Conn.
type tlsSocket struct {
	net.Conn
	raw    syscall.RawConn
	noWait bool // the next Reads must not wait for the socket
	p      []byte
	n      int
	err    error
	readFn func(fd uintptr) // readNow as a method value, made once
}

func newTLSSocket(nc net.Conn, raw syscall.RawConn) *tlsSocket {
	s := &tlsSocket{Conn: nc, raw: raw}
	s.readFn = s.readNow
	return s
}

// errSocketEmpty is what a read that must not wait returns when the socket
// has nothing: a net.Error that crypto/tls takes for a passing timeout.
var errSocketEmpty error = socketEmpty{}

type socketEmpty struct{}

func (socketEmpty) Error() string   { return "nothing to read without waiting" }
func (socketEmpty) Timeout() bool   { return true }
func (socketEmpty) Temporary() bool { return true }

func (s *tlsSocket) Read(p []byte) (int, error) {
	if !s.noWait {
		return s.Conn.Read(p)
	}
	s.p = p
	err := s.raw.Control(s.readFn)
	s.p = nil
	switch {
	case err != nil:
		return 0, err
	case s.err == syscall.EAGAIN:
		return 0, errSocketEmpty
	case s.err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", s.err)}
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

// readNow reads once without waiting; Control runs it outside the
// netpoller, so no read deadline applies.
func (s *tlsSocket) readNow(fd uintptr) {
	s.n, s.err = syscall.Read(int(fd), s.p)
	for s.err == syscall.EINTR {
		s.n, s.err = syscall.Read(int(fd), s.p)
	}
	if s.n < 0 {
		s.n = 0
	}
}

// readTLS reads the next decrypted bytes into a fresh pooled buffer, taken
// back when nothing came. With noWait it never waits: errSocketEmpty says
// that neither the tls.Conn nor the socket held a whole record.
func (c *clientConn) readTLS(noWait bool) error {
	buf := c.srv.readBufs.get()
	c.tls.noWait = noWait
	n, err := c.nc.Read(buf)
	c.tls.noWait = false
	if n > 0 {
		c.buf, c.start, c.end = buf, 0, n
		c.lastReadFull = n == len(buf)
		return nil
	}
	c.srv.readBufs.put(buf)
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// waitRequestTLS is waitRequest for a TLS connection over a socket.
func (c *clientConn) waitRequestTLS(timeout time.Duration) error {
	err := c.readTLS(true)
	if err != errSocketEmpty {
		return err
	}
	if c.park(timeout) {
		return errParked
	}
	c.setReadDeadline(time.Now().Add(timeout))
	return c.readTLS(false)
}

// waitHotTLS is waitHot's read for a TLS connection: a read through
// crypto/tls with the hot wait's deadline, which returns at once what the
// tls.Conn holds. When it times out, crypto/tls holds no whole record
// (else the read would have returned it), so the connection may park.
func (c *clientConn) waitHotTLS() (bool, error) {
	return c.hotWaitResult(c.readTLS(false))
}
