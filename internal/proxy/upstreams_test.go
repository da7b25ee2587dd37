package proxy

import (
	"testing"
	"time"
)

func timeAt(sec int64) time.Time { return time.Unix(sec, 0) }

func TestMaxConnsLimitsRequestsInFlight(t *testing.T) {
	t.Run("single peer", func(t *testing.T) {
		u := newUpstream("g")
		u.peers = peersWithWeights(1)
		u.peers[0].maxConns = 1
		p := u.get(&peerFilter{now: 1})
		if p == nil {
			t.Fatal("first request refused")
		}
		if q := u.get(&peerFilter{now: 1}); q != nil {
			t.Fatal("a peer at max_conns was chosen")
		}
		u.free(p, false, timeAt(1))
		if q := u.get(&peerFilter{now: 1}); q == nil {
			t.Fatal("the peer stayed full after its request finished")
		}
	})
	t.Run("group", func(t *testing.T) {
		u := newUpstream("g")
		u.peers = peersWithWeights(1, 1)
		u.peers[0].maxConns, u.peers[1].maxConns = 1, 1
		a, b := u.get(&peerFilter{now: 1}), u.get(&peerFilter{now: 1})
		if a == nil || b == nil || a == b {
			t.Fatalf("got %v %v", a, b)
		}
		if q := u.get(&peerFilter{now: 1}); q != nil {
			t.Fatalf("all peers full, got %s", q.name)
		}
		u.free(b, true, timeAt(1))
		if a.conns != 1 || b.conns != 0 {
			t.Errorf("in flight a=%d b=%d", a.conns, b.conns)
		}
	})
}

func TestFreeCountsFailuresAndSuccessResetsOnlyAfterTheWindow(t *testing.T) {
	// nginx-tests' upstream.t "failures counter": a success inside the
	// window of the last failure does not reset fails.
	u := newUpstream("g")
	u.peers = peersWithWeights(1, 1)
	a := u.peers[0]
	a.maxFails = 3
	p := u.get(&peerFilter{now: 10})
	u.free(p, true, timeAt(10))
	p = u.get(&peerFilter{now: 10, tried: []*peer{u.peers[1]}})
	u.free(p, false, timeAt(10))
	if a.fails != 1 {
		t.Fatalf("fails %d after a success inside the window, want 1", a.fails)
	}
	p = u.get(&peerFilter{now: 21, tried: []*peer{u.peers[1]}}) // past fail_timeout: checked moves
	u.free(p, false, timeAt(21))
	if a.fails != 0 {
		t.Errorf("fails %d after a success past the window, want 0", a.fails)
	}
}

func TestCarryOverKeepsStateOfUnchangedGroupsOnly(t *testing.T) {
	site := func(extra string) string {
		return `upstream same { server 127.0.0.1:1; server 127.0.0.1:2; }
upstream changed { server 127.0.0.1:1; server 127.0.0.1:2` + extra + `; }
server { listen 8000; location / { proxy_pass http://same; } location /c { proxy_pass http://changed; } }`
	}
	prev, err := compileSite(t, site(""))
	must(t, err)
	next, err := compileSite(t, site(" weight=2"))
	must(t, err)
	find := func(cfg *Config, name string) *upstream {
		for _, u := range cfg.upstreams {
			if u.name == name {
				return u
			}
		}
		t.Fatalf("no upstream %s", name)
		return nil
	}
	for _, name := range []string{"same", "changed"} {
		u := find(prev, name)
		p := u.get(&peerFilter{now: 5})
		u.free(p, true, timeAt(5))
	}
	carryOver(prev, next)
	if s := find(next, "same"); s.peers[0].fails != 1 || s.mu != find(prev, "same").mu {
		t.Errorf("unchanged group lost its state: fails %d", s.peers[0].fails)
	}
	if c := find(next, "changed"); c.peers[0].fails != 0 || c.mu == find(prev, "changed").mu {
		t.Error("a changed group took over the old state")
	}
	// A request of the old config that finishes after the reload frees
	// into the state the new config uses.
	old := find(prev, "same")
	p := old.get(&peerFilter{now: 6, tried: []*peer{old.peers[0]}})
	if find(next, "same").peers[1].conns != 1 {
		t.Error("in-flight count not shared")
	}
	old.free(p, false, timeAt(6))
}

func TestEveryBalancerIsDispatchedAndPicksAUsablePeer(t *testing.T) {
	ps := peersWithWeights(1, 2)
	for i, p := range ps {
		p.server = "unix:/p" + string(rune('0'+i))
	}
	ch := &hashConsistent{hashKey: hashKey{text: "$uri"}}
	ch.build(ps)
	for _, b := range []balancer{roundRobin{}, leastConn{}, ipHash{}, &hashKey{text: "$uri"}, ch, random{}, random{two: true}} {
		f := &peerFilter{now: 1, key: []byte("k"), tried: []*peer{ps[0]}}
		if p := pick(b, ps, f); p != ps[1] {
			t.Errorf("%s: picked %v, want the only untried peer", b.describe(), p)
		}
	}
}

// BenchmarkUpstreamGetFree measures one peer choice and its release per
// balancer over four peers (allocations must stay at zero).
func BenchmarkUpstreamGetFree(b *testing.B) {
	ps := func() []*peer {
		out := peersWithWeights(1, 2, 1, 3)
		for i, p := range out {
			p.server = "unix:/run/p" + string(rune('0'+i)) + ".sock"
		}
		return out
	}
	ch := &hashConsistent{hashKey: hashKey{text: "$request_uri"}}
	ch.build(ps())
	for _, pol := range []balancer{roundRobin{}, leastConn{}, ipHash{}, &hashKey{text: "$request_uri"}, ch, random{}, random{two: true}} {
		b.Run(pol.describe(), func(b *testing.B) {
			u := newUpstream("g")
			u.policy, u.peers = pol, ps()
			key := []byte("/2024/05/some-post/")
			now := time.Now()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f := peerFilter{now: now.Unix(), key: key}
				p := u.get(&f)
				u.free(p, false, now)
			}
		})
	}
}
