package proxy

// balancer chooses one peer among those the group allows. Failure
// accounting, tried-marks and the backup fallback belong to the group
// (upstreams.go), so a policy such as least_conn, ip_hash or hash is one
// small type implementing pick. pick runs under the group's lock.
type balancer interface {
	pick(peers []*peer, f *peerFilter) *peer
}

// roundRobin is nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer): every usable peer gains its effective
// weight, the richest wins and pays the total back. Ties go to the earlier
// peer, which is what makes weights {5,1,1} give a a b a c a a.
type roundRobin struct{}

func (roundRobin) pick(peers []*peer, f *peerFilter) *peer {
	var best *peer
	total := 0
	for _, p := range peers {
		if !f.usable(p) {
			continue
		}
		p.curWeight += p.effWeight
		total += p.effWeight
		if p.effWeight < p.weight {
			p.effWeight++
		}
		if best == nil || p.curWeight > best.curWeight {
			best = p
		}
	}
	if best != nil {
		best.curWeight -= total
	}
	return best
}
