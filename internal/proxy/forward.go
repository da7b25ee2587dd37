package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// upstreamReadBuf sizes the per-connection upstream reader: a head and a
// 16 KiB page come in one read (proxy_buffer_size bounds the head).
const upstreamReadBuf = 32 << 10

// handle answers one parsed request and reports whether the connection
// may serve another one.
func (c *clientConn) handle() bool {
	r := &c.req
	uri, ok := c.normalisedURI()
	if !ok {
		c.sendError(400, nil, false)
		return false
	}
	srv, re := c.group.lookup(r.host)
	c.ka, c.client = srv.ka, srv.client
	// The context escapes (filters, variables keep pointers to it): pooled,
	// it is not an allocation per request.
	ec := c.srv.evalCtxs.Get().(*evalCtx)
	defer func() { *ec = evalCtx{}; c.srv.evalCtxs.Put(ec) }()
	*ec = evalCtx{req: r, conn: c, server: srv, uri: uri, requestURI: r.target, out: reqOut{start: time.Now()}}
	if re != nil {
		ec.matchRegex(re, r.host) // a regex server_name's captures are $1..$9 (route.go)
	}
	if r.absHost != nil {
		ec.requestURI = r.path
		if r.hasQuery {
			ec.requestURI = r.target[len(r.target)-len(r.path)-1-len(r.query):]
		}
	}
	// A body no handler takes is discarded after the answer, as nginx
	// discards it, and the connection serves its next request once the
	// body has ended (linger.go). Over an HTTP/2 stream one that has fully
	// arrived with the head is skipped, and one still on its way closes
	// the stream's connection.
	bodyStart := c.bodyPos
	buffered := !r.chunked && r.contentLength > 0 && int64(c.end-c.bodyPos) >= r.contentLength
	c.body = bodyEnd{linger: r.hasBody()}
	keep := r.keepAlive() && (c.socket() || !r.hasBody() || buffered)
	if string(r.method) == "TRACE" {
		// nginx refuses TRACE as soon as the head is read, before any
		// location (ngx_http_process_request_header).
		c.srv.log.Info("client sent TRACE method", c.withHost(c.logCtx(ec))...)
		keep = c.sendError(405, ec, false) // and closes, as nginx
	} else {
		// The rewrite phases pick ec.loc and call serveLocation.
		keep = c.runPhases(ec, keep)
	}
	switch {
	case c.body.spent:
		keep = false
	case c.body.abort: // a malformed chunked body (answeringHere)
		keep = false
	case !r.hasBody() || c.body.taken:
	case c.socket():
		if !c.discardBody(ec) {
			keep = false
		}
	case keep && buffered && c.bodyPos == bodyStart:
		c.bodyPos += int(r.contentLength)
	}
	if !keep && c.lingers(ec) {
		c.body.closeConf, c.body.lingerNow = c.lingerOf(ec), true
	}
	// A request that a stop cut (Abort) is not logged: nginx's worker
	// exits before the request's log phase.
	if !c.closed.Load() {
		c.logAccess(ec)
	}
	return keep
}

// serveLocation answers from the location the request phases chose.
func (c *clientConn) serveLocation(ec *evalCtx, keep bool) bool {
	loc := ec.loc
	if (loc == nil || loc.kind != locRedirect) && c.denied(ec) {
		return c.sendError(403, ec, keep)
	}
	switch {
	case loc == nil || (loc.handler == nil && loc.kind != locRedirect):
		return c.serveContent(ec, keep)
	case loc.kind == locRedirect:
		return c.redirect(ec, loc.target.name, keep)
	}
	h := loc.handler
	if h.perRequest() {
		dh, status := c.forRequest(h, ec)
		if dh == nil {
			return c.sendError(status, ec, keep)
		}
		h = dh
	}
	if c.tooLarge(ec, h.maxBody) {
		return c.sendError(413, ec, false)
	}
	ec.handler = h
	return c.forward(h, ec)
}

// tooLarge reports whether the request's Content-Length is over limit
// (client_max_body_size; 0: none), which nginx checks once it has chosen
// the location, before the location's rewrites: it logs it, answers no
// 100 to the body, and the caller answers 413 and discards the body.
func (c *clientConn) tooLarge(ec *evalCtx, limit int64) bool {
	r := &c.req
	if limit <= 0 || r.contentLength <= limit || c.body.taken {
		return false
	}
	r.expect100 = false
	c.srv.log.Error(fmt.Sprintf("client intended to send too large body: %d bytes", r.contentLength), c.withHost(c.logCtx(ec))...)
	return true
}

// normalisedURI returns $uri: the path decoded and with "//", "/./" and
// "/../" resolved (§3.1). Paths needing none of that are returned as is.
func (c *clientConn) normalisedURI() ([]byte, bool) {
	p := c.req.path
	if bytes.IndexAny(p, "%#") < 0 && !bytes.Contains(p, []byte("//")) && !bytes.Contains(p, []byte("/.")) {
		return p, true
	}
	merge := c.group.mergeSlashes()
	out := c.uriBuf[:0]
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch == '#' {
			break // a fragment ends the path, as in nginx
		}
		if ch == '%' {
			// A '%' without two hex digits is a bad request in nginx.
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return nil, false
			}
			ch = unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
			if ch == 0 {
				return nil, false // nginx refuses an encoded NUL (400)
			}
		}
		out = append(out, ch)
	}
	// Resolve segments on the decoded path (slow path, allocates).
	res := make([]byte, 0, len(out))
	for i := 0; i < len(out); {
		if out[i] != '/' {
			res = append(res, out[i])
			i++
			continue
		}
		j := i + 1
		for merge && j < len(out) && out[j] == '/' {
			j++
		}
		k := j
		for k < len(out) && out[k] != '/' {
			k++
		}
		seg := out[j:k]
		switch {
		case string(seg) == ".":
			if k == len(out) {
				res = append(res, '/')
			}
		case string(seg) == "..":
			if len(res) == 0 {
				return nil, false
			}
			res = res[:bytes.LastIndexByte(res, '/')]
			if k == len(out) {
				res = append(res, '/')
			}
		default:
			res = append(res, '/')
			res = append(res, seg...)
		}
		i = k
	}
	if len(res) == 0 {
		res = append(res, '/')
	}
	c.uriBuf = out
	return res, true
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

func unhex(b byte) byte {
	switch {
	case b >= 'a':
		return b - 'a' + 10
	case b >= 'A':
		return b - 'A' + 10
	}
	return b - '0'
}

// attemptError is why one try at an upstream failed.
type attemptError struct {
	timeout bool
	invalid bool   // the upstream's head was malformed or too big (invalid_header)
	msg     string // nginx's wording
	crit    bool
	// client: the client went away or stalled, not the peer; nobody is
	// left to answer (stream.go).
	client bool
	// body: reading the streamed request body failed (bodyFailed).
	body error
}

func (c *clientConn) forward(h *proxyHandler, ec *evalCtx) bool {
	r := &c.req
	var body io.Reader
	bodyLen := int64(-1)
	keepClient := r.keepAlive()
	c.body.taken = true // read here, or not at all (linger.go)
	switch {
	case c.body.spent:
		// A second proxy_pass after a streamed body (dropSpentBody).
		bodyLen = r.contentLength
		if r.chunked {
			bodyLen = streamedChunked
		}
	case ec.body != nil && (r.contentLength > 0 || r.chunked) && ec.body.rewind():
		// A second proxy_pass in the request (error_page): the body the
		// first one read, and whatever of it is still to come.
		body, bodyLen = ec.body, ec.body.length
	case r.chunked && h.next.body.streamed(true, h.http11) && !c.chunkedPreread(h.maxBody):
		// proxy_request_buffering off to an HTTP/1.1 upstream: nginx sends
		// the body on as it comes, chunked again.
		c.sendContinue()
		body = &chunkEncoder{src: c.newChunkedBody(h.maxBody)}
		bodyLen = streamedChunked
	case r.chunked:
		c.sendContinue()
		data, n, err := c.readChunked(ec, h.maxBody, h.next.body)
		if err != nil {
			return c.bodyFailed(ec, nil, err)
		}
		defer data.close()
		data.length, ec.body = n, data
		body, bodyLen = data, n
	case r.contentLength > 0:
		c.sendContinue()
		body, bodyLen = &bodyReader{c: c, remain: r.contentLength, timer: readTimer{timeout: c.client.bodyTimeout()}}, r.contentLength
		if !h.next.body.streamed(false, h.http11) || int64(c.end-c.bodyPos) >= r.contentLength {
			// Read whole before any peer is chosen (reqbody.go); one that
			// came with the head is kept even when streamed, as nginx
			// keeps it, for an error_page's second proxy_pass.
			rb, err := c.bufferBody(ec, body, h.next.body)
			if err != nil {
				return c.bodyFailed(ec, nil, err)
			}
			defer rb.close()
			rb.length, ec.body = bodyLen, rb
			body = rb
		}
	case r.contentLength == 0:
		bodyLen = 0
	}
	head := c.srv.readBufs.get()[:0]
	head = c.appendUpstreamHead(head, h, ec, bodyLen)
	defer c.srv.readBufs.put(head)

	return c.forwardToPeers(h, ec, head, body, keepClient)
}

// streamedChunked is the body length of a chunked body sent on chunked
// (appendUpstreamHead).
const streamedChunked = -2

func idempotent(m []byte) bool {
	s := string(m)
	return s != "POST" && s != "LOCK" && s != "PATCH"
}

// attempt sends the request to p and reads the response head. sent reports
// whether any of the request reached the upstream (which limits retries).
func (c *clientConn) attempt(h *proxyHandler, p *peer, head []byte, body io.Reader, ec *evalCtx) (uc *upConn, resp *respHead, sent bool, aerr *attemptError) {
	for fresh := false; ; fresh = true {
		var reused bool
		now := time.Now()
		uc, reused, aerr = c.upstreamConn(h, p, fresh, body != nil, now)
		if aerr != nil {
			return nil, nil, false, aerr
		}
		c.up.Store(uc)
		uc.src.recv, uc.src.sent = 0, 0
		if !reused {
			now = time.Now() // after the dial
		}
		ec.out.connected = now // $upstream_connect_time
		uc.armWrite(now, h.send)
		err := c.sendRequest(uc, h, head, body)
		if err != nil {
			var cr clientReadError
			if !errors.As(err, &cr) && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
				if resp, ok := c.earlyAnswer(uc, h, ec); ok {
					return uc, resp, true, nil
				}
			}
			c.srv.closeUpstream(uc)
			if errors.As(err, &cr) {
				return nil, nil, true, &attemptError{client: true, body: cr.err}
			}
			if reused && !sent && body == nil {
				continue // a cached connection the peer had closed
			}
			return nil, nil, true, ioFailure(err, "while sending request to upstream")
		}
		sent = true
		resp, err = readResponseHead(uc, h.read, &c.resp, c.clientGone, h.headLimit())
		if err != nil {
			c.srv.closeUpstream(uc)
			var se upSendError
			if errors.As(err, &se) {
				if reused {
					sent = false
					continue // a cached connection the peer had closed
				}
				return nil, nil, true, ioFailure(se.err, "while sending request to upstream")
			}
			if err == errClientGone {
				return nil, nil, true, &attemptError{client: true, msg: "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while reading response header from upstream"}
			}
			if c.closed.Load() {
				return nil, nil, true, &attemptError{client: true} // Abort: nothing to log, as nginx
			}
			if errors.Is(err, errTooBigHeader) || errors.Is(err, errBadHeader) {
				return nil, nil, true, &attemptError{invalid: true, msg: err.Error() + " while reading response header from upstream"}
			}
			aerr := &attemptError{msg: "upstream prematurely closed connection while reading response header from upstream"}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				aerr = ioFailure(err, "while reading response header from upstream")
			}
			// A cached connection the peer closed or reset as the request
			// went out (its keep-alive timeout ran out first) is worth one
			// more try on a fresh one, as nginx gives it (tries++ for
			// peer.cached). nginx logs the reset. It never sees a plain
			// EOF there, since it drops cached connections that their
			// peer closes while idle; wisp finds those only on reuse, so
			// that retry is routine and not logged.
			if reused && body == nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				if !errors.Is(err, io.EOF) {
					c.srv.log.Error(aerr.msg, c.logCtxPeer(ec, p)...)
				}
				sent = false
				continue
			}
			return nil, nil, true, aerr
		}
		return uc, resp, true, nil
	}
}

// sendWithRead has the next Read send head before it reads the answer
// (sendThenRead).
func (s *upSource) sendWithRead(head []byte) {
	if s.sendFn == nil {
		s.sendFn = s.sendRead
	}
	s.unsent = head
}

// sendThenRead writes the request head and reads the start of the answer
// in one netpoller wait. The write runs inside raw.Read, after the
// poller's readiness was reset, so once the head is out the read can wait
// for the answer at once instead of first trying a read that fails with
// EAGAIN: a syscall less per request (nginx too waits for the upstream's
// read event after sending). Should the socket buffer fill, the rest is
// written the usual way, with proxy_send_timeout.
func (s *upSource) sendThenRead(p []byte) (int, error) {
	s.p, s.n, s.err = p, 0, nil
	err := s.raw.Read(s.sendFn)
	s.p = nil
	switch {
	case err != nil:
		return 0, err
	case s.err != nil:
		return 0, s.err
	case s.unsent != nil:
		n, err := s.conn.Write(s.unsent)
		s.sent += int64(n)
		s.unsent = nil
		if err != nil {
			return 0, upSendError{err}
		}
		return s.conn.Read(p)
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

// sendRead is sendThenRead's raw.Read callback: it sends first, then
// reads.
func (s *upSource) sendRead(fd uintptr) bool {
	if s.unsent != nil {
		sent := 0
		err := writeNow(int(fd), s.unsent, &sent)
		s.unsent = s.unsent[sent:]
		s.sent += int64(sent)
		switch {
		case err == syscall.EAGAIN:
			return true // sendThenRead writes the rest
		case err != nil:
			s.unsent, s.err = nil, upSendError{err}
			return true
		}
		s.unsent = nil
		return false // sent: wait for the answer
	}
	n, err := nbRead(int(fd), s.p)
	for err == syscall.EINTR {
		n, err = nbRead(int(fd), s.p)
	}
	if err == syscall.EAGAIN {
		return false
	}
	s.n, s.err = max(n, 0), err
	return true
}

// upSendError is a failure writing the request head to the upstream that
// sendThenRead reports through the answer's read.
type upSendError struct{ err error }

func (e upSendError) Error() string { return e.err.Error() }

func (c *clientConn) copyToUpstream(uc *upConn, body io.Reader, h *proxyHandler) error {
	bp := c.srv.copyBufs.Get().(*[]byte)
	defer c.srv.copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			uc.armWrite(time.Now(), h.send)
			w, err := uc.Write(buf[:n])
			uc.src.sent += int64(w)
			if err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			// The client went away or stalled mid-body; the upstream
			// cannot get a whole request, so this attempt is over.
			return clientReadError{rerr}
		}
	}
}

// upstreamConn returns a pooled connection to p (unless fresh) or dials one.
func (c *clientConn) upstreamConn(h *proxyHandler, p *peer, fresh, check bool, now time.Time) (*upConn, bool, *attemptError) {
	if h.reuse && !fresh {
		if uc := h.up.pool.get(p, now, check); uc != nil {
			return uc, true, nil
		}
	}
	var nc net.Conn
	var err error
	if p.unixAddr != nil {
		// A unix connect completes or fails at once (a full backlog is
		// EAGAIN, a failure as in nginx), so no timer is needed; skipping
		// the Dialer saves its address parsing and deadline context.
		nc, err = net.DialUnix("unix", nil, p.unixAddr)
	} else {
		d := net.Dialer{Timeout: h.connect}
		nc, err = d.Dial(p.network, p.address)
	}
	if err != nil {
		var ne net.Error
		ae := &attemptError{msg: "connect() to " + p.name + " failed " + errnoText(err) + " while connecting to upstream"}
		if errors.As(err, &ne) && ne.Timeout() {
			ae = &attemptError{timeout: true, msg: "upstream timed out (110: Connection timed out) while connecting to upstream"}
		}
		ae.crit = errors.Is(err, syscall.ENOENT)
		return nil, false, ae
	}
	if nc, err = h.wrapTLS(nc); err != nil {
		return nil, false, &attemptError{msg: "SSL_do_handshake() failed (" + err.Error() + ") while SSL handshaking to upstream"}
	}
	uc := &upConn{Conn: nc, br: c.srv.upReaders.Get().(*bufio.Reader), peer: p}
	uc.src.init(nc)
	uc.br.Reset(&uc.src)
	return uc, false, nil
}

// errnoText renders an error as nginx does: "(2: No such file or directory)".
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
		return "(" + strconv.Itoa(int(en)) + ": " + s + ")"
	}
	return "(" + err.Error() + ")"
}

func ioFailure(err error, while string) *attemptError {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return &attemptError{timeout: true, msg: "upstream timed out (110: Connection timed out) " + while}
	}
	return &attemptError{msg: "upstream failed " + errnoText(err) + " " + while}
}

// appendUpstreamHead writes the request line and headers sent upstream
// (§4.4): the set-header program, then the client's headers minus those
// named in the set list, all from the raw bytes.
func (c *clientConn) appendUpstreamHead(b []byte, h *proxyHandler, ec *evalCtx, bodyLen int64) []byte {
	r := &c.req
	b = append(b, r.method...)
	b = append(b, ' ')
	b = c.appendUpstreamURI(b, h, ec)
	if h.http11 {
		b = append(b, " HTTP/1.1\r\n"...)
	} else {
		b = append(b, " HTTP/1.0\r\n"...)
	}
	for i := range h.headers {
		sh := &h.headers[i]
		if sh.kind == hdrContentLength {
			if bodyLen == streamedChunked {
				b = append(b, "Transfer-Encoding: chunked\r\n"...)
				continue
			}
			// An empty chunked body goes as "Content-Length: 0", as nginx.
			if bodyLen >= 0 && (bodyLen > 0 || r.contentLength == 0 || r.chunked) {
				b = append(b, sh.name...)
				b = append(b, ": "...)
				b = strconv.AppendInt(b, bodyLen, 10)
				b = append(b, "\r\n"...)
			}
			continue
		}
		mark := len(b)
		b = append(b, sh.name...)
		b = append(b, ": "...)
		vstart := len(b)
		b = sh.value.appendTo(b, ec)
		if len(b) == vstart {
			b = b[:mark] // an empty value means "do not send"
			continue
		}
		b = append(b, "\r\n"...)
	}
	for i := range r.headers {
		hd := &r.headers[i]
		if hd.ignored || h.skips(hd.name) {
			continue
		}
		b = append(b, hd.name...)
		b = append(b, ": "...)
		b = append(b, hd.value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

func (h *proxyHandler) skips(name []byte) bool {
	for _, s := range h.skip {
		if len(s) == len(name) && bytes.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// appendUpstreamURI applies §4.3: without a URI part the raw request URI
// goes as is; with one, the matched prefix of $uri is replaced, re-escaped
// when the client's URI was escaped, and the args appended.
func (c *clientConn) appendUpstreamURI(b []byte, h *proxyHandler, ec *evalCtx) []byte {
	if out, ok := c.appendFlowURI(b, h, ec); ok {
		return out
	}
	if !h.hasURI {
		return append(b, ec.requestURI...)
	}
	r := &c.req
	b = append(b, h.uri...)
	rest := ec.uri
	if len(rest) >= len(h.prefix) {
		rest = rest[len(h.prefix):]
	}
	if bytes.IndexByte(r.path, '%') >= 0 {
		b = appendEscapedURI(b, rest)
	} else {
		b = append(b, rest...)
	}
	if len(r.query) > 0 {
		b = append(b, '?')
		b = append(b, r.query...)
	}
	return b
}

// appendEscapedURI escapes like nginx's NGX_ESCAPE_URI (uriNeedsEscape).
func appendEscapedURI(b, s []byte) []byte {
	return appendPercentEscaped(b, s, uriNeedsEscape)
}

// readChunked reads a whole chunked request body (nginx buffers these
// too, then sends Content-Length) into a replayBody (bufferBody), so a
// large body never sits in memory. Its errors are bodyFailed's.
func (c *clientConn) readChunked(ec *evalCtx, limit int64, bb bodyBuffering) (*replayBody, int64, error) {
	rb, err := c.bufferBody(ec, c.newChunkedBody(limit), bb)
	if err != nil {
		return nil, 0, err
	}
	return rb, rb.size, nil
}

// newReplayBody records body for replays as bb says; going to a
// temporary file is logged with nginx's [warn], the file named.
func (c *clientConn) newReplayBody(ec *evalCtx, body io.Reader, bb bodyBuffering) *replayBody {
	return &replayBody{src: body, memMax: bb.memLimit(), dir: bb.tempDir, spooled: func(name string) {
		c.srv.log.Warn("a client request body is buffered to a temporary file "+name, c.withHost(c.logCtx(ec))...)
	}}
}

// spoolFile makes an anonymous temporary file in dir (client_body_temp_path,
// or the system's temporary directory): unlinked at once, it goes away
// with its descriptor. Its name is digits, as nginx's are.
func spoolFile(dir string) (*os.File, string, error) {
	f, err := os.CreateTemp(dir, "")
	if err != nil {
		return nil, "", err
	}
	os.Remove(f.Name())
	return f, f.Name(), nil
}
