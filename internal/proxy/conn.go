package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client-side timers, nginx's defaults.
const (
	clientHeaderTimeout = 60 * time.Second
	keepaliveTimeout    = 75 * time.Second
	sendTimeout         = 60 * time.Second
	keepaliveRequests   = 1000
	readBufSize         = 4 << 10
	writeBufSize        = 32 << 10 // a 16 KiB page and its head leave in one write
	copyBufSize         = 32 << 10
)

// ListenFunc opens a listener; Server uses it so that wisp up can hand
// over inherited sockets and tests can pick free ports.
type ListenFunc func(ctx context.Context, network, address string) (net.Listener, error)

// ServerOptions configures a Server beyond its Config.
type ServerOptions struct {
	Log    *slog.Logger
	Token  string        // Server header and error page footer
	Listen ListenFunc    // nil: net.ListenConfig
	Drain  time.Duration // how long in-flight requests may finish on shutdown; 0: 10s
}

// Server runs the HTTP/1.1 front proxy. Its Config can be replaced by a
// reload (reload.go) while it serves.
type Server struct {
	cfg   atomic.Pointer[Config] // the current config; connections pick it up per request
	log   *slog.Logger
	token string
	open  ListenFunc
	drain time.Duration

	readBufs  readBufPool // held only while a head is parsed/forwarded
	writeBufs sync.Pool   // *bufio.Writer
	copyBufs  sync.Pool   // *[]byte of copyBufSize
	upReaders sync.Pool   // *bufio.Reader for upstream connections
	evalCtxs  sync.Pool   // *evalCtx, one per request in flight
	pipes     pipePool    // splice pipes (splice_linux.go)
	date      dateCache
	connSeq   atomic.Uint64

	idle    *idlePoller   // nil: idle connections keep their goroutine
	hotWait time.Duration // defaultHotWait

	mu        sync.Mutex
	listeners map[string]*boundListener // by listenSocket.key(); changed by reloads
	conns     map[*clientConn]struct{}
	stopping  atomic.Bool // set under mu, read without it on the hot path
	wg        sync.WaitGroup
	lifecycle // reload.go: accept loops, reloads, HTTP/2
}

type boundListener struct {
	net.Listener
	key     string      // listenSocket.key() of the socket it was bound for
	dropped atomic.Bool // closed by a reload: its accept loop ends quietly
}

// NewServer prepares a server; Listen binds, Serve runs.
func NewServer(cfg *Config, opts ServerOptions) *Server {
	s := &Server{log: opts.Log, token: opts.Token, open: opts.Listen, drain: opts.Drain, hotWait: defaultHotWait,
		conns: map[*clientConn]struct{}{}, listeners: map[string]*boundListener{}}
	s.cfg.Store(cfg)
	s.lifecycle.init()
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.token == "" {
		s.token = "wisp"
	}
	if s.drain == 0 {
		s.drain = 10 * time.Second
	}
	if s.open == nil {
		s.open = func(ctx context.Context, network, address string) (net.Listener, error) {
			var lc net.ListenConfig
			return lc.Listen(ctx, network, address)
		}
	}
	s.readBufs.p.New = func() any { return new([readBufSize]byte) }
	s.writeBufs.New = func() any { return bufio.NewWriterSize(nil, writeBufSize) }
	s.copyBufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	s.upReaders.New = func() any { return bufio.NewReaderSize(nil, upstreamReadBuf) }
	s.evalCtxs.New = func() any { return new(evalCtx) }
	return s
}

// Listen binds every socket of the config. On error nothing stays bound.
func (s *Server) Listen(ctx context.Context) error {
	ls, err := s.bindNew(ctx, s.cfg.Load())
	if err != nil {
		return err
	}
	s.mu.Lock()
	maps.Copy(s.listeners, ls)
	s.mu.Unlock()
	return nil
}

// Addrs returns the bound addresses, in config order.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, sock := range s.cfg.Load().sockets {
		if l, ok := s.listeners[sock.key()]; ok {
			out = append(out, l.Addr())
		}
	}
	return out
}

// Serve accepts until ctx is done, then stops gracefully: listeners are
// closed, idle connections dropped, in-flight requests given s.drain to
// finish, and whatever is left closed.
func (s *Server) Serve(ctx context.Context) error {
	idle, perr := newIdlePoller(func(c *clientConn) { go c.serve() }, (*clientConn).expire)
	if perr != nil {
		s.log.Warn("idle connections keep a goroutine each", "err", perr)
	}
	if idle != nil {
		s.idle = idle
		go idle.run()
		defer idle.close()
	}
	s.mu.Lock()
	for _, l := range s.listeners {
		s.startAccepting(l)
	}
	s.mu.Unlock()
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.acceptErr:
	}
	s.shutdown()
	s.accepting.Wait()
	return err
}

func (s *Server) acceptLoop(l *boundListener) error {
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isStopping() || l.dropped.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// nginx keeps running when out of descriptors; so do we.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Error("accept() failed", "err", err)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc, l.key)
		if c == nil {
			nc.Close()
			return nil
		}
		if c.refusesConnections() {
			c.expire()
			continue
		}
		// Until its first byte, a new connection waits like an idle one.
		if !c.park(c.headerTimeout()) {
			go c.serve()
		}
	}
}

func (s *Server) isStopping() bool { return s.stopping.Load() }

// newConn registers a connection accepted on the socket named key, or
// returns nil once stopping (or when a reload just dropped that socket).
func (s *Server) newConn(nc net.Conn, key string) *clientConn {
	return s.openConn(new(clientConn), nc, key)
}

// openConn is newConn on c, new or emptied by reuse.
func (s *Server) openConn(c *clientConn, nc net.Conn, key string) *clientConn {
	cfg := s.cfg.Load()
	sock := cfg.socket(key)
	if sock == nil {
		return nil
	}
	c.srv, c.nc, c.id, c.cfg, c.key, c.group = s, nc, s.connSeq.Add(1), cfg, key, sock.group(nc.LocalAddr())
	c.setAddrs()
	c.idle.fd = -1
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.raw, c.idle.rc = rc, rc
			rc.Control(func(fd uintptr) { c.idle.fd = int32(fd) })
		}
	}
	c.wr = nc
	if c.raw != nil {
		c.sw.reset(c.raw)
		c.wr = &c.sw
	}
	if c.readFn == nil {
		c.readFn = c.rawRead
		c.readNowFn = func(fd uintptr) { c.rawRead(fd) }
		c.hotFn = c.hotRead
	}
	c.headBy = time.Now().Add(c.headerTimeout())
	s.mu.Lock()
	defer s.mu.Unlock()
	// A stream its HTTP/2 connection took before its GOAWAY is served
	// through a graceful stop (its connection, registered, holds the
	// server's WaitGroup above zero meanwhile).
	if s.stopping.Load() && !isBridged(nc) {
		return nil
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

func (s *Server) removeConn(c *clientConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.stopping.Store(true)
	for _, l := range s.listeners {
		l.Close()
	}
	// Parked connections have no goroutine to notice a close: finish them
	// here. No connection parks once stopping is set.
	var parked []*clientConn
	if s.idle != nil {
		parked = s.idle.drainParked()
	}
	for c := range s.conns {
		if !c.idle.parked {
			c.closeIfIdle()
		}
	}
	s.mu.Unlock()
	for _, c := range parked {
		c.finish()
	}
	s.stopHTTP2()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	timer := time.NewTimer(s.drain)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.mu.Lock()
		for c := range s.conns {
			c.abort()
		}
		s.mu.Unlock()
		<-done
	}
	s.closePools()
}

func (s *Server) closePools() {
	for _, u := range s.cfg.Load().upstreams {
		if u.pool != nil {
			u.pool.close()
		}
	}
}

// closeUpstream closes an upstream connection that will not be pooled and
// recycles its reader, so that connection-per-request upstreams (nginx's
// default) do not allocate a buffer per request.
func (s *Server) closeUpstream(uc *upConn) {
	uc.Close()
	uc.br.Reset(nil)
	s.upReaders.Put(uc.br)
	uc.br = nil
}

// readBufPool recycles the readBufSize buffers that heads are read and
// built in. It holds array pointers: a slice put in a sync.Pool is boxed,
// an allocation per put.
type readBufPool struct{ p sync.Pool }

func (bp *readBufPool) get() []byte { return bp.p.Get().(*[readBufSize]byte)[:] }

// put takes back a buffer from get; a buffer that grew past it (append)
// is another array and is left to the collector.
func (bp *readBufPool) put(b []byte) {
	if cap(b) == readBufSize {
		bp.p.Put((*[readBufSize]byte)(b[:readBufSize]))
	}
}

// clientConn is one client connection.
type clientConn struct {
	srv   *Server
	nc    net.Conn
	raw   syscall.RawConn // nil when nc is not a socket (TLS, HTTP/2 streams)
	wr    io.Writer       // where answers are written: &sw over a socket, else nc
	sw    sockWriter
	tls   *tlsSocket // the socket under nc when nc is TLS over a socket (tlsidle.go)
	id    uint64
	group *vhostGroup
	idle  idleLink // state while parked in Server.idle
	// cfg is the config group came from and key the socket it was accepted
	// on; after a reload the next request re-resolves group (refresh).
	cfg     *Config
	key     string
	retired bool // its socket is gone from the current config: close after this response

	remoteAddr, remotePort, serverPort []byte

	buf        []byte // pooled; nil while idle with nothing buffered
	start, end int    // unparsed data is buf[start:end]
	bodyPos    int    // next unread body byte once a head is parsed
	uriBuf     []byte // scratch for a decoded $uri
	tried      []*peer
	resp       respHead
	scratch    [24]byte
	ka         keepalive      // of the last request's server or location
	client     clientTimeouts // likewise (timeouts.go)
	req        request
	requests   int
	active     atomic.Bool // a request is being handled
	closed     atomic.Bool
	// up is the upstream connection of the request in flight, which a
	// fast stop (Abort) closes so that no wait on the peer outlasts it.
	up atomic.Pointer[upConn]

	// headBy is when the head being read must be complete: set at accept
	// for the first request and at the first byte of later ones; it is
	// not extended by each read, so a slowloris client cannot hold the
	// connection by trickling bytes.
	headBy time.Time
	// readBy is the read deadline armed on nc (setReadDeadline).
	readBy time.Time
	// writeBy is the write deadline armed on nc (armWrite).
	writeBy lazyDeadline
	// relay is what a response relay reuses from one request to the next,
	// so that relaying allocates nothing (copyBody).
	rs relayState
	// readFn is rawRead as a method value made once, so that reads through
	// raw do not allocate a closure each.
	readFn    func(fd uintptr) bool
	readNowFn func(fd uintptr) // rawRead for raw.Control
	rawN      int
	rawErr    error
	rawBlock  bool                  // rawRead lets raw.Read wait for readability
	hotFn     func(fd uintptr) bool // hotRead as a method value
	looker    sockPeek              // clientGone's look at the socket

	// tail is a response's last bytes, held for the hot wait to write
	// (tail.go); while it is held the connection stays active.
	tail tailWrite
	// pipelined: the client once sent a request before its last answer.
	pipelined bool
	// lastReadFull: the last read of the client filled the buffer, so more
	// may be waiting unread.
	lastReadFull bool
	// unsentCapped: limitUnsent has capped the socket's unsent queue
	// (splice_linux.go), which lasts for the connection.
	unsentCapped bool
	// body is the request body's fate: taken, discarded, lingered on
	// (linger.go).
	body bodyEnd
}

// setAddrs formats the addresses into what the slices hold already, which
// a reused connection (an HTTP/2 stream's) keeps.
func (c *clientConn) setAddrs() {
	switch a := c.nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		c.remoteAddr = a.AddrPort().Addr().Unmap().WithZone("").AppendTo(c.remoteAddr[:0])
		c.remotePort = strconv.AppendInt(c.remotePort[:0], int64(a.Port), 10)
	default:
		c.remoteAddr = append(c.remoteAddr[:0], "unix:"...)
	}
	if a, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
		c.serverPort = strconv.AppendInt(c.serverPort[:0], int64(a.Port), 10)
	}
}

// reuse empties a finished connection for openConn, keeping what it
// allocated: its method values (bound to c) and its scratch slices.
func (c *clientConn) reuse() {
	clear(c.tried[:cap(c.tried)]) // no peer of an old config stays reachable
	*c = clientConn{
		remoteAddr: c.remoteAddr[:0], remotePort: c.remotePort[:0], serverPort: c.serverPort[:0],
		uriBuf: c.uriBuf[:0], tried: c.tried[:0],
		req:    request{headers: c.req.headers[:0], hostBuf: c.req.hostBuf[:0]},
		resp:   respHead{headers: c.resp.headers[:0]},
		rs:     relayState{flushFn: c.rs.flushFn},
		readFn: c.readFn, readNowFn: c.readNowFn, hotFn: c.hotFn,
		sw:     sockWriter{writeFn: c.sw.writeFn},
		looker: sockPeek{fn: c.looker.fn},
	}
}

// closeIfIdle closes the connection unless a request is in flight; the
// in-flight ones see s.stopping when they finish and close themselves.
// Called with srv.mu held.
func (c *clientConn) closeIfIdle() {
	if !c.active.Load() {
		c.closed.Store(true)
		c.nc.Close()
	}
}

// serve handles requests for as long as they keep coming without a wait;
// when the connection has to wait for its next request it is parked in
// the server's idle poller and the goroutine ends.
func (c *clientConn) serve() {
	if c.requests == 0 && !c.handshake() {
		c.finish()
		return
	}
	for {
		err := c.readHead()
		if err == errParked {
			return
		}
		if err != nil {
			var pe *parseError
			if errors.As(err, &pe) {
				c.active.Store(true)
				// A head over the buffers has more of it to come.
				c.body = bodyEnd{taken: true, linger: pe.status == 494 || pe.status == 414}
				c.sendError(pe.status, nil, false)
				c.srv.log.Info(pe.msg, "conn", c.id, "client", string(c.remoteAddr))
				if c.lingers(nil) {
					c.lingerClose(c.lingerOf(nil))
				}
			} else if errors.Is(err, os.ErrDeadlineExceeded) {
				c.srv.log.Info("client timed out (110: Connection timed out) while reading client request headers", "conn", c.id, "client", string(c.remoteAddr))
			}
			c.finish()
			return
		}
		c.refresh()
		keep := c.handle()
		c.cfg.release()
		c.requests++
		if !keep || (c.tail.buf == nil && !c.idleNow()) {
			c.flushTail()
			if !keep && c.body.lingerNow {
				c.lingerClose(c.body.closeConf)
			}
			c.finish()
			return
		}
		c.start = c.bodyPos
		c.headBy = time.Time{}
		if c.start < c.end {
			c.pipelined = true // its answers are no longer held back (tail.go)
		}
		if c.start == c.end {
			c.start, c.end = 0, 0
			c.releaseBuf()
			got, err := c.waitHot()
			switch {
			case err != nil:
				var cw clientWriteError
				if errors.As(err, &cw) { // the held end of the last answer
					c.srv.log.Info(cw.logText(), "conn", c.id, "client", string(c.remoteAddr))
				}
				c.finish()
				return
			case !got && c.park(c.ka.timeout):
				return
			}
		}
	}
}

// defaultHotWait is about how long a connection that just answered waits
// for its next request in its own goroutine before it is parked (the
// server's hotWait; tests lengthen it): a busy keep-alive
// client (a browser, a load generator) sends it within milliseconds, and
// parking costs an epoll_ctl, a wake-up of the poller and a new goroutine
// per request, where a wait in Go's netpoller (which has the socket
// already) costs one EAGAIN read.
const defaultHotWait = 20 * time.Millisecond

// waitHot waits up to hotWait for the next request's first bytes and
// reports whether they came; an error means the connection failed. It
// does not wait without a poller to park in afterwards, for a connection
// that is not a socket (or TLS over one), or when keepalive_timeout is
// shorter.
//
// The read deadline it arms stays armed once the request is in: every
// later read of the client either arms its own (the rest of the head,
// bodies, tunnels) or cannot wait (readRaw without block), so none can
// fail on it.
func (c *clientConn) waitHot() (bool, error) {
	hotWait := c.srv.hotWait
	if c.raw == nil && c.tls == nil || c.srv.idle == nil || c.ka.timeout <= hotWait {
		return false, c.flushIdle()
	}
	// Re-arming a deadline is a timer operation. Under load requests come
	// much more often than hotWait/2, so the deadline is re-armed only
	// once half of it is used: the wait lasts from hotWait/2 to hotWait.
	now := time.Now()
	if left := c.readBy.Sub(now); left < hotWait/2 || left > hotWait {
		c.setReadDeadline(now.Add(hotWait))
	}
	if c.tls != nil {
		return c.waitHotTLS()
	}
	err := c.readRaw(true)
	if c.tail.buf != nil { // hotRead could not write it all at once
		if err := c.flushIdle(); err != nil {
			return false, err
		}
		if errors.Is(err, errTailUnsent) {
			err = c.readRaw(true)
		}
	}
	return c.hotWaitResult(err)
}

// hotWaitResult words the end of a hot wait's read: the next request
// came, the wait ran out (the connection may park), or it failed.
func (c *clientConn) hotWaitResult(err error) (bool, error) {
	switch {
	case err == nil:
		if c.closed.Load() {
			return false, net.ErrClosed
		}
		return true, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, nil
	}
	return false, err
}

// setReadDeadline arms the client's read deadline unless it is armed at t
// already (each change is a timer operation). Every read deadline of a
// socket connection that may be reused goes through here, so that readBy
// is what is armed; a tunnel, which ends the connection, sets its own.
func (c *clientConn) setReadDeadline(t time.Time) {
	if t.Equal(c.readBy) {
		return
	}
	c.readBy = t
	c.nc.SetReadDeadline(t)
}

// errParked ends a serving goroutine whose connection went to the poller.
var errParked = errors.New("connection parked")

// park hands the connection to the idle poller for at most timeout.
func (c *clientConn) park(timeout time.Duration) bool {
	s := c.srv
	return s.idle != nil && s.idle.park(c, timeout, s.isStopping)
}

// finish closes the connection and unregisters it.
func (c *clientConn) finish() {
	if c.tail.buf != nil {
		c.releaseTail()
	}
	c.start, c.end = 0, 0
	c.releaseBuf()
	c.nc.Close()
	c.srv.removeConn(c)
}

// expire closes a parked connection whose wait ran out. nginx logs only a
// connection that never sent its first request.
func (c *clientConn) expire() {
	if c.requests == 0 {
		c.srv.log.Info("client timed out (110: Connection timed out) while waiting for request", "conn", c.id, "client", string(c.remoteAddr))
	}
	c.finish()
}

// readHead reads until a complete head is buffered and parsed. While no
// byte of the next request has arrived the connection holds no buffer.
func (c *clientConn) readHead() error {
	if c.start == c.end {
		if err := c.waitRequest(); err != nil {
			return err
		}
	}
	for {
		if c.start < c.end {
			err := c.req.parse(c.buf[c.start:c.end])
			if err == nil {
				c.active.Store(true)
				c.bodyPos = c.start + c.req.headLen
				return nil
			}
			if !errors.Is(err, errIncomplete) {
				return err
			}
			if c.end-c.start >= headMax {
				return &parseError{494, "client sent too large request"}
			}
		}
		if c.headBy.IsZero() {
			c.headBy = time.Now().Add(c.headerTimeout())
		}
		c.setReadDeadline(c.headBy)
		if err := c.fill(); err != nil {
			return err
		}
		if c.closed.Load() {
			return net.ErrClosed
		}
	}
}

// waitRequest gets the first bytes of a request into a fresh buffer: at
// once if they are there, else by parking the connection (errParked), or,
// without a poller, by waiting in this goroutine.
func (c *clientConn) waitRequest() error {
	if c.raw == nil && c.tls == nil {
		return nil // fill reads with the connection's own deadline
	}
	timeout := c.ka.timeout
	if c.requests == 0 {
		timeout = time.Until(c.headBy)
	}
	if c.tls != nil {
		return c.waitRequestTLS(timeout)
	}
	err := c.readRaw(false)
	if err != syscall.EAGAIN {
		return err
	}
	if c.park(timeout) {
		return errParked
	}
	c.setReadDeadline(time.Now().Add(timeout))
	return c.readRaw(true)
}

// readRaw reads into a pooled buffer taken only once bytes are there, so
// a waiting connection pins no buffer. Without block it returns EAGAIN
// when nothing is readable; such a read runs outside the netpoller
// (Control), so a read deadline that has passed (a hot wait's) cannot fail
// it.
func (c *clientConn) readRaw(block bool) error {
	c.rawBlock = block
	var err error
	switch {
	case block && c.tail.buf != nil:
		err = c.raw.Read(c.hotFn)
	case block:
		err = c.raw.Read(c.readFn)
	default:
		err = c.raw.Control(c.readNowFn)
	}
	if err != nil {
		return err
	}
	if c.rawErr != nil {
		return c.rawErr
	}
	if c.rawN <= 0 {
		return io.EOF
	}
	c.start, c.end = 0, c.rawN
	return nil
}

func (c *clientConn) rawRead(fd uintptr) bool {
	buf := c.srv.readBufs.get()
	c.rawN, c.rawErr = nbRead(int(fd), buf)
	for c.rawErr == syscall.EINTR {
		c.rawN, c.rawErr = nbRead(int(fd), buf)
	}
	if c.rawErr == syscall.EAGAIN {
		c.srv.readBufs.put(buf)
		return !c.rawBlock
	}
	c.lastReadFull = c.rawN == len(buf)
	c.buf = buf
	return true
}

func (c *clientConn) releaseBuf() {
	if c.buf != nil && c.start == c.end {
		c.srv.readBufs.put(c.buf)
		c.buf, c.start, c.end = nil, 0, 0
	}
}

// fill reads more bytes into the buffer, growing it up to headMax. When
// there is no buffer it waits for readability first, so idle keep-alive
// connections pin no memory.
func (c *clientConn) fill() error {
	if c.buf == nil && c.raw != nil {
		return c.readRaw(true)
	}
	if c.buf == nil {
		c.buf = c.srv.readBufs.get()
	}
	if c.start > 0 && c.end == len(c.buf) {
		copy(c.buf, c.buf[c.start:c.end])
		c.end -= c.start
		c.start = 0
	}
	if c.end == len(c.buf) {
		nb := make([]byte, min(2*len(c.buf), headMax))
		copy(nb, c.buf[:c.end])
		c.srv.readBufs.put(c.buf)
		c.buf = nb
	}
	n, err := c.nc.Read(c.buf[c.end:])
	c.end += n
	c.lastReadFull = c.end == len(c.buf)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// bodyReader reads a request body: first what is already buffered, then
// from the socket, never past the body's end (pipelined requests stay
// buffered).
type bodyReader struct {
	c      *clientConn
	remain int64
	timer  readTimer
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	c := b.c
	if c.bodyPos < c.end {
		n := copy(p, c.buf[c.bodyPos:c.end])
		c.bodyPos += n
		b.remain -= int64(n)
		return n, nil
	}
	c.setReadDeadline(b.timer.deadline())
	n, err := c.nc.Read(p)
	b.remain -= int64(n)
	if err == io.EOF && b.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		// Told apart from a chunked body's bad framing (bodyFailed).
		err = clientReadError{err}
	}
	return n, err
}
