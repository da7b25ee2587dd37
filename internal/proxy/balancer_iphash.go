package proxy

import "net/netip"

// ipHash is nginx's ip_hash: the first three octets of an IPv4 client
// (all 16 bytes of an IPv6 one, three zero bytes for a unix-socket
// client) hash onto the weighted peer list, so a /24 keeps its peer. An
// unusable peer makes the hash roll on from its last value; after 20 such
// rolls round robin decides (ngx_http_upstream_get_ip_hash_peer).
type ipHash struct{}

func (ipHash) describe() string { return "ip_hash" }

// appendKey appends the bytes ip_hash hashes for this client.
func (ipHash) appendKey(dst []byte, ec *evalCtx) []byte {
	addr, err := netip.ParseAddr(string(ec.conn.remoteAddr))
	switch {
	case err != nil:
		return append(dst, 0, 0, 0)
	case addr.Is4() || addr.Is4In6():
		a := addr.Unmap().As4()
		return append(dst, a[:3]...)
	default:
		a := addr.As16()
		return append(dst, a[:]...)
	}
}

func (ipHash) pick(peers []*peer, f *peerFilter) *peer {
	if f.hashTries > maxHashTries {
		return roundRobin{}.pick(peers, f)
	}
	if !f.hashReady {
		f.hash, f.hashReady = 89, true
	}
	total := totalWeight(peers)
	hash := f.hash
	for {
		for _, b := range f.key {
			hash = (hash*113 + uint32(b)) % 6271
		}
		p := byWeight(peers, int(hash%uint32(total)))
		if f.usable(p) {
			f.hash = hash
			return p
		}
		f.hashTries++
		if f.hashTries > maxHashTries {
			return roundRobin{}.pick(peers, f)
		}
	}
}
