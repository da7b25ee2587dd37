package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"

	"wisp/internal/ngxconf"
)

// With proxy_request_buffering on (the default) nginx reads the whole
// request body (ngx_http_read_client_request_body) before it chooses and
// connects an upstream peer. A slow upload then holds no upstream
// connection and no backend worker while it trickles in, a client that
// gives up mid-body never reaches the backend, and the backend gets the
// body at once. This file is that step.

// errBodySpool: the temporary file for the body's tail failed.
var errBodySpool = errors.New("request body could not be buffered")

// bodyTooLarge is a chunk that would take a body of had bytes past
// client_max_body_size; its text is nginx's error-log line.
type bodyTooLarge struct{ had, chunk int64 }

func (e bodyTooLarge) Error() string {
	return "client intended to send too large chunked body: " + strconv.FormatInt(e.had, 10) + "+" + strconv.FormatInt(e.chunk, 10) + " bytes"
}

// bufferBody reads src to its end into a replayBody: the first
// client_body_buffer_size bytes in memory, the rest in an unlinked
// temporary file. The body comes back rewound for the first attempt.
func (c *clientConn) bufferBody(ec *evalCtx, src io.Reader, bb bodyBuffering) (*replayBody, error) {
	rb := c.newReplayBody(ec, src, bb)
	bp := c.srv.copyBufs.Get().(*[]byte)
	defer c.srv.copyBufs.Put(bp)
	for {
		_, err := rb.Read(*bp)
		if err == io.EOF {
			break
		}
		if err != nil {
			rb.close()
			return nil, err
		}
	}
	if rb.broken {
		rb.close()
		return nil, errBodySpool
	}
	rb.whole = true
	rb.rewind()
	return rb, nil
}

// sendContinue answers "Expect: 100-continue" when the body starts to be
// read, before any upstream is chosen, as nginx's ngx_http_test_expect:
// to HTTP/1.1 clients only, and once. nginx sends none to an HTTP/2
// stream (its test skips r->stream), so neither does the bridge.
func (c *clientConn) sendContinue() {
	if c.req.expect100 && c.req.minor >= 1 && !isBridged(c.nc) {
		c.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	c.req.expect100 = false
}

// bodyFailed ends a request whose body could not be read, as nginx 1.22
// ends it: a timeout is 408 and a client that left 400, in the access log
// only (nobody reads an answer; nginx writes no error-log line for the
// timeout); a malformed chunked body is 400 and a too large one 413, both
// answered; a temporary file that failed is 500. p is the peer a streamed
// body (proxy_request_buffering off) was going to, nil for a buffered one:
// nginx then names the peer and says it was sending the request. The
// connection closes.
func (c *clientConn) bodyFailed(ec *evalCtx, p *peer, err error) bool {
	ctx, while := c.withHost(c.logCtx(ec)), ""
	if p != nil {
		ctx, while = c.logCtxPeer(ec, p), " while sending request to upstream"
		c.noteUpstream(ec, p)
	}
	var cr clientReadError
	var tl bodyTooLarge
	switch {
	case errors.As(err, &tl):
		c.srv.log.Error(tl.Error()+while, ctx...)
		return c.sendError(413, ec, false)
	case errors.Is(err, errBodySpool):
		c.srv.log.Error("client request body could not be buffered to a temporary file", ctx...)
		return c.sendError(500, ec, false)
	case errors.Is(err, errBadChunk):
		c.srv.log.Error("client sent invalid chunked body"+while, ctx...)
		return c.sendError(400, ec, false)
	case errors.Is(err, os.ErrDeadlineExceeded):
		ec.status = 408
		return false
	case errors.As(err, &cr):
		c.srv.log.Info(clientGoneText(cr.err)+while, ctx...)
	}
	ec.status = 400
	return false
}

// clientGoneText words a failed read of the client as nginx's recv
// handler does: a close is "prematurely closed", a reset names its errno.
func clientGoneText(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && !errors.Is(err, io.EOF) {
		return "recv() failed " + errnoText(err)
	}
	return "client prematurely closed connection"
}

// sendRequest writes the head and the body to the upstream. Without a
// body, or with one read whole that fits beside the head in its buffer,
// the request goes with the first read of the answer (sendWithRead). A
// larger body read whole goes out with the head in one writev, as nginx
// sends its chain of header and body buffers; a spooled body's memory
// part goes with the head and its file part after it.
func (c *clientConn) sendRequest(uc *upConn, h *proxyHandler, head []byte, body io.Reader) error {
	rb, _ := body.(*replayBody)
	if rb != nil && (!rb.whole || len(rb.mem) == 0) {
		rb = nil // streamed, or nothing in memory: written as it is read
	}
	if rb != nil && rb.spool == nil && len(head)+len(rb.mem) <= cap(head) {
		// Appended past head's length: a retry still finds head as it was.
		head, body, rb = append(head, rb.mem...), nil, nil
	}
	switch {
	case body == nil && uc.src.raw != nil && h.read != waitNow:
		// (With proxy_read_timeout 0 the read cannot wait, so it would
		// fail before the head in its callback went out: nginx sends it.)
		uc.src.sendWithRead(head)
		return nil
	case rb == nil:
		n, err := uc.Write(head)
		uc.src.sent += int64(n)
		if err != nil || body == nil {
			return err
		}
		return c.copyToUpstream(uc, body, h)
	}
	bufs := net.Buffers{head, rb.mem}
	n, err := bufs.WriteTo(uc.Conn)
	uc.src.sent += n
	if err != nil {
		return err
	}
	rb.pos = int64(len(rb.mem))
	return c.copyToUpstream(uc, rb, h)
}

// chunkedBody decodes a chunked request body by nginx's grammar
// (ngx_http_parse_chunked): a chunk size in hex, up to what an off_t
// holds, then an extension after ';', ' ' or '\t'; bare LF line ends
// taken; trailer lines read and dropped. The size check against
// client_max_body_size is made on each chunk's header, as nginx makes it,
// so a body is refused (bodyTooLarge) before its too large chunk is read.
type chunkedBody struct {
	br    chunkSource
	limit int64 // client_max_body_size; 0: none
	left  int64 // bytes of the current chunk still to give
	size  int64 // body bytes given so far
	done  bool
	fail  error
}

// chunkSource is what chunkedBody reads: the connection (connBody), or
// a bufio.Reader over bytes already in.
type chunkSource interface {
	io.Reader
	io.ByteReader
	Peek(n int) ([]byte, error)
}

// newChunkedBody decodes the request's chunked body from the connection.
func (c *clientConn) newChunkedBody(limit int64) *chunkedBody {
	return &chunkedBody{br: &connBody{c: c, headEnd: c.bodyPos, timer: readTimer{timeout: c.client.bodyTimeout()}}, limit: limit}
}

// connBody gives a chunked body's bytes from the connection without
// taking any past its end, so that a pipelined request after it stays in
// the connection's buffer for the next head and the connection stays
// open, as nginx keeps it. Chunk data is read straight into the caller's
// buffer, never more than the chunk holds (chunkedBody bounds it); size
// lines and trailers come through the connection's buffer, refilled in
// its free tail after the head.
type connBody struct {
	c       *clientConn
	headEnd int // the head ends there: bytes before stay (the request refers to them)
	timer   readTimer
	one     [1]byte // a byte read alone when the head fills the buffer
	has     bool
}

func (s *connBody) Read(p []byte) (int, error) {
	c := s.c
	switch {
	case len(p) == 0:
		return 0, nil
	case s.has:
		p[0], s.has = s.one[0], false
		return 1, nil
	case c.bodyPos < c.end:
		n := copy(p, c.buf[c.bodyPos:c.end])
		c.bodyPos += n
		return n, nil
	}
	c.setReadDeadline(s.timer.deadline())
	n, err := c.nc.Read(p)
	if n > 0 {
		return n, nil
	}
	return 0, clientBodyError(err)
}

func (s *connBody) ReadByte() (byte, error) {
	if _, err := s.Peek(1); err != nil {
		return 0, err
	}
	var b [1]byte
	s.Read(b[:])
	return b[0], nil
}

// Peek has at least one byte ready; n is always 1 here.
func (s *connBody) Peek(int) ([]byte, error) {
	c := s.c
	if s.has {
		return s.one[:], nil
	}
	if c.bodyPos == c.end {
		if err := s.fill(); err != nil {
			return nil, err
		}
		if s.has {
			return s.one[:], nil
		}
	}
	return c.buf[c.bodyPos : c.bodyPos+1], nil
}

// fill reads more of the connection into its buffer, after moving what
// is left down over the body bytes already taken; when the head fills the
// whole buffer, one byte alone.
func (s *connBody) fill() error {
	c := s.c
	if c.end == len(c.buf) && c.bodyPos > s.headEnd {
		n := copy(c.buf[s.headEnd:], c.buf[c.bodyPos:c.end])
		c.bodyPos, c.end = s.headEnd, s.headEnd+n
	}
	c.setReadDeadline(s.timer.deadline())
	if c.end < len(c.buf) {
		n, err := c.nc.Read(c.buf[c.end:])
		c.end += n
		if n > 0 {
			return nil
		}
		return clientBodyError(err)
	}
	n, err := c.nc.Read(s.one[:])
	if n > 0 {
		s.has = true
		return nil
	}
	return clientBodyError(err)
}

// clientBodyError marks a failed read of the client inside a body.
func clientBodyError(err error) error {
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return clientReadError{err}
}

// chunkedPreread reports whether what came with the head decides the
// chunked body: all of it, or a fault in it. nginx runs what it has through
// its chunk parser before it makes the upstream request, so even with
// proxy_request_buffering off a whole body goes with Content-Length and a
// faulty one is refused before any upstream traffic.
func (c *clientConn) chunkedPreread(limit int64) bool {
	var more clientReadError // the bytes ran out: the rest is to come
	return !errors.As(c.prereadChunks(limit), &more)
}

// prereadChunks runs the chunked body's bytes that came with the head
// through the chunk parser: nil when they hold the whole body, a
// clientReadError when more is to come, else the body's fault.
func (c *clientConn) prereadChunks(limit int64) error {
	d := chunkedBody{br: bufio.NewReaderSize(bytes.NewReader(c.buf[c.bodyPos:c.end]), 512), limit: limit}
	_, err := io.Copy(io.Discard, &d)
	return err
}

// errBadChunk is a chunked body nginx's parser refuses.
var errBadChunk = errors.New("invalid chunked body")

func (d *chunkedBody) Read(p []byte) (int, error) {
	if d.fail != nil {
		return 0, d.fail
	}
	if d.done {
		return 0, io.EOF
	}
	if d.left == 0 {
		n, err := d.chunkHead()
		switch {
		case err != nil:
			d.fail = err
			return 0, err
		case n == 0:
			if err := d.trailer(); err != nil {
				d.fail = err
				return 0, err
			}
			d.done = true
			return 0, io.EOF
		}
		if d.limit > 0 && d.limit-d.size < n {
			// nginx's parser reports a chunk once its first data byte is
			// in, and checks the size then.
			if _, err := d.br.Peek(1); err != nil {
				d.fail = unexpectedEOF(err)
				return 0, d.fail
			}
			d.fail = bodyTooLarge{had: d.size, chunk: n}
			return 0, d.fail
		}
		d.left = n
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.br.Read(p)
	d.left -= int64(n)
	d.size += int64(n)
	if err == nil && d.left == 0 {
		err = d.lineEnd()
	}
	d.fail = unexpectedEOF(err)
	return n, d.fail
}

// unexpectedEOF: the client's side ended inside the body.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return clientReadError{io.ErrUnexpectedEOF}
	}
	return err
}

// chunkHead reads a chunk's size line.
func (d *chunkedBody) chunkHead() (int64, error) {
	var n int64
	digits := 0
	for {
		ch, err := d.readByte()
		if err != nil {
			return 0, err
		}
		if n > maxOff/16 {
			return 0, errBadChunk
		}
		if v, ok := hexDigit(ch); ok {
			n = n*16 + int64(v)
			digits++
			continue
		}
		if digits == 0 {
			return 0, errBadChunk
		}
		switch ch {
		case '\r':
			return n, d.expectLF()
		case '\n':
			return n, nil
		case ';', ' ', '\t':
			return n, d.skipLine()
		}
		return 0, errBadChunk
	}
}

// maxOff is NGX_MAX_OFF_T_VALUE.
const maxOff = 1<<63 - 1

func hexDigit(ch byte) (byte, bool) {
	if isHex(ch) {
		return unhex(ch), true
	}
	return 0, false
}

// lineEnd reads the CRLF (or LF) after a chunk's data.
func (d *chunkedBody) lineEnd() error {
	ch, err := d.readByte()
	switch {
	case err != nil:
		return err
	case ch == '\r':
		return d.expectLF()
	case ch == '\n':
		return nil
	}
	return errBadChunk
}

// trailer reads the trailer lines after the last chunk up to the empty
// line; nginx drops them.
func (d *chunkedBody) trailer() error {
	for {
		empty, err := d.readLine()
		if err != nil || empty {
			return err
		}
	}
}

// skipLine reads up to the end of the line: an extension or a trailer
// field, where a CR must be followed by LF.
func (d *chunkedBody) skipLine() error {
	_, err := d.readLine()
	return err
}

// readLine reads up to the end of a line (a CR must be followed by LF)
// and reports whether it had nothing before its end.
func (d *chunkedBody) readLine() (empty bool, err error) {
	for n := 0; ; n++ {
		ch, err := d.readByte()
		if err != nil {
			return false, err
		}
		switch ch {
		case '\r':
			return n == 0, d.expectLF()
		case '\n':
			return n == 0, nil
		}
	}
}

func (d *chunkedBody) expectLF() error {
	ch, err := d.readByte()
	if err == nil && ch != '\n' {
		err = errBadChunk
	}
	return err
}

func (d *chunkedBody) readByte() (byte, error) {
	ch, err := d.br.ReadByte()
	return ch, unexpectedEOF(err)
}

// chunkEncoder frames what src gives as chunks for an HTTP/1.1 upstream,
// one per read as nginx sends one per buffer, and ends with the last
// chunk: the body of a chunked request streamed with
// proxy_request_buffering off.
type chunkEncoder struct {
	src  io.Reader
	done bool
}

const (
	chunkSizeRoom = 8 // a chunk's size line: up to 6 hex digits and CRLF
	lastChunk     = "0\r\n\r\n"
)

func (e *chunkEncoder) Read(p []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	room := len(p) - chunkSizeRoom - 2 - len(lastChunk)
	if room <= 0 {
		return 0, io.ErrShortBuffer
	}
	n, err := e.src.Read(p[chunkSizeRoom : chunkSizeRoom+min(room, 1<<24-1)])
	m := 0
	if n > 0 {
		var size [chunkSizeRoom]byte
		line := append(strconv.AppendInt(size[:0], int64(n), 16), '\r', '\n')
		start := chunkSizeRoom - len(line)
		copy(p[start:], line)
		end := chunkSizeRoom + n
		p[end], p[end+1] = '\r', '\n'
		m = copy(p, p[start:end+2])
	}
	if err == io.EOF {
		e.done = true
		m += copy(p[m:], lastChunk)
	}
	return m, err
}

// setTempPath sets client_body_temp_path: the directory is made now, as
// nginx makes it when it loads the config (-t too), mode 0700. Hashed
// levels are checked and otherwise unused: the files are unlinked at once.
func (b *bodyBuffering) setTempPath(d *ngxconf.Directive, dir string) error {
	for _, l := range d.Args[1:] {
		if n, err := strconv.Atoi(l); err != nil || n <= 0 {
			return ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir() %q failed %s", dir, errnoText(err))
	}
	b.tempDir, b.tempSet = dir, true
	return nil
}
