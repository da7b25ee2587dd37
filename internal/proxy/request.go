package proxy

import (
	"bytes"
	"errors"
	"strings"
)

// Limits mirror nginx's large_client_header_buffers 4 8k: one line may not
// exceed lineMax, the whole head may not exceed headMax. A line's limit
// counts its line end: with CRLF, 8190 bytes fit and 8191 do not.
const (
	lineMax = 8 << 10
	headMax = 32 << 10
)

// header is one client header line, sliced from the connection's read
// buffer and kept exactly as sent (no canonicalisation).
type header struct {
	name, value []byte
	// ignored marks headers nginx drops silently (underscores or other
	// invalid bytes in the name, with ignore_invalid_headers on).
	ignored bool
}

// request is a parsed request head. Every []byte points into the
// connection's read buffer, which therefore stays pinned until the
// request has been answered.
type request struct {
	method, target []byte
	path, query    []byte // split from target; query without '?'
	hasQuery       bool
	absHost        []byte // host from an absolute-form target, if any
	minor          int    // HTTP/1.minor
	headers        []header

	host          []byte // normalised host (lowercase, no port, no trailing dot); nil if none
	hostHeader    int    // index into headers, -1 if absent
	contentLength int64  // -1 when absent
	chunked       bool
	closeConn     bool // Connection: close
	keepAliveHdr  bool // Connection: keep-alive
	expect100     bool
	userAgent     int // index into headers, -1 if absent

	headLen int    // bytes of the head including the blank line
	hostBuf []byte // scratch for the lowercased host, kept across requests
}

// parseError is a client error with the status nginx answers it with.
type parseError struct {
	status int
	msg    string
}

func (e *parseError) Error() string { return e.msg }

func badRequest(msg string) *parseError { return &parseError{400, msg} }

// errIncomplete means the head has not fully arrived yet.
var errIncomplete = errors.New("incomplete request head")

// reset empties r for reuse while keeping its headers slice.
func (r *request) reset() {
	h, hb := r.headers[:0], r.hostBuf[:0]
	*r = request{headers: h, hostBuf: hb, hostHeader: -1, userAgent: -1, contentLength: -1}
}

// parse parses a request head at the start of buf. It returns errIncomplete
// when buf holds no complete head yet, or a *parseError for a bad request.
func (r *request) parse(buf []byte) error {
	r.reset()
	eol := bytes.IndexByte(buf, '\n')
	if eol < 0 {
		if len(buf) >= lineMax {
			return &parseError{414, "client sent too long URI"}
		}
		return errIncomplete
	}
	if eol >= lineMax {
		return &parseError{414, "client sent too long URI"}
	}
	if err := r.parseRequestLine(trimCR(buf[:eol])); err != nil {
		return err
	}
	pos := eol + 1
	for {
		rest := buf[pos:]
		eol := bytes.IndexByte(rest, '\n')
		if eol < 0 {
			if len(rest) >= lineMax {
				return &parseError{494, "client sent too long header line"}
			}
			return errIncomplete
		}
		if eol >= lineMax {
			return &parseError{494, "client sent too long header line"}
		}
		line := trimCR(rest[:eol])
		pos += eol + 1
		if len(line) == 0 {
			break
		}
		if err := r.parseHeaderLine(line); err != nil {
			return err
		}
	}
	if st := headBufferStatus(buf[:pos]); st != 0 { // headbuf.go
		return &parseError{st, "client sent too long header line"}
	}
	r.headLen = pos
	return r.finish()
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

func (r *request) parseRequestLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return badRequest("client sent invalid request")
	}
	r.method = line[:sp]
	for _, c := range r.method {
		if (c < 'A' || c > 'Z') && c != '_' && c != '-' {
			return badRequest("client sent invalid method")
		}
	}
	rest := line[sp+1:]
	sp = bytes.LastIndexByte(rest, ' ')
	if sp <= 0 {
		return badRequest("client sent invalid request")
	}
	r.target, rest = rest[:sp], rest[sp+1:]
	if len(rest) < 8 || string(rest[:7]) != "HTTP/1." {
		if len(rest) >= 6 && string(rest[:5]) == "HTTP/" && rest[5] >= '2' && rest[5] <= '9' {
			return &parseError{505, "client sent unsupported HTTP version"}
		}
		return badRequest("client sent invalid request")
	}
	minor := 0
	for _, c := range rest[7:] {
		if c < '0' || c > '9' || minor > 99 {
			return badRequest("client sent invalid request")
		}
		minor = minor*10 + int(c-'0')
	}
	r.minor = minor
	for _, c := range r.target {
		if c <= ' ' || c == 0x7f {
			return badRequest("client sent invalid request")
		}
	}
	return r.splitTarget()
}

// splitTarget splits origin-form and absolute-form targets into host,
// path and query.
func (r *request) splitTarget() error {
	t := r.target
	if len(t) > 0 && t[0] != '/' {
		i := bytes.Index(t, []byte("://"))
		if i <= 0 || !isScheme(t[:i]) {
			return badRequest("client sent invalid request")
		}
		t = t[i+3:]
		end := bytes.IndexAny(t, "/?")
		if end < 0 {
			end = len(t)
		}
		r.absHost = t[:end]
		if !validTargetHost(r.absHost) {
			return badRequest("client sent invalid request")
		}
		t = t[end:]
		if len(t) == 0 || t[0] == '?' {
			// nginx treats "http://h" and "http://h?x" as "/" and "/?x".
			r.path = []byte("/")
			if len(t) > 0 {
				r.query, r.hasQuery = t[1:], true
			}
			return nil
		}
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		r.path, r.query, r.hasQuery = t[:q], t[q+1:], true
	} else {
		r.path = t
	}
	return nil
}

// validTargetHost applies the grammar nginx's request line parser has for
// the host of an absolute-form target: letters, digits, '.' and '-', or
// an IP literal in brackets, then an optional all-digit port. (Host
// headers are checked more loosely, by normaliseHost alone.)
func validTargetHost(h []byte) bool {
	i := 0
	if len(h) > 0 && h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		for _, c := range h[1:end] {
			if !isAlnum(c) && !strings.ContainsRune(":-._~!$&'()*+,;=", rune(c)) {
				return false
			}
		}
		i = end + 1
	} else {
		for i < len(h) && (isAlnum(h[i]) || h[i] == '.' || h[i] == '-') {
			i++
		}
	}
	if i == len(h) {
		return true
	}
	return h[i] == ':' && (i+1 == len(h) || isDigits(string(h[i+1:])))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}

// isScheme accepts what nginx 1.22 takes as a request line's scheme: any
// run of letters, not only http and https.
func isScheme(s []byte) bool {
	for _, c := range s {
		if c|0x20 < 'a' || c|0x20 > 'z' {
			return false
		}
	}
	return true
}

func (r *request) parseHeaderLine(line []byte) error {
	if line[0] == ' ' || line[0] == '\t' {
		return badRequest("client sent invalid header line")
	}
	colon := bytes.IndexByte(line, ':')
	if colon == 0 {
		return badRequest("client sent invalid header line")
	}
	if colon < 0 {
		colon = len(line) // nginx takes a line without ':' as a header with no value
	}
	name := line[:colon]
	ignored := false
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '\x00' || c == ' ' || c == '\t':
			return badRequest("client sent invalid header line")
		default:
			ignored = true
		}
	}
	var value []byte
	if colon < len(line) {
		value = bytes.Trim(line[colon+1:], " \t")
	}
	for _, c := range value {
		if c == 0 || c == '\r' {
			return badRequest("client sent invalid header line")
		}
	}
	r.headers = append(r.headers, header{name: name, value: value, ignored: ignored})
	if ignored {
		return nil
	}
	return r.noteHeader(len(r.headers)-1, name, value)
}

// noteHeader records the headers the proxy itself acts on.
func (r *request) noteHeader(i int, name, value []byte) error {
	switch {
	case bytes.EqualFold(name, []byte("Host")):
		if r.hostHeader >= 0 {
			return badRequest("client sent duplicate host header")
		}
		r.hostHeader = i
	case bytes.EqualFold(name, []byte("Content-Length")):
		if r.contentLength >= 0 {
			return badRequest("client sent duplicate header line")
		}
		n, ok := parseDecimal(value)
		if !ok {
			return badRequest("client sent invalid \"Content-Length\" header")
		}
		r.contentLength = n
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		if r.chunked {
			return badRequest("client sent duplicate header line")
		}
		if !bytes.EqualFold(value, []byte("chunked")) {
			return &parseError{501, "client sent unknown \"Transfer-Encoding\""}
		}
		r.chunked = true
	case bytes.EqualFold(name, []byte("Connection")):
		forEachToken(value, func(tok []byte) {
			if bytes.EqualFold(tok, []byte("close")) {
				r.closeConn = true
			} else if bytes.EqualFold(tok, []byte("keep-alive")) {
				r.keepAliveHdr = true
			}
		})
	case bytes.EqualFold(name, []byte("Expect")):
		r.expect100 = bytes.EqualFold(value, []byte("100-continue"))
	case bytes.EqualFold(name, []byte("User-Agent")):
		if r.userAgent < 0 {
			r.userAgent = i
		}
	}
	return nil
}

// finish applies the checks that need the whole head.
func (r *request) finish() error {
	if r.chunked && r.contentLength >= 0 {
		return badRequest("client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time")
	}
	if r.chunked && r.minor == 0 {
		return badRequest("client sent HTTP/1.0 request with \"Transfer-Encoding\" header")
	}
	if r.absHost != nil {
		h, ok := normaliseHost(r.hostBuf, r.absHost)
		if !ok {
			return badRequest("client sent invalid host in request line")
		}
		r.host, r.hostBuf = h, h
	}
	if r.hostHeader >= 0 {
		// With an absolute-form target the header is still validated,
		// but into a scratch of its own so it cannot clobber r.host.
		var dst []byte
		if r.host == nil {
			dst = r.hostBuf
		}
		h, ok := normaliseHost(dst, r.headers[r.hostHeader].value)
		if !ok {
			return badRequest("client sent invalid host header")
		}
		if r.host == nil {
			r.host, r.hostBuf = h, h
		}
	} else if r.minor >= 1 {
		return badRequest("client sent HTTP/1.1 request without \"Host\" header")
	}
	return nil
}

// normaliseHost applies nginx's host validation (ngx_http_validate_host):
// it rejects '/', control bytes and "..", cuts the port, drops one trailing
// dot and lowercases into dst, leaving h (the raw header) untouched. The
// checks cover the port too, and the dot dropped must be the value's last
// ("a.:8." keeps "a."), as in nginx.
func normaliseHost(dst, h []byte) ([]byte, bool) {
	n, lastDot := len(h), -1
	literal, cut := false, false
	for i, c := range h {
		switch {
		case c == '.':
			if i > 0 && lastDot == i-1 {
				return nil, false
			}
			lastDot = i
		case c == ':':
			if !cut && !literal {
				n, cut = i, true
			}
		case c == '[' && i == 0:
			literal = true
		case c == ']':
			if literal && !cut {
				n, cut = i+1, true
			}
		case c == '/' || c <= ' ' || c == 0x7f:
			return nil, false
		}
	}
	if n > 0 && lastDot == n-1 {
		n--
	}
	if n == 0 {
		return nil, false
	}
	dst = dst[:0]
	for _, c := range h[:n] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// keepAlive reports whether the client wants the connection kept open.
func (r *request) keepAlive() bool {
	if r.minor == 0 {
		return r.keepAliveHdr && !r.closeConn
	}
	return !r.closeConn
}

// hasBody reports whether a request body follows the head.
func (r *request) hasBody() bool { return r.chunked || r.contentLength > 0 }

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// forEachToken calls f for each comma-separated, trimmed token of v.
func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		tok := v
		if i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if tok = bytes.Trim(tok, " \t"); len(tok) > 0 {
			f(tok)
		}
	}
}

// headerValue returns the first non-ignored header called name (matched
// case-insensitively), or nil, false.
func (r *request) headerValue(name []byte) ([]byte, bool) {
	for i := range r.headers {
		h := &r.headers[i]
		if !h.ignored && bytes.EqualFold(h.name, name) {
			return h.value, true
		}
	}
	return nil, false
}
