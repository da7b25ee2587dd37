//go:build linux

package proxy

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// idlePoller holds client connections that wait for their next request
// without a goroutine each. A goroutine, once its stack has grown while
// serving, costs 8 KiB or more for as long as it lives; nginx keeps an idle
// keep-alive connection in well under 1 KiB. So a connection with nothing
// to read is parked: its fd goes into an epoll set of our own (one-shot),
// its goroutine ends, and when the fd turns readable a new goroutine
// serves it. The epoll fd itself waits in Go's netpoller, so no thread is
// blocked and wake-ups cost what a normal read wake-up costs.
//
// Timeouts (keepalive_timeout, client_header_timeout before the first
// byte) are kept in one FIFO per distinct duration: every connection of a
// FIFO got the same timeout, so each FIFO is sorted by deadline and expiry
// only looks at heads. The epoll file's read deadline is armed for the
// earliest head, so the poller wakes only when something may expire.
type idlePoller struct {
	ep     *os.File
	raw    syscall.RawConn
	wake   func(*clientConn) // serve a connection that became readable
	expire func(*clientConn) // close a connection whose wait ran out
	done   chan struct{}

	mu     sync.Mutex
	byFD   []*clientConn // parked connections by fd
	queues []*idleQueue
	armed  time.Time // the epoll file's read deadline; zero when unarmed
	closed bool
}

// idleQueue is an intrusive FIFO of parked connections with one timeout.
type idleQueue struct {
	timeout    time.Duration
	head, tail *clientConn
}

// idleLink is what a clientConn carries for the poller.
type idleLink struct {
	fd         int32           // -1: not a pollable socket
	rc         syscall.RawConn // the socket's, also under TLS; nil when fd < 0
	registered bool            // added to the epoll set (later parks re-arm with MOD)
	parked     bool
	queue      *idleQueue
	prev, next *clientConn
	until      time.Time
}

func newIdlePoller(wake, expire func(*clientConn)) (*idlePoller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	// A non-blocking fd given to os.NewFile is registered with the
	// runtime's netpoller; an epoll fd polls readable while it has events.
	f := os.NewFile(uintptr(fd), "idle-epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &idlePoller{ep: f, raw: raw, wake: wake, expire: expire, done: make(chan struct{})}, nil
}

// park hands c to the poller until it is readable or has waited for
// timeout. It reports false when c cannot be parked (poller closed, server
// stopping, c not a socket or already closed); the caller then waits in
// its own goroutine.
func (p *idlePoller) park(c *clientConn, timeout time.Duration, stopping func() bool) bool {
	l := &c.idle
	until := time.Now().Add(timeout)
	if l.fd < 0 || l.rc == nil {
		return false
	}
	p.mu.Lock()
	if p.closed || stopping() {
		p.mu.Unlock()
		return false
	}
	if int(l.fd) >= len(p.byFD) {
		p.byFD = append(p.byFD, make([]*clientConn, int(l.fd)+1-len(p.byFD)+64)...)
	}
	p.byFD[l.fd] = c
	l.until = until
	l.parked = true
	// Waits that are not a configured timeout (the rest of a
	// client_header_timeout) would each make a queue of their own: whole
	// seconds keep the queues few, at the cost of expiring up to a second
	// late.
	p.queue(timeout.Round(time.Second)).push(c)
	if p.armed.IsZero() || until.Before(p.armed) {
		p.armed = until
		p.ep.SetReadDeadline(until)
	}
	op := syscall.EPOLL_CTL_MOD
	if !l.registered {
		op = syscall.EPOLL_CTL_ADD
	}
	var cerr error
	err := p.raw.Control(func(epfd uintptr) {
		// Control on the socket holds c's fd open, so a concurrent close
		// cannot let the number be reused before it is in the set.
		err := l.rc.Control(func(fd uintptr) {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollOneShot, Fd: int32(fd)}
			cerr = nbEpollCtl(int(epfd), op, int(fd), &ev)
		})
		if cerr == nil {
			cerr = err
		}
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.unlink(c)
		p.mu.Unlock()
		return false
	}
	l.registered = true
	p.mu.Unlock()
	return true
}

// epollOneShot is EPOLLONESHOT; the syscall package lacks the constant.
const epollOneShot = 1 << 30

// queue returns the FIFO for timeout d, creating it on first use. Timeouts
// are few (one per distinct keepalive_timeout and client_header_timeout),
// so a slice beats a map.
func (p *idlePoller) queue(d time.Duration) *idleQueue {
	for _, q := range p.queues {
		if q.timeout == d {
			return q
		}
	}
	q := &idleQueue{timeout: d}
	p.queues = append(p.queues, q)
	return q
}

func (q *idleQueue) push(c *clientConn) {
	c.idle.queue, c.idle.prev, c.idle.next = q, q.tail, nil
	if q.tail != nil {
		q.tail.idle.next = c
	} else {
		q.head = c
	}
	q.tail = c
}

// unlink removes a parked c from its FIFO and the fd table; p.mu held.
func (p *idlePoller) unlink(c *clientConn) {
	l := &c.idle
	q := l.queue
	if l.prev != nil {
		l.prev.idle.next = l.next
	} else {
		q.head = l.next
	}
	if l.next != nil {
		l.next.idle.prev = l.prev
	} else {
		q.tail = l.prev
	}
	l.prev, l.next, l.queue, l.parked = nil, nil, nil, false
	if int(l.fd) < len(p.byFD) && p.byFD[l.fd] == c {
		p.byFD[l.fd] = nil
	}
}

// run dispatches readable connections and expires idle ones until close.
func (p *idlePoller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	var batch []*clientConn
	for {
		var n int
		var werr error
		err := p.raw.Read(func(fd uintptr) bool {
			n, werr = nbEpollWait(int(fd), events)
			if werr == syscall.EINTR {
				n, werr = 0, nil
			}
			return n > 0 || werr != nil
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			p.sweep()
			continue
		case err != nil || werr != nil:
			return // closed
		}
		batch = batch[:0]
		p.mu.Lock()
		for _, ev := range events[:n] {
			if int(ev.Fd) >= len(p.byFD) {
				continue
			}
			// A stale event for an fd that was taken meanwhile finds nil.
			if c := p.byFD[ev.Fd]; c != nil {
				p.unlink(c)
				batch = append(batch, c)
			}
		}
		p.mu.Unlock()
		for i, c := range batch {
			p.wake(c)
			batch[i] = nil
		}
	}
}

// sweep closes the connections whose wait has run out and re-arms the
// deadline for the next one.
func (p *idlePoller) sweep() {
	now := time.Now()
	var expired []*clientConn
	p.mu.Lock()
	var next time.Time
	for _, q := range p.queues {
		for q.head != nil && !q.head.idle.until.After(now) {
			c := q.head
			p.unlink(c)
			expired = append(expired, c)
		}
		if q.head != nil && (next.IsZero() || q.head.idle.until.Before(next)) {
			next = q.head.idle.until
		}
	}
	p.armed = next
	p.ep.SetReadDeadline(next) // zero: no deadline
	p.mu.Unlock()
	for _, c := range expired {
		p.expire(c)
	}
}

// drainParked returns and unlinks every parked connection (shutdown).
func (p *idlePoller) drainParked() []*clientConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*clientConn
	for _, q := range p.queues {
		for q.head != nil {
			c := q.head
			p.unlink(c)
			out = append(out, c)
		}
	}
	return out
}

// close stops run and refuses further parks; parked connections must have
// been drained first.
func (p *idlePoller) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ep.Close()
	<-p.done
}
