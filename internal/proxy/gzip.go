package proxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"wisp/internal/ngxconf"
)

// The gzip filter: which responses nginx compresses (gzip, gzip_types,
// gzip_min_length, gzip_http_version, gzip_proxied, gzip_vary) and the
// streamed compression itself, with writers pooled per level.

type gzipConf struct {
	on       bool
	types    map[string]bool // text/html is always in; "*" matches any
	anyType  bool
	minLen   int64
	level    int
	vary     bool
	minor    int // gzip_http_version: 0 for 1.0, 1 for 1.1
	proxied  gzipProxied
	disable6 bool // gzip_disable msie6
	pools    *gzipPools
}

type gzipProxied uint16

const (
	proxiedOff gzipProxied = 1 << iota
	proxiedAny
	proxiedAuth
	proxiedNoLastModified
	proxiedNoETag
	proxiedExpired
	proxiedNoCache
	proxiedNoStore
	proxiedPrivate
)

// gzipProxiedNames are gzip_proxied's parameters.
var gzipProxiedNames = map[string]gzipProxied{
	"off": proxiedOff, "any": proxiedAny, "auth": proxiedAuth,
	"no_last_modified": proxiedNoLastModified, "no_etag": proxiedNoETag,
	"expired": proxiedExpired, "no-cache": proxiedNoCache,
	"no-store": proxiedNoStore, "private": proxiedPrivate,
}

// gzipPools keeps one pool of writers per compression level; one set is
// shared by every level of a compiled config.
type gzipPools [10]sync.Pool

func defaultGzipConf() gzipConf {
	return gzipConf{types: map[string]bool{"text/html": true}, minLen: 20, level: 1, minor: 1,
		proxied: proxiedOff, pools: new(gzipPools)}
}

func (g gzipConf) inherit(p gzipConf, set map[string]bool) gzipConf {
	unlessSet(set, "gzip", &g.on, p.on)
	if !set["gzip_types"] {
		g.types, g.anyType = p.types, p.anyType
	}
	unlessSet(set, "gzip_min_length", &g.minLen, p.minLen)
	unlessSet(set, "gzip_comp_level", &g.level, p.level)
	unlessSet(set, "gzip_vary", &g.vary, p.vary)
	unlessSet(set, "gzip_http_version", &g.minor, p.minor)
	unlessSet(set, "gzip_proxied", &g.proxied, p.proxied)
	unlessSet(set, "gzip_disable", &g.disable6, p.disable6)
	g.pools = p.pools
	return g
}

// gzipDirective compiles the gzip module's directives.
func (c *compiler) gzipDirective(d *ngxconf.Directive, m *contentConf) (bool, error) {
	g := &m.gz
	if !strings.HasPrefix(d.Name, "gzip") {
		return false, nil
	}
	if m.set[d.Name] && d.Name != "gzip_types" && d.Name != "gzip_proxied" && d.Name != "gzip_disable" {
		return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
	}
	switch d.Name {
	case "gzip", "gzip_vary":
		on, err := flagArg(d)
		if err != nil {
			return true, err
		}
		if d.Name == "gzip" {
			g.on = on
		} else {
			g.vary = on
		}
	case "gzip_types":
		if len(d.Args) == 0 {
			return true, argCount(d, 1)
		}
		g.types, g.anyType = map[string]bool{"text/html": true}, false
		for _, t := range d.Args {
			if t == "*" {
				g.anyType = true
			}
			g.types[strings.ToLower(t)] = true
		}
	case "gzip_min_length":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		n, err := ngxconf.ParseSize(d.Args[0])
		if err != nil {
			return true, ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
		g.minLen = n
	case "gzip_comp_level":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < 1 || n > 9 {
			return true, ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
		g.level = n
	case "gzip_http_version":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		switch d.Args[0] {
		case "1.0":
			g.minor = 0
		case "1.1":
			g.minor = 1
		default:
			return true, ngxconf.Errorf(d.Pos, "invalid value %q in %q directive", d.Args[0], d.Name)
		}
	case "gzip_proxied":
		if len(d.Args) == 0 {
			return true, argCount(d, 1)
		}
		g.proxied = 0
		for _, a := range d.Args {
			bit, ok := gzipProxiedNames[a]
			if !ok {
				return true, ngxconf.Errorf(d.Pos, "invalid value %q", a)
			}
			g.proxied |= bit
		}
	case "gzip_disable":
		for _, a := range d.Args {
			if a != "msie6" {
				return true, ngxconf.Errorf(d.Pos, "gzip_disable %q is not supported by wisp (only msie6)", a)
			}
		}
		g.disable6 = true
	case "gzip_buffers":
		// Buffer sizing only: wisp streams through one pooled writer.
	default:
		return false, nil
	}
	return true, nil
}

// gzipFacts is what nginx's gzip_proxied looks at in the response head.
type gzipFacts struct {
	lastMod, etag bool
	// expires is the Expires value (nil: none); cacheControl joins the
	// Cache-Control lines (nil: none).
	expires, cacheControl []byte
}

// gzipFilter reports whether nginx's gzip filter looks at this response
// at all (which sets Vary with gzip_vary on), and whether the client gets
// it compressed.
func (c *clientConn) gzipFilter(m *contentConf, status int, ctype string, length int64, f gzipFacts) (vary, ok bool) {
	g := &m.gz
	r := &c.req
	if !g.on || (status != 200 && status != 403 && status != 404) {
		return false, false
	}
	if length >= 0 && length < g.minLen {
		return false, false
	}
	base, _, _ := strings.Cut(ctype, ";")
	if !g.anyType && !g.types[strings.ToLower(strings.TrimSpace(base))] {
		return false, false
	}
	ae, ok := r.headerValue([]byte("Accept-Encoding"))
	if !ok || len(ae) < 4 || !(bytes.HasPrefix(ae, []byte("gzip,")) || acceptsGzip(ae)) {
		return true, false
	}
	if g.disable6 && r.userAgent >= 0 && isMSIE6(r.headers[r.userAgent].value) {
		return true, false
	}
	if r.minor < g.minor {
		return true, false
	}
	if _, via := r.headerValue([]byte("Via")); !via {
		return true, true
	}
	return true, g.proxiedOK(r, f)
}

// proxiedOK is gzip_proxied for a request that came through a proxy (it
// has Via), in nginx's order: an Expires decides alone, then any
// Cache-Control, and only then Last-Modified and ETag.
func (g *gzipConf) proxiedOK(r *request, f gzipFacts) bool {
	p := g.proxied
	switch {
	case p&proxiedOff != 0:
		return false
	case p&proxiedAny != 0:
		return true
	case p&proxiedAuth != 0 && hasHeader(r, "Authorization"):
		return true
	}
	if f.expires != nil {
		if p&proxiedExpired == 0 {
			return false
		}
		t, err := parseHTTPTime(f.expires)
		return err == nil && t < time.Now().Unix()
	}
	if f.cacheControl != nil {
		return p&proxiedNoCache != 0 && hasToken(f.cacheControl, "no-cache") ||
			p&proxiedNoStore != 0 && hasToken(f.cacheControl, "no-store") ||
			p&proxiedPrivate != 0 && hasToken(f.cacheControl, "private")
	}
	if p&proxiedNoLastModified != 0 && f.lastMod || p&proxiedNoETag != 0 && f.etag {
		return false
	}
	return true
}

// hasToken finds a bare directive in a comma-separated header value as
// nginx's ngx_http_parse_multi_header_lines does: spaces before it are
// skipped, and the name must be followed by ',' or the end ("private=x"
// or "no-cache " do not count).
func hasToken(v []byte, name string) bool {
	for len(v) > 0 {
		tok, rest, _ := bytes.Cut(v, []byte(","))
		if bytes.EqualFold(bytes.TrimLeft(tok, " "), []byte(name)) {
			return true
		}
		v = rest
	}
	return false
}

// expiresFacts is what the expires directive puts in the head of a
// response with this status, for gzip_proxied.
func (c *clientConn) expiresFacts(ec *evalCtx, m *contentConf, f gzipFacts, status int, lastMod int64) gzipFacts {
	e := c.expiresFor(ec, &m.hdr)
	if e.kind == expiresOff || !safeStatus(status) {
		return f
	}
	lines := e.appendLines(nil, time.Now(), lastMod)
	v, _, _ := bytes.Cut(bytes.TrimPrefix(lines, []byte("Expires: ")), []byte("\r\n"))
	f.expires = v
	return f
}

func hasHeader(r *request, name string) bool {
	_, ok := r.headerValue([]byte(name))
	return ok
}

// acceptsGzip reads Accept-Encoding as nginx's
// ngx_http_gzip_accept_encoding does: only the first "gzip" that starts
// the value or follows ',' or ' ' counts; after it may come spaces, then
// ',' or the end, or ";q=" with a quantity that is not zero.
func acceptsGzip(ae []byte) bool {
	p := 0
	for {
		i := indexFold(ae[p:], "gzip")
		if i < 0 {
			return false
		}
		i += p
		if i == 0 || ae[i-1] == ',' || ae[i-1] == ' ' {
			p = i + 4
			break
		}
		p = i + 4
	}
	for ; p < len(ae); p++ {
		switch ae[p] {
		case ',':
			return true
		case ';':
			return gzipQuantity(ae[p+1:])
		case ' ':
		default:
			return false
		}
	}
	return true
}

// gzipQuantity is what follows "gzip;": spaces, "q=" and a quantity that
// nginx's ngx_http_gzip_quantity takes as non-zero (it adds the digits
// after the point up, so "0.001" passes and "1.001" or "0.0001" do not).
func gzipQuantity(v []byte) bool {
	p := 0
	for ; p < len(v) && v[p] == ' '; p++ {
	}
	if p == len(v) {
		return true
	}
	if v[p] != 'q' && v[p] != 'Q' {
		return false
	}
	p++
	if p+2 > len(v) || v[p] != '=' {
		return false
	}
	p++
	c := v[p]
	if c != '0' && c != '1' {
		return false
	}
	q := int(c-'0') * 100
	p++
	if p == len(v) || v[p] == ',' || v[p] == ' ' {
		return q > 0
	}
	if v[p] != '.' {
		return false
	}
	n := 0
	for p++; p < len(v); p++ {
		c := v[p]
		if c == ',' || c == ' ' {
			break
		}
		if c < '0' || c > '9' {
			return false
		}
		q += int(c - '0')
		n++
	}
	return q > 0 && q <= 100 && n <= 3
}

func isMSIE6(ua []byte) bool {
	i := bytes.Index(ua, []byte("MSIE "))
	if i < 0 || i+7 > len(ua) {
		return false
	}
	v := ua[i+5:]
	return v[0] >= '4' && v[0] <= '6' && v[1] == '.' && !bytes.Contains(ua, []byte("SV1"))
}

// gzipWanted decides for a static file response.
func (c *clientConn) gzipWanted(ec *evalCtx, m *contentConf, out *outHead) bool {
	// nginx's static handler sets only the time of Last-Modified, not the
	// header that no_last_modified looks for; its ETag is a header.
	ec.out.ctype = out.ctype // for $sent_http_content_type
	f := c.expiresFacts(ec, m, gzipFacts{etag: len(out.etag) > 0}, out.status, out.lastMod)
	vary, ok := c.gzipFilter(m, out.status, out.ctype, out.length, f)
	out.vary = vary
	return ok
}

// getWriter returns a pooled gzip writer at level writing to w.
func (g *gzipConf) getWriter(w io.Writer) *gzip.Writer {
	zw, ok := g.pools[g.level].Get().(*gzip.Writer)
	if ok {
		zw.Reset(w)
	} else {
		zw, _ = gzip.NewWriterLevel(w, g.level)
	}
	zw.OS = 3 // Unix, as zlib writes it under nginx (Go writes "unknown")
	return zw
}

func (g *gzipConf) putWriter(zw *gzip.Writer) {
	zw.Reset(io.Discard)
	g.pools[g.level].Put(zw)
}

// writeGzip sends a file compressed, chunked: the length is not known
// before the end, as with nginx.
func (c *clientConn) writeGzip(ec *evalCtx, m *contentConf, out *outHead, f *os.File, keep bool) bool {
	out.gzip = true
	out.length = -1
	var body io.Reader
	if f != nil {
		pr := &gzipReader{src: f, g: &m.gz, bufs: &c.srv.copyBufs}
		body = pr
	}
	return c.writeOut(ec, m, out, body, keep)
}

// gzipReader compresses src as it is read, so writeOut's copy loop
// streams compressed chunks without holding the whole body.
type gzipReader struct {
	src  io.Reader
	g    *gzipConf
	bufs *sync.Pool // the server's copy buffers (*[]byte), for the input
	zw   *gzip.Writer
	buf  bytes.Buffer
	in   *[]byte
	done bool
	// started: some output went out (the header is no longer held back).
	started bool
}

func (r *gzipReader) Read(p []byte) (int, error) {
	if r.zw == nil {
		r.zw = r.g.getWriter(&r.buf)
		r.in = r.bufs.Get().(*[]byte)
	}
	// The 10-byte gzip header alone is no chunk of its own: nginx sends it
	// with the first compressed bytes.
	for r.buf.Len() == 0 || r.buf.Len() <= gzipHeaderLen && !r.done && !r.started {
		if r.done {
			return 0, io.EOF
		}
		n, err := r.src.Read(*r.in)
		if n > 0 {
			r.zw.Write((*r.in)[:n])
		}
		if err == io.EOF {
			r.zw.Close()
			r.g.putWriter(r.zw)
			r.bufs.Put(r.in)
			r.done = true
		} else if err != nil {
			return 0, err
		}
	}
	r.started = true
	return r.buf.Read(p)
}

// gzipHeaderLen is the size of the header gzip.Writer writes first.
const gzipHeaderLen = 10

// gzipSimple compresses a response wisp generates (an error page) when
// the gzip filter applies to it, as nginx's does; ok is false when it
// does not, having noted whether Vary is due.
func (c *clientConn) gzipSimple(sr simpleResponse, ec *evalCtx, keep bool) (done, ok bool) {
	if ec == nil || ec.server == nil || sr.loc.raw != nil || sr.loc.abs != nil {
		return false, false
	}
	m := ec.contentOf()
	if m == nil {
		return false, false
	}
	vary, gz := c.gzipFilter(m, sr.code, sr.ctype, int64(len(sr.body)), c.expiresFacts(ec, m, gzipFacts{}, sr.code, 0))
	ec.out.vary = vary
	if !gz {
		return false, false
	}
	out := outHead{status: sr.code, ctype: sr.ctype, length: -1, gzip: true, vary: vary, noAcceptRanges: true}
	var body io.Reader
	if string(c.req.method) != "HEAD" {
		body = &gzipReader{src: strings.NewReader(sr.body), g: &m.gz, bufs: &c.srv.copyBufs}
	}
	return c.writeOut(ec, m, &out, body, keep), true
}

// gzipRelay decides whether a relayed response is compressed, as nginx's
// gzip filter does for proxied bodies (an upstream's own
// Content-Encoding is left alone).
func (c *clientConn) gzipRelay(ec *evalCtx, rh *respHead) bool {
	if ec == nil || ec.server == nil {
		return false
	}
	var ctype []byte
	if rh.contentType >= 0 {
		ctype = rh.headers[rh.contentType].value
	}
	ec.out.upCtype = ctype // for $sent_http_content_type
	m := ec.contentOf()
	if m == nil || !m.gz.on {
		return false
	}
	var f gzipFacts
	for i := range rh.headers {
		h := &rh.headers[i]
		switch name := h.name; {
		case bytes.EqualFold(name, []byte("Content-Encoding")):
			if len(h.value) > 0 {
				return false
			}
		case bytes.EqualFold(name, []byte("Last-Modified")):
			f.lastMod = true
		case bytes.EqualFold(name, []byte("ETag")):
			f.etag = true
		case bytes.EqualFold(name, []byte("Expires")):
			if f.expires == nil {
				f.expires = h.value
			}
		case bytes.EqualFold(name, []byte("Cache-Control")):
			if f.cacheControl != nil {
				f.cacheControl = append(append(f.cacheControl, ','), h.value...)
			} else {
				f.cacheControl = append([]byte{}, h.value...)
			}
		}
	}
	if c.expiresFor(ec, &m.hdr).kind != expiresOff && safeStatus(rh.status) {
		// The expires directive replaces the upstream's Expires and
		// Cache-Control before the gzip filter sees them.
		f.cacheControl = nil
		f = c.expiresFacts(ec, m, f, rh.status, 0)
	}
	vary, ok := c.gzipFilter(m, rh.status, string(ctype), rh.contentLength, f)
	ec.out.vary, ec.out.gzip = vary, ok
	return ok
}

// appendVary writes "Vary: Accept-Encoding" once per response when the
// gzip filter looked at it and gzip_vary is on; nginx writes it right
// after Connection.
func (c *clientConn) appendVary(b []byte, ec *evalCtx) []byte {
	if ec == nil || !ec.out.vary {
		return b
	}
	ec.out.vary = false
	if m := ec.contentOf(); m != nil && m.gz.vary {
		b = append(b, "Vary: Accept-Encoding\r\n"...)
	}
	return b
}

// weakETag is the prefix that makes a relayed strong ETag weak once the
// body is compressed (nginx's ngx_http_weak_etag).
func (c *clientConn) weakETag(ec *evalCtx, hd *header) string {
	if ec == nil || !ec.out.gzip || !bytes.EqualFold(hd.name, []byte("ETag")) || bytes.HasPrefix(hd.value, []byte("W/")) {
		return ""
	}
	return "W/"
}

// gzipStream compresses a relayed body as it is read.
func (c *clientConn) gzipStream(ec *evalCtx, src io.Reader) io.Reader {
	return &gzipReader{src: src, g: &ec.contentOf().gz, bufs: &c.srv.copyBufs}
}
