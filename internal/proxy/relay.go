package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"os"
	"strconv"
	"time"
)

var (
	errTooBigHeader = errors.New("upstream sent too big header")
	errBadHeader    = errors.New("upstream sent invalid header")
)

// badHeaderError is an upstream header line nginx refuses, worded as
// nginx 1.22 logs it: the line up to the byte it stopped at, that byte in
// hex, then "...". The text is copied: the line lives in a read buffer
// that is recycled before the error is logged.
type badHeaderError struct{ upTo string }

func newBadHeader(line []byte, at int) error {
	return &badHeaderError{upTo: string(line[:at]) + `\x` + strconv.FormatUint(uint64(line[at])|0x100, 16)[1:]}
}

func (e *badHeaderError) Error() string {
	return errBadHeader.Error() + `: "` + e.upTo + `..."`
}

func (e *badHeaderError) Is(target error) bool { return target == errBadHeader }

// respHead is a parsed upstream response head; slices point into the
// upstream connection's read buffer and are valid until it is advanced.
type respHead struct {
	statusLine    []byte // "200 OK"
	status        int
	minor         int
	headers       []header
	contentLength int64
	chunked       bool
	closeConn     bool
	contentType   int // index into headers, -1 if absent
	location      int // index into headers, -1 if absent
	headLen       int
	http09        bool // no valid status line: the bytes go to the client as they are
}

// readResponseHead buffers and parses the upstream's head without copying.
// While it waits it looks at the client every goneCheck (gone), so that a
// client that leaves cancels the upstream request (errClientGone).
func readResponseHead(uc *upConn, timeout time.Duration, rh *respHead, gone func() bool, limit int) (*respHead, error) {
	br := uc.br
	var final time.Time
	for {
		buf, _ := br.Peek(br.Buffered())
		if _, v := parseStatusLine(buf); v == statusInvalid {
			*rh = respHead{headers: rh.headers[:0], status: 200, contentLength: -1, contentType: -1, location: -1, closeConn: true, http09: true}
			return rh, nil
		}
		if end := headEnd(buf[:min(len(buf), limit)]); end > 0 {
			if err := rh.parse(buf[:end]); err != nil {
				return nil, err
			}
			return rh, nil
		}
		if len(buf) >= limit {
			return nil, errTooBigHeader
		}
		if br.Buffered() == br.Size() {
			uc.growReader(limit)
			br = uc.br
			continue
		}
		now := time.Now()
		if final.IsZero() {
			final = now.Add(timeout)
		}
		wait := final
		if gone != nil && final.Sub(now) > goneCheck {
			wait = now.Add(goneCheck)
		}
		uc.armReadAt(wait, wait.Sub(now)/16)
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && wait.Before(final) {
				if gone() {
					return nil, errClientGone
				}
				continue
			}
			if errors.Is(err, io.EOF) && br.Buffered() > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// headEnd returns the length of the head in buf (through the blank line),
// or 0 when it is not complete.
func headEnd(buf []byte) int {
	for i := 0; i < len(buf); {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0
		}
		line := buf[i : i+j]
		i += j + 1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i
		}
	}
	return 0
}

func (rh *respHead) parse(buf []byte) error {
	*rh = respHead{headers: rh.headers[:0], contentLength: -1, contentType: -1, location: -1, headLen: len(buf)}
	eol := bytes.IndexByte(buf, '\n')
	sl, _ := parseStatusLine(buf) // readResponseHead saw it valid
	rh.status, rh.statusLine = sl.status, sl.text
	if sl.atLeast11 {
		rh.minor = 1
	}
	for pos := eol + 1; pos < len(buf); {
		j := bytes.IndexByte(buf[pos:], '\n')
		line := trimCR(buf[pos : pos+j])
		pos += j + 1
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon == 0 || line[0] == ' ' || line[0] == '\t' {
			return newBadHeader(line, 0)
		}
		if colon < 0 {
			// nginx takes a line without ':' as a name with an empty
			// value, but skips IIS's repeated status lines.
			if bytes.HasPrefix(line, []byte("HTTP/")) {
				continue
			}
			colon = len(line)
		}
		name, value := line[:colon], bytes.Trim(line[min(colon+1, len(line)):], " \t")
		for i, ch := range name {
			if ch <= ' ' || ch == 0x7f {
				return newBadHeader(line, i)
			}
		}
		if i := bytes.IndexByte(line[len(name):], 0); i >= 0 {
			return newBadHeader(line, len(name)+i) // nginx refuses a NUL anywhere in the line
		}
		rh.headers = append(rh.headers, header{name: name, value: value})
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			// nginx 1.22 takes one it cannot parse as absent.
			if n, ok := parseDecimal(value); ok {
				rh.contentLength = n
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// nginx 1.22 looks for "chunked" anywhere in the value.
			rh.chunked = indexFold(value, "chunked") >= 0
		case bytes.EqualFold(name, []byte("Connection")):
			forEachToken(value, func(tok []byte) {
				if bytes.EqualFold(tok, []byte("close")) {
					rh.closeConn = true
				}
			})
		case bytes.EqualFold(name, []byte("Content-Type")):
			rh.contentType = len(rh.headers) - 1
		case bytes.EqualFold(name, []byte("Location")):
			rh.location = len(rh.headers) - 1
		}
	}
	if rh.chunked {
		rh.contentLength = -1
	}
	return nil
}

// hiddenResponseHeader lists what nginx never passes to the client
// (proxy_hide_header defaults and the hop-by-hop headers it regenerates).
func hiddenResponseHeader(name []byte) bool {
	if len(name) > 8 && bytes.EqualFold(name[:8], []byte("X-Accel-")) {
		return true
	}
	switch len(name) {
	case 4:
		return bytes.EqualFold(name, []byte("Date"))
	case 5:
		return bytes.EqualFold(name, []byte("X-Pad"))
	case 6:
		return bytes.EqualFold(name, []byte("Server"))
	case 10:
		return bytes.EqualFold(name, []byte("Connection")) || bytes.EqualFold(name, []byte("Keep-Alive"))
	case 12:
		return bytes.EqualFold(name, []byte("Content-Type"))
	case 14:
		return bytes.EqualFold(name, []byte("Content-Length"))
	case 8:
		// Location is written by relay right after Content-Length, where
		// nginx's header filter puts it.
		return bytes.EqualFold(name, []byte("Location"))
	case 17:
		return bytes.EqualFold(name, []byte("Transfer-Encoding"))
	}
	return false
}

// relay streams the upstream response to the client and reports whether
// the client connection stays open.
func (c *clientConn) relay(h *proxyHandler, ec *evalCtx, uc *upConn, rh *respHead, keepClient bool) bool {
	r := &c.req
	// $upstream_addr and $upstream_status hold from the head on, for
	// add_header and an intercepted error's page as in nginx.
	ec.out.upstreamAddr, ec.out.upstreamStatus = uc.peer.name, rh.status
	if h.intercepts(rh.status, ec) {
		c.srv.closeUpstream(uc)
		return c.sendError(rh.status, ec, keepClient)
	}
	if rh.http09 {
		return c.relayHTTP09(h, ec, uc, keepClient)
	}
	// nginx 1.22 takes a 1xx other than 101 for the final answer, its
	// body running to the close (the real answer that follows included).
	informational := rh.status >= 100 && rh.status < 200 && rh.status != 101
	if informational {
		rh.contentLength, rh.chunked = -1, false
	}
	noBody := string(r.method) == "HEAD" || rh.status == 101 || rh.status == 204 || rh.status == 304
	gz := c.gzipRelay(ec, rh) // the gzip filter compresses this body (gzip.go)
	clientChunked := !noBody && (rh.contentLength < 0 || gz) && r.minor >= 1 && !informational && !isBridged(c.nc)
	// (nginx keeps the client after a 1xx answer's close-delimited body.)
	// An HTTP/2 stream's body ends with its stream, not chunked (h2stream.go).
	if !noBody && (rh.contentLength < 0 || gz) && !clientChunked && !informational {
		keepClient = false // HTTP/1.0 client: the end of the body is the close
	}
	if !c.keepAllowed() {
		keepClient = false
	}
	bw := c.srv.writeBufs.Get().(*bufio.Writer)
	ec.out.wire = countingWriter{w: c.wr} // $body_bytes_sent, $bytes_sent (accesslog.go)
	bw.Reset(&ec.out.wire)
	defer func() { bw.Reset(nil); c.srv.writeBufs.Put(bw) }()

	c.armWrite()
	bw.WriteString("HTTP/1.1 ")
	writeStatusLine(bw, ec, rh)
	ec.relaying = true
	c.writeCommonHeaders(bw, ec)
	ec.relaying = false
	if rh.contentType >= 0 && len(rh.headers[rh.contentType].value) > 0 {
		bw.WriteString("Content-Type: ")
		bw.Write(rh.headers[rh.contentType].value)
		bw.WriteString(c.charsetSuffix(ec, rh.headers[rh.contentType].value))
		bw.WriteString("\r\n")
	}
	if rh.contentLength >= 0 && !gz {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(c.scratch[:0], rh.contentLength, 10))
		bw.WriteString("\r\n")
	}
	loc, early := c.earlyLocation(h, ec, rh)
	if early >= 0 {
		// A path: made absolute here, where nginx's header filter puts
		// it.
		bw.WriteString("Location: ")
		c.writeAbsolute(bw, ec, loc.head)
		bw.Write(loc.tail)
		bw.WriteString("\r\n")
	}
	if clientChunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	upgrade := rh.status == 101 && r.upgradeRequested()
	if upgrade {
		bw.WriteString("Connection: upgrade\r\n")
	} else {
		writeConnection(bw, keepClient)
	}
	bw.Write(c.appendVary(nil, ec)) // gzip_vary (gzip.go)
	for i := range rh.headers {
		hd := &rh.headers[i]
		if i == early {
			continue
		}
		if c.writeRedirectHeader(bw, h, ec, hd) {
			continue
		}
		if h.hides(hd.name) || c.filterReplaces(ec, hd.name, rh.status) {
			continue
		}
		bw.Write(hd.name)
		bw.WriteString(": ")
		bw.WriteString(c.weakETag(ec, hd)) // a compressed body's ETag is weak (gzip.go)
		bw.Write(hd.value)
		bw.WriteString("\r\n")
	}
	bw.Write(c.appendFilterLines(nil, ec, rh.status)) // add_header, expires (headers.go)
	bw.WriteString("\r\n")
	ec.out.headBytes = ec.out.wire.n + int64(bw.Buffered())
	uc.br.Discard(rh.headLen)
	if upgrade {
		c.tunnel(bw, uc, h, ec)
		return false
	}

	upDone := noBody
	var err error
	var chunks *chunkedSource
	if !noBody {
		var src io.Reader
		switch {
		case rh.chunked:
			chunks = &chunkedSource{r: httputil.NewChunkedReader(uc.br)}
			src = chunks
		case rh.contentLength >= 0:
			c.rs.body = limitedReader{r: uc.br, n: rh.contentLength}
			src = &c.rs.body
		default:
			src = uc.br
		}
		if gz {
			src = c.gzipStream(ec, src)
		}
		err = c.copyBody(bw, uc, src, h, clientChunked)
		upDone = err == nil && (rh.chunked || rh.contentLength >= 0)
		if err == nil && rh.chunked {
			err = skipTrailer(uc.br)
		}
	}
	if err == nil && !(keepClient && c.holdTail(bw, &ec.out.wire)) {
		if ferr := bw.Flush(); ferr != nil {
			err = clientWriteError{ferr}
		}
	}
	ec.out.noteRelayed(rh.contentLength, !gz && !noBody, err == nil)
	if err != nil {
		keepClient = false
		streamFailed(c.nc) // an HTTP/2 stream is reset, not ended
		if chunks != nil && chunks.invalid {
			// nginx drops what it has not sent yet of a broken chunked body.
			c.srv.log.Error("upstream sent invalid chunked response while reading upstream", c.logCtxPeer(ec, uc.peer)...)
		} else {
			c.relayFailed(ec, uc, bw, err)
		}
	}
	reuse := h.reuse && err == nil && upDone && rh.minor >= 1 && !rh.closeConn && (rh.chunked || rh.contentLength >= 0 || noBody) && rh.status != 101
	uc.requests++
	uc.bodiless = noBody
	c.noteUpstream(ec, uc.peer) // $upstream_addr, $upstream_response_time (accesslog.go)
	if !reuse || !h.up.pool.put(uc, time.Now()) {
		c.srv.closeUpstream(uc)
	}
	return keepClient && err == nil
}

// relayFailed ends a body relay that err cut short: what arrived before
// the upstream failed still goes out, as in nginx (the close then tells the
// client it is cut short), and the failure is logged as nginx logs it.
func (c *clientConn) relayFailed(ec *evalCtx, uc *upConn, bw *bufio.Writer, err error) {
	var cw clientWriteError
	if errors.As(err, &cw) {
		// A client that goes away or stops reading is routine: nginx logs
		// it at info.
		c.srv.log.Info(cw.logText(), c.logCtxPeer(ec, uc.peer)...)
		return
	}
	c.flushClient(bw)
	c.srv.log.Error(err.Error(), c.logCtxPeer(ec, uc.peer)...)
}

// keepAllowed applies keepalive_timeout 0, keepalive_requests, shutdown
// and a reload that dropped the connection's socket.
func (c *clientConn) keepAllowed() bool {
	return c.ka.timeout > 0 && c.requests+1 < c.ka.requests && !c.closing()
}

// copyBody copies the response body to the client, re-chunking it when
// the client gets chunked framing. Whatever bw holds is flushed whenever
// the upstream has nothing more to read yet (upSource), so the body
// streams; a long rest of a plain body of known length is spliced.
func (c *clientConn) copyBody(bw *bufio.Writer, uc *upConn, src io.Reader, h *proxyHandler, chunked bool) error {
	uc.src.onBlock = c.rs.flushing(c, bw)
	defer c.rs.done(uc)
	// A plain body read from uc.br reads the socket only once br is empty:
	// until then no read deadline is needed (a small body comes with the
	// head, and its request then arms none).
	plain := src == io.Reader(uc.br)
	if lr, ok := src.(*limitedReader); ok && lr.r == io.Reader(uc.br) && !chunked {
		plain = true
		if done, err := c.trySplice(bw, uc, lr, h); done {
			// The splice armed both sockets' deadlines its own way.
			uc.readBy.forget()
			c.writeBy.forget()
			return err
		}
	}
	var buf []byte
	if chunked {
		bp := c.srv.copyBufs.Get().(*[]byte)
		defer c.srv.copyBufs.Put(bp)
		buf = *bp
	}
	for {
		if !plain || uc.br.Buffered() == 0 {
			uc.armRead(time.Now(), h.read)
		}
		p := buf
		if !chunked {
			// Read straight into the writer's free space: no copy.
			if bw.Available() == 0 {
				if err := c.flushClient(bw); err != nil {
					return err
				}
			}
			p = bw.AvailableBuffer()[:bw.Available()]
		}
		n, rerr := src.Read(p)
		if n > 0 {
			if chunked {
				bw.Write(strconv.AppendInt(c.scratch[:0], int64(n), 16))
				bw.WriteString("\r\n")
			}
			c.armWrite()
			if _, err := bw.Write(p[:n]); err != nil {
				return clientWriteError{err}
			}
			if chunked {
				bw.WriteString("\r\n")
			}
		}
		switch {
		case rerr == io.EOF:
			if chunked {
				bw.WriteString("0\r\n\r\n")
			}
			return nil
		case rerr != nil:
			var cw clientWriteError
			if errors.As(rerr, &cw) {
				return cw
			}
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				return errors.New("upstream prematurely closed connection while reading upstream")
			}
			return ioFailure(rerr, "while reading upstream").asError()
		}
	}
}

// largeBody is where a body counts as large: past it the rest of a plain
// body of known length is spliced where the sockets allow (trySplice).
const largeBody = 64 << 10

func (a *attemptError) asError() error { return errors.New(a.msg) }

// clientWriteError marks a failure to write to the client, as opposed to
// one reading the upstream.
type clientWriteError struct{ err error }

func (e clientWriteError) Error() string { return e.err.Error() }

// logText words the failure as nginx logs it while relaying a response.
func (e clientWriteError) logText() string {
	if errors.Is(e.err, os.ErrDeadlineExceeded) {
		return clientFailure(e.err, "while sending to client").msg
	}
	return "writev() failed " + errnoText(e.err) + " while sending to client"
}

// relayState is the part of a response relay kept from one request to the
// next of a client connection.
type relayState struct {
	body    limitedReader // a body of known length
	bw      *bufio.Writer // the client writer of the relay under way
	flushFn func() error  // flushes bw; made once per connection
}

// flushing returns what the upstream source calls before it waits: a
// flush of bw to the client.
func (r *relayState) flushing(c *clientConn, bw *bufio.Writer) func() error {
	if r.flushFn == nil {
		r.flushFn = func() error { return c.flushClient(r.bw) }
	}
	r.bw = bw
	return r.flushFn
}

// done ends the relay: uc reads plainly again, and bw, which goes back to
// its pool, is not held.
func (r *relayState) done(uc *upConn) {
	uc.src.onBlock = nil
	r.bw = nil
}

// limitedReader is io.LimitReader that reports a short body as
// io.ErrUnexpectedEOF and needs no allocation per call site.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err == io.EOF && l.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// skipTrailer consumes the trailer section after the last chunk.
func skipTrailer(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(trimCR(line[:len(line)-1])) == 0 {
			return nil
		}
	}
}

func (c *clientConn) writeCommonHeaders(bw *bufio.Writer, ec *evalCtx) {
	// proxy_pass_header Server or Date: the upstream's (if any) stands
	// alone.
	relayed := ec != nil && ec.relaying
	bw.WriteString("\r\n")
	if !relayed || !ec.handler.passes("server") {
		bw.WriteString("Server: ")
		bw.WriteString(c.serverToken(ec))
		bw.WriteString("\r\n")
	}
	if !relayed || !ec.handler.passes("date") {
		bw.WriteString("Date: ")
		bw.Write(c.srv.date.get(time.Now()))
		bw.WriteString("\r\n")
	}
}

func writeConnection(bw *bufio.Writer, keep bool) {
	if keep {
		bw.WriteString("Connection: keep-alive\r\n")
	} else {
		bw.WriteString("Connection: close\r\n")
	}
}

// mappedLocation is an upstream Location after proxy_redirect: head
// then tail; mapped reports that a rule applied.
type mappedLocation struct {
	head, tail []byte
	mapped     bool
	relative   bool // absolute_redirect off: the path is sent as it is
}

// early: a rewritten path goes right after Content-Length, made absolute;
// anything else keeps its place among the upstream's headers.
func (m mappedLocation) early() bool {
	return m.mapped && !m.relative && len(m.head) > 0 && m.head[0] == '/'
}

// mapLocation applies proxy_redirect (§4.6) to an upstream Location.
func (c *clientConn) mapLocation(h *proxyHandler, ec *evalCtx, v []byte) mappedLocation {
	m := mappedLocation{head: v}
	if h.customRedirect() {
		m = c.redirectRules(h, ec, v)
	} else if d, ok := h.defaultRedirect(v); ok {
		m = d
	}
	m.relative = ec.relativeRedirects()
	return m
}

// defaultRedirect is proxy_redirect default: a Location that starts with
// the proxy_pass URL is mapped back to the location name.
func (h *proxyHandler) defaultRedirect(v []byte) (mappedLocation, bool) {
	rest, ok := bytes.CutPrefix(v, h.schemePrefix())
	if ok {
		rest, ok = bytes.CutPrefix(rest, h.proxyHostInURL())
	}
	from, to := []byte("/"), []byte("/")
	if h.hasURI {
		from, to = h.uri, []byte(h.prefix)
	}
	if ok {
		rest, ok = bytes.CutPrefix(rest, from)
	}
	if !ok {
		return mappedLocation{}, false
	}
	return mappedLocation{head: to, tail: rest, mapped: true}, true
}

// writeAbsolute writes "http://host[:port]" + path as nginx's header
// filter does for relative redirects.
func (c *clientConn) writeAbsolute(bw *bufio.Writer, ec *evalCtx, path []byte) {
	bw.Write(c.appendRedirectBase(bw.AvailableBuffer(), ec))
	bw.Write(path)
}

// proxyHostInURL is the host part of the proxy_pass URL as written.
func (h *proxyHandler) proxyHostInURL() []byte {
	if string(h.proxyHost) == "localhost" && h.up != nil && len(h.up.peers) == 1 && h.up.peers[0].network == "unix" {
		return []byte("unix:" + h.up.peers[0].address + ":")
	}
	return h.proxyHost
}

// sendError answers with one of nginx's generated pages.
func (c *clientConn) sendError(status int, ec *evalCtx, keep bool) bool {
	r := &c.req
	if ec == nil && c.group != nil {
		return c.refuse(status) // before routing: answered and logged (accesslog.go)
	}
	// As nginx's special response handler: a 400 is not followed by a
	// lingering close for the request's own body.
	if status == 400 || status == 497 {
		c.body.linger = false
	}
	if ec != nil {
		if done, handled := c.errorPage(status, ec, keep); handled {
			return done
		}
		if c.answeringHere(ec, true) {
			keep = false
		}
	}
	if !c.keepAllowed() {
		keep = false
	}
	page := errorPage(status, c.serverToken(ec))
	if status >= 400 && r.userAgent >= 0 && wantsPadding(r.headers[r.userAgent].value) {
		page += msiePadding
	}
	code := status
	if status == 494 || status == 497 {
		code = 400
	}
	return c.writeSimple(code, page, nil, ec, keep)
}

// redirect answers 301 to the location name (§3.4).
func (c *clientConn) redirect(ec *evalCtx, name string, keep bool) bool {
	return c.writeSimple(301, errorPage(301, c.serverToken(ec)), []byte(name), ec, keep)
}

func (c *clientConn) writeSimple(code int, page string, location []byte, ec *evalCtx, keep bool) bool {
	ctype := "text/html"
	if page == "" {
		ctype = "" // a code nginx has no page for: no body, no type
	}
	return c.writeResponse(simpleResponse{code: code, ctype: ctype, body: page,
		loc: locHeader{abs: location, args: c.req.query}}, ec, keep)
}

// simpleResponse is a response wisp generates itself (error pages,
// redirects, return).
type simpleResponse struct {
	code  int
	ctype string // "" for none
	body  string
	loc   locHeader
}

// locHeader is a Location header: raw as given, or abs (a path) made
// absolute with the request's host, with args appended after '?'.
type locHeader struct {
	raw, abs, args []byte
}

func (c *clientConn) writeResponse(sr simpleResponse, ec *evalCtx, keep bool) bool {
	r := &c.req
	if ec != nil {
		ec.out.ctype = sr.ctype // $sent_http_content_type
	}
	if done, ok := c.gzipSimple(sr, ec, keep); ok {
		return done // compressed by the gzip filter (gzip.go)
	}
	if ec != nil {
		ec.status = sr.code
	}
	bw := c.srv.writeBufs.Get().(*bufio.Writer)
	bw.Reset(c.wr)
	defer func() { bw.Reset(nil); c.srv.writeBufs.Put(bw) }()
	c.armWrite()
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(sr.code))
	bw.WriteString(" ")
	bw.WriteString(statusText(sr.code))
	c.writeCommonHeaders(bw, ec)
	if sr.ctype != "" && sr.code != 204 {
		bw.WriteString("Content-Type: ")
		bw.WriteString(c.contentTypeFor(ec, sr.ctype, sr.code))
		bw.WriteString("\r\n")
	}
	if sr.code != 204 {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(sr.body)))
		bw.WriteString("\r\n")
	}
	relative := ec.relativeRedirects()
	if sr.loc.abs != nil && !relative {
		bw.WriteString("Location: ")
		c.writeAbsolute(bw, ec, sr.loc.abs)
		if len(sr.loc.args) > 0 {
			bw.WriteByte('?')
			bw.Write(sr.loc.args)
		}
		bw.WriteString("\r\n")
	}
	writeConnection(bw, keep)
	switch {
	case sr.loc.raw != nil:
		// An absolute URL stays in the header list, after Connection.
		bw.WriteString("Location: ")
		bw.Write(sr.loc.raw)
		bw.WriteString("\r\n")
	case sr.loc.abs != nil && relative:
		// So does a path that absolute_redirect off leaves as it is.
		bw.WriteString("Location: ")
		bw.Write(sr.loc.abs)
		if len(sr.loc.args) > 0 {
			bw.WriteByte('?')
			bw.Write(sr.loc.args)
		}
		bw.WriteString("\r\n")
	}
	bw.Write(c.appendFilterLines(nil, ec, sr.code)) // add_header, expires (headers.go)
	bw.WriteString("\r\n")
	if ec != nil {
		ec.out.headBytes = int64(bw.Buffered()) // $bytes_sent
	}
	if string(r.method) != "HEAD" {
		bw.WriteString(sr.body)
		if ec != nil {
			ec.out.bodyBytes += int64(len(sr.body))
		}
	}
	return bw.Flush() == nil && keep
}

// logCtx is the context nginx appends to request errors.
func (c *clientConn) logCtx(ec *evalCtx) []any {
	args := []any{"conn", c.id, "client", string(c.remoteAddr)}
	if ec != nil {
		args = append(args, "server", string(ec.server.name))
	}
	return append(args, "request", c.requestLine())
}

// withHost ends the context with the Host header, which nginx prints last.
func (c *clientConn) withHost(args []any) []any {
	if c.req.hostHeader >= 0 {
		args = append(args, "host", string(c.req.headers[c.req.hostHeader].value))
	}
	return args
}

func (c *clientConn) logCtxPeer(ec *evalCtx, p *peer) []any {
	args := c.logCtx(ec)
	up := "http://" + p.name
	if p.network == "unix" {
		up += ":"
	}
	return c.withHost(append(args, "upstream", up+string(ec.requestURI)))
}

func (c *clientConn) requestLine() string {
	r := &c.req
	return string(r.method) + " " + string(r.target) + " HTTP/1." + strconv.Itoa(r.minor)
}
