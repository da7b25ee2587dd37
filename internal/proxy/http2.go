package proxy

import (
	"net"
	"sync"
)

// HTTP/2 is served by the engine's own HTTP/2 server side (h2conn.go):
// each stream is one HTTP/1.1 request that the engine serves like any
// connection (same routing, proxy_set_header programs, upstream groups,
// error pages and logs, always on the current config), on a connection
// whose reads and writes are the stream's (bridgeConn, h2stream.go).
// Reusing the engine keeps one implementation of the proxy's semantics.
//
// Request headers reach the upstream in the client's order with their
// names lowercase, as HTTP/2 sends them and nginx forwards them.
//
// Cleartext HTTP/2 (h2c with prior knowledge) is served on plain
// addresses too, sniffed from the connection preface; see h2cMode.

// http2Side is the Server's HTTP/2 state: the live connections, for
// graceful and fast shutdown.
type http2Side struct {
	mu      sync.Mutex
	conns   map[*h2conn]struct{}
	stopped bool
	streams bridgePool
}

// serveHTTP2 serves an HTTP/2 connection (a *tls.Conn that negotiated
// "h2", or a cleartext one starting with the preface) in the caller's
// goroutine. The owner stays registered (active) meanwhile, so that
// graceful and fast shutdown treat the connection as in use.
func (s *Server) serveHTTP2(owner *clientConn, nc net.Conn) {
	c := newH2Conn(s, owner, nc)
	h := &s.h2
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	if h.conns == nil {
		h.conns = map[*h2conn]struct{}{}
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
	}()
	c.serve()
}

// stopHTTP2 sends every HTTP/2 connection GOAWAY and lets its streams in
// flight finish (graceful shutdown); the Server's drain timeout closes
// what is left through the owners.
func (s *Server) stopHTTP2() {
	for _, c := range s.h2.stop() {
		c.shutdown()
	}
}

// abortHTTP2 closes every HTTP/2 connection at once (fast shutdown).
func (s *Server) abortHTTP2() {
	for _, c := range s.h2.stop() {
		c.nc.Close()
	}
}

// stop refuses new connections and returns the live ones.
func (h *http2Side) stop() []*h2conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	conns := make([]*h2conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	return conns
}
