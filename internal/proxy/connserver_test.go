package proxy

import (
	"net"
	"os"
	"sync"
	"testing"
)

// connServer is the accept loop the test backends share: it runs serve on
// every connection in its own goroutine and keeps the connections, so that
// stop can close them all and wait until every goroutine has ended (the
// package's goleak check would see any left behind).
type connServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]bool
}

func (s *connServer) serveConns(ln net.Listener, serve func(net.Conn)) {
	s.ln, s.open = ln, map[net.Conn]bool{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { s.mu.Lock(); delete(s.open, c); s.mu.Unlock(); c.Close() }()
				serve(c)
			}()
		}
	}()
}

func (s *connServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// listenUnix0666 replaces whatever is at path with a listening socket that
// nginx's unprivileged workers can reach too.
func listenUnix0666(t testing.TB, path string) net.Listener {
	t.Helper()
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	must(t, err)
	must(t, os.Chmod(path, 0o666))
	return ln
}
