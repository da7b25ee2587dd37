package proxy

import (
	"bytes"
	"testing"
)

func TestIPHashKeyIsThreeOctetsOfIPv4AllOfIPv6(t *testing.T) {
	tests := []struct {
		addr string
		want []byte
	}{
		{"192.168.7.42", []byte{192, 168, 7}},
		{"::ffff:10.1.2.3", []byte{10, 1, 2}},
		{"2001:db8::1", []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"unix:", []byte{0, 0, 0}},
	}
	for _, tc := range tests {
		ec := &evalCtx{conn: &clientConn{remoteAddr: []byte(tc.addr)}}
		if got := (ipHash{}).appendKey(nil, ec); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: key %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestIPHashSendsOneNetworkToOnePeer(t *testing.T) {
	// 127.0.0.x: hash 89 -> 3913 -> 3199 -> 4040 over key bytes 127,0,0
	// (nginx's (h*113+b)%6271), and 4040 % 3 = 2: the third peer.
	ps := peersWithWeights(1, 1, 1)
	for i := 0; i < 5; i++ {
		f := &peerFilter{now: 1, key: []byte{127, 0, 0}}
		if p := (ipHash{}).pick(ps, f); p.name != "c" {
			t.Fatalf("request %d went to %s, want c", i, p.name)
		}
	}
}

func TestIPHashRehashesPastUnusablePeersThenFallsBackToRoundRobin(t *testing.T) {
	ps := peersWithWeights(1, 1, 1)
	ps[2].down = true
	f := &peerFilter{now: 1, key: []byte{127, 0, 0}}
	// The next value of the chain: (4040*113 + 127 ...) gives another peer.
	p := (ipHash{}).pick(ps, f)
	if p == nil || p.name == "c" {
		t.Fatalf("picked %v, the down peer or nothing", p)
	}
	if f.hashTries == 0 {
		t.Error("an unusable pick was not counted")
	}
	for _, q := range ps {
		q.down = q != ps[0]
	}
	f = &peerFilter{now: 1, key: []byte{127, 0, 0}, tried: []*peer{ps[0]}}
	if p := (ipHash{}).pick(ps, f); p != nil {
		t.Errorf("picked %s with every peer unusable", p.name)
	}
	if f.hashTries <= maxHashTries {
		t.Errorf("gave up after %d tries, want more than %d", f.hashTries, maxHashTries)
	}
}
