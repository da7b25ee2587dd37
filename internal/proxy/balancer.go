package proxy

// balancer chooses one peer among those the group allows. Failure
// accounting, conns counting and the backup fallback belong to the group
// (upstreams.go), so a policy such as least_conn, ip_hash or hash is one
// small type implementing pick. pick runs under the group's lock and must
// only return a peer that f.usable accepts.
type balancer interface {
	pick(peers []*peer, f *peerFilter) *peer
	// describe names the policy and its parameters, so that a reload can
	// tell an unchanged group (carryOver).
	describe() string
}

// keyedBalancer is a balancer that needs a per-request key (hash KEY,
// ip_hash): appendKey appends it to dst.
type keyedBalancer interface {
	balancer
	appendKey(dst []byte, ec *evalCtx) []byte
}

// maxHashTries is how many lookups the hash balancers (ip_hash, hash,
// hash consistent, random) make before falling back to round robin, as
// nginx does.
const maxHashTries = 20

// roundRobin is nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer): every usable peer gains its effective
// weight, the richest wins and pays the total back. Ties go to the earlier
// peer, which is what makes weights {5,1,1} give a a b a c a a.
type roundRobin struct{}

func (roundRobin) describe() string { return "round_robin" }

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

// totalWeight is the sum of the configured weights of peers, down ones
// included, as nginx's peers->total_weight.
func totalWeight(peers []*peer) int {
	w := 0
	for _, p := range peers {
		w += p.weight
	}
	return w
}

// byWeight returns the peer that weight point w (0 <= w < total weight)
// falls on, walking peers in config order.
func byWeight(peers []*peer, w int) *peer {
	for _, p := range peers {
		if w < p.weight {
			return p
		}
		w -= p.weight
	}
	return peers[len(peers)-1]
}

// pick runs policy b over peers. It dispatches on the concrete type
// rather than through the interface so that the compiler can see that no
// policy keeps f: the request's peerFilter then stays on its stack and a
// peer choice allocates nothing. Every balancer type must be listed.
func pick(b balancer, peers []*peer, f *peerFilter) *peer {
	switch b := b.(type) {
	case roundRobin:
		return b.pick(peers, f)
	case leastConn:
		return b.pick(peers, f)
	case ipHash:
		return b.pick(peers, f)
	case *hashKey:
		return b.pick(peers, f)
	case *hashConsistent:
		return b.pick(peers, f)
	case random:
		return b.pick(peers, f)
	}
	return nil
}
