package proxy

import (
	"net"
	"sync"
	"time"
)

// peer is one server of an upstream group.
type peer struct {
	name             string        // as nginx prints it: "unix:/x.sock", "127.0.0.1:2368"
	network, address string        // for net.Dial
	unixAddr         *net.UnixAddr // resolved once for unix peers
	weight           int
	maxFails         int
	failTimeout      int64 // seconds
	down, backup     bool

	// Mutable state, guarded by the group's mutex (multi-peer groups only).
	effWeight, curWeight int
	fails                int
	accessed, checked    int64 // unix seconds
}

// peerFilter decides which peers a request may still use right now.
type peerFilter struct {
	now   int64
	tried []*peer
}

func (f *peerFilter) usable(p *peer) bool {
	if p.down {
		return false
	}
	for _, t := range f.tried {
		if t == p {
			return false
		}
	}
	return !(p.maxFails > 0 && p.fails >= p.maxFails && f.now-p.checked <= p.failTimeout)
}

// upstream is one group: an upstream{} block or the implicit group of a
// proxy_pass address.
type upstream struct {
	name      string
	peers     []*peer // primary, config order
	backups   []*peer
	policy    balancer
	keepalive int // idle connections cached per group (upstream keepalive N)
	pool      *pool

	mu sync.Mutex
}

func newUpstream(name string) *upstream {
	return &upstream{name: name, policy: roundRobin{}}
}

// single reports nginx's special case (§5.5): one primary and no backup
// means no failure accounting and no retries.
func (u *upstream) single() bool { return len(u.peers) == 1 && len(u.backups) == 0 }

// tries is how many peers one request may attempt.
func (u *upstream) tries() int {
	if u.single() {
		return 1
	}
	n := 0
	for _, p := range u.peers {
		if !p.down {
			n++
		}
	}
	for _, p := range u.backups {
		if !p.down {
			n++
		}
	}
	return n
}

// get returns the next peer for a request that already tried f.tried, or
// nil when no peer is live ("no live upstreams").
func (u *upstream) get(f *peerFilter) *peer {
	if u.single() {
		if p := u.peers[0]; !p.down {
			return p
		}
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.policy.pick(u.peers, f)
	if p == nil && len(u.backups) > 0 {
		p = u.policy.pick(u.backups, f)
	}
	if p == nil {
		return nil
	}
	if f.now-p.checked > p.failTimeout {
		p.checked = f.now
	}
	return p
}

// free records the outcome of one attempt on p (§5.4). It reports whether
// this failure took the peer out of rotation, which nginx logs.
func (u *upstream) free(p *peer, failed bool, now time.Time) (disabled bool) {
	if u.single() {
		return false
	}
	sec := now.Unix()
	u.mu.Lock()
	defer u.mu.Unlock()
	if !failed {
		if p.accessed < p.checked {
			p.fails = 0
		}
		return false
	}
	p.fails++
	p.accessed, p.checked = sec, sec
	if p.maxFails > 0 {
		p.effWeight -= p.weight / p.maxFails
		if p.effWeight < 0 {
			p.effWeight = 0
		}
		return p.fails >= p.maxFails
	}
	return false
}
