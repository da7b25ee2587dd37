package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// upSource is what an upstream connection's bufio.Reader reads from.
// While a response body is relayed, a read that finds nothing to read
// first runs onBlock, which flushes what the client writer holds: bytes
// are never held back while waiting on the upstream, so chunked responses
// and server-sent events reach the client as they come (proxy_buffering
// on or off, X-Accel-Buffering or not), and a body that is all there is
// still sent in as few writes as fit the buffer.
type upSource struct {
	conn    net.Conn
	raw     syscall.RawConn // nil when conn is not a socket (TLS)
	onBlock func() error    // nil outside body relays: plain reads
	readFn  func(uintptr) bool
	unsent  []byte             // a request head the next Read sends first (forward.go)
	sendFn  func(uintptr) bool // sendRead, made once

	p        []byte
	n        int
	err      error
	blockErr error

	// recv and sent count the bytes of the try under way, for
	// $upstream_bytes_received and $upstream_bytes_sent (attempt zeroes
	// them).
	recv, sent int64
}

func (s *upSource) init(nc net.Conn) {
	s.conn = nc
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
			s.readFn = s.rawRead
		}
	}
}

func (s *upSource) Read(p []byte) (int, error) {
	n, err := s.read(p)
	s.recv += int64(n)
	return n, err
}

func (s *upSource) read(p []byte) (int, error) {
	if s.unsent != nil {
		return s.sendThenRead(p)
	}
	if s.onBlock == nil {
		return s.conn.Read(p)
	}
	if s.raw == nil {
		// No way to know whether the read would block: flush first.
		if err := s.onBlock(); err != nil {
			return 0, err
		}
		return s.conn.Read(p)
	}
	s.p, s.n, s.err, s.blockErr = p, 0, nil, nil
	err := s.raw.Read(s.readFn)
	s.p = nil
	switch {
	case err != nil:
		return 0, err
	case s.blockErr != nil:
		return 0, s.blockErr
	case s.err != nil:
		return 0, s.err
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

func (s *upSource) rawRead(fd uintptr) bool {
	n, err := nbRead(int(fd), s.p)
	for err == syscall.EINTR {
		n, err = nbRead(int(fd), s.p)
	}
	if err == syscall.EAGAIN {
		// Returning false waits for readability; bytes that arrive while
		// onBlock writes to the client mark the fd ready, so none is lost.
		if s.blockErr = s.onBlock(); s.blockErr != nil {
			return true
		}
		return false
	}
	s.n, s.err = max(n, 0), err
	return true
}

// flushClient sends what bw holds; it is the onBlock of a body relay.
func (c *clientConn) flushClient(bw *bufio.Writer) error {
	if bw.Buffered() == 0 {
		return nil
	}
	c.armWrite()
	if err := bw.Flush(); err != nil {
		return clientWriteError{err}
	}
	return nil
}

// upgradeRequested reports whether a 101 answer switches the connection to
// a tunnel: nginx does so only when the client asked with Upgrade.
func (r *request) upgradeRequested() bool {
	_, ok := r.headerValue([]byte("Upgrade"))
	return ok
}

// tunnel relays both ways after a 101 response (WebSocket and other
// upgrades) until either side closes or stays silent for
// proxy_read_timeout; the head is in bw. Bytes the client sent after its
// request head and bytes the upstream sent after its response head go
// first. Neither connection is reused afterwards.
func (c *clientConn) tunnel(bw *bufio.Writer, uc *upConn, h *proxyHandler, ec *evalCtx) {
	uc.src.onBlock = nil
	if n := uc.br.Buffered(); n > 0 {
		b, _ := uc.br.Peek(n)
		bw.Write(b)
		uc.br.Discard(n)
	}
	if err := c.flushClient(bw); err != nil {
		c.srv.closeUpstream(uc)
		return
	}
	var early []byte
	if c.bodyPos < c.end {
		early = c.buf[c.bodyPos:c.end]
		c.bodyPos = c.end
	}
	up := make(chan error, 1)
	go func() {
		up <- pump(uc.Conn, early, c.nc, h.read, c.srv)
		// The client is done sending: the upstream reads EOF.
		closeWrite(uc.Conn)
	}()
	err := pump(c.nc, nil, uc.Conn, h.read, c.srv)
	// The upstream closed, failed or went silent: that ends the tunnel, as
	// in nginx; the other direction is stopped where it waits.
	closeWrite(c.nc)
	c.nc.SetReadDeadline(time.Now())
	<-up
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.srv.log.Error("upstream timed out (110: Connection timed out) while proxying upgraded connection", c.logCtxPeer(ec, uc.peer)...)
	}
	c.srv.closeUpstream(uc)
}

// pump copies src to dst (first goes before anything is read) until EOF,
// an error, or timeout without a byte from src.
func pump(dst net.Conn, first []byte, src net.Conn, timeout time.Duration, s *Server) error {
	if len(first) > 0 {
		dst.SetWriteDeadline(time.Now().Add(sendTimeout))
		if _, err := dst.Write(first); err != nil {
			return err
		}
	}
	bp := s.copyBufs.Get().(*[]byte)
	defer s.copyBufs.Put(bp)
	buf := *bp
	for {
		src.SetReadDeadline(time.Now().Add(timeout))
		n, rerr := src.Read(buf)
		if n > 0 {
			dst.SetWriteDeadline(time.Now().Add(sendTimeout))
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// closeWrite half-closes a socket so its peer reads EOF; other conns are
// closed.
func closeWrite(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	nc.Close()
}

// goneCheck is how often a request waiting on its upstream looks at
// whether the client is still there.
const goneCheck = time.Second

var errClientGone = errors.New("client prematurely closed connection")

// clientGone reports whether the client closed its side (or reset): a
// peek finds EOF or an error. Bytes of a pipelined request are not taken.
func (c *clientConn) clientGone() bool {
	if c.raw == nil {
		return streamGone(c.nc) // an HTTP/2 stream the client reset (h2stream.go)
	}
	n, err := c.looker.peek(c.raw)
	return (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EINTR)
}

// sockPeek looks at whether a socket has a byte to read, without taking
// it or waiting: n 0 with no error is the peer's close, EAGAIN nothing
// yet. Its raw.Control callback is a method value made on the first look
// and kept with the connection, so a look allocates nothing (a closure
// over the results would be a few allocations each time).
type sockPeek struct {
	fn  func(fd uintptr)
	n   int
	err error
	b   [1]byte
}

func (p *sockPeek) peek(raw syscall.RawConn) (int, error) {
	if p.fn == nil {
		p.fn = p.recv
	}
	if err := raw.Control(p.fn); err != nil {
		return 0, err
	}
	return p.n, p.err
}

func (p *sockPeek) recv(fd uintptr) {
	p.n, p.err = nbPeek(int(fd), p.b[:])
}

// clientReadError is a failure reading the request body from the client.
type clientReadError struct{ err error }

func (e clientReadError) Error() string { return "client body: " + e.err.Error() }

func (e clientReadError) Unwrap() error { return e.err }

// clientFailure words a client-side failure as nginx logs it.
func clientFailure(err error, while string) *attemptError {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &attemptError{client: true, timeout: true, msg: "client timed out (110: Connection timed out) " + while}
	}
	return &attemptError{client: true, msg: "client prematurely closed connection " + while}
}
