package proxy

// leastConn is nginx's least_conn: the usable peer with the fewest
// requests in flight relative to its weight (a.conns*b.weight <
// b.conns*a.weight); among equals, smooth weighted round robin decides.
// Backups are balanced the same way.
type leastConn struct{}

func (leastConn) describe() string { return "least_conn" }

func (leastConn) pick(peers []*peer, f *peerFilter) *peer {
	var best *peer
	first, many := 0, false
	for i, p := range peers {
		if !f.usable(p) {
			continue
		}
		switch {
		case best == nil || p.conns*best.weight < best.conns*p.weight:
			best, first, many = p, i, false
		case p.conns*best.weight == best.conns*p.weight:
			many = true
		}
	}
	if best == nil || !many {
		return best
	}
	// Round robin among the peers tied with the first minimum, starting
	// from it, as ngx_http_upstream_get_least_conn_peer does.
	total := 0
	for _, p := range peers[first:] {
		if !f.usable(p) || p.conns*best.weight != best.conns*p.weight {
			continue
		}
		p.curWeight += p.effWeight
		total += p.effWeight
		if p.effWeight < p.weight {
			p.effWeight++
		}
		if p.curWeight > best.curWeight {
			best = p
		}
	}
	best.curWeight -= total
	return best
}
