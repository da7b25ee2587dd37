package proxy

import "testing"

func TestRandomDrawsByWeightAndOnlyUsablePeers(t *testing.T) {
	ps := peersWithWeights(3, 1, 5)
	ps[2].down = true
	counts := map[string]int{}
	for i := 0; i < 4000; i++ {
		p := (random{}).pick(ps, &peerFilter{now: 1})
		counts[p.name]++
	}
	if counts["c"] != 0 {
		t.Fatalf("the down peer got %d requests", counts["c"])
	}
	// Expected 3000/1000; the bounds are many standard deviations wide.
	if counts["a"] < 2700 || counts["a"] > 3300 {
		t.Errorf("weights 3:1 gave %v", counts)
	}
}

func TestRandomTwoPrefersFewerRequestsInFlight(t *testing.T) {
	ps := peersWithWeights(1, 1)
	ps[0].conns = 4
	for i := 0; i < 50; i++ {
		if p := (random{two: true}).pick(ps, &peerFilter{now: 1}); p.name != "b" {
			t.Fatalf("draw %d chose %s with 4 in flight over an idle peer", i, p.name)
		}
	}
	ps[1].maxConns, ps[1].conns = 1, 1
	if p := (random{two: true}).pick(ps, &peerFilter{now: 1}); p == nil || p.name != "a" {
		t.Errorf("with b at max_conns chose %v, want a", p)
	}
}
