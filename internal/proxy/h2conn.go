package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2conn is the server side of one HTTP/2 connection (RFC 9113). Its
// reader runs in the goroutine that accepted the connection: it parses
// frames (x/net's Framer and HPACK decoder), keeps the streams' states and
// both directions' flow control, and answers control frames. Each stream
// is served by the engine in a goroutine of its own (runStream), which
// writes its answer's frames through the connection's one write path
// (h2writer).
type h2conn struct {
	srv   *Server
	owner *clientConn // the accepted connection; active while this runs
	nc    net.Conn
	tls   *tls.ConnectionState // nil for cleartext HTTP/2
	in    h2Input
	fr    *http2.Framer
	w     h2writer
	done  chan struct{} // closed when the reader has ended

	mu        sync.Mutex
	streams   map[uint32]*h2stream // open and half-closed streams
	lastID    uint32               // the highest stream the client opened
	running   int                  // streams the engine still serves, reset ones included
	goingAway bool                 // GOAWAY sent: no new streams
	closing   bool                 // the reader is to stop once running is 0
	sendWin   int64                // the connection's send window
	initWin   int64                // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame  int                  // the peer's SETTINGS_MAX_FRAME_SIZE
	recvWin   int64                // what the peer may still send on the connection
	recvDue   int64                // received bytes not yet given back (WINDOW_UPDATE)
	opened    int                  // streams taken

	// keepalive_timeout and keepalive_requests of the address's default
	// server, which nginx 1.22 applies to an HTTP/2 connection as a whole:
	// how long it may idle, and how many streams it serves before GOAWAY.
	ka keepalive
}

// The connection's own settings and receive windows. As nginx 1.22 does,
// a stream may send 64 KiB (http2_body_preread_size) before the engine
// reads its body, and the connection's window is opened to the maximum at
// once: what the connection holds unread is bounded by its streams'
// windows. Once the engine reads a body the stream's window grows to
// h2BodyWindow so that a fast uploader need not wait for each update
// (nginx opens it to the maximum and spools to a file; here the unread
// bytes are in memory, so the window stays bounded).
const (
	h2MaxStreams    = 128 // nginx's http2_max_concurrent_streams
	h2DefaultWindow = 65535
	h2RecvWindow    = 64 << 10 // SETTINGS_INITIAL_WINDOW_SIZE sent, nginx's http2_body_preread_size
	h2BodyWindow    = 256 << 10
	h2MaxWindow     = 1<<31 - 1
	h2DefaultFrame  = 16384
	h2MaxHeaderList = 64 << 10
	h2WindowBatch   = 16 << 10        // a stream's window given back in pieces of at least this
	h2ConnRefill    = h2MaxWindow / 2 // the connection's window given back once this much came
	h2MaxRunning    = 2 * h2MaxStreams
)

func newH2Conn(s *Server, owner *clientConn, nc net.Conn) *h2conn {
	c := &h2conn{
		srv: s, owner: owner, nc: nc,
		in:       newH2Input(nc),
		done:     make(chan struct{}),
		streams:  map[uint32]*h2stream{},
		sendWin:  h2DefaultWindow,
		initWin:  h2DefaultWindow,
		maxFrame: h2DefaultFrame,
		recvWin:  h2MaxWindow,
	}
	c.w.nc = nc
	c.ka = keepalive{keepaliveTimeout, keepaliveRequests}
	if g := owner.group; g != nil && g.def != nil {
		c.ka = g.def.ka
		if c.ka.timeout <= 0 {
			c.ka.timeout = keepaliveTimeout
		}
	}
	if tc, ok := nc.(tlsConn); ok {
		st := tc.ConnectionState()
		c.tls = &st
	}
	c.fr = http2.NewFramer(nil, &c.in)
	c.fr.SetMaxReadFrameSize(h2DefaultFrame)
	c.fr.MaxHeaderListSize = h2MaxHeaderList
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	return c
}

// serve runs the connection until the peer leaves, a protocol error ends
// it, it is idle for keepalive_timeout, or a graceful stop has let its
// streams finish.
func (c *h2conn) serve() {
	defer c.close()
	// The server's preface goes first whatever the client sends, as
	// nginx sends it (a bad client preface then gets GOAWAY after it).
	c.w.queue(appendServerSettings)
	if !c.readPreface() {
		return
	}
	c.setIdle()
	for {
		if c.in.buffered() == 0 {
			// Nothing more to read without waiting: what the frames read so
			// far made (acknowledgements, window updates) goes out now,
			// written by another goroutine if the socket makes it wait.
			c.w.flushBehind()
		}
		f, err := c.fr.ReadFrame()
		if err == nil {
			err = c.dispatch(f)
		}
		if err != nil && !c.failed(err) {
			return
		}
		if c.stopNow() {
			return
		}
	}
}

// appendServerSettings is the connection's preface as nginx 1.22 sends
// it: SETTINGS with MAX_CONCURRENT_STREAMS and INITIAL_WINDOW_SIZE, and a
// WINDOW_UPDATE that opens the connection's window to the maximum. (nginx
// also offers MAX_FRAME_SIZE 16777215; frames are read whole here, so the
// default 16,384 is kept.)
func appendServerSettings(b []byte) []byte {
	b = appendFrameHeader(b, 12, http2.FrameSettings, 0, 0)
	b = appendSetting(b, http2.SettingMaxConcurrentStreams, h2MaxStreams)
	b = appendSetting(b, http2.SettingInitialWindowSize, h2RecvWindow)
	return appendWindowUpdate(b, 0, h2MaxWindow-h2DefaultWindow)
}

func (c *h2conn) readPreface() bool {
	c.nc.SetReadDeadline(time.Now().Add(clientHeaderTimeout))
	var got [len(h2Preface)]byte
	if _, err := io.ReadFull(&c.in, got[:]); err != nil {
		return false
	}
	if string(got[:]) != h2Preface {
		c.srv.log.Info("invalid connection preface while processing HTTP/2 connection", "conn", c.owner.id, "client", string(c.owner.remoteAddr))
		c.goAway(http2.ErrCodeProtocol)
		return false
	}
	return true
}

// failed handles an error from reading or dispatching a frame and reports
// whether the connection goes on.
func (c *h2conn) failed(err error) bool {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		c.mu.Lock()
		if se.StreamID > c.lastID && se.StreamID%2 == 1 {
			c.lastID = se.StreamID // a bad HEADERS still uses its stream's number
		}
		c.mu.Unlock()
		c.resetStream(se.StreamID, se.Code)
		return true
	case errors.As(err, &ce):
		c.goAway(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAway(http2.ErrCodeFrameSize)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.mu.Lock()
		idle := c.running == 0 && !c.goingAway // (a graceful stop sent it already)
		c.mu.Unlock()
		if idle {
			c.goAway(http2.ErrCodeNo)
		}
	}
	return false
}

// goAway sends GOAWAY with the last stream this side took and code.
func (c *h2conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	c.goingAway = true
	last := c.lastID
	c.mu.Unlock()
	c.w.queue(func(b []byte) []byte { return appendGoAway(b, last, code) })
	c.w.flushBehind()
}

// shutdown starts a graceful stop: GOAWAY, no new streams, and the
// connection closes once its streams are done.
func (c *h2conn) shutdown() {
	c.goAway(http2.ErrCodeNo)
	c.mu.Lock()
	c.closing = true
	idle := c.running == 0
	c.mu.Unlock()
	if idle {
		c.nc.SetReadDeadline(time.Now()) // wakes the reader to end
	}
}

// stopNow reports whether a graceful stop has nothing left to wait for.
func (c *h2conn) stopNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing && c.running == 0
}

// close ends the connection: nothing more is written, and every stream
// still served sees its client gone.
func (c *h2conn) close() {
	c.w.finish()
	c.nc.Close()
	c.mu.Lock()
	for id, st := range c.streams {
		st.reset = true
		delete(c.streams, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// setIdle arms the idle timeout when no stream is served, and lifts it
// when one is; with c.mu held, or before streams run.
func (c *h2conn) setIdle() {
	if c.running == 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.ka.timeout))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
}

func (c *h2conn) dispatch(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return c.control(func(b []byte) []byte { return appendPingAck(b, f.Data) })
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.onReset(f)
	case *http2.PriorityFrame:
		// Priorities are ignored, as nginx 1.22 ignores them, but a stream
		// cannot depend on itself (RFC 9113 §5.3.1).
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
	case *http2.PushPromiseFrame, *http2.ContinuationFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil // GOAWAY from the peer, and unknown frame types
}

// control queues an answer to the peer's control frame. A peer that keeps
// sending them without reading the answers has its connection closed
// (ENHANCE_YOUR_CALM) rather than growing the buffer.
func (c *h2conn) control(fn func([]byte) []byte) error {
	if c.w.pending() > h2MaxPending {
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	return c.w.queue(fn)
}

func (c *h2conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.initWin
			c.initWin = int64(s.Val)
			for _, st := range c.streams {
				st.sendWin += delta
				if st.sendWin > h2MaxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				st.signal()
			}
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(s.Val)
		}
		return nil
	})
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.control(appendSettingsAck)
}

func (c *h2conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWin += inc
		if c.sendWin > h2MaxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		for _, st := range c.streams {
			st.signal()
		}
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
		}
		return nil // closed: a late update
	}
	st.sendWin += inc
	if st.sendWin > h2MaxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	st.signal()
	return nil
}

func (c *h2conn) onReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID > c.lastID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
	}
	if st := c.streams[f.StreamID]; st != nil {
		st.reset = true
		delete(c.streams, f.StreamID)
		st.signal()
	}
	return nil
}

// resetStream sends RST_STREAM and forgets the stream; its engine, if it
// runs, sees its client gone.
func (c *h2conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		st.reset = true
		delete(c.streams, id)
		st.signal()
	}
	c.mu.Unlock()
	c.w.queue(func(b []byte) []byte { return appendRSTStream(b, id, code) })
}

func (c *h2conn) onData(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.recvWin {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	// The connection's window is given back as data arrives: what a
	// stream holds unread is bounded by its own window.
	c.recvWin -= n
	c.recvDue += n
	if c.recvDue >= h2ConnRefill {
		due := c.recvDue
		c.recvWin += due
		c.recvDue = 0
		c.w.queue(func(b []byte) []byte { return appendWindowUpdate(b, 0, uint32(due)) })
	}
	st := c.streams[id]
	switch {
	case st == nil && id > c.lastID:
		return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
	case st == nil || !st.remoteOpen:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	case n > st.recvWin:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWin -= n
	data := f.Data()
	st.recvDue += n - int64(len(data)) // padding is given back when the data is
	st.got += int64(len(data))
	if st.declared >= 0 && (st.got > st.declared || f.StreamEnded() && st.got != st.declared) {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st.in = append(st.in, data...)
	if f.StreamEnded() {
		st.remoteOpen = false
	}
	st.signal()
	return nil
}

// onHeaders opens a stream, or takes a stream's trailers.
func (c *h2conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	st, known := c.streams[id]
	newer := id > c.lastID
	if newer {
		c.lastID = id
	}
	c.mu.Unlock()
	if f.HasPriority() && f.Priority.StreamDep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	switch {
	case known:
		return c.onTrailers(st, f)
	case !newer:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	refused, calm := c.goingAway, len(c.streams) >= h2MaxStreams
	flood := c.running >= h2MaxRunning
	c.mu.Unlock()
	switch {
	case refused:
		return nil // after GOAWAY: ignored (RFC 9113 §6.8)
	case flood:
		// Streams the client reset still run in the engine: a client that
		// opens and resets streams faster than they finish (rapid reset)
		// is sent away.
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	case calm:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	case f.Truncated:
		return c.tooLarge(id)
	}
	b := c.srv.h2.streams.get()
	st = &b.stream
	if err := st.start(c, f, c.srv.readBufs.get()[:0]); err != nil {
		c.srv.h2.streams.put(b, c.srv)
		return err
	}
	c.mu.Lock()
	c.streams[id] = st
	c.running++
	c.opened++
	last := c.opened >= c.ka.requests
	c.setIdle()
	c.mu.Unlock()
	go c.runStream(b)
	if last {
		c.shutdown() // keepalive_requests: this stream is the last
	}
	return nil
}

// tooLarge answers a stream whose header list is over h2MaxHeaderList
// with 431 and no body.
func (c *h2conn) tooLarge(id uint32) error {
	return c.w.queue(func(b []byte) []byte {
		var block [8]byte
		return appendHeaderBlock(b, id, appendHpackStatus(block[:0], 431), true, c.maxFrame)
	})
}

// onTrailers ends a stream's body with its trailer section, which nginx
// 1.22 does not pass on.
func (c *h2conn) onTrailers(st *h2stream, f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !st.remoteOpen && st.localEnded:
		return http2.ConnectionError(http2.ErrCodeStreamClosed) // a closed stream, about to be forgotten
	case !st.remoteOpen:
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	case !f.StreamEnded() || len(f.PseudoFields()) > 0:
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	case st.declared >= 0 && st.got != st.declared:
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	st.remoteOpen = false
	st.signal()
	return nil
}

// runStream serves one stream through the engine, as one HTTP/1.1
// request on a bridgeConn (h2stream.go).
func (c *h2conn) runStream(b *pooledBridge) {
	st := &b.stream
	nc := b.open(c)
	cc := c.srv.openConn(&b.conn, nc, c.owner.key)
	if cc == nil {
		// The server is stopping, or a reload took the address away.
		c.resetStream(st.id, http2.ErrCodeRefusedStream)
		c.w.flush(time.Time{})
		c.shutdown()
	} else {
		cc.serve()
		b.finish()
	}
	c.streamDone(st)
	c.srv.h2.streams.put(b, c.srv)
}

// busy reports whether more than one stream is being served.
func (c *h2conn) busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running > 1
}

// streamDone forgets a stream the engine is done with. A client still
// sending a body it no longer needs is told to stop (RST_STREAM
// NO_ERROR, RFC 9113 §8.1).
func (c *h2conn) streamDone(st *h2stream) {
	c.mu.Lock()
	stop := false
	if c.streams[st.id] == st {
		delete(c.streams, st.id)
		stop = st.remoteOpen
	}
	c.running--
	c.setIdle()
	idle := c.running == 0
	wake := c.closing && idle
	c.mu.Unlock()
	if stop {
		c.w.queue(func(b []byte) []byte { return appendRSTStream(b, st.id, http2.ErrCodeNo) })
	}
	c.w.flush(time.Time{})
	if idle {
		c.w.release() // an idle connection keeps no large answer's buffers
	}
	if wake {
		c.nc.SetReadDeadline(time.Now())
	}
}

// h2StreamError is the stream error for a request the protocol calls
// malformed (RFC 9113 §8.1.1, §8.2.2, §8.3.1).
func h2StreamError(id uint32) error {
	return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
}

// parseContentLength parses a content-length field's value; -1 when it
// is not a number.
func parseContentLength(v string) int64 {
	if v == "" || len(v) > 18 {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || v[0] == '+' {
		return -1
	}
	return n
}
