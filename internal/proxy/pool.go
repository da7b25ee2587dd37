package proxy

import (
	"bufio"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// upConn is one connection to an upstream peer with its read buffer.
type upConn struct {
	net.Conn
	br       *bufio.Reader
	src      upSource // what br reads from (stream.go)
	peer     *peer
	requests int       // requests served, for keepalive_requests
	idleAt   time.Time // when it was put in the pool
	// bodiless: its last answer had no body by the rules (HEAD, 204,
	// 304), which a peer may break by sending one after it; get looks
	// before reusing it.
	bodiless bool
	writeBy  lazyDeadline // the write deadline armed (armWrite)
	readBy   lazyDeadline // the read deadline armed (armRead)
	looker   sockPeek     // open's look at the socket
}

// armWrite arms the write deadline for a write that may take timeout from
// now (proxy_send_timeout). Re-arming is a timer operation, and a pooled
// connection carries many requests a second: a deadline armed at most
// timeout/16 earlier than wanted is kept.
func (uc *upConn) armWrite(now time.Time, timeout time.Duration) {
	want := now.Add(timeout)
	if uc.writeBy.move(want, timeout/16) {
		uc.SetWriteDeadline(want)
	}
}

// pool caches idle upstream connections of one group (upstream keepalive N,
// ngx_http_upstream_keepalive_module): at most max idle connections, the
// oldest closed first; one is reused only for the same peer.
type pool struct {
	max     int
	idle    time.Duration // keepalive_timeout
	maxReqs int           // keepalive_requests

	mu     sync.Mutex
	conns  []*upConn   // oldest first
	closed bool        // by shutdown or a reload; requests still running close their connections
	sweep  *time.Timer // armed while conns holds any: closes those idle past keepalive_timeout
}

func newPool(max int, idle time.Duration, maxReqs int) *pool {
	// nginx caches keepalive N connections per worker process, and
	// worker_processes auto runs one per CPU; one wisp process serves all
	// CPUs, so it caches N per CPU to hold what nginx holds.
	max *= runtime.GOMAXPROCS(0)
	return &pool{max: max, idle: idle, maxReqs: maxReqs}
}

// get returns an idle connection to p, or nil. With check, a connection
// is first looked at (a syscall): one its peer closed while it sat here
// is dropped, as nginx's keepalive close handler drops it. A request with
// a body needs that: sent on a closed connection, it could not be tried
// again, where a bodiless one is (attempt). A connection whose last
// answer was bodiless is looked at too: bytes a peer sent after it (a
// body for HEAD) would be taken for the next request's answer.
func (pl *pool) get(p *peer, now time.Time, check bool) *upConn {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i := len(pl.conns) - 1; i >= 0; i-- {
		c := pl.conns[i]
		if c.peer != p {
			continue
		}
		pl.conns = append(pl.conns[:i], pl.conns[i+1:]...)
		if now.Sub(c.idleAt) > pl.idle || ((check || c.bodiless) && !c.open()) {
			c.Close()
			continue
		}
		return c
	}
	return nil
}

// open reports whether an idle connection is still as it was left:
// nothing to read, no close. Over TLS the socket's bytes tell nothing
// (a close_notify is bytes), so it is taken as open.
func (uc *upConn) open() bool {
	if uc.src.raw == nil {
		return true
	}
	_, err := uc.looker.peek(uc.src.raw)
	return err == syscall.EAGAIN
}

// put offers a connection whose last exchange ended cleanly; it reports
// false (and the caller closes it) when it cannot be kept.
func (pl *pool) put(c *upConn, now time.Time) bool {
	if c.requests >= pl.maxReqs || c.br.Buffered() > 0 {
		return false
	}
	c.idleAt = now
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return false
	}
	if len(pl.conns) >= pl.max {
		pl.conns[0].Close()
		pl.conns = append(pl.conns[:0], pl.conns[1:]...)
	}
	pl.conns = append(pl.conns, c)
	if pl.sweep == nil {
		pl.sweep = time.AfterFunc(pl.idle, pl.expire)
	}
	return true
}

// expire closes the connections idle for keepalive_timeout, as nginx's
// timer on each cached connection does (get alone would leave them open
// on the peer until the next request), and re-arms for the oldest left.
// Being oldest first, the expired ones are a prefix.
func (pl *pool) expire() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return
	}
	now := time.Now()
	n := 0
	for n < len(pl.conns) && now.Sub(pl.conns[n].idleAt) >= pl.idle {
		pl.conns[n].Close()
		n++
	}
	pl.conns = append(pl.conns[:0], pl.conns[n:]...)
	if len(pl.conns) == 0 {
		pl.sweep = nil
		return
	}
	pl.sweep.Reset(pl.conns[0].idleAt.Add(pl.idle).Sub(now))
}

// close drops every idle connection and refuses new ones (shutdown, or
// the retired config of a reload).
func (pl *pool) close() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.closed = true
	if pl.sweep != nil {
		pl.sweep.Stop()
	}
	for _, c := range pl.conns {
		c.Close()
	}
	pl.conns = nil
}
