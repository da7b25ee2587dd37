package proxy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
)

// A reload replaces the Server's Config while it serves (nginx's HUP,
// §7.3), doing better than nginx's old workers on one point: keep-alive
// connections are never closed by a reload. A connection resolves its
// virtual-server group from the config current when its next request has
// arrived (clientConn.refresh), so an idle connection simply switches, a
// request in flight finishes on the config it started with, and no
// connection is closed while a request may be arriving on it.
//
// Listening sockets are keyed by network and address: a socket in both
// configs stays the same open socket (its accept loop never stops), new
// ones are bound before the switch, removed ones are closed after it.

// lifecycle is the part of Server that reloads change: accept loops, the
// reload lock and the HTTP/2 side.
type lifecycle struct {
	accepting sync.WaitGroup
	acceptErr chan error // the first accept loop that fails ends Serve
	reloadMu  sync.Mutex // one reload at a time
	serving   bool       // under Server.mu: accept loops run (Serve was called)
	h2        http2Side  // tls.go
}

func (l *lifecycle) init() { l.acceptErr = make(chan error, 1) }

// errStopping is returned by a reload that lost the race with shutdown.
var errStopping = errors.New("server is stopping")

// key names a socket across configs.
func (s *listenSocket) key() string { return s.network + " " + s.address }

// socket returns the config's socket with key, or nil.
func (c *Config) socket(key string) *listenSocket {
	for _, s := range c.sockets {
		if s.key() == key {
			return s
		}
	}
	return nil
}

// bindNew binds the sockets of cfg that are not bound yet. On error the
// ones it bound are closed again and the bound ones are left alone.
func (s *Server) bindNew(ctx context.Context, cfg *Config) (map[string]*boundListener, error) {
	s.mu.Lock()
	have := make(map[string]bool, len(s.listeners))
	for k := range s.listeners {
		have[k] = true
	}
	s.mu.Unlock()
	out := map[string]*boundListener{}
	for _, sock := range cfg.sockets {
		k := sock.key()
		if have[k] || out[k] != nil {
			continue
		}
		l, err := s.open(ctx, sock.network, sock.address)
		if err != nil {
			for _, b := range out {
				b.Close()
			}
			var en syscall.Errno
			if sock.network != "unix" && errors.As(err, &en) {
				// nginx's wording; unix sockets keep internal/listen's
				// message, which names the process holding a live socket.
				return nil, fmt.Errorf("bind() to %s failed %s", sock.address, errnoText(err))
			}
			return nil, err
		}
		out[k] = &boundListener{Listener: l, key: k}
	}
	return out, nil
}

// startAccepting runs l's accept loop. Called with s.mu held.
func (s *Server) startAccepting(l *boundListener) {
	s.serving = true
	s.accepting.Add(1)
	go func() {
		defer s.accepting.Done()
		if err := s.acceptLoop(l); err != nil {
			select {
			case s.acceptErr <- err:
			default:
			}
		}
	}()
}

// Reload makes cfg the config of every request that starts from now on.
// Sockets new in cfg are bound first: if one cannot be, nothing changes
// and the error is returned (nginx logs it and keeps the old config).
// Upstream groups that did not change keep their peers' health state
// (carryOver); the previous config's idle upstream connections are closed,
// and requests still running on it close theirs when done.
func (s *Server) Reload(ctx context.Context, cfg *Config) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	added, err := s.bindNew(ctx, cfg)
	if err != nil {
		return err
	}
	prev := s.cfg.Load()
	carryOver(prev, cfg)
	s.mu.Lock()
	if s.stopping.Load() {
		s.mu.Unlock()
		for _, l := range added {
			l.Close()
		}
		return errStopping
	}
	s.cfg.Store(cfg)
	for k, l := range added {
		s.listeners[k] = l
		if s.serving {
			s.startAccepting(l)
		}
	}
	for k, l := range s.listeners {
		if cfg.socket(k) == nil {
			l.dropped.Store(true)
			l.Close()
			delete(s.listeners, k)
		}
	}
	s.mu.Unlock()
	retirePools(prev, cfg)
	prev.retire()
	return nil
}

// retirePools closes the keepalive pools of prev that next does not use.
func retirePools(prev, next *Config) {
	kept := map[*pool]bool{}
	for _, u := range next.upstreams {
		kept[u.pool] = true
	}
	for _, u := range prev.upstreams {
		if u.pool != nil && !kept[u.pool] {
			u.pool.close()
		}
	}
}

// Abort is nginx's fast shutdown (TERM, INT): listeners and every
// connection are closed at once, requests in flight included. Serve
// returns once its context is done.
func (s *Server) Abort() {
	s.mu.Lock()
	s.stopping.Store(true)
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	s.abortHTTP2()
}

// abort closes the connection at once, and the upstream connection its
// request in flight waits on, so that no wait outlasts a stop.
func (c *clientConn) abort() {
	c.closed.Store(true)
	c.nc.Close()
	if uc := c.up.Load(); uc != nil {
		uc.Close()
	}
}

// refresh moves the connection to the current config once a request has
// arrived, and counts the request on it; a connection whose socket the
// config dropped, or whose socket changed between plain and TLS, serves
// this request on its old config and then closes (retired).
func (c *clientConn) refresh() {
	if cfg := c.srv.cfg.Load(); cfg != c.cfg {
		c.switchConfig(cfg)
	}
	c.cfg.acquire() // serve releases it once the request is done
}

func (c *clientConn) switchConfig(cfg *Config) {
	c.cfg = cfg
	sock := cfg.socket(c.key)
	if sock == nil {
		c.retired = true
		return
	}
	g := sock.group(c.nc.LocalAddr())
	if (g.tls != nil) != isTLS(c.nc) {
		c.retired = true
		return
	}
	c.group = g
}

// configUse counts the requests running on a config, so that a config a
// reload replaced closes its access logs once its last request is logged.
type configUse struct {
	n       atomic.Int64
	retired atomic.Bool
	once    sync.Once
}

func (c *Config) acquire() { c.use.n.Add(1) }

func (c *Config) release() {
	if c.use.n.Add(-1) == 0 && c.use.retired.Load() {
		c.use.once.Do(c.CloseLogs)
	}
}

// retire marks a config as replaced (or the server as stopped): its logs
// close now if no request runs on it, else when the last one ends.
func (c *Config) retire() {
	c.use.retired.Store(true)
	if c.use.n.Load() == 0 {
		c.use.once.Do(c.CloseLogs)
	}
}

// closing reports that the connection must close after this response.
func (c *clientConn) closing() bool { return c.retired || c.srv.isStopping() }
