package proxy

import "strconv"

// Answers are HPACK-encoded without the dynamic table, as nginx encodes
// them: each field is a literal "without indexing" (RFC 7541 §6.2.2)
// whose name is a static-table index where it has one. The encoding then
// has no state, so a stream builds its header block in its own goroutine
// without the connection's lock, and blocks may go out in any order.
// Strings are sent raw, not Huffman-coded: a few bytes more per field
// for no work.

// hpackStatic maps the static table's names (RFC 7541 Appendix A) that
// answers use to their first index.
func hpackStaticName(name []byte) int {
	switch string(name) {
	case "accept-ranges":
		return 18
	case "access-control-allow-origin":
		return 20
	case "age":
		return 21
	case "allow":
		return 22
	case "cache-control":
		return 24
	case "content-disposition":
		return 25
	case "content-encoding":
		return 26
	case "content-language":
		return 27
	case "content-length":
		return 28
	case "content-location":
		return 29
	case "content-range":
		return 30
	case "content-type":
		return 31
	case "date":
		return 33
	case "etag":
		return 34
	case "expires":
		return 36
	case "last-modified":
		return 44
	case "link":
		return 45
	case "location":
		return 46
	case "proxy-authenticate":
		return 48
	case "refresh":
		return 52
	case "retry-after":
		return 53
	case "server":
		return 54
	case "set-cookie":
		return 55
	case "strict-transport-security":
		return 56
	case "vary":
		return 59
	case "via":
		return 60
	case "www-authenticate":
		return 61
	}
	return 0
}

// appendHpackInt appends i with an n-bit prefix whose high bits are
// first (RFC 7541 §5.1).
func appendHpackInt(b []byte, first byte, n uint, i int) []byte {
	limit := 1<<n - 1
	if i < limit {
		return append(b, first|byte(i))
	}
	b = append(b, first|byte(limit))
	for i -= limit; i >= 128; i >>= 7 {
		b = append(b, byte(i&0x7f|0x80))
	}
	return append(b, byte(i))
}

func appendHpackString(b []byte, s []byte) []byte {
	b = appendHpackInt(b, 0, 7, len(s))
	return append(b, s...)
}

// appendHpackStatus appends :status, indexed for the codes the static
// table has.
func appendHpackStatus(b []byte, status int) []byte {
	switch status {
	case 200:
		return append(b, 0x80|8)
	case 204:
		return append(b, 0x80|9)
	case 206:
		return append(b, 0x80|10)
	case 304:
		return append(b, 0x80|11)
	case 400:
		return append(b, 0x80|12)
	case 404:
		return append(b, 0x80|13)
	case 500:
		return append(b, 0x80|14)
	}
	b = append(b, 8, 3) // literal without indexing, name :status; 3 bytes
	return strconv.AppendInt(b, int64(status), 10)
}

// appendHpackField appends a field, its name lowercased as HTTP/2 needs
// (the engine writes HTTP/1.1 names in any case).
func appendHpackField(b []byte, name, value []byte) []byte {
	var low [64]byte
	if len(name) <= len(low) {
		n := lowerInto(low[:0], name)
		if idx := hpackStaticName(n); idx > 0 {
			b = appendHpackInt(b, 0, 4, idx)
			return appendHpackString(b, value)
		}
	}
	b = append(b, 0)
	b = appendHpackInt(b, 0, 7, len(name))
	b = lowerInto(b, name)
	return appendHpackString(b, value)
}

func lowerInto(b, s []byte) []byte {
	for _, ch := range s {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b
}
