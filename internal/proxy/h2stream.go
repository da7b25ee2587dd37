package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// h2stream is one HTTP/2 stream of an h2conn. The connection's reader
// opens it, fills its body and moves its windows (under the connection's
// lock); the engine, in the stream's goroutine, reads its request and
// writes its answer through a bridgeConn.
type h2stream struct {
	conn *h2conn
	id   uint32
	wake chan struct{} // the reader moved something the engine may wait on

	// Under conn.mu.
	remoteOpen bool  // the client may still send DATA
	reset      bool  // RST_STREAM either way, or the connection ended
	abandoned  bool  // the engine closed its side
	localEnded bool  // END_STREAM is queued
	sendWin    int64 // what this side may still send
	recvWin    int64 // what the client may still send
	recvDue    int64 // body bytes read, not yet given back to the client
	grown      bool  // the window was raised to h2BodyWindow
	declared   int64 // content-length, or -1
	got        int64 // body bytes received
	in         []byte
	inOff      int

	// Set when the stream opens, for the engine.
	head   []byte    // the request as an HTTP/1.1 head
	body   bodyState // how its body follows
	isHEAD bool
}

var errStreamReset = errors.New("http2: stream reset")

// signal wakes the stream's goroutine if it waits; with conn.mu held.
func (st *h2stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// wait waits for signal, the deadline, or the connection's end.
func (st *h2stream) wait(deadline time.Time) error {
	return waitSignal(st.wake, st.conn.done, deadline)
}

// start checks a stream's request header section (RFC 9113 §8.2, §8.3)
// and writes it into head as an HTTP/1.1 request, as nginx 1.22 builds
// its request from it: Host from :authority first, the fields in the
// client's order, the cookie fields joined with "; " last.
func (st *h2stream) start(c *h2conn, f *http2.MetaHeadersFrame, head []byte) error {
	wake := st.wake
	if wake == nil {
		wake = make(chan struct{}, 1)
	}
	select {
	case <-wake:
	default:
	}
	*st = h2stream{
		conn: c, id: f.StreamID, wake: wake, in: st.in[:0],
		remoteOpen: !f.StreamEnded(), declared: -1,
	}
	c.mu.Lock()
	st.sendWin, st.recvWin = c.initWin, h2RecvWindow
	c.mu.Unlock()
	var method, path, scheme, authority string
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":path":
			path = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":authority":
			authority = hf.Value
		default: // :protocol (no extended CONNECT here)
			return h2StreamError(st.id)
		}
	}
	if method == "" || scheme == "" || path == "" || !validToken(method) || strings.ContainsAny(path, " \t") {
		return h2StreamError(st.id)
	}
	cookies := 0
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return h2StreamError(st.id)
		case "te":
			if hf.Value != "trailers" {
				return h2StreamError(st.id)
			}
		case "content-length":
			n := parseContentLength(hf.Value)
			if n < 0 || st.declared >= 0 && n != st.declared {
				return h2StreamError(st.id)
			}
			st.declared = n
		case "cookie":
			cookies++
		}
	}
	if f.StreamEnded() && st.declared > 0 {
		return h2StreamError(st.id)
	}
	st.isHEAD = method == "HEAD"
	switch {
	case f.StreamEnded() || st.declared == 0:
		st.body = bodyNone
	case st.declared > 0:
		st.body = bodySized
	default:
		st.body = bodyChunked
	}

	head = append(head, method...)
	head = append(head, ' ')
	head = append(head, path...)
	head = append(head, " HTTP/1.1\r\n"...)
	if authority != "" {
		head = appendH1Field(head, "Host", authority)
	}
	for _, hf := range f.RegularFields() {
		if hf.Name != "cookie" {
			head = appendH1Field(head, hf.Name, hf.Value)
		}
	}
	if cookies > 0 {
		head = append(head, "cookie: "...)
		sep := ""
		for _, hf := range f.RegularFields() {
			if hf.Name == "cookie" {
				head = append(head, sep...)
				head = append(head, hf.Value...)
				sep = "; "
			}
		}
		head = append(head, "\r\n"...)
	}
	if st.body == bodyChunked {
		head = append(head, "Transfer-Encoding: chunked\r\n"...)
	}
	st.head = append(head, "\r\n"...)
	return nil
}

func appendH1Field(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// validToken reports whether s is an HTTP token (a method).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", ch) >= 0 {
			return false
		}
	}
	return true
}

// read reads body bytes into p, waiting for them until deadline, and
// gives the client back its window as the engine reads.
func (st *h2stream) read(p []byte, deadline time.Time) (int, error) {
	c := st.conn
	c.mu.Lock()
	for st.inOff == len(st.in) {
		switch {
		case st.abandoned:
			c.mu.Unlock()
			return 0, net.ErrClosed
		case st.reset:
			c.mu.Unlock()
			return 0, errStreamReset
		case !st.remoteOpen:
			c.mu.Unlock()
			return 0, io.EOF
		}
		c.mu.Unlock()
		if err := st.wait(deadline); err != nil {
			return 0, err
		}
		c.mu.Lock()
	}
	n := copy(p, st.in[st.inOff:])
	st.inOff += n
	if st.inOff == len(st.in) {
		st.in, st.inOff = st.in[:0], 0
	}
	st.recvDue += int64(n)
	due := int64(0)
	if st.remoteOpen && !st.reset {
		if !st.grown && (st.declared < 0 || st.declared-st.got > st.recvWin) {
			// The engine reads the body: let the client send ahead of it.
			st.grown = true
			due = h2BodyWindow - h2RecvWindow
		}
		if st.recvDue >= h2WindowBatch {
			due += st.recvDue
			st.recvDue = 0
		}
		st.recvWin += due
	}
	c.mu.Unlock()
	if due > 0 {
		c.w.queue(func(b []byte) []byte { return appendWindowUpdate(b, st.id, uint32(due)) })
		c.w.flush(time.Time{})
	}
	return n, nil
}

// writeHeaders queues a header block; end ends the stream with it.
func (st *h2stream) writeHeaders(block []byte, end bool) error {
	c := st.conn
	c.mu.Lock()
	reset, maxFrame := st.reset, c.maxFrame
	st.localEnded = end
	c.mu.Unlock()
	if reset {
		return errStreamReset
	}
	return c.w.queue(func(b []byte) []byte { return appendHeaderBlock(b, st.id, block, end, maxFrame) })
}

// writeData queues p as DATA frames as the stream's and the connection's
// windows allow, waiting for the client's WINDOW_UPDATE until deadline;
// end ends the stream with the last frame.
func (st *h2stream) writeData(p []byte, end bool, deadline time.Time) error {
	c := st.conn
	for {
		c.mu.Lock()
		if st.reset {
			c.mu.Unlock()
			return errStreamReset
		}
		n := int(min(int64(len(p)), int64(c.maxFrame), st.sendWin, c.sendWin))
		if n <= 0 && len(p) > 0 {
			c.mu.Unlock()
			// What is queued goes out first: the client gives window back
			// for data it has seen.
			if err := c.w.flush(deadline); err != nil {
				return err
			}
			if err := st.wait(deadline); err != nil {
				return err
			}
			continue
		}
		n = max(n, 0)
		st.sendWin -= int64(n)
		c.sendWin -= int64(n)
		last := end && n == len(p)
		st.localEnded = last
		c.mu.Unlock()
		if err := c.w.makeRoom(c.done, deadline); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// The socket took nothing for send_timeout: the client
				// does not read, and the connection is closed, as
				// nginx closes it.
				c.nc.Close()
			}
			return err
		}
		if err := c.w.queue(func(b []byte) []byte { return appendData(b, st.id, p[:n], last) }); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// bridgeConn is the engine's connection for one HTTP/2 stream. The engine
// runs in the stream's goroutine and calls it directly: Read hands over
// the request as an HTTP/1.1 head followed by the stream's body (chunked
// when its length is unknown), and Write takes the engine's HTTP/1.1
// answer apart into the stream's HEADERS and DATA frames. Nothing is
// copied through a pipe or another goroutine, and a body moves at the
// pace of the stream's flow control.
//
// It reports the real connection's addresses (for $remote_addr,
// $server_port), and is never sniffed for a preface or wrapped in TLS
// again (isBridged).
type bridgeConn struct {
	st            *h2stream
	local, remote net.Addr

	in     []byte // request bytes not read yet: the head, then chunk framing
	inBuf  []byte // the pooled buffer in points into
	body   bodyState
	readBy time.Time // the engine's read deadline

	out     h2Answer
	writeBy time.Time // the engine's write deadline
	closed  atomic.Bool
}

// bodyState is where the request body stands.
type bodyState uint8

const (
	bodyNone    bodyState = iota // no body, or all of it read
	bodySized                    // Content-Length: passed through
	bodyChunked                  // no length: chunked on the way in
	bodyLast                     // chunked, the stream's body ended: the last chunk is due
)

// tlsBridgeConn is a bridgeConn for a stream of a TLS connection: it
// reports the connection's TLS state (for $scheme, $https).
type tlsBridgeConn struct {
	*bridgeConn
	state *tls.ConnectionState
}

func (b *tlsBridgeConn) ConnectionState() tls.ConnectionState { return *b.state }

// bridgeOf returns the bridge nc is, or nil.
func bridgeOf(nc net.Conn) *bridgeConn {
	switch nc := nc.(type) {
	case *bridgeConn:
		return nc
	case *tlsBridgeConn:
		return nc.bridgeConn
	}
	return nil
}

// streamGone reports whether nc is an HTTP/2 stream whose client reset it
// or left, so that a request waiting on its upstream stops as nginx
// stops it.
func streamGone(nc net.Conn) bool {
	b := bridgeOf(nc)
	if b == nil {
		return false
	}
	c := b.st.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	return b.st.reset
}

// streamFailed marks the answer on nc, if it is an HTTP/2 stream, as cut
// short: an answer whose body runs to the close (the engine does not
// chunk for streams) then ends with RST_STREAM, as nginx ends it, not
// with END_STREAM.
func streamFailed(nc net.Conn) {
	if b := bridgeOf(nc); b != nil {
		b.out.failed = true
	}
}

// http2Var is $http2: "h2" for a stream over TLS, "h2c" over cleartext,
// empty for HTTP/1.x.
func http2Var(nc net.Conn) string {
	switch nc.(type) {
	case *tlsBridgeConn:
		return "h2"
	case *bridgeConn:
		return "h2c"
	}
	return ""
}

func isBridged(nc net.Conn) bool {
	switch nc.(type) {
	case *bridgeConn, *tlsBridgeConn:
		return true
	}
	return false
}

// bridgePool recycles what serving a stream takes: the stream, the
// bridgeConn with its TLS view and the answer's scratch, and the engine's
// clientConn.
type bridgePool struct{ p sync.Pool }

type pooledBridge struct {
	stream  h2stream
	bridge  bridgeConn
	tlsView tlsBridgeConn
	conn    clientConn
}

func (bp *bridgePool) get() *pooledBridge {
	if b, ok := bp.p.Get().(*pooledBridge); ok {
		return b
	}
	b := &pooledBridge{}
	b.tlsView.bridgeConn = &b.bridge
	return b
}

// put takes b back once its stream is done. Its clientConn left the
// server's set first, and the connection forgot the stream, so nothing
// else can reach them.
func (bp *bridgePool) put(b *pooledBridge, s *Server) {
	s.readBufs.put(b.stream.head)
	a := &b.bridge.out
	hdrs, partial, block := a.resp.headers[:0], a.partial[:0], a.block[:0]
	if cap(partial) > readBufSize {
		partial = nil // a rare long head is not kept
	}
	if cap(block) > readBufSize {
		block = nil
	}
	in := b.stream.in[:0]
	if cap(in) > h2RecvWindow {
		in = nil
	}
	b.stream = h2stream{wake: b.stream.wake, in: in}
	b.bridge = bridgeConn{out: h2Answer{resp: respHead{headers: hdrs}, partial: partial, block: block}}
	b.tlsView.state = nil
	b.conn.reuse()
	bp.p.Put(b)
}

// open readies the bridge for the stream's request and returns it as the
// net.Conn the engine serves.
func (b *pooledBridge) open(c *h2conn) net.Conn {
	bc := &b.bridge
	bc.st = &b.stream
	bc.local, bc.remote = c.nc.LocalAddr(), c.nc.RemoteAddr()
	bc.in, bc.inBuf = b.stream.head, b.stream.head
	bc.body = b.stream.body
	if c.tls != nil {
		b.tlsView.state = c.tls
		return &b.tlsView
	}
	return bc
}

// finish ends the stream once the engine is done: an answer that runs to
// the close ends with an empty DATA frame, and one the engine left
// incomplete (it logged why) is reset, as nginx resets it.
func (b *pooledBridge) finish() {
	bc, a := &b.bridge, &b.bridge.out
	switch {
	case a.ended:
	case a.phase == answerToClose && !a.failed:
		a.ended = true
		bc.st.writeData(nil, true, bc.writeBy)
	case !streamGone(bc):
		bc.st.conn.resetStream(bc.st.id, http2.ErrCodeInternal)
	}
}

// answered reports whether the engine wrote a whole answer.
func (b *bridgeConn) answered() bool { return b.out.complete() }

func (b *bridgeConn) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, net.ErrClosed
	}
	if len(b.in) == 0 {
		switch b.body {
		case bodyNone:
			return 0, io.EOF
		case bodySized:
			return b.readBody(p)
		default:
			if err := b.nextChunk(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(p, b.in)
	b.in = b.in[n:]
	return n, nil
}

// readBody reads a body of known length straight into p.
func (b *bridgeConn) readBody(p []byte) (int, error) {
	n, err := b.st.read(p, b.readBy)
	if err == io.EOF {
		b.body = bodyNone
	}
	return n, err
}

// chunkRoom is room for a chunk's size line before its data: the hex
// length of a chunk (at most 8 digits) and CRLF.
const chunkRoom = 10

// nextChunk reads the next piece of a body of unknown length and frames it
// as a chunk in b.in; after the stream's last piece comes the last chunk.
func (b *bridgeConn) nextChunk() error {
	buf := b.inBuf[:cap(b.inBuf)]
	if b.body == bodyLast {
		b.in = append(buf[:0], "0\r\n\r\n"...)
		b.body = bodyNone
		return nil
	}
	n, err := b.st.read(buf[chunkRoom:len(buf)-2], b.readBy)
	switch {
	case err == io.EOF:
		b.body = bodyLast
		return b.nextChunk()
	case err != nil:
		return err
	}
	var size [chunkRoom]byte
	line := append(strconv.AppendInt(size[:0], int64(n), 16), "\r\n"...)
	start := chunkRoom - len(line)
	copy(buf[start:], line)
	b.in = append(buf[start:chunkRoom+n], "\r\n"...)
	return nil
}

func (b *bridgeConn) Write(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, net.ErrClosed
	}
	if err := b.out.write(b, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the engine's side. From another goroutine (a shutdown) it
// also breaks a body read the engine waits in.
func (b *bridgeConn) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	c := b.st.conn
	c.mu.Lock()
	b.st.abandoned = true
	b.st.signal()
	c.mu.Unlock()
	return nil
}

func (b *bridgeConn) LocalAddr() net.Addr  { return b.local }
func (b *bridgeConn) RemoteAddr() net.Addr { return b.remote }

func (b *bridgeConn) SetDeadline(t time.Time) error {
	b.readBy, b.writeBy = t, t
	return nil
}

func (b *bridgeConn) SetReadDeadline(t time.Time) error {
	b.readBy = t
	return nil
}

func (b *bridgeConn) SetWriteDeadline(t time.Time) error {
	b.writeBy = t
	return nil
}

// h2Answer takes the engine's HTTP/1.1 answer apart as it is written,
// into HEADERS and DATA frames.
type h2Answer struct {
	phase   answerPhase
	partial []byte // a head split over writes
	resp    respHead
	block   []byte // the header block being built
	left    int64  // body bytes still due (sized)
	ended   bool   // END_STREAM is queued
	failed  bool   // the engine could not complete the answer (streamFailed)
}

type answerPhase uint8

const (
	answerHead    answerPhase = iota // reading a head
	answerSized                      // a body of left bytes
	answerToClose                    // a body running to the engine's close
	answerDone
)

// errNotHTTP is an engine answer without a status line: an HTTP/0.9
// upstream's bytes relayed as they are, which HTTP/2 cannot carry.
var errNotHTTP = errors.New("HTTP/0.9 answer on an HTTP/2 stream")

func (a *h2Answer) complete() bool {
	return a.phase == answerDone || a.phase == answerToClose && !a.failed
}

// errChunkedAnswer is an engine answer in chunks, which the engine does
// not write to a stream (relay.go, headers.go leave them to the close).
var errChunkedAnswer = errors.New("chunked answer on an HTTP/2 stream")

// write takes one write of the engine's answer; the frames it makes go
// out together, with the stream's end if the answer is complete.
func (a *h2Answer) write(b *bridgeConn, p []byte) error {
	for len(p) > 0 && a.phase != answerDone {
		var err error
		if a.phase == answerHead {
			p, err = a.head(b, p)
		} else {
			p, err = a.body(b, p)
		}
		if err != nil {
			return err
		}
	}
	if a.ended && b.st.conn.busy() {
		// Other streams of the connection are being served: those whose
		// answers are ready get to queue them first, so that one TLS
		// write carries them all.
		runtime.Gosched()
	}
	return b.st.conn.w.flush(b.writeBy)
}

// head gathers and parses a head, and returns what follows it.
func (a *h2Answer) head(b *bridgeConn, p []byte) ([]byte, error) {
	buf := p
	if len(a.partial) > 0 {
		a.partial = append(a.partial, p...)
		buf = a.partial
	}
	if _, v := parseStatusLine(buf); v == statusInvalid {
		return nil, errNotHTTP
	}
	end := headEnd(buf)
	if end == 0 {
		if len(a.partial) == 0 {
			a.partial = append(a.partial[:0], p...)
		}
		return nil, nil
	}
	// The head's end is in p: what was gathered before had none.
	rest := p[end-(len(buf)-len(p)):]
	a.partial = a.partial[:0]
	if err := a.resp.parse(buf[:end]); err != nil {
		return nil, err
	}
	return rest, a.emit(b)
}

// emit turns the parsed head into the stream's header block. The
// connection's own headers, which HTTP/2 forbids, are dropped. An interim
// answer (1xx) goes out as it is, and the final head's block carries the
// stream's end when no body follows.
func (a *h2Answer) emit(b *bridgeConn) error {
	rh := &a.resp
	a.block = appendHpackStatus(a.block[:0], rh.status)
	for _, f := range rh.headers {
		if !hopByHop(f.name) {
			a.block = appendHpackField(a.block, f.name, f.value)
		}
	}
	if rh.status < 200 {
		return b.st.writeHeaders(a.block, false)
	}
	switch {
	case b.st.isHEAD || rh.status == 204 || rh.status == 304:
		a.phase = answerDone
	case rh.chunked:
		return errChunkedAnswer
	case rh.contentLength == 0:
		a.phase = answerDone
	case rh.contentLength > 0:
		a.phase, a.left = answerSized, rh.contentLength
	default:
		a.phase = answerToClose
	}
	a.ended = a.phase == answerDone
	return b.st.writeHeaders(a.block, a.ended)
}

// hopByHop names the connection's own headers, which HTTP/2 forbids.
func hopByHop(name []byte) bool {
	for _, h := range [...]string{"Connection", "Keep-Alive", "Transfer-Encoding", "Proxy-Connection", "Upgrade"} {
		if len(name) == len(h) && bytes.EqualFold(name, []byte(h)) {
			return true
		}
	}
	return false
}

// body takes body bytes from p and returns what is left of it.
func (a *h2Answer) body(b *bridgeConn, p []byte) ([]byte, error) {
	if a.phase == answerToClose {
		return nil, b.st.writeData(p, false, b.writeBy)
	}
	n := int(min(a.left, int64(len(p))))
	last := int64(n) == a.left
	if err := b.st.writeData(p[:n], last, b.writeBy); err != nil {
		return nil, err
	}
	a.ended = last
	a.left -= int64(n)
	if last {
		a.phase = answerDone
	}
	return p[n:], nil
}
