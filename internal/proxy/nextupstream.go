package proxy

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"wisp/internal/ngxconf"
)

// nextCond is a set of proxy_next_upstream conditions.
type nextCond uint16

const (
	ftError nextCond = 1 << iota
	ftTimeout
	ftInvalidHeader
	ftHTTP500
	ftHTTP502
	ftHTTP503
	ftHTTP504
	ftHTTP403
	ftHTTP404
	ftHTTP429
	ftNonIdempotent
	ftOff
)

// nextCondNames are proxy_next_upstream's values.
var nextCondNames = [...]struct {
	name string
	cond nextCond
}{
	{"error", ftError}, {"timeout", ftTimeout}, {"invalid_header", ftInvalidHeader},
	{"http_500", ftHTTP500}, {"http_502", ftHTTP502}, {"http_503", ftHTTP503},
	{"http_504", ftHTTP504}, {"http_403", ftHTTP403}, {"http_404", ftHTTP404},
	{"http_429", ftHTTP429}, {"non_idempotent", ftNonIdempotent}, {"off", ftOff},
}

// statusCond maps an upstream status to its http_NNN condition, 0 for the
// statuses proxy_next_upstream cannot name.
func statusCond(status int) nextCond {
	switch status {
	case 500:
		return ftHTTP500
	case 502:
		return ftHTTP502
	case 503:
		return ftHTTP503
	case 504:
		return ftHTTP504
	case 403:
		return ftHTTP403
	case 404:
		return ftHTTP404
	case 429:
		return ftHTTP429
	}
	return 0
}

// nextUpstream is the compiled proxy_next_upstream, _tries and _timeout of
// one level; the zero value inherits everything.
type nextUpstream struct {
	conds      nextCond
	condsSet   bool
	tries      int // 0: as many as the group has peers
	triesSet   bool
	timeout    time.Duration // 0: no limit
	timeoutSet bool
	body       bodyBuffering // whether and how a body is kept for the next peer
}

func (n nextUpstream) inherit(parent nextUpstream) nextUpstream {
	if !n.condsSet {
		n.conds, n.condsSet = parent.conds, parent.condsSet
	}
	if !n.triesSet {
		n.tries, n.triesSet = parent.tries, parent.triesSet
	}
	if !n.timeoutSet {
		n.timeout, n.timeoutSet = parent.timeout, parent.timeoutSet
	}
	n.body = n.body.inherit(parent.body)
	return n
}

// effective is the condition set in force: nginx's default "error
// timeout" when none was written; "off" wins over anything beside it.
func (n nextUpstream) effective() nextCond {
	switch {
	case !n.condsSet:
		return ftError | ftTimeout
	case n.conds&ftOff != 0:
		return ftOff
	}
	return n.conds
}

// nextUpstreamDirective parses proxy_next_upstream, proxy_next_upstream_tries
// and proxy_next_upstream_timeout into n. Several proxy_next_upstream lines
// at one level add up, as nginx's bitmask slot does; the other two are
// unique (the directive table rejects duplicates).
func nextUpstreamDirective(d *ngxconf.Directive, n *nextUpstream) error {
	switch d.Name {
	case "proxy_next_upstream":
		for _, a := range d.Args {
			found := false
			for _, c := range nextCondNames {
				if a == c.name {
					n.conds |= c.cond
					found = true
					break
				}
			}
			if !found {
				return ngxconf.Errorf(d.Pos, "invalid value %q", a)
			}
		}
		n.condsSet = true
	case "proxy_next_upstream_tries":
		v, err := strconv.Atoi(d.Args[0])
		if err != nil || v < 0 {
			return ngxconf.Errorf(d.Pos, "%q directive invalid number", d.Name)
		}
		n.tries, n.triesSet = v, true
	case "proxy_next_upstream_timeout":
		t, err := ngxconf.ParseDuration(d.Args[0])
		if err != nil {
			return ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
		n.timeout, n.timeoutSet = t, true
	}
	return nil
}

// mayRetry is ngx_http_upstream_next's test: cond is enabled, with
// non_idempotent as well for a POST, LOCK or PATCH that reached the
// upstream; a body that can no longer be replayed is not sent again; and
// proxy_next_upstream_timeout has not run out since the first attempt.
func (n nextUpstream) mayRetry(cond nextCond, sent, replayable bool, method []byte, elapsed time.Duration) bool {
	want := cond
	if sent && !idempotent(method) {
		want |= ftNonIdempotent
	}
	return n.effective()&want == want && !(sent && !replayable) &&
		!(n.timeout > 0 && elapsed >= n.timeout)
}

// bodyBuffering is proxy_request_buffering and client_body_buffer_size of
// one level: whether a request body may be sent to another peer once it
// went out, and how much of it is kept in memory before the rest goes to
// a temporary file.
type bodyBuffering struct {
	off     bool // proxy_request_buffering off
	offSet  bool
	mem     int64 // client_body_buffer_size, when memSet
	memSet  bool
	tempDir string // client_body_temp_path; "": the system's temporary directory
	tempSet bool
}

// defaultBodyBuffer is nginx's client_body_buffer_size on 64-bit
// platforms: two memory pages.
const defaultBodyBuffer = 16 << 10

func (b bodyBuffering) inherit(parent bodyBuffering) bodyBuffering {
	if !b.offSet {
		b.off, b.offSet = parent.off, parent.offSet
	}
	if !b.memSet {
		b.mem, b.memSet = parent.mem, parent.memSet
	}
	if !b.tempSet {
		b.tempDir, b.tempSet = parent.tempDir, parent.tempSet
	}
	return b
}

// memLimit is how much of a body stays in memory.
func (b bodyBuffering) memLimit() int64 {
	if b.memSet {
		return b.mem
	}
	return defaultBodyBuffer
}

// streamed reports whether a body goes out unbuffered, as nginx decides:
// proxy_request_buffering off, except for a chunked body to an HTTP/1.0
// upstream, which nginx must buffer to send its length.
func (b bodyBuffering) streamed(chunked, http11 bool) bool {
	return b.off && (!chunked || http11)
}

// isBodyBufferingDirective names the directives bodyBufferingDirective
// takes.
func isBodyBufferingDirective(name string) bool {
	return name == "proxy_request_buffering" || name == "client_body_buffer_size" || name == "client_body_temp_path"
}

// bodyBufferingDirective parses one of them into b (the directive table
// already refused duplicates and bad flag values); path resolves a
// relative path against the prefix.
func bodyBufferingDirective(d *ngxconf.Directive, b *bodyBuffering, path func(string) string) error {
	if d.Name == "client_body_temp_path" {
		return b.setTempPath(d, path(d.Args[0]))
	}
	if d.Name == "proxy_request_buffering" {
		on, err := d.Flag(0)
		if err != nil {
			return err
		}
		b.off, b.offSet = !on, true
		return nil
	}
	n, err := ngxconf.ParseSize(d.Args[0])
	if err != nil || n < 0 {
		return ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
	}
	b.mem, b.memSet = n, true
	return nil
}

// replayBody records what the attempts read of a request body, so that
// the next peer gets the same bytes, whatever the body's size: as nginx's
// buffered bodies, the first client_body_buffer_size bytes stay in memory
// and the rest goes to an unlinked temporary file (spoolFile). With
// request buffering on, the body is read whole into one before any peer
// is chosen (bufferBody).
type replayBody struct {
	src    io.Reader
	memMax int64
	mem    []byte
	spool  *os.File // past memMax; nil until then
	size   int64    // bytes recorded
	pos    int64    // next byte to give; size while reading from src
	broken bool     // the temporary file failed: no replay
	whole  bool     // read to its end before the first attempt (bufferBody)
	length int64    // the whole body's length, sent as Content-Length
	dir    string   // where the temporary file goes ("": the system's)
	// spooled is called once, when the body first goes to the file.
	spooled func(name string)
}

func (b *replayBody) Read(p []byte) (int, error) {
	if b.pos < b.size {
		return b.replay(p)
	}
	n, err := b.src.Read(p)
	if n > 0 && !b.broken {
		b.record(p[:n])
	}
	b.pos = b.size
	return n, err
}

// replay gives recorded bytes from b.pos on.
func (b *replayBody) replay(p []byte) (int, error) {
	if b.pos < int64(len(b.mem)) {
		n := copy(p, b.mem[b.pos:])
		b.pos += int64(n)
		return n, nil
	}
	p = p[:min(int64(len(p)), b.size-b.pos)]
	n, err := b.spool.ReadAt(p, b.pos-int64(len(b.mem)))
	b.pos += int64(n)
	if n > 0 {
		return n, nil
	}
	return 0, err
}

func (b *replayBody) record(p []byte) {
	if b.spool == nil && int64(len(b.mem)+len(p)) <= b.memMax {
		b.mem = append(b.mem, p...)
		b.size += int64(len(p))
		return
	}
	if b.spool == nil {
		f, name, err := spoolFile(b.dir)
		if err != nil {
			b.broken, b.mem = true, nil
			return
		}
		b.spool = f
		if b.spooled != nil {
			b.spooled(name)
		}
	}
	// Writes append: replays read with ReadAt, which leaves the offset.
	if _, err := b.spool.Write(p); err != nil {
		b.broken = true
		return
	}
	b.size += int64(len(p))
}

// close drops the temporary file, if any.
func (b *replayBody) close() {
	if b != nil && b.spool != nil {
		b.spool.Close()
	}
}

// resendable rewinds b for the next attempt when there is one; a request
// without a body can always be sent again.
func (b *replayBody) resendable(body io.Reader) bool {
	if b == nil {
		return body == nil
	}
	return b.rewind()
}

// rewind prepares the body for the next attempt; false when it cannot be
// sent again.
func (b *replayBody) rewind() bool {
	if b.broken {
		return false
	}
	b.pos = 0
	return true
}

// forwardToPeers is nginx's per-request peer loop (§5.2, §5.8): pick a
// peer, send the request, and on an error, timeout, invalid header or a
// listed status move on to the next peer while tries, the conditions, the
// request body and proxy_next_upstream_timeout allow. Every peer taken
// from the group is given back with free, after the response is relayed,
// so least_conn and max_conns see requests in flight.
func (c *clientConn) forwardToPeers(h *proxyHandler, ec *evalCtx, head []byte, body io.Reader, keepClient bool) bool {
	r := &c.req
	up := h.up
	start := time.Now()
	filter := peerFilter{now: start.Unix(), tried: c.tried[:0]}
	defer func() { c.tried = filter.tried[:0]; c.up.Store(nil) }()
	if kb, ok := up.policy.(keyedBalancer); ok && !up.single() {
		filter.key = kb.appendKey(nil, ec)
	}
	tries := up.tries()
	if h.next.tries > 0 && tries > h.next.tries {
		tries = h.next.tries
	}
	// With proxy_request_buffering off the body goes out as it comes and
	// is never sent again (replay stays nil), as in nginx. Otherwise it
	// comes read whole and recorded already (forward, bufferBody).
	var replay *replayBody
	if tries > 1 && h.next.effective() != ftOff && !h.next.body.streamed(r.chunked, h.http11) {
		replay, _ = body.(*replayBody)
	}
	status := 502
	ec.out.startTry(start)
	for {
		p := up.get(&filter)
		if p == nil {
			c.srv.log.Error("no live upstreams while connecting to upstream", c.withHost(append(c.logCtx(ec), "upstream", "http://"+up.name+string(ec.requestURI)))...)
			ec.out.tried.noteTry(up.name, 502, tryStats{connect: -1, header: -1})
			status = 502
			break
		}
		filter.tried = append(filter.tried, p)
		uc, resp, sent, aerr := c.attempt(h, p, head, body, ec)
		now := time.Now()
		filter.now = now.Unix()
		if aerr == nil {
			cond := statusCond(resp.status)
			if cond != 0 && tries > 1 && h.next.mayRetry(cond, sent, replay.resendable(body), r.method, now.Sub(start)) {
				// nginx drops this response and its connection; 403 and
				// 404 do not count as a failure of the peer.
				c.srv.closeUpstream(uc)
				failed := cond != ftHTTP403 && cond != ftHTTP404
				if up.free(p, failed, now) {
					c.srv.log.Warn("upstream server temporarily disabled while reading response header from upstream", c.logCtxPeer(ec, p)...)
				}
				ec.out.tried.noteTry(p.name, resp.status, ec.out.endTry(now, true, uc))
				ec.out.startTry(now)
				tries--
				continue
			}
			// nginx counts the bytes sent only once the try ends.
			ec.out.upstream = ec.out.endTry(now, true, uc)
			ec.out.upstream.sent = 0
			keep := c.relay(h, ec, uc, resp, keepClient && !ec.bodyUnread)
			up.free(p, false, time.Now())
			return keep
		}
		if aerr.client {
			// The client left or stalled (stream.go), or its streamed
			// body failed: not the peer's failure.
			up.free(p, false, now)
			if aerr.body != nil {
				ec.out.upstream = ec.out.endTry(now, false, c.up.Load())
				return c.bodyFailed(ec, p, aerr.body)
			}
			if aerr.msg != "" {
				c.srv.log.Info(aerr.msg, c.logCtxPeer(ec, p)...)
			}
			// nginx's 499, with this try in the $upstream_* variables
			// and no status from the peer ("-").
			ec.status, ec.out.status = 499, 499
			ec.out.upstream = ec.out.endTry(now, false, c.up.Load())
			ec.out.upstreamAddr, ec.out.upstreamStatus, ec.out.upstreamSet = p.name, 0, true
			return false
		}
		// error, timeout and invalid_header always count as a failure,
		// listed in proxy_next_upstream or not.
		disabled := up.free(p, true, now)
		tries--
		if aerr.crit {
			c.srv.log.Log(context.Background(), levelCrit, aerr.msg, c.logCtxPeer(ec, p)...)
		} else {
			c.srv.log.Error(aerr.msg, c.logCtxPeer(ec, p)...)
		}
		if disabled {
			while := ""
			if i := strings.Index(aerr.msg, " while "); i >= 0 {
				while = aerr.msg[i:]
			}
			c.srv.log.Warn("upstream server temporarily disabled"+while, c.logCtxPeer(ec, p)...)
		}
		cond := ftError
		switch {
		case aerr.timeout:
			cond, status = ftTimeout, 504
		case aerr.invalid:
			cond, status = ftInvalidHeader, 502
		default:
			status = 502
		}
		ec.out.tried.noteTry(p.name, status, ec.out.endTry(now, false, c.up.Load()))
		ec.out.startTry(now)
		if tries == 0 || !h.next.mayRetry(cond, sent, replay.resendable(body), r.method, now.Sub(start)) {
			break
		}
	}
	// A body read whole leaves the connection at the next request.
	whole := body == nil
	if rb, ok := body.(*replayBody); ok {
		whole = rb.whole
	}
	return c.sendError(status, ec, keepClient && whole)
}
