package proxy

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strings"
)

// hashKey is nginx's generic `hash KEY`: the key (a value with variables,
// compiled once) hashes onto the weighted peer list, compatible with
// Cache::Memcached: ((crc32([REHASH] KEY) >> 16) & 0x7fff) added to the
// previous hash, REHASH being the attempt number in decimal from the
// second attempt on. After 20 unusable picks, or with an empty key, round
// robin decides (ngx_http_upstream_get_hash_peer).
type hashKey struct {
	key  program
	text string // as written, for describe
}

func (h *hashKey) describe() string { return "hash " + h.text }

func (h *hashKey) appendKey(dst []byte, ec *evalCtx) []byte { return h.key.appendTo(dst, ec) }

func (h *hashKey) pick(peers []*peer, f *peerFilter) *peer {
	if f.hashTries > maxHashTries || len(f.key) == 0 {
		return roundRobin{}.pick(peers, f)
	}
	total := uint32(totalWeight(peers))
	for {
		crc := uint32(0)
		if f.rehash > 0 {
			crc = crc32Decimal(crc, f.rehash)
		}
		crc = crc32.Update(crc, crc32.IEEETable, f.key)
		f.hash += (crc >> 16) & 0x7fff
		f.rehash++
		if p := byWeight(peers, int(f.hash%total)); f.usable(p) {
			return p
		}
		f.hashTries++
		if f.hashTries > maxHashTries {
			return roundRobin{}.pick(peers, f)
		}
	}
}

// crc32Decimal continues an IEEE CRC-32 over n written in decimal, a
// byte at a time, so that no buffer escapes to the heap per request.
func crc32Decimal(crc uint32, n int) uint32 {
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	crc = ^crc
	for _, d := range digits[i:] {
		crc = crc32.IEEETable[byte(crc)^d] ^ (crc >> 8)
	}
	return ^crc
}

// hashConsistent is `hash KEY consistent`, nginx's ketama ring
// (compatible with Cache::Memcached::Fast): every server contributes 160
// points per unit of weight, point i being crc32(HOST "\0" PORT
// point[i-1] as 4 little-endian bytes) (point[-1] = 0); the ring is sorted
// and duplicates dropped. A request starts at the first point >= crc32(KEY)
// and walks clockwise past servers with no usable peer; after 20 steps,
// or with an empty key, round robin decides (ngx_http_upstream_get_chash_peer).
type hashConsistent struct {
	hashKey
	ring []chashPoint
}

type chashPoint struct {
	hash   uint32
	server string // the server directive's address, shared by its peers
}

func (h *hashConsistent) describe() string { return "hash " + h.text + " consistent" }

// build makes the ring from peers (the primary set).
func (h *hashConsistent) build(peers []*peer) {
	h.ring = h.ring[:0]
	for _, p := range peers {
		host, port := chashHostPort(p.server)
		base := crc32.Update(0, crc32.IEEETable, []byte(host+"\x00"+port))
		var prev [4]byte
		for i := 0; i < 160*p.weight; i++ {
			// The running checksum of the base text continues over prev.
			v := crc32.Update(base, crc32.IEEETable, prev[:])
			h.ring = append(h.ring, chashPoint{hash: v, server: p.server})
			binary.LittleEndian.PutUint32(prev[:], v)
		}
	}
	slices.SortStableFunc(h.ring, func(a, b chashPoint) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	h.ring = slices.CompactFunc(h.ring, func(a, b chashPoint) bool { return a.hash == b.hash })
}

// chashHostPort splits a server address the way nginx's ketama does:
// "unix:" paths have no port; otherwise the port follows the last colon.
func chashHostPort(server string) (host, port string) {
	if len(server) >= 5 && strings.EqualFold(server[:5], "unix:") {
		return server[5:], ""
	}
	if i := strings.LastIndexByte(server, ':'); i >= 0 {
		return server[:i], server[i+1:]
	}
	return server, ""
}

// point returns the index of the first ring point >= hash (len(ring) when
// hash is past the last one; the walk wraps).
func (h *hashConsistent) point(hash uint32) int {
	i, _ := slices.BinarySearchFunc(h.ring, hash, func(p chashPoint, v uint32) int {
		switch {
		case p.hash < v:
			return -1
		case p.hash > v:
			return 1
		}
		return 0
	})
	return i
}

func (h *hashConsistent) pick(peers []*peer, f *peerFilter) *peer {
	if f.hashTries > maxHashTries || len(f.key) == 0 || len(h.ring) == 0 {
		// An empty key goes round robin here too (checked against nginx).
		return roundRobin{}.pick(peers, f)
	}
	if !f.hashReady {
		f.hash, f.hashReady = uint32(h.point(crc32.ChecksumIEEE(f.key))), true
	}
	for {
		server := h.ring[int(f.hash)%len(h.ring)].server
		// Peers of one server (a name with several addresses) share its
		// points; smooth round robin picks among them.
		var best *peer
		total := 0
		for _, p := range peers {
			if p.server != server || !f.usable(p) {
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
			return best
		}
		f.hash++
		f.hashTries++
		if f.hashTries > maxHashTries {
			return roundRobin{}.pick(peers, f)
		}
	}
}
