package proxy

import (
	"strings"
	"testing"
)

func TestLeastConnPicksFewestRequestsInFlightPerWeight(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		conns   []int
		want    string
	}{
		{"fewest wins", []int{1, 1, 1}, []int{3, 1, 2}, "b"},
		{"weight scales the count", []int{1, 4}, []int{1, 3}, "b"}, // 3/4 < 1/1
		{"weight scales the count the other way", []int{1, 2}, []int{1, 3}, "a"},
		{"ties go round robin from the first minimum", []int{1, 1, 1}, []int{2, 0, 0}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := peersWithWeights(tc.weights...)
			for i, c := range tc.conns {
				ps[i].conns = c
			}
			if p := (leastConn{}).pick(ps, &peerFilter{now: 1}); p == nil || p.name != tc.want {
				t.Errorf("picked %v, want %s", p, tc.want)
			}
		})
	}
}

func TestLeastConnWithIdlePeersFollowsSmoothRoundRobin(t *testing.T) {
	// With nothing in flight every peer ties, so the sequence is nginx's
	// smooth weighted round robin.
	u := newUpstream("g")
	u.policy = leastConn{}
	u.peers = peersWithWeights(5, 1, 1)
	var got strings.Builder
	for i := 0; i < 7; i++ {
		p := u.get(&peerFilter{now: 1})
		got.WriteString(p.name)
		u.free(p, false, timeAt(1))
	}
	if got.String() != "aabacaa" {
		t.Errorf("sequence %q, want aabacaa", got.String())
	}
}

func TestLeastConnSkipsUnusablePeersAndCountsInFlight(t *testing.T) {
	u := newUpstream("g")
	u.policy = leastConn{}
	u.peers = peersWithWeights(1, 1, 1)
	u.peers[0].down = true
	u.peers[1].maxConns = 1
	first := u.get(&peerFilter{now: 1}) // b (first usable tie)
	second := u.get(&peerFilter{now: 1})
	third := u.get(&peerFilter{now: 1})
	if first.name != "b" || second.name != "c" || third.name != "c" {
		t.Fatalf("got %s %s %s, want b c c (a down, b at max_conns)", first.name, second.name, third.name)
	}
	if u.peers[2].conns != 2 {
		t.Errorf("c has %d in flight, want 2", u.peers[2].conns)
	}
	u.free(first, false, timeAt(1))
	if p := u.get(&peerFilter{now: 1}); p.name != "b" {
		t.Errorf("after b finished got %s, want b (0 in flight against 2)", p.name)
	}
}
