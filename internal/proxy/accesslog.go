package proxy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"wisp/internal/ngxconf"
)

// The log module: log_format, access_log (the predefined "combined"
// byte-compatible with nginx), buffered writes, and Reopen for SIGUSR1.

// combinedFormat is nginx's predefined format.
const combinedFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

// reqOut is what a request's answer was, for the access log and the
// filters: filled in by the response writers.
type reqOut struct {
	start     time.Time
	status    int
	bodyBytes int64
	headBytes int64 // the response head's size, for $bytes_sent
	// wire counts what a relayed response wrote through its buffer.
	wire countingWriter
	// rangeLines are a 416 answer's header lines from the filters' pass
	// over the 200 it replaces, and its Content-Range (static.go).
	rangeLines []byte
	vary       bool // the gzip filter looked at the response: Vary is due
	// ctype is the response's Content-Type before charset, for
	// $sent_http_content_type: a generated one's, or (upCtype) the
	// upstream's, kept as the bytes of its head rather than copied.
	ctype        string
	upCtype      []byte
	gzip         bool // a relayed body is being compressed (Content-Encoding)
	upstreamAddr string
	upstreamSet  bool // the answering try has ended: upstreamTimes.response holds
	// upstreamStatus is the status the upstream answered.
	upstreamStatus int
	// upstream is the answering try's, from its response head on.
	upstream tryStats
	// tryStart is when the try under way began, and connected when its
	// connection was made (zero until then), as nginx times each try
	// (from ngx_http_upstream_connect). Both come from clock readings
	// the retry loop makes anyway.
	tryStart, connected time.Time
	// tried lists the tries that ended before the answering one, each
	// as nginx shows it in $upstream_addr, $upstream_status and the
	// $upstream_*_time variables (", " between tries); empty unless a
	// peer failed or was passed over.
	tried triedList
}

// tryStats are one try's $upstream_response_time, $upstream_connect_time
// and $upstream_header_time (a negative one is nginx's "-": no connection
// was made, or no head came), and its $upstream_bytes_received and
// $upstream_bytes_sent.
type tryStats struct {
	response, connect, header time.Duration
	recv, sent                int64
}

// startTry notes that a try begins at now.
func (o *reqOut) startTry(now time.Time) { o.tryStart, o.connected = now, time.Time{} }

// endTry returns the figures of the try under way, which ended at end on
// uc, the request's latest upstream connection (an earlier try's, or nil,
// when this one never connected); headed: its response head came.
func (o *reqOut) endTry(end time.Time, headed bool, uc *upConn) tryStats {
	t := tryStats{response: end.Sub(o.tryStart), connect: -1, header: -1}
	if !o.connected.IsZero() {
		t.connect = o.connected.Sub(o.tryStart)
		t.recv, t.sent = uc.src.recv, uc.src.sent
	}
	if headed {
		t.header = t.response
	}
	return t
}

// triedList is the per-try text of the $upstream_* variables, built only
// on the failure path.
type triedList struct {
	addr, status, time, connect, header, recv, sent []byte
}

// noteTry records a try that did not answer the client: a failed peer
// (502, 504) or a response dropped for the next one. nginx names a group
// with no live peer by the group's name.
func (t *triedList) noteTry(addr string, status int, took tryStats) {
	if len(t.addr) > 0 {
		t.addr, t.status, t.time = append(t.addr, ", "...), append(t.status, ", "...), append(t.time, ", "...)
		t.connect, t.header = append(t.connect, ", "...), append(t.header, ", "...)
		t.recv, t.sent = append(t.recv, ", "...), append(t.sent, ", "...)
	}
	t.addr = append(t.addr, addr...)
	t.status = strconv.AppendInt(t.status, int64(status), 10)
	t.time = appendSeconds(t.time, took.response)
	t.connect = appendSeconds(t.connect, took.connect)
	t.header = appendSeconds(t.header, took.header)
	t.recv = strconv.AppendInt(t.recv, took.recv, 10)
	t.sent = strconv.AppendInt(t.sent, took.sent, 10)
}

// triedThen writes the tries before the answering one and, when one is
// answering, the separator before its value.
func triedThen(dst, tried []byte, answering bool) []byte {
	dst = append(dst, tried...)
	if answering && len(tried) > 0 {
		dst = append(dst, ", "...)
	}
	return dst
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}

// noteRelayed sets $body_bytes_sent for a relayed response: a plain
// (uncompressed, not HEAD) body of known length that went out whole is
// its length (part of it may have been spliced past the buffer); any
// other (chunked to the client, compressed, ended by close, cut short,
// none) is what passed the buffer after the head, chunk framing
// included, as nginx counts it.
func (o *reqOut) noteRelayed(length int64, plain, whole bool) {
	if length >= 0 && plain && whole {
		o.bodyBytes = length
		return
	}
	o.bodyBytes = o.wire.n - o.headBytes
}

// logEscape is log_format's escape= parameter.
type logEscape uint8

const (
	escDefault logEscape = iota
	escJSON
	escNone
)

// logFormat is a compiled log_format.
type logFormat struct {
	parts  []part
	escape logEscape
}

// accessLogFile is one access log file, shared by every access_log naming it.
type accessLogFile struct {
	path   string
	mu     sync.Mutex
	f      *os.File
	buf    []byte
	size   int           // buffer=; 0 writes every line at once
	flush  time.Duration // flush=; 0: only when full
	lastWr time.Time
}

// logRegistry holds a compiled config's formats and open log files.
type logRegistry struct {
	formats map[string]*logFormat
	files   map[string]*accessLogFile
}

// accessLogs is the access_log list of one level; off is "access_log off".
// builtin marks nginx's default log, used where no level names one.
type accessLogs struct {
	targets []logTarget
	off     bool
	builtin bool
}

type logTarget struct {
	file *accessLogFile
	fmt  *logFormat
}

func (a accessLogs) inherit(p accessLogs, set map[string]bool) accessLogs {
	if !set["access_log"] {
		return p
	}
	return a
}

// defaultLogPath is nginx's built-in access log, under the prefix: where
// requests are logged in the combined format when neither http, server
// nor location names an access_log. (Debian builds nginx with
// /var/log/nginx/access.log instead; wisp keeps the stock relative path,
// as its prefix defaults to the config's own directory.)
const defaultLogPath = "logs/access.log"

// defaultAccessLogs is the built-in log. It is opened only when a server
// ends up using it (openBuiltinLog), as nginx opens it only while merging
// a level without access_log.
func (c *compiler) defaultAccessLogs() accessLogs {
	if c.opts.Prefix == "" {
		// A config built in code rather than loaded (no prefix to put
		// logs/ under) has none, so it never writes beside the process.
		return accessLogs{}
	}
	reg := c.logRegistry()
	path := c.path(defaultLogPath)
	file := reg.files[path]
	if file == nil {
		file = &accessLogFile{path: path}
		reg.files[path] = file
	}
	return accessLogs{targets: []logTarget{{file: file, fmt: reg.formats["combined"]}}, builtin: true}
}

// openBuiltinLog opens the built-in log for a server that inherits it.
// The prefix of an installed nginx has its logs directory; wisp's default
// prefix is the config's directory, so the directory is made when missing.
func (c *compiler) openBuiltinLog(l accessLogs) error {
	if !l.builtin || l.targets[0].file.f != nil {
		return nil
	}
	file := l.targets[0].file
	if err := os.MkdirAll(filepath.Dir(file.path), 0o755); err != nil {
		return fmt.Errorf("mkdir() %q failed %s", filepath.Dir(file.path), errnoText(err))
	}
	return c.openLogFile(file, ngxconf.Pos{})
}

// openLogFile opens an access log for appending, once per compiled config.
func (c *compiler) openLogFile(file *accessLogFile, pos ngxconf.Pos) error {
	if file.f != nil {
		return nil
	}
	f, err := os.OpenFile(file.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		if pos.File == "" {
			return fmt.Errorf("open() %q failed %s", file.path, errnoText(err))
		}
		return ngxconf.Errorf(pos, "open() %q failed %s", file.path, errnoText(err))
	}
	file.f = f
	c.cfg.Reopen = append(c.cfg.Reopen, file)
	return nil
}

func (c *compiler) logRegistry() *logRegistry {
	if c.cfg.logReg == nil {
		c.cfg.logReg = &logRegistry{formats: map[string]*logFormat{}, files: map[string]*accessLogFile{}}
		f, _ := c.compileLogFormat(combinedFormat, escDefault, ngxconf.Pos{})
		c.cfg.logReg.formats["combined"] = f
	}
	return c.cfg.logReg
}

// accessLogDirective compiles log_format and access_log.
func (c *compiler) accessLogDirective(d *ngxconf.Directive, m *contentConf) (bool, error) {
	switch d.Name {
	case "log_format":
		if len(d.Args) < 2 {
			return true, argCount(d, 2)
		}
		reg := c.logRegistry()
		name := d.Args[0]
		if _, dup := reg.formats[name]; dup {
			return true, ngxconf.Errorf(d.Pos, "duplicate \"log_format\" name %q", name)
		}
		args := d.Args[1:]
		esc := escDefault
		if v, ok := strings.CutPrefix(args[0], "escape="); ok {
			switch v {
			case "default":
			case "json":
				esc = escJSON
			case "none":
				esc = escNone
			default:
				return true, ngxconf.Errorf(d.Pos, "unknown log format escaping %q", v)
			}
			args = args[1:]
		}
		f, err := c.compileLogFormat(strings.Join(args, ""), esc, d.Pos)
		if err != nil {
			return true, err
		}
		reg.formats[name] = f
		return true, nil
	case "open_log_file_cache":
		// Caches descriptors of variable log paths, which wisp does not
		// support; "off" asks for nothing.
		if len(d.Args) == 1 && d.Args[0] == "off" {
			return true, nil
		}
		return true, unsupported(d)
	case "access_log":
	default:
		return false, nil
	}
	if len(d.Args) == 0 {
		return true, argCount(d, 1)
	}
	if !m.set["access_log"] {
		m.logs = accessLogs{}
	}
	if d.Args[0] == "off" {
		if len(d.Args) != 1 {
			return true, argCount(d, 1)
		}
		m.logs = accessLogs{off: true}
		return true, nil
	}
	if strings.Contains(d.Args[0], "$") {
		return true, ngxconf.Errorf(d.Pos, "access_log paths with variables are not supported by wisp")
	}
	if strings.HasPrefix(d.Args[0], "syslog:") {
		return true, ngxconf.Errorf(d.Pos, "access_log to syslog is not supported by wisp")
	}
	reg := c.logRegistry()
	fmtName := "combined"
	params := d.Args[1:]
	if len(params) > 0 && !strings.Contains(params[0], "=") {
		fmtName, params = params[0], params[1:]
	}
	lf, ok := reg.formats[fmtName]
	if !ok {
		return true, ngxconf.Errorf(d.Pos, "unknown log format %q", fmtName)
	}
	path := c.path(d.Args[0])
	file := reg.files[path]
	if file == nil {
		file = &accessLogFile{path: path}
		reg.files[path] = file
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "buffer":
			n, err := ngxconf.ParseSize(v)
			if err != nil || n <= 0 {
				return true, ngxconf.Errorf(d.Pos, "invalid buffer size %q", v)
			}
			file.size = int(n)
		case "flush":
			t, err := ngxconf.ParseDuration(v)
			if err != nil || t <= 0 {
				return true, ngxconf.Errorf(d.Pos, "invalid flush time %q", v)
			}
			file.flush = t
		default:
			return true, ngxconf.Errorf(d.Pos, "access_log parameter %q is not supported by wisp", p)
		}
	}
	if file.flush > 0 && file.size == 0 {
		file.size = 64 << 10 // nginx's default buffer once flush= is given
	}
	if err := c.openLogFile(file, d.Pos); err != nil {
		return true, err
	}
	m.logs.targets = append(m.logs.targets, logTarget{file: file, fmt: lf})
	return true, nil
}

func (c *compiler) compileLogFormat(text string, esc logEscape, pos ngxconf.Pos) (*logFormat, error) {
	p, err := c.value(text, pos)
	if err != nil {
		return nil, err
	}
	return &logFormat{parts: p.parts, escape: esc}, nil
}

// refuse answers a request wisp turned down before routing it (a bad
// head or URI: sendError without a context) and logs it as nginx does:
// in the server its Host named when that line was read and valid, else
// in the default server, with that server's error_page, server_tokens
// and access_log.
func (c *clientConn) refuse(status int) bool {
	r := &c.req
	uri, uriOK := c.normalisedURI()
	if status == 400 && !uriOK {
		// nginx finds a bad URI in the request line, before any header.
		r.host, r.hostHeader, r.userAgent, r.headers, r.contentLength = nil, -1, -1, r.headers[:0], -1
		r.headLen = bytes.IndexByte(c.buf[c.start:c.end], '\n') + 1
	}
	host := r.host
	if host == nil && r.hostHeader >= 0 {
		var ok bool
		if host, ok = normaliseHost(nil, r.headers[r.hostHeader].value); !ok {
			// nginx stops reading at a bad Host: the lines after it are
			// unknown to the log ($http_user_agent is "-").
			r.headers = r.headers[:r.hostHeader+1]
			if r.userAgent > r.hostHeader {
				r.userAgent = -1
			}
		}
	}
	ec := &evalCtx{req: r, conn: c, server: c.group.find(host), requestURI: r.target, out: reqOut{start: time.Now()}}
	if uriOK && len(r.path) > 0 {
		ec.uri = uri
	}
	c.sendError(status, ec, false)
	c.logAccess(ec)
	return false
}

// logAccess writes the request's line to every access log of the
// configuration that answered it.
func (c *clientConn) logAccess(ec *evalCtx) {
	if ec == nil || ec.server == nil {
		return
	}
	m := ec.contentOf()
	if m == nil || m.logs.off || len(m.logs.targets) == 0 {
		return
	}
	now := time.Now()
	for _, t := range m.logs.targets {
		line := t.fmt.appendLine(nil, ec, now)
		t.file.write(append(line, '\n'), now)
	}
}

// appendLine formats one log line: literals as written, variables escaped,
// a variable that is not found written as "-".
func (f *logFormat) appendLine(dst []byte, ec *evalCtx, now time.Time) []byte {
	var scratch []byte
	for i := range f.parts {
		pt := &f.parts[i]
		if pt.v == varNone {
			dst = append(dst, pt.lit...)
			continue
		}
		scratch = ec.appendVar(scratch[:0], pt)
		if len(scratch) == 0 && !ec.found(pt) {
			if f.escape != escJSON {
				dst = append(dst, '-')
			}
			continue
		}
		dst = appendEscaped(dst, scratch, f.escape)
	}
	return dst
}

// found reports whether an empty variable value means "not found".
func (ec *evalCtx) found(pt *part) bool {
	switch pt.v {
	case varHTTP:
		_, ok := ec.req.headerValue(pt.name)
		return ok
	case varArgs:
		return ec.argsSet || ec.req.hasQuery
	case varRemoteUser, varUpstreamAddr, varUpstreamResponseTime, varUpstreamStatus,
		varUpstreamConnectTime, varUpstreamHeaderTime, varUpstreamBytesReceived, varUpstreamBytesSent:
		return false
	case varSentContentType:
		return ec.out.ctype != "" || len(ec.out.upCtype) > 0
	}
	return true
}

func appendEscaped(dst, v []byte, esc logEscape) []byte {
	const hexd = "0123456789ABCDEF"
	switch esc {
	case escNone:
		return append(dst, v...)
	case escJSON:
		for _, ch := range v {
			switch {
			case ch == '"' || ch == '\\':
				dst = append(dst, '\\', ch)
			case ch == '\n':
				dst = append(dst, `\n`...)
			case ch == '\r':
				dst = append(dst, `\r`...)
			case ch == '\t':
				dst = append(dst, `\t`...)
			case ch < 0x20:
				dst = append(dst, `\u00`...)
				dst = append(dst, hexd[ch>>4], hexd[ch&15])
			default:
				dst = append(dst, ch)
			}
		}
		return dst
	}
	for _, ch := range v {
		if ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f {
			dst = append(dst, '\\', 'x', hexd[ch>>4], hexd[ch&15])
			continue
		}
		dst = append(dst, ch)
	}
	return dst
}

// write appends a line: at once without buffer=, else when the buffer
// would overflow or the flush time has passed since the last write.
func (lf *accessLogFile) write(line []byte, now time.Time) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.f == nil {
		return
	}
	if lf.size == 0 {
		lf.f.Write(line)
		return
	}
	if len(lf.buf)+len(line) > lf.size || (lf.flush > 0 && len(lf.buf) > 0 && now.Sub(lf.lastWr) >= lf.flush) {
		lf.flushLocked()
	}
	lf.buf = append(lf.buf, line...)
	lf.lastWr = now
}

func (lf *accessLogFile) flushLocked() {
	if len(lf.buf) > 0 && lf.f != nil {
		lf.f.Write(lf.buf)
	}
	lf.buf = lf.buf[:0]
}

// Reopen flushes and reopens the file, for SIGUSR1 after logrotate moved
// it (Config.Reopen lists every access log file).
func (lf *accessLogFile) Reopen() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	lf.flushLocked()
	f, err := os.OpenFile(lf.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open() %q failed %s", lf.path, errnoText(err))
	}
	if lf.f != nil {
		lf.f.Close()
	}
	lf.f = f
	return nil
}

// CloseLogs flushes and closes the access logs; a config being replaced
// by a reload or at exit calls it once no request uses it.
func (cfg *Config) CloseLogs() {
	if cfg == nil || cfg.logReg == nil {
		return
	}
	for _, lf := range cfg.logReg.files {
		lf.mu.Lock()
		lf.flushLocked()
		if lf.f != nil {
			lf.f.Close()
			lf.f = nil
		}
		lf.mu.Unlock()
	}
}

// FlushLogs writes out buffered access log lines.
func (cfg *Config) FlushLogs() {
	if cfg == nil || cfg.logReg == nil {
		return
	}
	for _, lf := range cfg.logReg.files {
		lf.mu.Lock()
		lf.flushLocked()
		lf.mu.Unlock()
	}
}

// appendLogVar appends the log module's variables (vars.go dispatches
// them here).
func (ec *evalCtx) appendLogVar(dst []byte, pt *part) []byte {
	r := ec.req
	switch pt.v {
	case varTimeLocal:
		return time.Now().AppendFormat(dst, "02/Jan/2006:15:04:05 -0700")
	case varTimeISO8601:
		return time.Now().AppendFormat(dst, "2006-01-02T15:04:05-07:00")
	case varMsec:
		return appendMillis(dst, time.Now().UnixMilli())
	case varRequest:
		dst = append(dst, r.method...)
		dst = append(dst, ' ')
		dst = append(dst, r.target...)
		dst = append(dst, " HTTP/1."...)
		return strconv.AppendInt(dst, int64(r.minor), 10)
	case varServerProtocol:
		dst = append(dst, "HTTP/1."...)
		return strconv.AppendInt(dst, int64(r.minor), 10)
	case varBodyBytesSent:
		return strconv.AppendInt(dst, ec.out.bodyBytes, 10)
	case varBytesSent:
		return strconv.AppendInt(dst, ec.out.headBytes+ec.out.bodyBytes, 10)
	case varRequestTime:
		return appendSeconds(dst, time.Since(ec.out.start))
	case varRemoteUser:
		return appendRemoteUser(dst, r)
	// The answering try is known from its response head on (add_header
	// sees it); its time only once it has ended ("-" before, as nginx).
	case varUpstreamAddr:
		return append(triedThen(dst, ec.out.tried.addr, ec.out.upstreamAddr != ""), ec.out.upstreamAddr...)
	case varUpstreamResponseTime:
		dst = triedThen(dst, ec.out.tried.time, ec.out.upstreamAddr != "")
		switch {
		case ec.out.upstreamAddr == "":
			return dst
		case !ec.out.upstreamSet:
			return append(dst, '-')
		}
		return appendSeconds(dst, ec.out.upstream.response)
	case varUpstreamConnectTime:
		dst = triedThen(dst, ec.out.tried.connect, ec.out.upstreamAddr != "")
		if ec.out.upstreamAddr == "" {
			return dst
		}
		return appendSeconds(dst, ec.out.upstream.connect)
	case varUpstreamHeaderTime:
		dst = triedThen(dst, ec.out.tried.header, ec.out.upstreamAddr != "")
		if ec.out.upstreamAddr == "" {
			return dst
		}
		return appendSeconds(dst, ec.out.upstream.header)
	case varUpstreamBytesReceived:
		dst = triedThen(dst, ec.out.tried.recv, ec.out.upstreamAddr != "")
		if ec.out.upstreamAddr == "" {
			return dst
		}
		return strconv.AppendInt(dst, ec.out.upstream.recv, 10)
	case varUpstreamBytesSent:
		dst = triedThen(dst, ec.out.tried.sent, ec.out.upstreamAddr != "")
		if ec.out.upstreamAddr == "" {
			return dst
		}
		return strconv.AppendInt(dst, ec.out.upstream.sent, 10)
	case varUpstreamStatus:
		dst = triedThen(dst, ec.out.tried.status, ec.out.upstreamAddr != "")
		switch {
		case ec.out.upstreamAddr == "":
			return dst
		case ec.out.upstreamStatus == 0: // the client left first (499)
			return append(dst, '-')
		}
		return strconv.AppendInt(dst, int64(ec.out.upstreamStatus), 10)
	case varRequestLength:
		n := int64(r.headLen)
		if r.contentLength > 0 {
			n += r.contentLength
		}
		return strconv.AppendInt(dst, n, 10)
	case varConnection:
		return strconv.AppendUint(dst, ec.conn.id, 10)
	case varConnectionRequests:
		return strconv.AppendInt(dst, int64(ec.conn.requests+1), 10)
	}
	return ec.appendStaticVar(dst, pt) // static.go
}

// appendSeconds writes d as nginx's "%T.%03M": seconds with milliseconds;
// a negative d is "-", nginx's unset time.
func appendSeconds(dst []byte, d time.Duration) []byte {
	if d < 0 {
		return append(dst, '-')
	}
	return appendMillis(dst, d.Milliseconds())
}

// appendMillis writes ms milliseconds as seconds with three decimals.
func appendMillis(dst []byte, ms int64) []byte {
	dst = strconv.AppendInt(dst, ms/1000, 10)
	dst = append(dst, '.')
	frac := ms % 1000
	if frac < 100 {
		dst = append(dst, '0')
	}
	if frac < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, frac, 10)
}

// appendRemoteUser appends the user of "Authorization: Basic", as nginx
// does whether or not auth_basic is configured.
func appendRemoteUser(dst []byte, r *request) []byte {
	v, ok := r.headerValue([]byte("Authorization"))
	if !ok || len(v) < 6 || !strings.EqualFold(string(v[:6]), "basic ") {
		return dst
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(v[6:])))
	if err != nil {
		return dst
	}
	user, _, ok := bytes.Cut(raw, []byte(":"))
	if !ok {
		return dst
	}
	return append(dst, user...)
}

// noteUpstream records the peer that answered and when its response
// ended: $upstream_response_time runs from the start of its try.
func (c *clientConn) noteUpstream(ec *evalCtx, p *peer) {
	if ec == nil || p == nil {
		return
	}
	ec.out.upstream.response = time.Since(ec.out.tryStart)
	if uc := c.up.Load(); uc != nil {
		ec.out.upstream.recv, ec.out.upstream.sent = uc.src.recv, uc.src.sent
	}
	ec.out.upstreamAddr = p.name
	ec.out.upstreamStatus = ec.out.status
	ec.out.upstreamSet = true
}
