package proxy

import "math/rand/v2"

// random is nginx's `random [two [least_conn]]`: a peer drawn at random
// with probability proportional to its weight; with two, two distinct
// usable peers are drawn and the one with fewer requests in flight
// relative to its weight wins (ties go to the second draw, as in
// ngx_http_upstream_get_random2_peer). Unusable draws count towards the
// 20 attempts after which round robin decides.
type random struct {
	two bool
}

func (r random) describe() string {
	if r.two {
		return "random two least_conn"
	}
	return "random"
}

// draw returns a peer chosen by weight, unusable ones included.
func (random) draw(peers []*peer) *peer {
	return byWeight(peers, rand.IntN(totalWeight(peers)))
}

func (r random) pick(peers []*peer, f *peerFilter) *peer {
	if !r.two {
		for f.hashTries <= maxHashTries {
			if p := r.draw(peers); f.usable(p) {
				return p
			}
			f.hashTries++
		}
		return roundRobin{}.pick(peers, f)
	}
	if len(peers) < 2 {
		return roundRobin{}.pick(peers, f)
	}
	var first *peer
	for f.hashTries <= maxHashTries {
		p := r.draw(peers)
		switch {
		case !f.usable(p) || p == first:
			f.hashTries++
			continue
		case first == nil:
			first = p
			continue
		}
		if p.conns*first.weight > first.conns*p.weight {
			return first
		}
		return p
	}
	return roundRobin{}.pick(peers, f)
}
