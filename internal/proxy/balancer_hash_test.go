package proxy

import (
	"fmt"
	"hash/crc32"
	"strconv"
	"testing"
)

func TestHashKeySendsOneKeyToOnePeerAndRehashesPastFailures(t *testing.T) {
	ps := peersWithWeights(1, 1, 1)
	h := &hashKey{}
	first := map[string]string{}
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("/k%d", i)
		a := h.pick(ps, &peerFilter{now: 1, key: []byte(key)})
		b := h.pick(ps, &peerFilter{now: 1, key: []byte(key)})
		if a != b {
			t.Fatalf("%s went to %s then %s", key, a.name, b.name)
		}
		first[key] = a.name
	}
	if len(distinct(first)) < 2 {
		t.Fatalf("30 keys all went to one peer: %v", first)
	}
	// A tried peer makes the same key move on, as a retry does.
	for key, name := range first {
		var tried *peer
		for _, p := range ps {
			if p.name == name {
				tried = p
			}
		}
		f := &peerFilter{now: 1, key: []byte(key), tried: []*peer{tried}}
		if p := h.pick(ps, f); p == nil || p == tried {
			t.Fatalf("%s: retry got %v", key, p)
		}
	}
}

func TestHashKeyEmptyKeyIsRoundRobin(t *testing.T) {
	ps := peersWithWeights(1, 1)
	h := &hashKey{}
	a := h.pick(ps, &peerFilter{now: 1})
	b := h.pick(ps, &peerFilter{now: 1})
	if a.name != "a" || b.name != "b" {
		t.Errorf("empty key gave %s %s, want round robin a b", a.name, b.name)
	}
}

func TestConsistentHashRingHas160PointsPerWeight(t *testing.T) {
	ps := peersWithWeights(1, 2)
	ps[0].server, ps[1].server = "unix:/run/a.sock", "127.0.0.1:8080"
	h := &hashConsistent{}
	h.build(ps)
	if len(h.ring) != 480 {
		t.Errorf("ring has %d points, want 480 (minus collisions, none expected)", len(h.ring))
	}
	for i := 1; i < len(h.ring); i++ {
		if h.ring[i-1].hash >= h.ring[i].hash {
			t.Fatalf("ring not strictly sorted at %d", i)
		}
	}
}

func TestConsistentHashMovesOnlyTheKeysOfARemovedServer(t *testing.T) {
	ps := peersWithWeights(1, 1, 1)
	for i, p := range ps {
		p.server = fmt.Sprintf("10.0.0.%d:80", i+1)
	}
	h := &hashConsistent{}
	h.build(ps)
	before := map[string]*peer{}
	for i := 0; i < 300; i++ {
		key := fmt.Sprintf("key-%d", i)
		before[key] = h.pick(ps, &peerFilter{now: 1, key: []byte(key)})
	}
	ps[1].down = true
	moved := 0
	for key, was := range before {
		now := h.pick(ps, &peerFilter{now: 1, key: []byte(key)})
		switch {
		case now == ps[1]:
			t.Fatalf("%s went to the down server", key)
		case was != ps[1] && now != was:
			t.Fatalf("%s moved from %s to %s though its server stayed", key, was.name, now.name)
		case was == ps[1]:
			moved++
		}
	}
	if moved == 0 || moved == len(before) {
		t.Errorf("%d of %d keys were on the removed server", moved, len(before))
	}
}

func TestConsistentHashHostPortSplitFollowsNginx(t *testing.T) {
	tests := []struct{ server, host, port string }{
		{"unix:/run/a.sock", "/run/a.sock", ""},
		{"UNIX:/x", "/x", ""},
		{"127.0.0.1:8080", "127.0.0.1", "8080"},
		{"backend", "backend", ""},
		{"[::1]:80", "[::1]", "80"},
	}
	for _, tc := range tests {
		if h, p := chashHostPort(tc.server); h != tc.host || p != tc.port {
			t.Errorf("%s: %q %q, want %q %q", tc.server, h, p, tc.host, tc.port)
		}
	}
}

func distinct(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, v := range m {
		out[v] = true
	}
	return out
}

func TestCRC32DecimalEqualsChecksumOfTheDigits(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 20, 12345} {
		prefix := crc32.ChecksumIEEE([]byte("k"))
		want := crc32.Update(prefix, crc32.IEEETable, []byte(strconv.Itoa(n)))
		if got := crc32Decimal(prefix, n); got != want {
			t.Errorf("%d: %08x, want %08x", n, got, want)
		}
	}
}
