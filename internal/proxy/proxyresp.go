package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"wisp/internal/ngxconf"
)

// respConf holds the inherited directives about responses and the
// request flow: error_page, proxy_redirect, proxy_hide_header,
// proxy_pass_header, proxy_intercept_errors, proxy_buffering, resolver
// and proxy_ssl_*. A list set at a level replaces the parent's.
type respConf struct {
	set         map[string]bool // directives given at this level
	pages       []*errorPageRule
	recursive   bool
	redirects   []redirectRule
	redirectOff bool
	hide, pass  []string // lowercase names
	intercept   bool
	resolvers   []string // host:port
	resolveTime time.Duration
	sslSNI      bool
	sslName     *program
	sslVerify   bool
	// The zero value is nginx's default: merge_slashes on.
	keepSlashes bool
	// dns keeps the resolver's answers; nil without valid=.
	dns     *dnsCache
	buffers proxyBuffers
	linger  lingering // lingering_close, _time, _timeout (linger.go)
}

// proxyBuffers holds proxy_buffer_size, proxy_buffers and
// proxy_busy_buffers_size. wisp's relay has its own buffering, so only
// proxy_buffer_size acts (the limit on an upstream's head); the others
// are checked as nginx checks them, so a config nginx refuses is refused.
type proxyBuffers struct {
	headSize        int64 // proxy_buffer_size
	num             int64 // proxy_buffers
	size            int64
	busy            int64 // proxy_busy_buffers_size; 0: twice the larger buffer
	headPos, bufPos ngxconf.Pos
	busyPos         ngxconf.Pos
	// proxy_temp_file_write_size (0: unset) and proxy_max_temp_file_size
	// (-1: unset). wisp streams responses and never spools them to
	// disk, so these are only checked.
	tempWrite, tempMax       int64
	tempWritePos, tempMaxPos ngxconf.Pos
}

// pageSize is nginx's default for the buffer sizes: one memory page.
const pageSize = 4096

// defaultRespConf is nginx's defaults at http level.
func defaultRespConf() respConf {
	return respConf{resolveTime: 30 * time.Second,
		buffers: proxyBuffers{headSize: pageSize, num: 8, size: pageSize, tempMax: -1}}
}

// check refuses the combinations nginx refuses when it merges a level,
// with its words. nginx names the end of the http block; wisp names the
// directive that made the combination.
func (b proxyBuffers) check() error {
	if b.num < 2 {
		return ngxconf.Errorf(b.bufPos, "there must be at least 2 \"proxy_buffers\"")
	}
	larger, pos := max(b.headSize, b.size), b.headPos
	if b.size > b.headSize {
		pos = b.bufPos
	}
	busy := b.busy
	if busy == 0 {
		busy = 2 * larger
	} else {
		pos = b.busyPos
	}
	if busy < larger {
		return ngxconf.Errorf(pos, "\"proxy_busy_buffers_size\" must be equal to or greater than the maximum of the value of \"proxy_buffer_size\" and one of the \"proxy_buffers\"")
	}
	if busy > (b.num-1)*b.size {
		return ngxconf.Errorf(pos, "\"proxy_busy_buffers_size\" must be less than the size of all \"proxy_buffers\" minus one buffer")
	}
	if b.tempWrite != 0 && b.tempWrite < larger {
		return ngxconf.Errorf(b.tempWritePos, "\"proxy_temp_file_write_size\" must be equal to or greater than the maximum of the value of \"proxy_buffer_size\" and one of the \"proxy_buffers\"")
	}
	if b.tempMax > 0 && b.tempMax < larger {
		return ngxconf.Errorf(b.tempMaxPos, "\"proxy_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be equal to or greater than the maximum of the value of \"proxy_buffer_size\" and one of the \"proxy_buffers\"")
	}
	return nil
}

func (r respConf) inherit(p respConf) respConf {
	r.linger = r.linger.inherit(p.linger)
	if inherits(r.set, "error_page") {
		r.pages = p.pages
	}
	if inherits(r.set, "recursive_error_pages") {
		r.recursive = p.recursive
	}
	if inherits(r.set, "proxy_redirect") {
		r.redirects, r.redirectOff = p.redirects, p.redirectOff
	}
	if inherits(r.set, "proxy_hide_header") {
		r.hide = p.hide
	}
	if inherits(r.set, "proxy_pass_header") {
		r.pass = p.pass
	}
	if inherits(r.set, "proxy_intercept_errors") {
		r.intercept = p.intercept
	}
	if inherits(r.set, "resolver") {
		r.resolvers, r.dns = p.resolvers, p.dns
	}
	if inherits(r.set, "resolver_timeout") {
		r.resolveTime = p.resolveTime
	}
	if inherits(r.set, "proxy_ssl_server_name") {
		r.sslSNI = p.sslSNI
	}
	if inherits(r.set, "proxy_ssl_name") {
		r.sslName = p.sslName
	}
	if inherits(r.set, "proxy_ssl_verify") {
		r.sslVerify = p.sslVerify
	}
	if inherits(r.set, "merge_slashes") {
		r.keepSlashes = p.keepSlashes
	}
	if inherits(r.set, "proxy_buffer_size") {
		r.buffers.headSize, r.buffers.headPos = p.buffers.headSize, p.buffers.headPos
	}
	if inherits(r.set, "proxy_buffers") {
		r.buffers.num, r.buffers.size, r.buffers.bufPos = p.buffers.num, p.buffers.size, p.buffers.bufPos
	}
	if inherits(r.set, "proxy_busy_buffers_size") {
		r.buffers.busy, r.buffers.busyPos = p.buffers.busy, p.buffers.busyPos
	}
	if inherits(r.set, "proxy_temp_file_write_size") {
		r.buffers.tempWrite, r.buffers.tempWritePos = p.buffers.tempWrite, p.buffers.tempWritePos
	}
	if inherits(r.set, "proxy_max_temp_file_size") {
		r.buffers.tempMax, r.buffers.tempMaxPos = p.buffers.tempMax, p.buffers.tempMaxPos
	}
	r.set = nil
	return r
}

// redirectRule is one proxy_redirect: the default mapping, a string
// prefix, or a regex (captures usable in the replacement).
type redirectRule struct {
	isDefault bool
	from      program
	re        *regexp.Regexp
	to        program
}

// respDirective compiles the directives respConf holds; ok is false for
// any other directive.
func (c *compiler) respDirective(d *ngxconf.Directive, conf *proxyConf) (ok bool, err error) {
	r := &conf.resp
	multi := false
	switch d.Name {
	case "error_page", "proxy_redirect", "proxy_hide_header", "proxy_pass_header":
		multi = true
	case "recursive_error_pages", "proxy_intercept_errors", "proxy_buffering", "resolver",
		"resolver_timeout", "proxy_ssl_server_name", "proxy_ssl_name", "proxy_ssl_verify",
		"merge_slashes",
		"proxy_buffer_size", "proxy_buffers", "proxy_busy_buffers_size",
		"proxy_temp_file_write_size", "proxy_max_temp_file_size":
	default:
		return false, nil
	}
	if r.set == nil {
		r.set = map[string]bool{}
	}
	if !multi && r.set[d.Name] {
		return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
	}
	r.set[d.Name] = true
	switch d.Name {
	case "error_page":
		rule, err := c.compileErrorPage(d)
		if err != nil {
			return true, err
		}
		r.pages = append(r.pages, rule)
	case "recursive_error_pages", "proxy_intercept_errors", "proxy_buffering",
		"proxy_ssl_server_name", "proxy_ssl_verify", "merge_slashes":
		on, err := flagArg(d)
		if err != nil {
			return true, err
		}
		switch d.Name {
		case "merge_slashes":
			r.keepSlashes = !on
		case "recursive_error_pages":
			r.recursive = on
		case "proxy_intercept_errors":
			r.intercept = on
		case "proxy_buffering":
			// Checked only: responses stream either way (relay.go), and
			// nothing is ever buffered whole in memory or on disk.
		case "proxy_ssl_server_name":
			r.sslSNI = on
		default:
			r.sslVerify = on
		}
	case "proxy_redirect":
		return true, c.compileRedirect(d, r, conf.seen["proxy_pass"])
	case "proxy_hide_header", "proxy_pass_header":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		name := strings.ToLower(d.Args[0])
		if d.Name == "proxy_hide_header" {
			r.hide = append(r.hide, name)
		} else {
			r.pass = append(r.pass, name)
		}
	case "resolver":
		return true, c.compileResolver(d, r)
	case "resolver_timeout":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		t, err := ngxconf.ParseDuration(d.Args[0])
		if err != nil || t <= 0 {
			return true, ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
		r.resolveTime = t
	case "proxy_buffer_size", "proxy_busy_buffers_size", "proxy_temp_file_write_size", "proxy_max_temp_file_size":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		// nginx 1.22 takes no "g" here, not even for the off_t
		// proxy_max_temp_file_size (checked against it).
		n, err := d.Size(0)
		if err != nil {
			return true, err
		}
		b := &r.buffers
		switch d.Name {
		case "proxy_buffer_size":
			b.headSize, b.headPos = n, d.Pos
		case "proxy_busy_buffers_size":
			b.busy, b.busyPos = n, d.Pos
		case "proxy_temp_file_write_size":
			b.tempWrite, b.tempWritePos = n, d.Pos
		default:
			b.tempMax, b.tempMaxPos = n, d.Pos
		}
	case "proxy_buffers":
		if err := argCount(d, 2); err != nil {
			return true, err
		}
		num, nerr := strconv.ParseInt(d.Args[0], 10, 64)
		size, serr := d.Size(1)
		if nerr != nil || num <= 0 || serr != nil {
			return true, ngxconf.InvalidValue(d)
		}
		r.buffers.num, r.buffers.size, r.buffers.bufPos = num, size, d.Pos
	case "proxy_ssl_name":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		p, err := c.value(d.Args[0], d.Pos)
		if err != nil {
			return true, err
		}
		r.sslName = &p
	}
	return true, nil
}

func flagArg(d *ngxconf.Directive) (bool, error) {
	if err := argCount(d, 1); err != nil {
		return false, err
	}
	switch strings.ToLower(d.Args[0]) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, ngxconf.Errorf(d.Pos, "invalid value %q in %q directive, it must be \"on\" or \"off\"", d.Args[0], d.Name)
}

func (c *compiler) compileRedirect(d *ngxconf.Directive, r *respConf, afterPass bool) error {
	// "off" excludes any other proxy_redirect at the same level (nginx).
	if r.redirectOff || (len(d.Args) == 1 && d.Args[0] == "off" && len(r.redirects) > 0) {
		return ngxconf.Errorf(d.Pos, "\"proxy_redirect\" directive is duplicate")
	}
	switch {
	case len(d.Args) == 1 && d.Args[0] == "off":
		r.redirects, r.redirectOff = nil, true
		return nil
	case len(d.Args) == 1 && d.Args[0] == "default":
		if !afterPass {
			// nginx maps from the proxy_pass URL it has already read.
			return ngxconf.Errorf(d.Pos, "\"proxy_redirect default\" should be placed after the \"proxy_pass\" directive")
		}
		r.redirects = append(r.redirects, redirectRule{isDefault: true})
		r.redirectOff = false
		return nil
	case len(d.Args) == 1:
		return ngxconf.Errorf(d.Pos, "invalid parameter %q", d.Args[0])
	case len(d.Args) != 2:
		return ngxconf.Errorf(d.Pos, "invalid number of arguments in \"proxy_redirect\" directive")
	}
	rule := redirectRule{}
	to, err := c.value(d.Args[1], d.Pos)
	if err != nil {
		return err
	}
	rule.to = to
	if expr, ok := strings.CutPrefix(d.Args[0], "~"); ok {
		caseless := strings.HasPrefix(expr, "*")
		if rule.re, err = compileRegex(strings.TrimPrefix(expr, "*"), caseless, d.Pos); err != nil {
			return err
		}
	} else if rule.from, err = c.value(d.Args[0], d.Pos); err != nil {
		return err
	}
	r.redirects, r.redirectOff = append(r.redirects, rule), false
	return nil
}

// compileResolver parses "resolver ADDR... [valid=T] [ipv6=on|off]".
func (c *compiler) compileResolver(d *ngxconf.Directive, r *respConf) error {
	if len(d.Args) == 0 {
		return ngxconf.Errorf(d.Pos, "invalid number of arguments in \"resolver\" directive")
	}
	r.resolvers, r.dns = nil, nil
	for _, a := range d.Args {
		switch {
		case strings.HasPrefix(a, "valid="):
			valid, err := ngxconf.ParseDuration(a[6:])
			if err != nil {
				return ngxconf.Errorf(d.Pos, "invalid parameter: %s", a)
			}
			if valid > 0 {
				r.dns = &dnsCache{valid: valid, answers: map[string]dnsAnswer{}}
			}
		case strings.HasPrefix(a, "ipv6="), strings.HasPrefix(a, "ipv4="), strings.HasPrefix(a, "status_zone="):
		default:
			host, port := splitHostPort(a)
			if port == "" {
				port = "53"
			}
			if net.ParseIP(host) == nil {
				return ngxconf.Errorf(d.Pos, "host not found in resolver %q", a)
			}
			r.resolvers = append(r.resolvers, net.JoinHostPort(host, port))
		}
	}
	return nil
}

// handlerResp is what a proxy_pass needs of respConf at request time.
type handlerResp struct {
	redirects   []redirectRule
	redirectOff bool
	hide, pass  []string
	intercept   bool
	resolvers   []string
	resolveTime time.Duration
	dns         *dnsCache
	tls         *tls.Config // https upstreams
	sslName     *program
	sslSNI      bool
	sslVerify   bool
	sniVar      bool // the SNI name has variables: tls is made per request
	headLimit   int  // proxy_buffer_size: the largest upstream head
	// dynamic proxy_pass: the URL program and the upstream groups by
	// lowercased name, which win over DNS as in nginx.
	dynURL *program
	groups map[string]*upstream
	pos    ngxconf.Pos
}

// attachResp gives a compiled proxy_pass its response settings.
func (c *compiler) attachResp(h *proxyHandler, r respConf, https bool, host string) {
	h.resp = &handlerResp{redirects: r.redirects, redirectOff: r.redirectOff, hide: r.hide, pass: r.pass,
		intercept: r.intercept, resolvers: r.resolvers, resolveTime: r.resolveTime,
		dns: r.dns, sslName: r.sslName, sslSNI: r.sslSNI, sslVerify: r.sslVerify, headLimit: int(r.buffers.headSize)}
	if https {
		name, literal := host, true
		if r.sslName != nil {
			name, literal = r.sslName.literal()
		}
		h.resp.tls = upstreamTLS(r, name)
		h.resp.sniVar = r.sslSNI && !literal
	}
}

// literal returns the program's text when it has no variables.
func (p *program) literal() (string, bool) {
	var b []byte
	for _, pt := range p.parts {
		if pt.v != varNone {
			return "", false
		}
		b = append(b, pt.lit...)
	}
	return string(b), true
}

// perRequest reports a handler that needs resolving for each request
// (a variable URL or SNI name).
func (h *proxyHandler) perRequest() bool {
	return h.resp != nil && (h.resp.dynURL != nil || h.resp.sniVar)
}

// forRequest returns the handler for this request: resolveDynamic for a
// variable URL, else a copy with this request's SNI name.
func (c *clientConn) forRequest(h *proxyHandler, ec *evalCtx) (*proxyHandler, int) {
	if h.resp.dynURL != nil {
		return c.resolveDynamic(h, ec)
	}
	dh := *h
	resp := *h.resp
	resp.tls = upstreamTLS(respConf{sslSNI: true, sslVerify: resp.sslVerify}, string(resp.sslName.appendTo(nil, ec)))
	dh.resp = &resp
	return &dh, 0
}

// upstreamTLS is the client TLS config for https upstreams. As in nginx,
// the certificate is only verified with proxy_ssl_verify on, and SNI is
// only sent with proxy_ssl_server_name on.
func upstreamTLS(r respConf, host string) *tls.Config {
	cfg := &tls.Config{InsecureSkipVerify: !r.sslVerify, MinVersion: tls.VersionTLS12}
	if r.sslSNI {
		cfg.ServerName = host
	}
	return cfg
}

// hides reports whether a response header stays away from the client:
// nginx's defaults and proxy_hide_header, minus proxy_pass_header.
func (h *proxyHandler) hides(name []byte) bool {
	if h.resp != nil {
		for _, p := range h.resp.pass {
			if len(p) == len(name) && bytes.EqualFold([]byte(p), name) && passable(p) {
				return false
			}
		}
		for _, p := range h.resp.hide {
			if len(p) == len(name) && bytes.EqualFold([]byte(p), name) {
				return true
			}
		}
	}
	return hiddenResponseHeader(name)
}

// passes reports proxy_pass_header for a lowercase name.
func (h *proxyHandler) passes(lower string) bool {
	if h == nil || h.resp == nil {
		return false
	}
	for _, p := range h.resp.pass {
		if p == lower {
			return true
		}
	}
	return false
}

// passable: proxy_pass_header re-enables only headers hidden by
// default, not the ones nginx regenerates itself.
func passable(lower string) bool {
	return lower == "x-pad" || lower == "server" || lower == "date" || strings.HasPrefix(lower, "x-accel-")
}

// customRedirect reports proxy_redirect set to anything but the default.
func (h *proxyHandler) customRedirect() bool {
	return h.resp != nil && (h.resp.redirectOff || len(h.resp.redirects) > 0 || h.resp.dynURL != nil)
}

// redirectRules applies explicit proxy_redirect rules in order; the
// first hit wins.
func (c *clientConn) redirectRules(h *proxyHandler, ec *evalCtx, v []byte) mappedLocation {
	if h.resp.redirectOff || h.resp.dynURL != nil && len(h.resp.redirects) == 0 {
		return mappedLocation{head: v}
	}
	for _, rule := range h.resp.redirects {
		switch {
		case rule.isDefault:
			if m, ok := h.defaultRedirect(v); ok {
				return m
			}
		case rule.re != nil:
			if m := rule.re.FindSubmatchIndex(v); m != nil {
				ec.caps, ec.capSrc = m, v
				out := rule.to.appendTo(nil, ec)
				return mappedLocation{head: out, tail: v[m[1]:], mapped: true}
			}
		default:
			from := rule.from.appendTo(nil, ec)
			if bytes.HasPrefix(v, from) {
				out := rule.to.appendTo(nil, ec)
				return mappedLocation{head: out, tail: v[len(from):], mapped: true}
			}
		}
	}
	return mappedLocation{head: v}
}

// intercepts reports whether proxy_intercept_errors hands status to
// error_page instead of relaying the upstream's response.
func (h *proxyHandler) intercepts(status int, ec *evalCtx) bool {
	if h.resp == nil || !h.resp.intercept || status < 300 {
		return false
	}
	rule, _ := ec.errorPageFor(status)
	return rule != nil
}

// dynamicProxyPass compiles proxy_pass with variables: the URL is made
// per request (resolveDynamic).
func (c *compiler) dynamicProxyPass(d *ngxconf.Directive, l *location, conf proxyConf) (*proxyHandler, error) {
	for _, rule := range conf.resp.redirects {
		if rule.isDefault {
			return nil, ngxconf.Errorf(d.Pos, "\"proxy_redirect default\" cannot be used with \"proxy_pass\" directive with variables")
		}
	}
	url, err := c.value(d.Args[0], d.Pos)
	if err != nil {
		return nil, err
	}
	h := &proxyHandler{
		prefix: l.name, connect: conf.connect, read: conf.read, send: conf.send,
		http11: conf.httpVersion == "1.1", maxBody: conf.maxBody,
	}
	if err := compileHeaders(h, conf.setHeaders, c.scope); err != nil {
		return nil, err
	}
	c.attachResp(h, conf.resp, false, "")
	h.resp.dynURL, h.resp.groups, h.resp.pos = &url, c.upstreams, d.Pos
	return h, nil
}

// resolveDynamic makes the per-request handler of a proxy_pass with
// variables; status is the error to answer when that fails.
func (c *clientConn) resolveDynamic(h *proxyHandler, ec *evalCtx) (*proxyHandler, int) {
	url := string(h.resp.dynURL.appendTo(nil, ec))
	rest, ok := cutPrefixFold(url, "http://")
	https := false
	if !ok {
		if rest, ok = cutPrefixFold(url, "https://"); !ok {
			c.srv.log.Error("invalid URL prefix in \""+url+"\"", c.withHost(c.logCtx(ec))...)
			return nil, 500
		}
		https = true
	}
	dh := *h
	resp := *h.resp
	dh.resp = &resp
	if path, ok := strings.CutPrefix(rest, "unix:"); ok {
		sock, uri, _ := strings.Cut(path, ":")
		dh.proxyHost, dh.proxyPort, dh.fixedURI = []byte("localhost"), nil, nil
		if uri != "" {
			dh.fixedURI = []byte(uri)
		}
		u := newUpstream("unix:" + sock)
		u.peers = []*peer{{name: "unix:" + sock, network: "unix", address: sock,
			unixAddr: &net.UnixAddr{Name: sock, Net: "unix"}, weight: 1, effWeight: 1, maxFails: 1, failTimeout: 10}}
		u.seal()
		dh.up, dh.reuse = u, false
		return &dh, 0
	}
	hostport, uri := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, uri = rest[:i], rest[i:]
	}
	dh.proxyHost = []byte(hostport)
	dh.fixedURI = nil
	if uri != "" {
		// With variables, a URI part replaces the request URI whole.
		dh.fixedURI = []byte(uri)
	}
	host, port := splitHostPort(hostport)
	defPort := "80"
	if https {
		defPort = "443"
	}
	dh.proxyPort = []byte(port)
	if port == "" {
		dh.proxyPort = []byte(defPort)
	}
	if https {
		name := host
		if resp.sslName != nil {
			name = string(resp.sslName.appendTo(nil, ec))
		}
		resp.tls = upstreamTLS(respConf{sslSNI: resp.sslSNI, sslVerify: resp.sslVerify}, name)
	}
	if u, ok := h.resp.groups[strings.ToLower(host)]; ok && port == "" {
		dh.up = u
		dh.reuse = u.keepalive > 0 && dh.http11 && clearsConnection(&dh)
		return &dh, 0
	}
	peers, err := c.lookupPeers(ec, h.resp, host, cmpPort(port, defPort))
	if err != nil {
		c.srv.log.Error(err.Error(), c.withHost(c.logCtx(ec))...)
		return nil, 502
	}
	u := newUpstream(hostport)
	for _, p := range peers {
		p.weight, p.effWeight, p.maxFails, p.failTimeout = 1, 1, 1, 10
	}
	u.peers = peers
	u.seal()
	dh.up, dh.reuse = u, false
	return &dh, 0
}

func cmpPort(port, def string) string {
	if port == "" {
		return def
	}
	return port
}

// lookupPeers turns a host into peers: an address as is, else DNS through
// the configured resolver (nginx never uses the system resolver here).
func (c *clientConn) lookupPeers(ec *evalCtx, r *handlerResp, host, port string) ([]*peer, error) {
	if ip := net.ParseIP(host); ip != nil {
		a := net.JoinHostPort(ip.String(), port)
		return []*peer{{name: a, network: "tcp", address: a}}, nil
	}
	if len(r.resolvers) == 0 {
		return nil, errorString("no resolver defined to resolve " + host)
	}
	ips, err := r.dns.lookup(host, func() ([]net.IPAddr, error) { return resolve(r, host) })
	if err != nil {
		return nil, err
	}
	var out []*peer
	for _, ip := range ips {
		a := net.JoinHostPort(ip.IP.String(), port)
		out = append(out, &peer{name: a, network: "tcp", address: a})
	}
	return out, nil
}

// dnsCache keeps a resolver's answers for its valid= time, as nginx's
// resolver does, so a proxy_pass with variables does not ask DNS at every
// request. (Without valid= nginx keeps them for the records' TTL, which Go's
// resolver does not report; wisp then asks every time.)
type dnsCache struct {
	valid   time.Duration
	mu      sync.Mutex
	answers map[string]dnsAnswer // by lowercased host
}

type dnsAnswer struct {
	ips     []net.IPAddr
	expires time.Time
}

// lookup returns host's addresses from the cache while they are valid,
// else from ask, keeping a successful answer. A nil cache always asks.
func (d *dnsCache) lookup(host string, ask func() ([]net.IPAddr, error)) ([]net.IPAddr, error) {
	if d == nil {
		return ask()
	}
	key := strings.ToLower(host)
	now := time.Now()
	d.mu.Lock()
	a, ok := d.answers[key]
	d.mu.Unlock()
	if ok && now.Before(a.expires) {
		return a.ips, nil
	}
	ips, err := ask()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.answers) >= maxDNSAnswers {
		// Hosts may come from the request ($http_host): keep the cache
		// bounded by dropping what expired, else everything.
		for k, old := range d.answers {
			if !now.Before(old.expires) {
				delete(d.answers, k)
			}
		}
		if len(d.answers) >= maxDNSAnswers {
			clear(d.answers)
		}
	}
	d.answers[key] = dnsAnswer{ips: ips, expires: now.Add(d.valid)}
	d.mu.Unlock()
	return ips, nil
}

// maxDNSAnswers bounds a resolver's cache.
const maxDNSAnswers = 4096

// resolve asks the configured resolvers for host, in order.
func resolve(r *handlerResp, host string) ([]net.IPAddr, error) {
	servers := r.resolvers
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		var last error
		for _, s := range servers {
			conn, err := d.DialContext(ctx, network, s)
			if err == nil {
				return conn, nil
			}
			last = err
		}
		return nil, last
	}}
	ctx, cancel := context.WithTimeout(context.Background(), r.resolveTime)
	defer cancel()
	ips, err := res.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		if ctx.Err() != nil {
			return nil, errorString(host + " could not be resolved (110: Operation timed out)")
		}
		return nil, errorString(host + " could not be resolved (3: Host not found)")
	}
	return ips, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// wrapTLS starts TLS on a fresh upstream connection for https upstreams.
func (h *proxyHandler) wrapTLS(nc net.Conn) (net.Conn, error) {
	if h.resp == nil || h.resp.tls == nil {
		return nc, nil
	}
	tc := tls.Client(nc, h.resp.tls)
	ctx, cancel := context.WithTimeout(context.Background(), h.connect)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// appendFlowURI writes the upstream request URI when the rewrite module
// or a variable proxy_pass decides it (nginx's ngx_http_proxy_create_request):
// a variable URL's URI part as is, else after a URI change the escaped
// $uri, with the location prefix replaced by proxy_pass's URI part only
// while the location is still the one matched.
func (c *clientConn) appendFlowURI(b []byte, h *proxyHandler, ec *evalCtx) ([]byte, bool) {
	switch {
	case h.fixedURI != nil:
		return append(b, h.fixedURI...), true
	case !ec.internal:
		return b, false
	}
	rest := ec.uri
	if h.hasURI && !ec.breakURI {
		b = append(b, h.uri...)
		if len(rest) >= len(h.prefix) {
			rest = rest[len(h.prefix):]
		}
	}
	b = appendEscapedURI(b, rest)
	if args := ec.currentArgs(); len(args) > 0 {
		b = append(b, '?')
		b = append(b, args...)
	}
	return b, true
}

// schemePrefix is how the proxy_pass URL starts, for proxy_redirect
// default.
func (h *proxyHandler) schemePrefix() []byte {
	if h.resp != nil && h.resp.tls != nil {
		return []byte("https://")
	}
	return []byte("http://")
}

// writeStatusLine writes the upstream's status line, or the status
// error_page imposed with nginx's reason phrase; $status follows.
func writeStatusLine(bw *bufio.Writer, ec *evalCtx, rh *respHead) {
	if ec.errStatus > 0 {
		ec.status = ec.errStatus
		bw.WriteString(strconv.Itoa(ec.errStatus))
		bw.WriteByte(' ')
		bw.WriteString(statusText(ec.errStatus))
		return
	}
	ec.status = rh.status
	bw.Write(rh.statusLine)
}

// answeringLoc is the location whose settings answer ec: for a
// trailing-slash redirect, the location it leads to.
func (ec *evalCtx) answeringLoc() *location {
	loc := ec.loc
	if loc != nil && loc.kind == locRedirect && loc.target != nil {
		loc = loc.target
	}
	return loc
}

// respOf returns the response settings answering ec: the location's,
// else the server's.
func (ec *evalCtx) respOf() *respConf {
	if loc := ec.answeringLoc(); loc != nil && loc.resp != nil {
		return loc.resp
	}
	return ec.server.resp
}

// mergeSlashes reports merge_slashes for requests on g. As in nginx, the
// URI is parsed before the Host header picks a server, so the address's
// default server decides.
func (g *vhostGroup) mergeSlashes() bool {
	return g == nil || g.def == nil || g.def.resp == nil || !g.def.resp.keepSlashes
}

// statusLine is an upstream status line as nginx 1.22's
// ngx_http_parse_status_line reads it: "HTTP/" major "." minor, one
// space, any further spaces, three digits, then ' ', '.' (IIS's
// "403.1") or the line's end, then any text.
type statusLine struct {
	status    int
	text      []byte // from the code to the end of the line, as relayed
	atLeast11 bool   // HTTP/1.1 or later: keepalive and chunked apply
}

// statusVerdict is what the first bytes of an upstream answer tell.
type statusVerdict int

const (
	statusMore    statusVerdict = iota // too few bytes to decide yet
	statusValid                        // a complete, valid status line
	statusInvalid                      // not HTTP/1.x: nginx relays it as HTTP/0.9
)

// parseStatusLine checks buf (the answer's first bytes, the line with
// its end if it arrived) byte by byte, so that an answer that is not
// HTTP is known as soon as nginx would know it.
func parseStatusLine(buf []byte) (statusLine, statusVerdict) {
	var sl statusLine
	const prefix = "HTTP/"
	for i := 0; i < len(prefix); i++ {
		if i == len(buf) {
			return sl, statusMore
		}
		if buf[i] != prefix[i] {
			return sl, statusInvalid
		}
	}
	p := len(prefix)
	major, minor := 0, 0
	// number reads the digits of one version part up to sep; nginx
	// refuses a first digit below min and a value over 99 before the
	// next digit.
	number := func(min byte, sep byte, v *int) statusVerdict {
		for first := true; ; first = false {
			if p == len(buf) {
				return statusMore
			}
			ch := buf[p]
			p++
			if !first && ch == sep {
				return statusValid
			}
			if ch < min && first || ch < '0' || ch > '9' || *v > 99 {
				return statusInvalid
			}
			*v = *v*10 + int(ch-'0')
		}
	}
	if v := number('1', '.', &major); v != statusValid {
		return sl, v
	}
	if v := number('0', ' ', &minor); v != statusValid {
		return sl, v
	}
	for p < len(buf) && buf[p] == ' ' {
		p++
	}
	start := p
	for ; p < start+3; p++ {
		if p == len(buf) {
			return sl, statusMore
		}
		if buf[p] < '0' || buf[p] > '9' {
			return sl, statusInvalid
		}
		sl.status = sl.status*10 + int(buf[p]-'0')
	}
	if p == len(buf) {
		return sl, statusMore
	}
	switch buf[p] {
	case ' ', '.', '\r', '\n':
	default:
		return sl, statusInvalid
	}
	eol := bytes.IndexByte(buf[p:], '\n')
	if eol < 0 {
		if cr := bytes.IndexByte(buf[p:], '\r'); cr >= 0 && p+cr+1 < len(buf) {
			return sl, statusInvalid // a CR not followed by LF
		}
		return sl, statusMore
	}
	end := p + eol
	if cr := bytes.IndexByte(buf[p:end], '\r'); cr >= 0 && p+cr != end-1 {
		return sl, statusInvalid
	}
	sl.text = trimCR(buf[start:end])
	sl.atLeast11 = major > 1 || minor >= 1
	return sl, statusValid
}

// indexFold is bytes.Index ignoring ASCII case, without allocating; lower
// is the lowercase needle.
func indexFold(s []byte, lower string) int {
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for j < len(lower) && s[i+j]|0x20 == lower[j]|0x20 && (s[i+j]|0x20 >= 'a' && s[i+j]|0x20 <= 'z' || s[i+j] == lower[j]) {
			j++
		}
		if j == len(lower) {
			return i
		}
	}
	return -1
}

// earlyLocation finds the Location nginx's header filter writes itself:
// the last one proxy_redirect rewrote, when it is a path (made absolute
// after Content-Length). Every other Location keeps its place.
func (c *clientConn) earlyLocation(h *proxyHandler, ec *evalCtx, rh *respHead) (mappedLocation, int) {
	for i := len(rh.headers) - 1; i >= 0 && rh.location >= 0; i-- {
		if !bytes.EqualFold(rh.headers[i].name, []byte("Location")) {
			continue
		}
		if m := c.mapLocation(h, ec, rh.headers[i].value); m.mapped {
			if m.early() {
				return m, i
			}
			break
		}
	}
	return mappedLocation{}, -1
}

// writeRedirectHeader writes a Location, or a Refresh with "url=", in
// its place after proxy_redirect, keeping the upstream's spelling of the
// name; false leaves hd to the caller.
func (c *clientConn) writeRedirectHeader(bw *bufio.Writer, h *proxyHandler, ec *evalCtx, hd *header) bool {
	var keep []byte // the part of the value before what is rewritten
	v := hd.value
	switch {
	case bytes.EqualFold(hd.name, []byte("Location")):
	case bytes.EqualFold(hd.name, []byte("Refresh")) && !h.hides(hd.name):
		i := indexFold(v, "url=")
		if i < 0 {
			return false
		}
		keep, v = v[:i+len("url=")], v[i+len("url="):]
	default:
		return false
	}
	m := c.mapLocation(h, ec, v)
	bw.Write(hd.name)
	bw.WriteString(": ")
	bw.Write(keep)
	bw.Write(m.head)
	bw.Write(m.tail)
	bw.WriteString("\r\n")
	return true
}

// relayHTTP09 passes on an answer that does not start with a status line
// as nginx 1.22 does: logged as an error, then every byte the upstream
// sends until it closes goes to the client as it is, with no head (an
// HTTP/0.9 response); a HEAD request gets nothing. $status is 009 and
// $upstream_status 200. nginx's header filter does not run, so the client
// connection stays open for the next request.
func (c *clientConn) relayHTTP09(h *proxyHandler, ec *evalCtx, uc *upConn, keepClient bool) bool {
	c.srv.log.Error("upstream sent no valid HTTP/1.0 header while reading response header from upstream", c.logCtxPeer(ec, uc.peer)...)
	ec.status, ec.out.status = 9, 200
	if string(c.req.method) == "HEAD" {
		// A HEAD answer has no body, and HTTP/0.9 no head.
		c.noteUpstream(ec, uc.peer)
		c.srv.closeUpstream(uc)
		return false
	}
	bw := c.srv.writeBufs.Get().(*bufio.Writer)
	ec.out.wire = countingWriter{w: c.wr} // $body_bytes_sent: all of it is body
	bw.Reset(&ec.out.wire)
	defer func() { bw.Reset(nil); c.srv.writeBufs.Put(bw) }()
	err := c.copyBody(bw, uc, uc.br, h, false)
	if err == nil {
		if ferr := bw.Flush(); ferr != nil {
			err = clientWriteError{ferr}
		}
	}
	ec.out.noteRelayed(-1, false, false)
	c.noteUpstream(ec, uc.peer)
	c.srv.closeUpstream(uc)
	if err != nil {
		c.relayFailed(ec, uc, bw, err)
		return false
	}
	return keepClient && c.keepAllowed()
}

// chunkedSource decodes a chunked upstream body and remembers whether it
// failed on the framing rather than on the connection: nginx then drops
// what it has not sent yet instead of flushing it.
type chunkedSource struct {
	r       io.Reader
	invalid bool
}

func (s *chunkedSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		var ne net.Error
		var cw clientWriteError
		s.invalid = !errors.As(err, &ne) && !errors.As(err, &cw) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, syscall.ECONNRESET)
	}
	return n, err
}

// headLimit is proxy_buffer_size: an upstream head that does not fit is
// "upstream sent too big header".
func (h *proxyHandler) headLimit() int {
	if h.resp == nil {
		return pageSize
	}
	return h.resp.headLimit
}

// growReader gives uc a reader of size bytes holding what the old one
// had buffered, for a head larger than the usual reader under a larger
// proxy_buffer_size. The old bytes are read first, then the connection,
// so nothing stays hidden in between (the splice path reads the socket).
func (uc *upConn) growReader(size int) {
	held, _ := uc.br.Peek(uc.br.Buffered())
	bigger := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(held)), &uc.src), size)
	bigger.Peek(len(held))
	uc.br = bigger
}

// earlyAnswer reads the answer of an upstream that closed while the
// request body was still going to it: nginx has the whole body before it
// sends, so such an answer (a 413 to an upload, say) reaches the client
// instead of a 502, and the connection stays open. wisp streams the body,
// so it reads the rest now (kept, as nginx keeps it); when it cannot, the
// client connection closes after the answer.
func (c *clientConn) earlyAnswer(uc *upConn, h *proxyHandler, ec *evalCtx) (*respHead, bool) {
	resp, err := readResponseHead(uc, h.read, &c.resp, nil, h.headLimit())
	if err != nil {
		return nil, false
	}
	if ec.body == nil {
		ec.bodyUnread = true
	} else if _, err := io.Copy(io.Discard, ec.body); err != nil {
		ec.bodyUnread = true
	}
	return resp, true
}
