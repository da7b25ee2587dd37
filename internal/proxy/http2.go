package proxy

import (
	"context"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// HTTP/2 is served by net/http's server and bridged into the engine: each
// stream is one HTTP/1.1 request that the engine serves like any
// connection (same routing, proxy_set_header programs, upstream groups,
// error pages and logs, always on the current config), on a connection
// whose reads and writes are the stream's (bridgeConn, h2stream.go).
// Reusing the engine keeps one implementation of the proxy's semantics.
//
// Header names reach the upstream lowercase, as HTTP/2 sends them and
// nginx forwards them (net/http canonicalises them; HTTP/2 forbids
// capitals, so lowering them restores the client's bytes). Known
// difference from nginx: net/http hands the headers over in a map, so
// they go upstream sorted by name rather than in the client's order.
//
// Cleartext HTTP/2 (h2c with prior knowledge) is served on plain
// addresses too, sniffed from the connection preface; see h2cMode.

// http2Side is the Server's HTTP/2 state.
type http2Side struct {
	mu      sync.Mutex
	srv     *http.Server // started with the first h2 connection
	ln      *connQueue
	waiting map[net.Conn]*h2Conn
	stopped bool
	streams bridgePool
}

// h2Conn is one HTTP/2 connection handed to net/http.
type h2Conn struct {
	owner *clientConn
	done  chan struct{} // closed when net/http is done with it
}

type h2ConnKey struct{}

// serveHTTP2 serves an HTTP/2 connection (a *tls.Conn that negotiated
// "h2", or a cleartext one starting with the preface) until net/http is
// done with it. The owner stays registered (active) meanwhile, so that
// graceful and fast shutdown treat the connection as in use.
func (s *Server) serveHTTP2(owner *clientConn, tc net.Conn) {
	h := &s.h2
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	if h.srv == nil {
		h.ln = newConnQueue(tc.LocalAddr())
		h.waiting = map[net.Conn]*h2Conn{}
		var protos http.Protocols
		protos.SetHTTP2(true)
		protos.SetUnencryptedHTTP2(true) // only ever handed a conn starting with the preface
		h.srv = &http.Server{
			Protocols: &protos,
			Handler:   http.HandlerFunc(s.bridgeHTTP2),
			ErrorLog:  log.New(io.Discard, "", 0), // the engine logs what matters
			// An idle HTTP/2 connection is bounded as keepalive_timeout
			// bounds an HTTP/1.1 one.
			IdleTimeout: keepaliveTimeout,
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				h.mu.Lock()
				defer h.mu.Unlock()
				return context.WithValue(ctx, h2ConnKey{}, h.waiting[c])
			},
			ConnState: func(c net.Conn, st http.ConnState) {
				if st != http.StateClosed && st != http.StateHijacked {
					return
				}
				h.mu.Lock()
				defer h.mu.Unlock()
				if w, ok := h.waiting[c]; ok {
					delete(h.waiting, c)
					close(w.done)
				}
			},
		}
		srv, ln := h.srv, h.ln
		s.accepting.Add(1)
		go func() {
			defer s.accepting.Done()
			srv.Serve(ln)
		}()
	}
	w := &h2Conn{owner: owner, done: make(chan struct{})}
	h.waiting[tc] = w
	ln := h.ln
	h.mu.Unlock()
	if !ln.push(tc) {
		h.mu.Lock()
		delete(h.waiting, tc)
		h.mu.Unlock()
		return
	}
	<-w.done
}

// stopHTTP2 lets HTTP/2 streams in flight finish (graceful shutdown); the
// Server's drain timeout closes what is left through the owners.
func (s *Server) stopHTTP2() {
	h := &s.h2
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.srv == nil {
		return
	}
	srv := h.srv
	s.accepting.Add(1)
	go func() {
		defer s.accepting.Done()
		srv.Shutdown(context.Background())
	}()
}

// abortHTTP2 closes every HTTP/2 connection at once (fast shutdown).
func (s *Server) abortHTTP2() {
	h := &s.h2
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.srv != nil {
		h.srv.Close()
	}
}

// bridgeHTTP2 serves one HTTP/2 stream through the engine, in the
// stream's own goroutine: the engine reads the request as HTTP/1.1 from a
// bridgeConn and writes its HTTP/1.1 answer into it, which the bridgeConn
// turns back into the stream's status, headers and body (h2stream.go).
func (s *Server) bridgeHTTP2(w http.ResponseWriter, r *http.Request) {
	hc, _ := r.Context().Value(h2ConnKey{}).(*h2Conn)
	if hc == nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	b := s.h2.streams.get()
	defer s.h2.streams.put(b, s)
	head := appendH1Head(s.readBufs.get()[:0], r)
	nc := b.open(w, r, head, hc.owner.nc)
	c := s.openConn(&b.conn, nc, hc.owner.key)
	if c == nil {
		http.Error(w, "", http.StatusServiceUnavailable)
		return
	}
	c.serve()
	if !b.answered() {
		// The engine closed without a whole answer (it logged why): the
		// stream is reset, as nginx resets it.
		panic(http.ErrAbortHandler)
	}
}

// appendH1Head writes an HTTP/2 request as an HTTP/1.1 head, with the
// header names lowercase as the client sent them, sorted by name, and
// the cookie fields joined into one header last, where nginx puts it.
func appendH1Head(b []byte, r *http.Request) []byte {
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.RequestURI...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.Host...)
	b = append(b, "\r\n"...)
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		switch k {
		case "Host", "Connection", "Transfer-Encoding", "Content-Length", "Cookie":
			continue
		}
		for _, v := range r.Header[k] {
			b = appendH1Field(b, k, v)
		}
	}
	if vs := r.Header["Cookie"]; len(vs) > 0 {
		// net/http joined the fields already, with "; " as nginx does.
		b = appendH1Field(b, "Cookie", strings.Join(vs, "; "))
	}
	switch {
	case r.ContentLength > 0 || len(r.Header["Content-Length"]) > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.ContentLength, 10)
		b = append(b, "\r\n"...)
	case r.ContentLength < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	// A stream that ended with its headers has no body and, as in nginx,
	// no Content-Length upstream, whatever its method.
	return append(b, "\r\n"...)
}

func appendH1Field(b []byte, name, value string) []byte {
	b = appendLower(b, name)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b
}

// connQueue is a net.Listener fed by hand, for net/http's Serve.
type connQueue struct {
	addr   net.Addr
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

// push hands c to Accept; false once the queue is closed.
func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.closed:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
