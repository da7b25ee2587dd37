package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// bridgeConn is the engine's connection for one HTTP/2 stream. The engine
// runs in the stream's handler goroutine and calls it directly: Read hands
// over the request as an HTTP/1.1 head followed by the stream's body
// (chunked when its length is unknown), and Write takes the engine's
// HTTP/1.1 answer apart into the stream's status, headers and body. Nothing
// is copied through a pipe or another goroutine, and a body moves at the
// pace of the stream's flow control: the engine's write of a buffer
// returns once net/http has taken it, so a large download streams in the
// engine's buffers alone.
//
// It reports the real connection's addresses (for $remote_addr,
// $server_port), and is never sniffed for a preface or wrapped in TLS
// again (isBridged).
type bridgeConn struct {
	w             http.ResponseWriter
	r             *http.Request
	local, remote net.Addr

	in     []byte // request bytes not read yet: the head, then chunk framing
	inBuf  []byte // the pooled buffer in points into
	body   bodyState
	readBy time.Time // the engine's read deadline, armed on the stream when a body read may wait
	armed  time.Time // the read deadline armed on the stream

	out      h2Answer
	writeBy  time.Time // the engine's write deadline, armed on the stream when a write may wait
	writeSet time.Time // the write deadline armed on the stream
	closed   atomic.Bool
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
// reports the connection's TLS state (for $scheme, $https), which net/http
// took once per connection.
type tlsBridgeConn struct {
	*bridgeConn
	state *tls.ConnectionState
}

func (b *tlsBridgeConn) ConnectionState() tls.ConnectionState { return *b.state }

func isBridged(nc net.Conn) bool {
	switch nc.(type) {
	case *bridgeConn, *tlsBridgeConn:
		return true
	}
	return false
}

// bridgePool recycles what serving a stream takes: the bridgeConn with its
// TLS view and the answer's scratch, and the engine's clientConn.
type bridgePool struct{ p sync.Pool }

type pooledBridge struct {
	bridgeConn
	tlsView tlsBridgeConn
	conn    clientConn
}

func (bp *bridgePool) get() *pooledBridge {
	if b, ok := bp.p.Get().(*pooledBridge); ok {
		return b
	}
	b := &pooledBridge{}
	b.tlsView.bridgeConn = &b.bridgeConn
	return b
}

// put takes b back once its handler is done with it. Its clientConn left
// the server's set first, so nothing else can reach it.
func (bp *bridgePool) put(b *pooledBridge, s *Server) {
	s.readBufs.put(b.inBuf)
	hdrs, partial := b.out.resp.headers[:0], b.out.partial[:0]
	if cap(partial) > readBufSize {
		partial = nil // a rare long head is not kept
	}
	b.bridgeConn = bridgeConn{out: h2Answer{resp: respHead{headers: hdrs}, partial: partial}}
	b.tlsView.state = nil
	b.conn.reuse()
	bp.p.Put(b)
}

// open readies b for the request r, whose head the engine reads first,
// and returns it as the net.Conn the engine serves; owner is the client
// connection that carries the stream.
func (b *pooledBridge) open(w http.ResponseWriter, r *http.Request, head []byte, owner net.Conn) net.Conn {
	bc := &b.bridgeConn
	bc.w, bc.r = w, r
	bc.local, bc.remote = owner.LocalAddr(), owner.RemoteAddr()
	bc.in, bc.inBuf = head, head
	switch {
	case r.ContentLength == 0 || r.Body == nil:
		bc.body = bodyNone
	case r.ContentLength > 0:
		bc.body = bodySized
	default:
		bc.body = bodyChunked
	}
	if r.TLS != nil {
		b.tlsView.state = r.TLS
		return &b.tlsView
	}
	return bc
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
	b.armRead()
	n, err := b.r.Body.Read(p)
	if err == io.EOF {
		b.body = bodyNone
		if n > 0 {
			err = nil
		}
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
	b.armRead()
	n := 0
	for n == 0 && b.body == bodyChunked {
		var err error
		n, err = b.r.Body.Read(buf[chunkRoom : len(buf)-2])
		switch {
		case err == io.EOF:
			b.body = bodyLast
		case err != nil:
			return err
		}
	}
	if n == 0 {
		return b.nextChunk() // the last chunk
	}
	var size [chunkRoom]byte
	line := append(strconv.AppendInt(size[:0], int64(n), 16), "\r\n"...)
	start := chunkRoom - len(line)
	copy(buf[start:], line)
	b.in = append(buf[start:chunkRoom+n], "\r\n"...)
	return nil
}

// armRead arms the engine's read deadline on the stream before a body
// read that may wait. Only then: each arming is a message to net/http's
// connection goroutine, and a request without a body never waits.
func (b *bridgeConn) armRead() {
	if b.readBy.Equal(b.armed) {
		return
	}
	b.armed = b.readBy
	if rd, ok := b.w.(interface{ SetReadDeadline(time.Time) error }); ok {
		rd.SetReadDeadline(b.readBy)
	}
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
// also breaks a body read the handler waits in. It runs only while the
// engine's clientConn is in the server's set, so before the handler
// returns: removeConn waits for the shutdown that closes it.
func (b *bridgeConn) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.r.Body != nil {
		b.r.Body.Close()
	}
	return nil
}

func (b *bridgeConn) LocalAddr() net.Addr  { return b.local }
func (b *bridgeConn) RemoteAddr() net.Addr { return b.remote }

func (b *bridgeConn) SetDeadline(t time.Time) error {
	b.SetReadDeadline(t)
	return b.SetWriteDeadline(t)
}

func (b *bridgeConn) SetReadDeadline(t time.Time) error {
	b.readBy = t
	return nil
}

func (b *bridgeConn) SetWriteDeadline(t time.Time) error {
	b.writeBy = t
	return nil
}

// armWrite arms the engine's write deadline on the stream before a write
// that may wait for the client (flow control), as armRead does for reads.
func (b *bridgeConn) armWrite() {
	if b.writeBy.Equal(b.writeSet) {
		return
	}
	b.writeSet = b.writeBy
	if wd, ok := b.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		wd.SetWriteDeadline(b.writeBy)
	}
}

// h2Answer takes the engine's HTTP/1.1 answer apart as it is written.
type h2Answer struct {
	phase   answerPhase
	partial []byte // a head split over writes
	resp    respHead
	left    int64 // body bytes (sized) or chunk bytes (chunked) still due
	taken   int   // body bytes handed to the stream
	// sized: the answer has a Content-Length or no body. An answer without
	// one is flushed at least once before the handler returns, or net/http
	// would give it a Content-Length that nginx does not.
	sized   bool
	flushed bool
}

type answerPhase uint8

const (
	answerHead        answerPhase = iota // reading a head
	answerSized                          // a body of left bytes
	answerToClose                        // a body running to the close
	answerChunkSize                      // a chunk's size line
	answerChunkExt                       // the rest of a size line (extensions)
	answerChunkData                      // left bytes of chunk data
	answerChunkEnd                       // the CRLF after chunk data
	answerTrailer                        // trailer lines after the last chunk
	answerTrailerLine                    // inside a trailer line
	answerDone
)

// errNotHTTP is an engine answer without a status line: an HTTP/0.9
// upstream's bytes relayed as they are, which HTTP/2 cannot carry.
var errNotHTTP = errors.New("HTTP/0.9 answer on an HTTP/2 stream")

// h2Buffered is what net/http's HTTP/2 response writer buffers before a
// write has to wait for the client: a smaller answer is handed over
// whole when the handler returns, so it needs no write deadline.
const h2Buffered = 4 << 10

func (a *h2Answer) complete() bool {
	return a.phase == answerDone || a.phase == answerToClose
}

// write takes one write of the engine's answer. A complete answer is left
// in net/http's buffer, to go out with the stream's end in one go when the
// handler returns; a write that leaves it incomplete (a streamed body) is
// flushed, as the engine flushed it.
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
	if a.phase == answerHead || a.phase == answerDone && (a.sized || a.flushed) {
		return nil
	}
	a.flushed = true
	b.armWrite()
	if f, ok := b.w.(interface{ FlushError() error }); ok {
		return f.FlushError()
	}
	return http.NewResponseController(b.w).Flush()
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
	a.emit(b, buf[:end])
	return rest, nil
}

// emit writes the parsed head to the stream. Header names are made
// canonical (net/http looks up Content-Type, Date, Content-Length by
// them); the hop-by-hop ones HTTP/2 forbids are dropped. An interim
// answer (1xx) is sent at once, except 100 Continue, which net/http
// sends itself when the handler first reads the body.
func (a *h2Answer) emit(b *bridgeConn, head []byte) {
	rh := &a.resp
	if rh.status == 100 {
		return
	}
	s := string(head)
	at := func(f []byte) string {
		off := cap(head) - cap(f)
		return s[off : off+len(f)]
	}
	hdr := b.w.Header()
	vals := make([]string, len(rh.headers))
	for i, f := range rh.headers {
		if hopByHop(f.name) {
			continue
		}
		name := textproto.CanonicalMIMEHeaderKey(at(f.name))
		vals[i] = at(f.value)
		if vs, ok := hdr[name]; ok {
			hdr[name] = append(vs, vals[i])
		} else {
			hdr[name] = vals[i : i+1 : i+1]
		}
	}
	b.w.WriteHeader(rh.status)
	if rh.status < 200 {
		clear(hdr)
		return
	}
	a.sized = true
	switch {
	case b.r.Method == http.MethodHead || rh.status == 204 || rh.status == 304:
		a.phase = answerDone
	case rh.chunked:
		a.sized = false
		a.phase = answerChunkSize
	case rh.contentLength == 0:
		a.phase = answerDone
	case rh.contentLength > 0:
		a.phase, a.left = answerSized, rh.contentLength
	default:
		a.phase, a.sized = answerToClose, false
	}
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

// body takes body bytes from p, undoing the chunked framing, and returns
// what is left of p.
func (a *h2Answer) body(b *bridgeConn, p []byte) ([]byte, error) {
	switch a.phase {
	case answerSized, answerChunkData:
		n := int(min(a.left, int64(len(p))))
		if err := a.send(b, p[:n]); err != nil {
			return nil, err
		}
		a.left -= int64(n)
		if a.left == 0 {
			if a.phase == answerSized {
				a.phase = answerDone
			} else {
				a.phase = answerChunkEnd
			}
		}
		return p[n:], nil
	case answerToClose:
		return nil, a.send(b, p)
	}
	// Framing, a byte at a time: chunk size lines, the CRLF after a
	// chunk's data, the trailer.
	ch := p[0]
	switch a.phase {
	case answerChunkSize:
		switch {
		case ch == '\n' && a.left == 0:
			a.phase = answerTrailer
		case ch == '\n':
			a.phase = answerChunkData
		case ch == ';' || ch == ' ' || ch == '\t':
			a.phase = answerChunkExt
		case ch != '\r':
			d, ok := hexDigit(ch)
			if !ok {
				return nil, errBadAnswerChunk
			}
			a.left = a.left<<4 | int64(d)
		}
	case answerChunkExt:
		if ch == '\n' {
			a.phase = answerChunkData
			if a.left == 0 {
				a.phase = answerTrailer
			}
		}
	case answerChunkEnd:
		if ch == '\n' {
			a.phase = answerChunkSize
		}
	case answerTrailer:
		switch ch {
		case '\n':
			a.phase = answerDone
		case '\r':
		default:
			a.phase = answerTrailerLine
		}
	case answerTrailerLine:
		if ch == '\n' {
			a.phase = answerTrailer
		}
	}
	return p[1:], nil
}

var errBadAnswerChunk = errors.New("bad chunk size in the answer to an HTTP/2 stream")

// send writes body bytes to the stream. Past what net/http buffers, a
// write may wait for the client, so the engine's write deadline is armed.
func (a *h2Answer) send(b *bridgeConn, p []byte) error {
	a.taken += len(p)
	if a.taken > h2Buffered {
		b.armWrite()
	}
	_, err := b.w.Write(p)
	return err
}
