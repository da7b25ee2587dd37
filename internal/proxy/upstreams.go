package proxy

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"wisp/internal/ngxconf"
)

// Upstream groups as nginx 1.22 has them (nginx-semantics.md §5):
//
//	upstream NAME {
//	    [least_conn; | ip_hash; | hash KEY [consistent]; | random [two [least_conn]];]
//	    server unix:/path|host[:port] [weight=N] [max_fails=N] [fail_timeout=T]
//	                                  [max_conns=N] [backup] [down];
//	    [keepalive N;] [keepalive_timeout T;] [keepalive_requests N;] [zone NAME [SIZE];]
//	}
//
// with proxy_next_upstream, _tries and _timeout in nextupstream.go. Where
// wisp departs: one process means counters are always shared, as nginx's
// are only with zone (which wisp accepts and needs not); a request body
// is streamed to the first peer while it is recorded for replay (memory,
// then a temporary file: nextupstream.go), where nginx reads it whole
// first; unchanged groups keep their state over a reload (carryOver),
// which nginx does only with zone.

// peer is one server of an upstream group.
type peer struct {
	name             string        // as nginx prints it: "unix:/x.sock", "127.0.0.1:2368"
	server           string        // the server directive's address as written (ketama hashes it)
	network, address string        // for net.Dial
	unixAddr         *net.UnixAddr // resolved once for unix peers
	weight           int
	maxFails         int
	failTimeout      int64 // seconds
	maxConns         int   // 0: unlimited
	down, backup     bool

	// Mutable state, guarded by the group's mutex (multi-peer groups, or
	// any group with max_conns).
	effWeight, curWeight int
	fails                int
	accessed, checked    int64 // unix seconds
	conns                int   // requests in flight on this peer
}

// peerFilter carries one request's view of its group: when it runs, which
// peers it has tried, and the balancer's per-request state, which nginx
// keeps across the retries of one request.
type peerFilter struct {
	now   int64
	tried []*peer
	// key is the hash KEY value, or for ip_hash the client's address bytes.
	key []byte
	// Running state of the hash balancers (ip_hash, hash, hash
	// consistent): the hash or ring position, the rehash count and the
	// number of failed lookups before falling back to round robin.
	hash      uint32
	rehash    int
	hashTries int
	hashReady bool
}

func (f *peerFilter) isTried(p *peer) bool {
	for _, t := range f.tried {
		if t == p {
			return true
		}
	}
	return false
}

// usable is every balancer's test (ngx_http_upstream_get_peer): not tried
// by this request, not down, not inside its fail window, not at max_conns.
func (f *peerFilter) usable(p *peer) bool {
	if p.down || f.isTried(p) {
		return false
	}
	if p.maxFails > 0 && p.fails >= p.maxFails && f.now-p.checked <= p.failTimeout {
		return false
	}
	return p.maxConns == 0 || p.conns < p.maxConns
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
	// sig describes everything that shapes the peers' state; a reload
	// keeps the state of a group whose sig did not change (carryOver).
	sig string

	// mu guards the peers' mutable state. It is a pointer because a
	// reload may hand the peers, and so their lock, to the next config.
	mu *sync.Mutex
}

func newUpstream(name string) *upstream {
	return &upstream{name: name, policy: roundRobin{}, mu: new(sync.Mutex)}
}

// single reports nginx's special case (§5.5): one primary and no backup
// means no failure accounting and no retries.
func (u *upstream) single() bool { return len(u.peers) == 1 && len(u.backups) == 0 }

// tries is how many peers one request may attempt: every peer not marked
// down, backups included.
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
// nil when no peer is live ("no live upstreams"). Every peer returned must
// be given back with free.
func (u *upstream) get(f *peerFilter) *peer {
	if u.single() {
		p := u.peers[0]
		if p.down {
			return nil
		}
		if p.maxConns == 0 {
			return p // the common case: no state at all, no lock
		}
		u.mu.Lock()
		defer u.mu.Unlock()
		if p.conns >= p.maxConns {
			return nil
		}
		p.conns++
		return p
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	p := pick(u.policy, u.peers, f)
	if p == nil && len(u.backups) > 0 {
		// nginx resets the tried marks for the backup set; backups are
		// distinct peers, so the request's list needs no reset. Only
		// least_conn balances backups its own way; the others that allow
		// backups at all use round robin there.
		b := balancer(roundRobin{})
		if _, ok := u.policy.(leastConn); ok {
			b = u.policy
		}
		p = pick(b, u.backups, f)
	}
	if p == nil {
		return nil
	}
	if f.now-p.checked > p.failTimeout {
		p.checked = f.now
	}
	p.conns++
	return p
}

// free records the outcome of one attempt on p (§5.4): failed for
// error/timeout/invalid_header and retried http_5xx/429; not failed for a
// relayed response and for retried 403/404 (nginx's NGX_PEER_NEXT). It
// reports whether this failure took the peer out of rotation, which nginx
// logs.
func (u *upstream) free(p *peer, failed bool, now time.Time) (disabled bool) {
	if u.single() {
		if p.maxConns > 0 {
			u.mu.Lock()
			p.conns--
			u.mu.Unlock()
		}
		return false
	}
	sec := now.Unix()
	u.mu.Lock()
	defer u.mu.Unlock()
	if p.conns > 0 {
		p.conns--
	}
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

// seal computes the group's signature once it is complete.
func (u *upstream) seal() {
	var b strings.Builder
	b.WriteString(u.name)
	b.WriteByte('|')
	b.WriteString(u.policy.describe())
	for _, set := range [][]*peer{u.peers, u.backups} {
		for _, p := range set {
			b.WriteString("|" + p.name + " " + strconv.Itoa(p.weight) + " " + strconv.Itoa(p.maxFails) +
				" " + strconv.FormatInt(p.failTimeout, 10) + " " + strconv.Itoa(p.maxConns) +
				" " + strconv.FormatBool(p.down) + " " + strconv.FormatBool(p.backup))
		}
	}
	u.sig = b.String()
}

// carryOver keeps the passive-health state of every upstream group that a
// reload did not change: for each group of next whose name, balancer and
// servers (with every parameter) equal a group of prev, next takes over
// prev's peers and their lock, so fail counts, fail windows, smooth
// round-robin weights and in-flight counts continue as if there had been
// no reload (nginx keeps them only with a shared-memory zone; one wisp
// process can always keep them). Requests still running on prev free
// their peers into the same state. Call it after compiling next and
// before next serves its first request; prev keeps working.
// Idle keepalive connections are not carried over: next has its own pool.
func carryOver(prev, next *Config) {
	if prev == nil || next == nil {
		return
	}
	old := make(map[string]*upstream, len(prev.upstreams))
	for _, u := range prev.upstreams {
		old[u.sig] = u
	}
	for _, u := range next.upstreams {
		o, ok := old[u.sig]
		if !ok || u.sig == "" {
			continue
		}
		u.peers, u.backups, u.policy, u.mu = o.peers, o.backups, o.policy, o.mu
	}
}

// upstreamPolicy compiles a balancing directive of an upstream block
// (least_conn, ip_hash, hash KEY [consistent], random [two [least_conn]])
// and zone, which one process does not need: its counters are shared by
// every connection already. *seen is the balancing directive in force.
func (c *compiler) upstreamPolicy(u *upstream, d *ngxconf.Directive, seen **ngxconf.Directive) error {
	if d.Name == "zone" {
		return nil
	}
	if *seen != nil || u.keepalive > 0 {
		// keepalive wraps the balancer in force; nginx's balancing
		// directives replace it, so a keepalive written first is lost.
		c.cfg.Warnings = append(c.cfg.Warnings, fmt.Sprintf("load balancing method redefined in %s", d.Pos))
		u.keepalive = 0
	}
	*seen = d
	switch d.Name {
	case "least_conn":
		u.policy = leastConn{}
	case "ip_hash":
		u.policy = ipHash{}
	case "hash":
		key, err := compileScoped(d.Args[0], d.Pos, c.scope)
		if err != nil {
			return err
		}
		hk := hashKey{key: key, text: d.Args[0]}
		switch {
		case len(d.Args) == 1:
			u.policy = &hk
		case d.Args[1] == "consistent":
			u.policy = &hashConsistent{hashKey: hk} // the ring is built by finish
		default:
			return ngxconf.Errorf(d.Pos, "invalid parameter %q", d.Args[1])
		}
	case "random":
		r := random{}
		if len(d.Args) > 0 {
			if d.Args[0] != "two" {
				return ngxconf.Errorf(d.Pos, "invalid parameter %q", d.Args[0])
			}
			r.two = true
		}
		if len(d.Args) > 1 && d.Args[1] != "least_conn" {
			return ngxconf.Errorf(d.Pos, "invalid parameter %q", d.Args[1])
		}
		u.policy = r
	}
	return nil
}

// checkServerForPolicy rejects a backup server under a balancer that has
// no backups (hash, ip_hash, random). As in nginx, the balancer in force
// when the server line is read decides, so order matters.
func checkServerForPolicy(u *upstream, d *ngxconf.Directive, ps []*peer) error {
	switch u.policy.(type) {
	case roundRobin, leastConn:
		return nil
	}
	for _, p := range ps {
		if p.backup {
			return ngxconf.Errorf(d.Pos, "balancing method does not support parameter \"backup\"")
		}
	}
	return nil
}

// finish completes a group once all its servers are known.
func (u *upstream) finish() {
	if h, ok := u.policy.(*hashConsistent); ok {
		h.build(u.peers)
	}
	u.seal()
}

// checkUpstreamHost refuses, in nginx's words, the hosts ngx_parse_url
// refuses in a server address or a proxy_pass URL: none before the port,
// or an IPv6 literal left open.
func checkUpstreamHost(hostport string, d *ngxconf.Directive) error {
	if strings.HasPrefix(hostport, "unix:") {
		return nil
	}
	if strings.HasPrefix(hostport, "[") {
		if !strings.Contains(hostport, "]") {
			return ngxconf.Errorf(d.Pos, "invalid host in upstream %q", hostport)
		}
		return nil
	}
	if host, _, _ := strings.Cut(hostport, ":"); host == "" {
		return ngxconf.Errorf(d.Pos, "no host in upstream %q", hostport)
	}
	return nil
}
