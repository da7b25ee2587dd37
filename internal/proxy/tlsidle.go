package proxy

import (
	"errors"
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
// HTTP/2 connections are not parked: their reader waits on them
// (h2conn.go).

// tlsSocket is the TCP connection under a client's tls.Conn.
type tlsSocket struct {
	net.Conn
	raw    syscall.RawConn
	noWait bool // the next Reads must not wait for the socket
	p      []byte
	n      int
	err    error
	readFn func(fd uintptr) // readNow as a method value, made once

	// A held response tail (tail.go) goes out encrypted inside the hot
	// wait's socket read: hold makes Write collect crypto/tls's records in
	// out (a pooled buffer waitHotTLS lends) instead of sending them, and
	// the next waiting Read sends them first (sendThenWait), then calls
	// idle.
	hold   bool
	out    []byte
	sent   int
	idle   func() bool // the clientConn's idleNow
	hotFn  func(fd uintptr) bool
	waited bool // sendThenWait has sent out and is waiting to read
	// sw writes crypto/tls's records as plain answers are written
	// (sockwriter.go): HTTP/2 frames, and answers not held as a tail.
	sw sockWriter
}

func newTLSSocket(nc net.Conn, raw syscall.RawConn, idle func() bool) *tlsSocket {
	s := &tlsSocket{Conn: nc, raw: raw, idle: idle}
	s.readFn = s.readNow
	s.hotFn = s.sendThenWait
	s.sw.reset(raw)
	return s
}

// errTLSTailUnsent is errTailUnsent for a TLS tail, a passing net.Error so
// that crypto/tls does not keep it as the connection's error.
var errTLSTailUnsent error = tlsTailUnsent{}

type tlsTailUnsent struct{}

func (tlsTailUnsent) Error() string   { return errTailUnsent.Error() }
func (tlsTailUnsent) Timeout() bool   { return true }
func (tlsTailUnsent) Temporary() bool { return true }

func (s *tlsSocket) Write(p []byte) (int, error) {
	if s.hold {
		s.out = append(s.out, p...)
		return len(p), nil
	}
	return s.sw.Write(p)
}

// sendThenWait is the raw read callback of a hot wait with a tail: it
// writes the held records, then waits for readability without a trial
// read, then reads.
func (s *tlsSocket) sendThenWait(fd uintptr) bool {
	if !s.waited {
		switch err := writeNow(int(fd), s.out, &s.sent); {
		case err == syscall.EAGAIN:
			s.n, s.err = 0, errTLSTailUnsent
			return true
		case err != nil:
			s.n, s.err = 0, err
			return true
		}
		s.out, s.sent, s.waited = nil, 0, true
		if !s.idle() {
			s.n, s.err = 0, net.ErrClosed
			return true
		}
		return false
	}
	s.readNow(fd)
	return s.err != syscall.EAGAIN
}

// flushOut sends what is left of held records the usual way.
func (s *tlsSocket) flushOut() error {
	_, err := s.Conn.Write(s.out[s.sent:])
	s.out, s.sent = nil, 0
	return err
}

// errSocketEmpty is what a read that must not wait returns when the socket
// has nothing: a net.Error that crypto/tls takes for a passing timeout.
var errSocketEmpty error = socketEmpty{}

type socketEmpty struct{}

func (socketEmpty) Error() string   { return "nothing to read without waiting" }
func (socketEmpty) Timeout() bool   { return true }
func (socketEmpty) Temporary() bool { return true }

func (s *tlsSocket) Read(p []byte) (int, error) {
	var err error
	s.p = p
	switch {
	case len(s.out) > 0 && !s.noWait:
		s.waited = false
		err = s.raw.Read(s.hotFn)
		if err == nil && s.err == errTLSTailUnsent {
			s.p = nil
			return 0, s.err
		}
	case !s.noWait:
		s.p = nil
		return s.Conn.Read(p)
	default:
		err = s.raw.Control(s.readFn)
	}
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
	s.n, s.err = nbRead(int(fd), s.p)
	for s.err == syscall.EINTR {
		s.n, s.err = nbRead(int(fd), s.p)
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
//
// A held tail is encrypted first, its records kept back in the socket
// wrapper, which sends them inside the read's wait (tail.go's reason, for
// crypto/tls's records).
func (c *clientConn) waitHotTLS() (bool, error) {
	if c.tail.buf == nil {
		return c.hotWaitResult(c.readTLS(false))
	}
	bp := c.srv.copyBufs.Get().(*[]byte) // far more than a tail's records
	defer func() { c.tls.out = nil; c.srv.copyBufs.Put(bp) }()
	c.tls.out, c.tls.hold = (*bp)[:0], true
	_, err := c.nc.Write(c.tail.buf[c.tail.sent:])
	c.tls.hold = false
	c.releaseTail()
	if err != nil {
		return false, clientWriteError{err}
	}
	err = c.readTLS(false)
	if len(c.tls.out) > 0 { // not sent inside the read: at once, or only in part
		c.armWrite()
		if werr := c.tls.flushOut(); werr != nil {
			return false, clientWriteError{werr}
		}
		if !c.idleNow() {
			return false, net.ErrClosed
		}
		if errors.Is(err, errTLSTailUnsent) {
			err = c.readTLS(false)
		}
	}
	return c.hotWaitResult(err)
}
