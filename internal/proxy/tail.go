package proxy

import (
	"bufio"
	"errors"
	"net"
	"syscall"
)

// A keep-alive response's last bytes are written inside the read that
// waits for the next request (waitHot), not before it. Go's poller forgets
// a socket's readiness when a read begins, so a wait begun after the write
// must first try a read, which fails with EAGAIN: the next request cannot
// have come while its answer was not out. Written inside the read, after
// that reset, the answer cannot be answered before the wait is armed, and
// the wait needs no trial read: a syscall less per request, as in nginx,
// which knows readiness from its own epoll.
//
// Bytes a client sent early, before its last answer (pipelining), lost
// their readiness at that reset; the hot wait would run out (hotWait) and
// the idle poller, whose epoll_ctl finds them at once, would serve them,
// late. So a connection that has pipelined, and one whose last read filled
// the buffer (more may be waiting), do not hold their tail.
type tailWrite struct {
	buf  []byte // a pooled readBufSize buffer while bytes are held, else nil
	sent int    // how much of buf went out
}

// Write takes the bytes bw flushes into the held tail.
func (t *tailWrite) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// errTailUnsent is how the hot wait's read callback says the held tail
// did not all go out at once: the caller writes the rest, then waits.
var errTailUnsent = errors.New("response tail not sent at once")

// holdTail takes what bw holds as the response's last bytes, for waitHot
// to write, when the connection goes on to wait there with no byte of a
// next request buffered or possibly unread. wire is bw's counting writer:
// the held bytes count as sent. It reports whether it took them; if not,
// the caller flushes bw itself.
func (c *clientConn) holdTail(bw *bufio.Writer, wire *countingWriter) bool {
	if c.raw == nil && c.tls == nil || c.srv.idle == nil || c.ka.timeout <= c.srv.hotWait ||
		c.pipelined || c.lastReadFull || c.req.hasBody() || c.bodyPos != c.end ||
		bw.Buffered() > readBufSize || c.tail.buf != nil {
		return false
	}
	c.tail.buf = c.srv.readBufs.get()[:0]
	w := wire.w
	wire.w = &c.tail
	err := bw.Flush() // cannot fail: tailWrite takes everything
	wire.w = w
	return err == nil
}

// hotRead is waitHot's read callback: it first writes a held tail and
// then waits for readability without trying a read.
func (c *clientConn) hotRead(fd uintptr) bool {
	if c.tail.buf == nil {
		return c.rawRead(fd)
	}
	switch err := writeNow(int(fd), c.tail.buf, &c.tail.sent); {
	case err == syscall.EAGAIN:
		c.rawN, c.rawErr = 0, errTailUnsent
		return true
	case err != nil:
		c.releaseTail()
		c.rawN, c.rawErr = 0, clientWriteError{err}
		return true
	}
	c.releaseTail()
	if !c.idleNow() {
		c.rawN, c.rawErr = 0, net.ErrClosed
		return true
	}
	return false
}

// flushTail writes a held tail the usual way, with send_timeout: after a
// partial write in hotRead, and whenever the connection does not go on to
// the hot wait (it closes, has a request buffered, or parks).
func (c *clientConn) flushTail() error {
	if c.tail.buf == nil {
		return nil
	}
	c.armWrite()
	_, err := c.wr.Write(c.tail.buf[c.tail.sent:])
	c.releaseTail()
	if err != nil {
		return clientWriteError{err}
	}
	return nil
}

// flushIdle is flushTail for a connection that then waits for its next
// request: it becomes idle (idleNow), or net.ErrClosed says it must close.
func (c *clientConn) flushIdle() error {
	if c.tail.buf == nil {
		return nil
	}
	if err := c.flushTail(); err != nil {
		return err
	}
	if !c.idleNow() {
		return net.ErrClosed
	}
	return nil
}

// idleNow marks the connection as between requests, where a shutdown may
// close it under its feet, and reports whether it may wait for another.
// The order (active cleared, then stopping read) pairs with shutdown's
// (stopping set, then active read): one of the two sees the other.
func (c *clientConn) idleNow() bool {
	c.active.Store(false)
	return !c.closing()
}

func (c *clientConn) releaseTail() {
	c.srv.readBufs.put(c.tail.buf)
	c.tail = tailWrite{}
}

// writeNow writes buf[*sent:] to fd without waiting, moving *sent on; it
// returns EAGAIN when the socket's buffer filled first.
func writeNow(fd int, buf []byte, sent *int) error {
	for *sent < len(buf) {
		n, err := nbWrite(fd, buf[*sent:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return err
		}
		*sent += n
	}
	return nil
}
