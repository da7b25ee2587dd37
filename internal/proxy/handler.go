package proxy

import (
	"net"
	"strconv"
	"strings"
	"time"

	"wisp/internal/ngxconf"
)

// proxyHandler is a compiled proxy_pass with everything the forwarding
// path needs, so a request does no config lookups.
type proxyHandler struct {
	up                   *upstream
	hasURI               bool
	uri                  []byte // the URI part of proxy_pass
	prefix               string // the location name it replaces
	proxyHost, proxyPort []byte
	headers              []setHeader
	skip                 [][]byte // lowercase names never copied from the client
	connect, read, send  time.Duration
	http11               bool
	maxBody              int64
	// reuse: upstream connections may be kept (keepalive N, HTTP/1.1 and
	// the Connection header cleared, as nginx requires).
	reuse bool
	next  nextUpstream // when and how often to try another peer
	resp  *handlerResp // response handling, TLS, variable URL (proxyresp.go)
	// fixedURI: a variable proxy_pass's URI part, sent instead of the
	// request URI.
	fixedURI []byte
}

type setHeaderKind uint8

const (
	hdrValue         setHeaderKind = iota
	hdrContentLength               // regenerated from the body length
)

// setHeader is one entry of the proxy_set_header list.
type setHeader struct {
	name  []byte
	value program
	kind  setHeaderKind
}

// defaultSetHeaders are nginx 1.22's implicit proxy_set_header entries
// (ngx_http_proxy_headers); an empty value removes the client's header.
var defaultSetHeaders = [...]struct{ name, value string }{
	{"Host", "$proxy_host"},
	{"Connection", "close"},
	{"Content-Length", ""},
	{"Transfer-Encoding", ""},
	{"TE", ""},
	{"Keep-Alive", ""},
	{"Expect", ""},
	{"Upgrade", ""},
}

// compileHeaders builds the set list: the configured headers in order, then
// the defaults that were not overridden by name.
func compileHeaders(h *proxyHandler, ds []*ngxconf.Directive, scope *varScope) error {
	seen := map[string]bool{}
	// Every configured entry is sent, repeated names too (nginx); a
	// default only where no entry names it.
	add := func(name, value string, pos ngxconf.Pos, configured bool) error {
		lower := strings.ToLower(name)
		if seen[lower] && !configured {
			return nil
		}
		if !seen[lower] {
			h.skip = append(h.skip, []byte(lower))
		}
		seen[lower] = true
		if lower == "content-length" && value == "" {
			h.headers = append(h.headers, setHeader{name: []byte(name), kind: hdrContentLength})
			return nil
		}
		if value == "" {
			return nil
		}
		p, err := compileScoped(value, pos, scope)
		if err != nil {
			return err
		}
		h.headers = append(h.headers, setHeader{name: []byte(name), value: p})
		return nil
	}
	for _, d := range ds {
		if err := add(d.Args[0], d.Args[1], d.Pos, true); err != nil {
			return err
		}
	}
	for _, d := range defaultSetHeaders {
		if err := add(d.name, d.value, ngxconf.Pos{}, false); err != nil {
			return err
		}
	}
	return nil
}

// proxyPass parses a proxy_pass directive (§4.1). The upstream itself is
// resolved later, once every upstream block is known.
func (c *compiler) proxyPass(d *ngxconf.Directive, l *location, conf proxyConf) (*proxyHandler, error) {
	url := d.Args[0]
	if strings.Contains(url, "$") {
		return c.dynamicProxyPass(d, l, conf)
	}
	rest, ok := cutPrefixFold(url, "http://")
	https := false
	if !ok {
		if rest, https = cutPrefixFold(url, "https://"); !https {
			return nil, ngxconf.Errorf(d.Pos, "invalid URL prefix")
		}
	}
	h := &proxyHandler{
		prefix: l.name, connect: conf.connect, read: conf.read, send: conf.send,
		http11: conf.httpVersion == "1.1", maxBody: conf.maxBody, next: conf.next,
	}
	p := pendingHandler{h: h, d: d, defPort: "80"}
	if path, ok := strings.CutPrefix(rest, "unix:"); ok {
		sock, uri, hasURI := strings.Cut(path, ":")
		if sock == "" {
			return nil, ngxconf.Errorf(d.Pos, "no path in the unix domain socket in upstream %q", rest)
		}
		if len(sock) > 107 {
			return nil, ngxconf.Errorf(d.Pos, "too long path in the unix domain socket in upstream %q", rest)
		}
		p.host = "unix:" + sock
		h.proxyHost = []byte("localhost")
		h.hasURI, h.uri = hasURI && uri != "", []byte(uri)
	} else {
		hostport, uri := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			hostport, uri = rest[:i], rest[i:]
		}
		if err := checkUpstreamHost(hostport, d); err != nil {
			return nil, err
		}
		host, port := splitHostPort(hostport)
		p.host, p.port = host, port
		h.proxyHost = []byte(hostport)
		h.proxyPort = []byte(port)
		if port == "" {
			h.proxyPort = []byte("80")
			if https {
				h.proxyPort = []byte("443")
				p.defPort = "443"
			}
		}
		h.hasURI, h.uri = uri != "", []byte(uri)
	}
	if h.hasURI && (l.kind == locRegex || l.kind == locNamed) {
		return nil, ngxconf.Errorf(d.Pos, "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block")
	}
	if err := compileHeaders(h, conf.setHeaders, c.scope); err != nil {
		return nil, err
	}
	host, _ := splitHostPort(string(h.proxyHost))
	c.attachResp(h, conf.resp, https, host)
	c.handlers = append(c.handlers, p)
	return h, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// splitHostPort splits "h", "h:80", "[::1]:80"; port is "" when absent.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			host, rest := s[1:end], s[end+1:]
			return host, strings.TrimPrefix(rest, ":")
		}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// resolveTarget binds a proxy_pass to its upstream block or to an implicit
// group for its address (§4.2).
func (c *compiler) resolveTarget(p pendingHandler) error {
	h := p.h
	if u, ok := c.upstreams[strings.ToLower(p.host)]; ok && !strings.HasPrefix(p.host, "unix:") {
		if p.port != "" {
			return ngxconf.Errorf(p.d.Pos, "upstream %q may not have port %s", u.name, p.port)
		}
		h.up = u
	} else {
		key := p.host + ":" + p.port
		u, ok := c.upstreams["\x00"+key]
		if !ok {
			u = newUpstream(key)
			addr := p.host
			if !strings.HasPrefix(addr, "unix:") {
				port := p.port
				if port == "" {
					port = p.defPort
				}
				addr = net.JoinHostPort(p.host, port)
			}
			peers, err := c.peers(addr, p.d, p.host)
			if err != nil {
				return err
			}
			for _, pr := range peers {
				pr.weight, pr.effWeight, pr.maxFails, pr.failTimeout = 1, 1, 1, 10
				pr.server = addr
			}
			u.peers = peers
			u.seal()
			c.upstreams["\x00"+key] = u
		}
		h.up = u
	}
	h.reuse = h.up.keepalive > 0 && h.http11 && clearsConnection(h)
	return nil
}

// clearsConnection reports whether the config removed the Connection
// header, which nginx's keepalive needs ("Connection: close" otherwise).
func clearsConnection(h *proxyHandler) bool {
	for _, s := range h.headers {
		if strings.EqualFold(string(s.name), "connection") {
			return false
		}
	}
	return true
}

// peers turns a server address into peers: unix:/path, ip[:port] or a
// host name resolved now, every address becoming a peer. named is the
// text nginx's errors quote (a proxy_pass host without its port).
func (c *compiler) peers(addr string, d *ngxconf.Directive, named string) ([]*peer, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return nil, ngxconf.Errorf(d.Pos, "no path in the unix domain socket in upstream %q", named)
		}
		if len(path) > 107 {
			return nil, ngxconf.Errorf(d.Pos, "too long path in the unix domain socket in upstream %q", named)
		}
		return []*peer{{name: addr, network: "unix", address: path, unixAddr: &net.UnixAddr{Name: path, Net: "unix"}}}, nil
	}
	host, port := splitHostPort(addr)
	if port == "" {
		port = "80"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, ngxconf.Errorf(d.Pos, "invalid port in upstream %q", addr)
	}
	if ip := net.ParseIP(host); ip != nil {
		a := net.JoinHostPort(ip.String(), port)
		return []*peer{{name: a, network: "tcp", address: a}}, nil
	}
	ips, err := net.DefaultResolver.LookupIP(c.ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, ngxconf.Errorf(d.Pos, "host not found in upstream %q", named)
	}
	var out []*peer
	for _, ip := range ips {
		a := net.JoinHostPort(ip.String(), port)
		out = append(out, &peer{name: a, network: "tcp", address: a})
	}
	return out, nil
}

// upstreamBlock compiles upstream NAME { ... } (§5.1).
func (c *compiler) upstreamBlock(d *ngxconf.Directive) error {
	if err := argCount(d, 1); err != nil {
		return err
	}
	key := strings.ToLower(d.Args[0])
	if _, dup := c.upstreams[key]; dup {
		return ngxconf.Errorf(d.Pos, "duplicate upstream %q", d.Args[0])
	}
	u := newUpstream(d.Args[0])
	idle, maxReq := 60*time.Second, 1000
	var policy *ngxconf.Directive
	for _, sd := range d.Block {
		switch sd.Name {
		case "least_conn", "ip_hash", "hash", "random", "zone":
			if err := c.upstreamPolicy(u, sd, &policy); err != nil {
				return err
			}
		case "server":
			ps, err := c.upstreamServer(sd)
			if err != nil {
				return err
			}
			if err := checkServerForPolicy(u, sd, ps); err != nil {
				return err
			}
			for _, p := range ps {
				if p.backup {
					u.backups = append(u.backups, p)
				} else {
					u.peers = append(u.peers, p)
				}
			}
		case "keepalive", "keepalive_requests":
			if err := argCount(sd, 1); err != nil {
				return err
			}
			n, err := strconv.Atoi(sd.Args[0])
			if err != nil || n <= 0 {
				return ngxconf.Errorf(sd.Pos, "invalid value \"%s\" in \"%s\" directive", sd.Args[0], sd.Name)
			}
			if sd.Name == "keepalive" {
				u.keepalive = n
			} else {
				maxReq = n
			}
		case "keepalive_timeout":
			if err := argCount(sd, 1); err != nil {
				return err
			}
			t, err := ngxconf.ParseDuration(sd.Args[0])
			if err != nil {
				return ngxconf.Errorf(sd.Pos, "%q directive invalid value", sd.Name)
			}
			idle = t
		default:
			return unsupported(sd)
		}
	}
	if len(u.peers) == 0 {
		return ngxconf.Errorf(d.Pos, "no servers in upstream %q", d.Args[0])
	}
	if u.keepalive > 0 {
		u.pool = newPool(u.keepalive, idle, maxReq)
	}
	u.finish()
	c.upstreams[key] = u
	return nil
}

func (c *compiler) upstreamServer(d *ngxconf.Directive) ([]*peer, error) {
	if len(d.Args) == 0 {
		return nil, ngxconf.Errorf(d.Pos, "invalid number of arguments in \"server\" directive")
	}
	weight, maxFails, failTimeout, maxConns := 1, 1, int64(10), 0
	down, backup := false, false
	for _, a := range d.Args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "weight", "max_fails", "max_conns":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (k == "weight" && n == 0) {
				return nil, ngxconf.Errorf(d.Pos, "invalid parameter %q", a)
			}
			switch k {
			case "weight":
				weight = n
			case "max_fails":
				maxFails = n
			default:
				maxConns = n
			}
		case "fail_timeout":
			t, err := ngxconf.ParseSeconds(v)
			if err != nil {
				return nil, ngxconf.Errorf(d.Pos, "invalid parameter %q", a)
			}
			failTimeout = int64(t / time.Second)
		case "down":
			down = true
		case "backup":
			backup = true
		default:
			return nil, ngxconf.Errorf(d.Pos, "invalid parameter %q", a)
		}
	}
	if err := checkUpstreamHost(d.Args[0], d); err != nil {
		return nil, err
	}
	ps, err := c.peers(d.Args[0], d, d.Args[0])
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		p.weight, p.effWeight, p.maxFails, p.failTimeout = weight, weight, maxFails, failTimeout
		p.down, p.backup, p.maxConns, p.server = down, backup, maxConns, d.Args[0]
	}
	return ps, nil
}

// buildSockets decides which sockets to bind: one per wildcard port, with
// the specific addresses of that port sharing it, plus every specific
// address whose port has no wildcard, plus every unix path. Addresses are
// named as listen.ParseAddr names them, so that sockets handed over by
// wisp up or systemd are found.
func (c *compiler) buildSockets() {
	wild := map[string]*listenSocket{} // "4:80" / "6:80"
	fam := func(l listenAddr) string {
		if l.v6 {
			return "6:" + strconv.Itoa(l.port)
		}
		return "4:" + strconv.Itoa(l.port)
	}
	network := func(l listenAddr) string {
		if l.v6 {
			return "tcp6"
		}
		return "tcp4"
	}
	for _, l := range c.order {
		if l.network == "tcp" && (l.ip == "" || l.ip == "::") {
			s := &listenSocket{network: network(l), address: l.key(), wildcard: c.groups[l.key()]}
			wild[fam(l)] = s
			c.cfg.sockets = append(c.cfg.sockets, s)
		}
	}
	for _, l := range c.order {
		g := c.groups[l.key()]
		switch {
		case l.network == "unix":
			c.cfg.sockets = append(c.cfg.sockets, &listenSocket{network: "unix", address: l.path, wildcard: g})
		case l.ip == "" || l.ip == "::":
		default:
			if w, ok := wild[fam(l)]; ok {
				if w.specific == nil {
					w.specific = map[string]*vhostGroup{}
				}
				w.specific[l.ip] = g
				continue
			}
			c.cfg.sockets = append(c.cfg.sockets, &listenSocket{network: network(l), address: l.key(), wildcard: g})
		}
	}
}
