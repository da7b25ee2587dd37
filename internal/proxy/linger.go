package proxy

import (
	"errors"
	"io"
	"time"

	"wisp/internal/ngxconf"
)

// How nginx 1.22 ends a request whose body it did not read, and a
// connection it closes while the client may still be sending.
//
// A request answered here (return, an error page, a 413 for a body over
// client_max_body_size) has its body discarded: nginx answers, then reads
// and drops the rest of the body, each read waiting at most
// lingering_timeout and all of them together at most lingering_time. Once
// the body has ended the connection serves the next request if the answer
// kept it alive; a timeout closes it.
//
// Closing after an answer, nginx lingers (lingering_close on): it shuts
// its sending side and reads what the client still sends, until the
// client closes, or lingering_timeout without a byte, or lingering_time.
// A close with unread bytes in the socket makes the kernel send a reset,
// which can destroy the answer before the client has read it. on lingers
// only where such bytes may come: a request with a body not read to its
// end (or a head too large), bytes after the request, or a readable
// socket; always lingers on every close; off never does.

// lingerMode is lingering_close.
type lingerMode uint8

const (
	lingerUnset lingerMode = iota
	lingerOff
	lingerOn
	lingerAlways
)

// nginx's defaults.
const (
	defaultLingeringTime    = 30 * time.Second
	defaultLingeringTimeout = 5 * time.Second
)

// lingering holds lingering_close, lingering_time and lingering_timeout of
// one level; unset ones come from the enclosing level, then the defaults.
type lingering struct {
	mode                lingerMode
	time, timeout       time.Duration
	timeSet, timeoutSet bool
}

func (l lingering) inherit(p lingering) lingering {
	if l.mode == lingerUnset {
		l.mode = p.mode
	}
	if !l.timeSet {
		l.time, l.timeSet = p.time, p.timeSet
	}
	if !l.timeoutSet {
		l.timeout, l.timeoutSet = p.timeout, p.timeoutSet
	}
	return l
}

func (l lingering) total() time.Duration {
	if !l.timeSet {
		return defaultLingeringTime
	}
	return l.time
}

func (l lingering) idle() time.Duration {
	if !l.timeoutSet {
		return defaultLingeringTimeout
	}
	return l.timeout
}

// isLingerDirective names the directives set handles.
func isLingerDirective(name string) bool {
	return name == "lingering_close" || name == "lingering_time" || name == "lingering_timeout"
}

// set parses one of the three directives as nginx does: an enum slot for
// lingering_close, msec slots (0 allowed) for the times.
func (l *lingering) set(d *ngxconf.Directive) error {
	if err := argCount(d, 1); err != nil {
		return err
	}
	arg := d.Args[0]
	if d.Name == "lingering_close" {
		switch arg {
		case "off":
			l.mode = lingerOff
		case "on":
			l.mode = lingerOn
		case "always":
			l.mode = lingerAlways
		default:
			return ngxconf.Errorf(d.Pos, "invalid value %q", arg)
		}
		return nil
	}
	v, err := ngxconf.ParseDuration(arg)
	if err != nil || v < 0 {
		return ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
	}
	if d.Name == "lingering_time" {
		l.time, l.timeSet = v, true
	} else {
		l.timeout, l.timeoutSet = v, true
	}
	return nil
}

// lingerOf is the lingering configuration that ends ec's request: its
// location's, else its server's; without ec, the default server's.
func (c *clientConn) lingerOf(ec *evalCtx) lingering {
	var rc *respConf
	switch {
	case ec != nil:
		rc = ec.respOf()
	case c.group != nil && c.group.def != nil:
		rc = c.group.def.resp
	}
	if rc == nil {
		return lingering{}
	}
	return rc.linger
}

// bodyEnd tracks a request body through the request: whether a handler
// took it (proxy_pass reads it itself), and nginx's r->lingering_close,
// set for a request with a body (or a head too large) and cleared once
// the body is discarded to its end, or by a 400 answer.
type bodyEnd struct {
	taken    bool
	linger   bool
	abort    bool      // the discard failed: close without lingering
	spent    bool      // streamed to an upstream and gone (dropSpentBody)
	started  bool      // answeringHere looked at what came with the head
	lingerBy time.Time // lingering_time's end, once a discard started it
	// lingerNow: the connection closes after this request with a
	// lingering close, timed by closeConf.
	lingerNow bool
	closeConf lingering
}

// socket reports whether the connection is a socket (or TLS over one),
// which a discard and a lingering close read; an HTTP/2 stream is not.
func (c *clientConn) socket() bool { return c.raw != nil || c.tls != nil }

// discardBody reads and drops what is left of a body no handler took, as
// nginx's discarded-body handler does after the answer, and reports
// whether the body ended: then the connection may serve its next request,
// which stays buffered. A failure (a timeout, the client gone, a bad
// chunk) ends the connection at once, as nginx ends it.
func (c *clientConn) discardBody(ec *evalCtx) bool {
	r := &c.req
	l := c.lingerOf(ec)
	c.body.lingerBy = time.Now().Add(l.total())
	t := readTimer{timeout: l.idle(), by: c.body.lingerBy}
	var src io.Reader
	if r.chunked {
		src = &chunkedBody{br: &connBody{c: c, headEnd: c.bodyPos, timer: t}}
	} else {
		src = &bodyReader{c: c, remain: r.contentLength, timer: t}
	}
	bp := c.srv.copyBufs.Get().(*[]byte)
	defer c.srv.copyBufs.Put(bp)
	for {
		_, err := src.Read(*bp)
		if err == io.EOF {
			c.body.linger = false
			return true
		}
		if err != nil {
			c.body.abort = true
			return false
		}
	}
}

// answeringHere is called before an answer made here goes out: a body
// no handler took is about to be discarded, and nginx starts the discard
// first, on what has come with the head. The discard answers "Expect:
// 100-continue", except before an error page or a redirect (special is
// nginx's special response handler, which marks the expectation tested)
// or a body refused as too large. It reports a chunked body found
// malformed there, which nginx logs: an error page then closes the
// connection, other answers become a 400.
func (c *clientConn) answeringHere(ec *evalCtx, special bool) (bad bool) {
	if special {
		c.req.expect100 = false
	}
	if c.body.taken || c.body.started || !c.req.hasBody() || !c.socket() {
		return c.body.abort && c.body.started
	}
	c.body.started = true
	c.sendContinue()
	if c.req.chunked && errors.Is(c.prereadChunks(0), errBadChunk) {
		c.srv.log.Error("client sent invalid chunked body", c.withHost(c.logCtx(ec))...)
		c.body.abort = true
	}
	return c.body.abort
}

// readTimer is the deadline of one read of a request body: timeout from
// now, but never past by when by is set (lingering_time).
type readTimer struct {
	timeout time.Duration
	by      time.Time
}

func (t readTimer) deadline() time.Time {
	d := time.Now().Add(t.timeout)
	if !t.by.IsZero() && t.by.Before(d) {
		return t.by
	}
	return d
}

// lingers reports whether closing now should linger, by nginx's
// ngx_http_finalize_connection.
func (c *clientConn) lingers(ec *evalCtx) bool {
	if !c.socket() || c.body.abort {
		return false
	}
	switch c.lingerOf(ec).mode {
	case lingerOff:
		return false
	case lingerAlways:
		return true
	}
	return c.body.linger || c.bodyPos < c.end || c.pipelined || c.readable()
}

// readable reports whether the client's socket has bytes (or its close)
// waiting. Over TLS the bytes are records and taken as none.
func (c *clientConn) readable() bool {
	if c.raw == nil {
		return false
	}
	n, err := c.looker.peek(c.raw)
	return n >= 0 && err == nil
}

// closeWriter is a connection whose sending side can be shut alone: TCP
// and unix sockets (shutdown), TLS (close_notify).
type closeWriter interface{ CloseWrite() error }

// lingerClose is ngx_http_set_lingering_close: the answer is out, the
// sending side is shut, and what the client still sends is read and
// dropped until it closes, for lingering_timeout without a byte, or until
// lingering_time (counted from the start of a discard, if one ran). The
// caller then closes the connection. A server that is stopping does not
// wait.
func (c *clientConn) lingerClose(l lingering) {
	// No longer a request in flight: a shutdown closes the connection
	// (closeIfIdle), and one under way already is not waited for.
	c.active.Store(false)
	if c.srv.isStopping() {
		return
	}
	cw, ok := c.nc.(closeWriter)
	if !ok || cw.CloseWrite() != nil {
		return
	}
	by := c.body.lingerBy
	if by.IsZero() {
		by = time.Now().Add(l.total())
	}
	t := readTimer{timeout: l.idle(), by: by}
	bp := c.srv.copyBufs.Get().(*[]byte)
	defer c.srv.copyBufs.Put(bp)
	for {
		c.setReadDeadline(t.deadline())
		if _, err := c.nc.Read(*bp); err != nil {
			return
		}
	}
}
