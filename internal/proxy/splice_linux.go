//go:build linux

package proxy

import (
	"bufio"
	"errors"
	"net"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked of each splice pipe. One fill takes what
// the upstream socket holds (a unix peer's send buffer is about 200 KiB),
// so the upstream is drained in one call and can go on writing while the
// client is fed.
const pipeSize = 256 << 10

// clientUnsentLimit is TCP_NOTSENT_LOWAT for a client socket that carries
// a large body: the kernel keeps at most about this much unsent data
// queued for it and wakes the relay to add more. Without it a fast
// producer fills the socket's whole (autotuned, megabytes) send buffer;
// the data then leaves in small pieces, one per window update, sent from
// the receiver's ACK processing, and a slow client pins that memory.
const clientUnsentLimit = 32 << 10

// canSplice reports whether the rest of a body, n bytes, may go from the
// upstream socket to the client with splice(2) through a pooled pipe, so
// that the bytes never enter user space: a large body, a plain TCP client
// and a unix or TCP upstream.
func (c *clientConn) canSplice(uc *upConn, n int64) bool {
	if n < largeBody || c.raw == nil || uc.src.raw == nil {
		return false
	}
	if _, ok := c.nc.(*net.TCPConn); !ok {
		return false
	}
	switch uc.Conn.(type) {
	case *net.UnixConn, *net.TCPConn:
		return true
	}
	return false
}

// limitUnsent caps the unsent data the kernel queues for the client
// (clientUnsentLimit); it is set when a spliced body starts and stays for
// the connection's life. (The copy path leaves the queue alone: there the
// cap moved CPU from the client to wisp without saving any: 1 MiB chunked
// bodies, wrk 966-1,020 -> 842-922 us per request, wisp 1,042-1,153 ->
// 1,188-1,199.)
func (c *clientConn) limitUnsent() {
	if c.raw == nil || c.unsentCapped {
		return
	}
	c.unsentCapped = true
	if _, ok := c.nc.(*net.TCPConn); !ok {
		return
	}
	c.raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, clientUnsentLimit)
	})
}

// trySplice sends the rest of a plain body of known length (lr) with
// splice(2) when both sockets allow it: first what uc.br holds, through
// bw, then the rest straight from the socket. done is false when it did
// nothing and the body is still to be copied.
func (c *clientConn) trySplice(bw *bufio.Writer, uc *upConn, lr *limitedReader, h *proxyHandler) (done bool, err error) {
	buffered := min(int64(uc.br.Buffered()), lr.n)
	if !c.canSplice(uc, lr.n-buffered) {
		return false, nil
	}
	p, err := c.srv.pipes.get()
	if err != nil {
		return false, nil // out of descriptors: copy instead
	}
	defer c.srv.pipes.put(p)
	b, _ := uc.br.Peek(int(buffered))
	bw.Write(b)
	uc.br.Discard(int(buffered))
	if err := c.flushClient(bw); err != nil {
		return true, err
	}
	n := lr.n - buffered
	lr.n = 0
	return true, c.spliceBody(p, uc, n, h)
}

// spliceBody moves n body bytes from the upstream socket to the client
// through p: the pipe takes what the upstream has, then is emptied into
// the client, and either side is waited for only when there is nothing
// else to do. proxy_read_timeout and send_timeout count from the last
// progress (re-armed at most every 1/16 of the shorter one, not per call).
func (c *clientConn) spliceBody(p *splicePipe, uc *upConn, n int64, h *proxyHandler) error {
	c.limitUnsent()
	p.up, p.down = uc.Conn, c.nc
	p.readTimeout, p.sendTimeout = h.read, c.client.sendTimeout()
	p.rearm = min(p.readTimeout, p.sendTimeout) / 16
	p.arm(time.Now())
	for n > 0 || p.held > 0 {
		if n > 0 && p.held < p.size {
			// Wait for the upstream only when there is nothing to send.
			p.want, p.wait = int(min(n, int64(p.size-p.held))), p.held == 0
			if err := uc.src.raw.Read(p.fill); err != nil {
				return ioFailure(err, "while reading upstream").asError()
			}
			if p.err != nil {
				return ioFailure(p.err, "while reading upstream").asError()
			}
			if p.eof {
				return errors.New("upstream prematurely closed connection while reading upstream")
			}
			n -= int64(p.moved)
			uc.src.recv += int64(p.moved)
		}
		if p.held > 0 {
			if err := c.raw.Write(p.drain); err != nil {
				return clientWriteError{err}
			}
			if p.err != nil {
				return clientWriteError{p.err}
			}
		}
	}
	return nil
}

// splicePipe is a pipe and the state of the body being spliced through
// it. fill and drain are its methods as values, made once, so that a
// splice allocates nothing.
type splicePipe struct {
	r, w    int
	size    int // capacity
	held    int // bytes in the pipe
	cleanup runtime.Cleanup

	fill, drain func(fd uintptr) bool
	want        int  // fill: at most this much
	wait        bool // fill: wait for readability when there is nothing
	moved       int
	eof         bool
	err         error

	up, down                 net.Conn
	readTimeout, sendTimeout time.Duration
	rearm                    time.Duration
	armed                    time.Time
}

// arm sets both sockets' deadlines from now.
func (p *splicePipe) arm(now time.Time) {
	p.up.SetReadDeadline(now.Add(p.readTimeout))
	p.down.SetWriteDeadline(now.Add(p.sendTimeout))
	p.armed = now
}

// progressed re-arms the deadlines after bytes moved, unless that was
// done a moment ago. The callbacks call it: a wait inside raw.Read or
// raw.Write can follow progress made in the same call.
func (p *splicePipe) progressed() {
	if now := time.Now(); now.Sub(p.armed) >= p.rearm {
		p.arm(now)
	}
}

func newSplicePipe() (*splicePipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	// F_SETPIPE_SZ fails past fs.pipe-max-size or the user's pipe page
	// quota; the pipe then keeps its default 64 KiB, which still works.
	size, err := unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	if err != nil {
		size, err = unix.FcntlInt(uintptr(fds[0]), unix.F_GETPIPE_SZ, 0)
	}
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	p := &splicePipe{r: fds[0], w: fds[1], size: size}
	p.fill, p.drain = p.fillFrom, p.drainTo
	// A pipe the pool drops is closed when it is collected.
	p.cleanup = runtime.AddCleanup(p, closePipe, fds)
	return p, nil
}

func closePipe(fds [2]int) {
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// fillFrom splices what the upstream socket holds into the pipe, once.
func (p *splicePipe) fillFrom(fd uintptr) bool {
	p.moved, p.eof, p.err = 0, false, nil
	n, err := nbSplice(int(fd), p.w, p.want)
	for err == unix.EINTR {
		n, err = nbSplice(int(fd), p.w, p.want)
	}
	switch {
	case err == unix.EAGAIN:
		return !p.wait
	case err != nil:
		p.err = err
	case n == 0:
		p.eof = true
	default:
		p.moved = int(n)
		p.held += int(n)
		p.progressed()
	}
	return true
}

// drainTo splices the pipe's contents into the client until it is empty;
// a short splice means the socket is full, so it waits for room.
func (p *splicePipe) drainTo(fd uintptr) bool {
	p.err = nil
	for p.held > 0 {
		n, err := nbSplice(p.r, int(fd), p.held)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		case err != nil:
			p.err = err
			return true
		}
		p.held -= int(n)
		p.progressed()
		if p.held > 0 {
			return false
		}
	}
	return true
}

// pipePool keeps splice pipes between bodies; only pipes left empty go
// back. Idle connections hold none.
type pipePool struct{ pool sync.Pool }

func (pp *pipePool) get() (*splicePipe, error) {
	if p, ok := pp.pool.Get().(*splicePipe); ok {
		return p, nil
	}
	return newSplicePipe()
}

func (pp *pipePool) put(p *splicePipe) {
	p.err, p.up, p.down = nil, nil, nil
	if p.held != 0 {
		// Bytes of a failed body are still in it.
		p.cleanup.Stop()
		closePipe([2]int{p.r, p.w})
		return
	}
	pp.pool.Put(p)
}
