package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"wisp/internal/ngxconf"
)

// Config is a configuration compiled for serving: every directive checked,
// every value parsed, every header value turned into a program.
type Config struct {
	PidFile   string // "" when no pid file is wanted
	ErrorLog  LogTarget
	sockets   []*listenSocket
	upstreams []*upstream
	// Warnings are what nginx logs at [warn] while loading, e.g. a
	// conflicting server name; Run logs them once.
	Warnings []string
	// Reopen lists the logs other than the error log (access logs) that
	// USR1 reopens (signals.go); whoever opens one while compiling adds it.
	Reopen []Reopener
	logReg *logRegistry // log formats and access log files (accesslog.go)
	use    configUse    // requests running on it, for closing its logs (reload.go)

	// capSlots maps variable names to set slots, for named regex
	// captures (rewrite.go matchRegex).
	capSlots map[string]int
}

// LogTarget is where error_log writes.
type LogTarget struct {
	Path  string // "stderr" or a file path
	Level slog.Level
}

// listenSocket is one socket to bind. Servers listening on a specific
// address of a port that also has a wildcard listener share the wildcard's
// socket (nginx §2.2) and are told apart by the connection's local address.
type listenSocket struct {
	network, address string
	wildcard         *vhostGroup
	specific         map[string]*vhostGroup // local IP text -> group
}

// group returns the vhost group for a connection accepted on s.
func (s *listenSocket) group(local net.Addr) *vhostGroup {
	if len(s.specific) > 0 {
		if ta, ok := local.(*net.TCPAddr); ok {
			if g, ok := s.specific[ta.IP.String()]; ok {
				return g
			}
		}
	}
	return s.wildcard
}

// CompileOptions carries what the compiler needs besides the AST.
type CompileOptions struct {
	Prefix string // nginx -p, for relative pid/error_log paths
	// DefaultPort is the port of a server without listen: nginx uses 80
	// as root and 8000 otherwise.
	DefaultPort int
}

// proxyConf holds the directives inherited http -> server -> location.
// Zero values mean "not set at this level".
type proxyConf struct {
	setHeaders          []*ngxconf.Directive
	setHeadersSet       bool
	connect, read, send time.Duration
	httpVersion         string
	maxBody             int64
	maxBodySet          bool
	// client keep-alive: keepalive_timeout (0 disables) and
	// keepalive_requests; kaSet marks keepalive_timeout as set here.
	kaTimeout  time.Duration
	kaSet      bool
	kaRequests int
	kaReqSet   bool            // keepalive_requests set here (0 is a value: no keep-alive)
	client     clientTimeouts  // timeouts.go
	next       nextUpstream    // proxy_next_upstream, _tries, _timeout
	resp       respConf        // error_page, proxy_redirect, resolver... (proxyresp.go)
	tls        tlsConf         // ssl_* and http2 (tls.go)
	mod        contentConf     // static files, headers, access, gzip, logs (static.go)
	seen       map[string]bool // for "directive is duplicate"
}

func (c proxyConf) inherit(parent proxyConf) proxyConf {
	if !c.setHeadersSet {
		c.setHeaders = parent.setHeaders
	}
	if c.connect == 0 {
		c.connect = parent.connect
	}
	if c.read == 0 {
		c.read = parent.read
	}
	if c.send == 0 {
		c.send = parent.send
	}
	if c.httpVersion == "" {
		c.httpVersion = parent.httpVersion
	}
	if !c.maxBodySet {
		c.maxBody, c.maxBodySet = parent.maxBody, parent.maxBodySet
	}
	if !c.kaSet {
		c.kaTimeout, c.kaSet = parent.kaTimeout, parent.kaSet
	}
	if !c.kaReqSet {
		c.kaRequests, c.kaReqSet = parent.kaRequests, parent.kaReqSet
	}
	c.client = c.client.inherit(parent.client)
	c.next = c.next.inherit(parent.next)
	c.resp = c.resp.inherit(parent.resp)
	c.tls = c.tls.inherit(parent.tls)
	c.mod = c.mod.inherit(parent.mod)
	c.seen = nil
	return c
}

// compiler turns the directive tree into a Config.
type compiler struct {
	ctx       context.Context
	opts      CompileOptions
	cfg       *Config
	upstreams map[string]*upstream
	// pending proxy_pass targets, resolved once all upstream blocks are known
	handlers []pendingHandler
	groups   map[string]*vhostGroup // listen key -> group
	order    []listenAddr
	certs    certCache // ssl_certificate pairs loaded so far (tls.go)
	scope    *varScope // set and map variables (rewrite.go, maps.go)
}

type pendingHandler struct {
	h    *proxyHandler
	d    *ngxconf.Directive
	host string // host part of proxy_pass
	port string
	// defPort is the port when none is written: 80, 443 for https.
	defPort string
}

// Compile checks main-context directives and builds the serving config.
func Compile(ctx context.Context, main []*ngxconf.Directive, opts CompileOptions) (*Config, error) {
	if opts.DefaultPort == 0 {
		opts.DefaultPort = 8000
		if os.Geteuid() == 0 {
			opts.DefaultPort = 80
		}
	}
	c := &compiler{
		ctx: ctx, opts: opts,
		cfg:       &Config{ErrorLog: LogTarget{Path: "stderr", Level: slog.LevelError}},
		upstreams: map[string]*upstream{},
		groups:    map[string]*vhostGroup{},
	}
	var https []*ngxconf.Directive
	for _, d := range main {
		switch d.Name {
		case "pid":
			if err := argCount(d, 1); err != nil {
				return nil, err
			}
			if d.Args[0] != "off" {
				c.cfg.PidFile = c.path(d.Args[0])
			}
		case "error_log":
			t, err := c.errorLog(d)
			if err != nil {
				return nil, err
			}
			c.cfg.ErrorLog = t
		case "events":
			// Its directives only tune nginx's event loop.
		case "daemon", "master_process":
			if err := processModel(d); err != nil {
				return nil, err
			}
		case "http":
			https = append(https, d)
		default:
			return nil, unsupported(d)
		}
	}
	if len(https) > 1 {
		return nil, ngxconf.Errorf(https[1].Pos, "\"http\" directive is duplicate")
	}
	if len(https) == 1 {
		if err := c.http(https[0]); err != nil {
			return nil, err
		}
	}
	return c.cfg, nil
}

// processModel accepts what nginx's process-model directives may say of
// wisp: it is always one process in the foreground, so "daemon off" and
// either master_process value hold as written. "daemon on" would need a
// detached re-exec that hides start-up errors; wisp leaves backgrounding to
// the supervisor (systemd Type=simple, wisp up) and says so.
func processModel(d *ngxconf.Directive) error {
	on, err := d.Flag(0)
	if err != nil {
		return err
	}
	if d.Name == "daemon" && on {
		return ngxconf.Errorf(d.Pos, "\"daemon on\" is not supported by wisp: it runs in the foreground; let systemd (Type=simple) or wisp up supervise it")
	}
	return nil
}

func unsupported(d *ngxconf.Directive) error {
	return ngxconf.Errorf(d.Pos, "%q directive is not supported by wisp", d.Name)
}

func argCount(d *ngxconf.Directive, n int) error {
	if len(d.Args) != n {
		return ngxconf.Errorf(d.Pos, "invalid number of arguments in %q directive", d.Name)
	}
	return nil
}

func (c *compiler) path(p string) string {
	if filepath.IsAbs(p) || p == "stderr" {
		return p
	}
	return filepath.Join(c.opts.Prefix, p)
}

func (c *compiler) errorLog(d *ngxconf.Directive) (LogTarget, error) {
	if len(d.Args) < 1 || len(d.Args) > 2 {
		return LogTarget{}, ngxconf.Errorf(d.Pos, "invalid number of arguments in %q directive", d.Name)
	}
	t := LogTarget{Path: c.path(d.Args[0]), Level: slog.LevelError}
	if len(d.Args) == 2 {
		lv, ok := parseLevel(d.Args[1])
		if !ok {
			return t, ngxconf.Errorf(d.Pos, "invalid log level %q", d.Args[1])
		}
		t.Level = lv
	}
	return t, nil
}

func (c *compiler) http(hd *ngxconf.Directive) error {
	conf := proxyConf{seen: map[string]bool{}}
	var servers []*ngxconf.Directive
	if err := c.declareVars(hd.Block); err != nil {
		return err
	}
	if err := c.compileMaps(); err != nil {
		return err
	}
	for _, d := range hd.Block {
		switch d.Name {
		case "map":
			// compiled by compileMaps
		case "server":
			servers = append(servers, d)
		case "upstream":
			if err := c.upstreamBlock(d); err != nil {
				return err
			}
		default:
			if ok, err := c.common(d, &conf); err != nil {
				return err
			} else if !ok {
				return unsupported(d)
			}
		}
	}
	base := conf.inherit(proxyConf{connect: 60 * time.Second, read: 60 * time.Second,
		send: 60 * time.Second, httpVersion: "1.0", maxBody: 1 << 20, maxBodySet: true,
		kaTimeout: keepaliveTimeout, kaSet: true, kaRequests: keepaliveRequests, kaReqSet: true, resp: defaultRespConf(),
		mod: c.defaultContentConf()})
	for _, sd := range servers {
		if err := c.server(sd, base); err != nil {
			return err
		}
	}
	c.cfg.capSlots = c.scope.sets
	for _, p := range c.handlers {
		if err := c.resolveTarget(p); err != nil {
			return err
		}
	}
	c.buildSockets()
	if err := c.buildTLS(); err != nil {
		return err
	}
	for _, u := range c.upstreams {
		c.cfg.upstreams = append(c.cfg.upstreams, u)
	}
	return nil
}

// common handles the directives valid at http, server and location level.
func (c *compiler) common(d *ngxconf.Directive, conf *proxyConf) (bool, error) {
	if isClientTimeout(d.Name) {
		if conf.seen[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		conf.seen[d.Name] = true
		return true, conf.client.set(d)
	}
	if isLingerDirective(d.Name) {
		if conf.seen[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		conf.seen[d.Name] = true
		return true, conf.resp.linger.set(d) // linger.go
	}
	if ok, err := c.contentDirective(d, conf); ok {
		return true, err
	}
	if ok, err := c.tlsDirective(d, conf); ok {
		return true, err
	}
	if ok, err := c.respDirective(d, conf); ok {
		return true, err
	}
	if strings.HasPrefix(d.Name, "proxy_next_upstream") {
		return true, nextUpstreamDirective(d, &conf.next)
	}
	if isBodyBufferingDirective(d.Name) {
		return true, bodyBufferingDirective(d, &conf.next.body, c.path)
	}
	switch d.Name {
	case "proxy_set_header", "proxy_connect_timeout", "proxy_read_timeout",
		"proxy_send_timeout", "proxy_http_version", "client_max_body_size",
		"keepalive_timeout", "keepalive_requests":
	default:
		return false, nil
	}
	if d.Name != "proxy_set_header" {
		if conf.seen[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		conf.seen[d.Name] = true
	}
	switch d.Name {
	case "proxy_set_header":
		if err := argCount(d, 2); err != nil {
			return true, err
		}
		conf.setHeaders = append(conf.setHeaders, d)
		conf.setHeadersSet = true
	case "proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		switch d.Name {
		case "proxy_connect_timeout":
			return true, parseTimeout(d, &conf.connect, waitNow)
		case "proxy_read_timeout":
			return true, parseTimeout(d, &conf.read, waitNow)
		}
		return true, parseTimeout(d, &conf.send, writeWaitNow)
	case "proxy_http_version":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		if d.Args[0] != "1.0" && d.Args[0] != "1.1" {
			return true, ngxconf.Errorf(d.Pos, "invalid value %q", d.Args[0])
		}
		conf.httpVersion = d.Args[0]
	case "client_max_body_size":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		// An offset, as nginx parses it: "1g" (Ghost-CLI's SSL site) is valid.
		n, err := ngxconf.ParseOffset(d.Args[0])
		if err != nil {
			return true, ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
		conf.maxBody, conf.maxBodySet = n, true
	case "keepalive_timeout":
		// The optional second argument (a Keep-Alive response header) is
		// not sent by wisp.
		if len(d.Args) < 1 || len(d.Args) > 2 {
			return true, ngxconf.Errorf(d.Pos, "invalid number of arguments in %q directive", d.Name)
		}
		t, err := ngxconf.ParseDuration(d.Args[0])
		if err != nil {
			return true, ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
		conf.kaTimeout, conf.kaSet = t, true
	case "keepalive_requests":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < 0 {
			return true, ngxconf.Errorf(d.Pos, "invalid value %q in %q directive", d.Args[0], d.Name)
		}
		conf.kaRequests, conf.kaReqSet = n, true
	}
	return true, nil
}

// listenAddr is one parsed listen directive.
type listenAddr struct {
	network  string // "tcp" or "unix"
	ip       string // "" for the wildcard; IPv6 without brackets
	v6       bool
	port     int
	path     string // unix
	def      bool
	pos      ngxconf.Pos
	resolved bool // came from a host name
	ssl      bool // listen ... ssl
	http2    bool // listen ... http2
}

func (l listenAddr) key() string {
	switch {
	case l.network == "unix":
		return "unix:" + l.path
	case l.v6:
		return "[" + l.ip + "]:" + strconv.Itoa(l.port)
	case l.ip == "":
		return "0.0.0.0:" + strconv.Itoa(l.port)
	}
	return l.ip + ":" + strconv.Itoa(l.port)
}

func (c *compiler) server(sd *ngxconf.Directive, parent proxyConf) error {
	conf := proxyConf{seen: map[string]bool{}}
	s := &vserver{}
	var listens []listenAddr
	var names []serverName
	namesSet := false
	var locs []*ngxconf.Directive
	for _, d := range sd.Block {
		switch d.Name {
		case "listen":
			ls, err := c.listen(d)
			if err != nil {
				return err
			}
			listens = append(listens, ls...)
		case "server_name":
			if len(d.Args) == 0 {
				return ngxconf.Errorf(d.Pos, "invalid number of arguments in %q directive", d.Name)
			}
			for _, n := range d.Args {
				sn, err := parseServerName(n, d.Pos)
				if err != nil {
					return err
				}
				names = append(names, sn)
			}
			namesSet = true
		case "location":
			locs = append(locs, d)
		case "if", "set", "rewrite", "return", "break", "rewrite_log", "uninitialized_variable_warn":
			if err := c.rewriteDirective(d, &s.rw); err != nil {
				return err
			}
			if err := c.ifLocations(0, nil, proxyConf{}); err != nil {
				return err
			}
		default:
			if ok, err := c.common(d, &conf); err != nil {
				return err
			} else if !ok {
				return unsupported(d)
			}
		}
	}
	if !namesSet {
		names = []serverName{{text: ""}}
	}
	s.name = []byte(strings.TrimPrefix(names[0].text, "."))
	conf = conf.inherit(parent)
	if err := conf.resp.buffers.check(); err != nil { // proxyresp.go
		return err
	}
	s.resp = &conf.resp
	s.mod = &conf.mod
	if err := c.openBuiltinLog(conf.mod.logs); err != nil { // accesslog.go
		return err
	}
	st, err := c.buildServerTLS(conf.tls)
	if err != nil {
		return err
	}
	s.tls = st
	s.ka = keepalive{conf.kaTimeout, conf.kaRequests}
	s.client = conf.client
	level, err := c.locations(locs, conf, "", false)
	if err != nil {
		return err
	}
	s.locs = level
	if len(listens) == 0 {
		listens = []listenAddr{{network: "tcp", port: c.opts.DefaultPort, pos: sd.Pos}}
	}
	for _, l := range listens {
		key := l.key()
		g, ok := c.groups[key]
		if !ok {
			g = &vhostGroup{addr: key, exact: map[string]*vserver{}}
			c.groups[key] = g
			c.order = append(c.order, l)
		}
		g.markTLS(l)
		if l.def {
			if g.def != nil && g.def != s && g.explicitDefault {
				return ngxconf.Errorf(l.pos, "a duplicate default server for %s", key)
			}
			g.def, g.explicitDefault = s, true
		} else if g.def == nil {
			g.def = s
		}
		for _, n := range names {
			if !g.addName(n, s) {
				// The first server keeps the name, as in nginx.
				c.cfg.Warnings = append(c.cfg.Warnings, fmt.Sprintf("conflicting server name %q on %s, ignored", n.text, key))
			}
		}
	}
	return nil
}

// serverName is one parsed server_name argument.
type serverName struct {
	text       string // lowercased as written ($server_name uses the first)
	exact      string
	head, tail string // wildcard parts, see wildcards
	re         *regexp.Regexp
}

// parseServerName validates a name as nginx does (§2.4).
func parseServerName(n string, pos ngxconf.Pos) (serverName, error) {
	if expr, ok := strings.CutPrefix(n, "~"); ok {
		// nginx's quirk: caseless only when the pattern has an uppercase
		// letter (hosts are lowercased before matching anyway).
		if strings.ToLower(expr) != expr {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return serverName{}, ngxconf.Errorf(pos, "%s", err)
		}
		return serverName{text: n, re: re}, nil
	}
	n = strings.ToLower(n)
	sn := serverName{text: n}
	switch {
	case strings.HasPrefix(n, "*.") && !strings.Contains(n[2:], "*"):
		sn.head = n[1:]
	case strings.HasPrefix(n, ".") && !strings.Contains(n, "*"):
		sn.exact, sn.head = n[1:], n
	case strings.HasSuffix(n, ".*") && !strings.Contains(n[:len(n)-2], "*"):
		sn.tail = n[:len(n)-1]
	case strings.Contains(n, "*"):
		return sn, ngxconf.Errorf(pos, "invalid server name or wildcard %q", n)
	default:
		sn.exact = n
	}
	if (sn.head != "" && len(sn.head) < 2) || (sn.tail != "" && len(sn.tail) < 2) {
		return sn, ngxconf.Errorf(pos, "server name %q is invalid", n)
	}
	return sn, nil
}

// addName registers n for s; false when the name is already taken by
// another server of the group.
func (g *vhostGroup) addName(n serverName, s *vserver) bool {
	ok := true
	if n.re != nil {
		g.regexes = append(g.regexes, regexName{n.re, s})
	}
	if n.exact != "" || (n.head == "" && n.tail == "" && n.re == nil) {
		if other, taken := g.exact[n.exact]; !taken {
			g.exact[n.exact] = s
		} else if other != s {
			ok = false
		}
	}
	if n.head != "" {
		ok = g.wild.addHead(n.head, s) && ok
	}
	if n.tail != "" {
		ok = g.wild.addTail(n.tail, s) && ok
	}
	return ok
}

// listen parses one listen directive (§2.1).
func (c *compiler) listen(d *ngxconf.Directive) ([]listenAddr, error) {
	if len(d.Args) == 0 {
		return nil, ngxconf.Errorf(d.Pos, "invalid number of arguments in %q directive", d.Name)
	}
	l := listenAddr{network: "tcp", pos: d.Pos}
	for _, p := range d.Args[1:] {
		switch {
		case p == "default_server" || p == "default":
			l.def = true
		case strings.HasPrefix(p, "backlog="), strings.HasPrefix(p, "rcvbuf="),
			strings.HasPrefix(p, "sndbuf="), p == "deferred", p == "bind",
			p == "reuseport", strings.HasPrefix(p, "so_keepalive="),
			strings.HasPrefix(p, "ipv6only="), strings.HasPrefix(p, "fastopen="):
			// Socket tuning; the defaults serve the same requests.
		case p == "ssl":
			l.ssl = true
		case p == "http2":
			l.http2 = true
		case p == "proxy_protocol" || p == "quic":
			return nil, ngxconf.Errorf(d.Pos, "listen parameter %q is not supported by wisp yet", p)
		default:
			return nil, ngxconf.Errorf(d.Pos, "invalid parameter %q", p)
		}
	}
	a := d.Args[0]
	if path, ok := strings.CutPrefix(a, "unix:"); ok {
		if path == "" {
			return nil, ngxconf.Errorf(d.Pos, "no path in the unix domain socket")
		}
		l.network, l.path = "unix", c.path(path)
		return []listenAddr{l}, nil
	}
	host, port := a, "80"
	switch {
	case strings.HasPrefix(a, "["):
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return nil, ngxconf.Errorf(d.Pos, "invalid host in %q of the \"listen\" directive", a)
		}
		host = a[1:end]
		if rest := a[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return nil, ngxconf.Errorf(d.Pos, "invalid host in %q of the \"listen\" directive", a)
			}
			port = rest[1:]
		}
		l.v6 = true
		if ip := net.ParseIP(host); ip == nil {
			return nil, ngxconf.Errorf(d.Pos, "invalid host in %q of the \"listen\" directive", a)
		} else if !ip.IsUnspecified() {
			l.ip = ip.String()
		} else {
			l.ip = "::"
		}
	case isDigits(a):
		host, port = "", a
	default:
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			host, port = a[:i], a[i+1:]
		} else {
			port = "80"
		}
	}
	pn, err := strconv.Atoi(port)
	if err != nil || pn < 1 || pn > 65535 {
		return nil, ngxconf.Errorf(d.Pos, "invalid port in %q of the \"listen\" directive", a)
	}
	l.port = pn
	if l.v6 {
		return []listenAddr{l}, nil
	}
	if host == "" || host == "*" || host == "0.0.0.0" {
		return []listenAddr{l}, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		l.ip = ip.String()
		return []listenAddr{l}, nil
	}
	ips, err := net.DefaultResolver.LookupIP(c.ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, ngxconf.Errorf(d.Pos, "host not found in %q of the \"listen\" directive", a)
	}
	var out []listenAddr
	for _, ip := range ips {
		one := l
		one.ip, one.v6, one.resolved = ip.String(), ip.To4() == nil, true
		out = append(out, one)
	}
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// locations compiles one level of location blocks.
func (c *compiler) locations(ds []*ngxconf.Directive, parent proxyConf, outer string, outerRegex bool) (locationLevel, error) {
	var lv locationLevel
	var static []*location
	names, exact := map[string]bool{}, map[string]bool{}
	for _, d := range ds {
		l, err := c.location(d, parent, outer, outerRegex)
		if err != nil {
			return lv, err
		}
		switch l.kind {
		case locNamed:
			if outer != "" {
				return lv, ngxconf.Errorf(d.Pos, "named location %q can be on the server level only", l.name)
			}
			if lv.named == nil {
				lv.named = map[string]*location{}
			}
			if _, dup := lv.named[l.name]; dup {
				return lv, ngxconf.Errorf(d.Pos, "duplicate location %q", l.name)
			}
			lv.named[l.name] = l
		case locExact:
			if exact[l.name] {
				return lv, ngxconf.Errorf(d.Pos, "duplicate location %q", l.name)
			}
			exact[l.name] = true
			static = append(static, l)
		case locRegex:
			lv.regexes = append(lv.regexes, l)
		default:
			if names[l.name] {
				return lv, ngxconf.Errorf(d.Pos, "duplicate location %q", l.name)
			}
			names[l.name] = true
			static = append(static, l)
		}
	}
	lv.static = newLocationTree(static)
	return lv, nil
}

func (c *compiler) location(d *ngxconf.Directive, parent proxyConf, outer string, outerRegex bool) (*location, error) {
	l := &location{}
	args := d.Args
	if len(args) == 1 {
		a := args[0]
		switch {
		case strings.HasPrefix(a, "^~"):
			args = []string{"^~", a[2:]}
		case strings.HasPrefix(a, "~*"):
			args = []string{"~*", a[2:]}
		case strings.HasPrefix(a, "=") || strings.HasPrefix(a, "~"):
			args = []string{a[:1], a[1:]}
		}
	}
	switch len(args) {
	case 1:
		l.kind, l.name = locPrefix, args[0]
	case 2:
		l.name = args[1]
		switch args[0] {
		case "=":
			l.kind = locExact
		case "^~":
			l.kind = locNoRegex
		case "~", "~*":
			l.kind = locRegex
			re, err := compileRegex(args[1], args[0] == "~*", d.Pos)
			if err != nil {
				return nil, err
			}
			l.re = re
		default:
			return nil, ngxconf.Errorf(d.Pos, "invalid location modifier %q", args[0])
		}
	default:
		return nil, ngxconf.Errorf(d.Pos, "invalid number of arguments in \"location\" directive")
	}
	if strings.HasPrefix(l.name, "@") {
		if len(args) != 1 {
			return nil, ngxconf.Errorf(d.Pos, "invalid location modifier %q", args[0])
		}
		l.kind = locNamed
	}
	if l.kind != locRegex && outer != "" && !outerRegex && !strings.HasPrefix(l.name, outer) {
		return nil, ngxconf.Errorf(d.Pos, "location %q is outside location %q", l.name, outer)
	}
	conf := proxyConf{seen: map[string]bool{}}
	var pass *ngxconf.Directive
	var nested []*ngxconf.Directive
	ifMark := len(c.scope.ifs)
	for _, cd := range d.Block {
		switch cd.Name {
		case "location":
			if l.kind == locExact {
				return nil, ngxconf.Errorf(cd.Pos, "location %q cannot be inside the exact location %q", strings.Join(cd.Args, " "), l.name)
			}
			nested = append(nested, cd)
		case "proxy_pass":
			if pass != nil {
				return nil, ngxconf.Errorf(cd.Pos, "\"proxy_pass\" directive is duplicate")
			}
			if err := argCount(cd, 1); err != nil {
				return nil, err
			}
			pass = cd
			conf.seen["proxy_pass"] = true // for proxy_redirect default
		case "if", "set", "rewrite", "return", "break", "rewrite_log", "uninitialized_variable_warn":
			if err := c.rewriteDirective(cd, &l.rw); err != nil {
				return nil, err
			}
		case "internal":
			if err := internalDirective(cd, l); err != nil {
				return nil, err
			}
		default:
			if ok, err := c.common(cd, &conf); err != nil {
				return nil, err
			} else if !ok {
				return nil, unsupported(cd)
			}
		}
	}
	conf = conf.inherit(parent)
	if err := conf.resp.buffers.check(); err != nil { // proxyresp.go
		return nil, err
	}
	l.resp = &conf.resp
	l.maxBody = conf.maxBody
	l.ka, l.client = keepalive{conf.kaTimeout, conf.kaRequests}, conf.client
	l.mod = &conf.mod
	if pass != nil {
		h, err := c.proxyPass(pass, l, conf)
		if err != nil {
			return nil, err
		}
		l.handler = h
	}
	if err := c.ifLocations(ifMark, l, conf); err != nil {
		return nil, err
	}
	children, err := c.locations(nested, conf, l.name, l.kind == locRegex)
	if err != nil {
		return nil, err
	}
	l.children = children
	return l, nil
}
