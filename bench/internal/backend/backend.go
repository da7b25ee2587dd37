// Package backend is the upstream application the benchmark proxies talk
// to: fixed-size responses, an echo endpoint and a connection counter, on a
// Unix socket and a TCP port at once, so that the same process serves the
// unix: and the TCP upstream variants of every proxy.
package backend

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Response sizes in bytes. The harness checks every proxy against them
// before loading it, so a proxy that truncates or re-encodes is caught.
const (
	SmallSize = 60
	PageSize  = 16 << 10
	BigSize   = 1 << 20
)

// ExpectedSize is the exact body size of a GET on path, for the paths that
// have one.
func ExpectedSize(path string) (int, bool) {
	switch path {
	case "/small":
		return SmallSize, true
	case "/page":
		return PageSize, true
	case "/big":
		return BigSize, true
	}
	return 0, false
}

// Server serves the benchmark endpoints and counts accepted connections per
// listener kind; the counts show whether a proxy reuses upstream
// connections.
type Server struct {
	small, page, big []byte
	udsAccepted      atomic.Int64
	tcpAccepted      atomic.Int64
	log              *slog.Logger
	// TLS, when set, makes the TCP listener serve HTTPS (the idle test's
	// net/http reference in a TLS run).
	TLS *tls.Config
}

// New builds the response bodies once; they are never written to after.
func New(log *slog.Logger) *Server {
	return &Server{
		small: append(bytes.Repeat([]byte("s"), SmallSize-1), '\n'),
		page:  htmlPage(PageSize),
		big:   bytes.Repeat([]byte("0123456789abcdef"), BigSize/16),
		log:   log,
	}
}

// htmlPage returns an HTML document of exactly n bytes, so that /page
// looks like what a blog serves (compressible markup, not one repeated
// byte).
func htmlPage(n int) []byte {
	const head = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bench page</title></head><body>\n"
	const tail = "</body></html>\n"
	var b bytes.Buffer
	b.WriteString(head)
	for i := 0; b.Len() < n-len(tail); i++ {
		fmt.Fprintf(&b, "<p class=\"para\">Paragraph %d of the benchmark page, some words to fill it.</p>\n", i)
	}
	out := b.Bytes()[:n-len(tail)]
	return append(out, tail...)
}

// Handler routes the endpoints. Bodies carry an explicit Content-Length so
// that no proxy has to deal with chunked encoding on the GET paths.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	fixed := func(body []byte, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", ctype)
			h.Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method == http.MethodHead {
				return
			}
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET /small", fixed(s.small, "text/plain; charset=utf-8"))
	mux.HandleFunc("GET /page", fixed(s.page, "text/html; charset=utf-8"))
	mux.HandleFunc("GET /big", fixed(s.big, "application/octet-stream"))
	mux.HandleFunc("POST /echo", s.echo)
	mux.HandleFunc("GET /__stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, s.Stats().String())
	})
	return mux
}

func (s *Server) echo(w http.ResponseWriter, r *http.Request) {
	// Buffered so that the response carries a Content-Length; the bodies
	// the harness sends are at most a few hundred KB.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err != nil {
		http.Error(w, "bad request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// Stats is a snapshot of the accepted-connection counters.
type Stats struct {
	UDSAccepted int64
	TCPAccepted int64
}

// String is the /__stats wire format, one "name value" pair a line.
func (st Stats) String() string {
	return fmt.Sprintf("uds_accepted %d\ntcp_accepted %d\n", st.UDSAccepted, st.TCPAccepted)
}

// ParseStats reads the /__stats wire format.
func ParseStats(text string) (Stats, error) {
	var st Stats
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			return Stats{}, fmt.Errorf("stats: malformed line %q", line)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return Stats{}, fmt.Errorf("stats: %s: %w", name, err)
		}
		switch name {
		case "uds_accepted":
			st.UDSAccepted = n
			seen++
		case "tcp_accepted":
			st.TCPAccepted = n
			seen++
		}
	}
	if seen != 2 {
		return Stats{}, fmt.Errorf("stats: want uds_accepted and tcp_accepted in %q", text)
	}
	return st, nil
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{UDSAccepted: s.udsAccepted.Load(), TCPAccepted: s.tcpAccepted.Load()}
}

// countingListener counts every accepted connection.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// Serve listens on the Unix socket udsPath (mode 0666, so that proxies
// whose workers run as another user can connect) and on tcpAddr; either may
// be empty but not both. It returns when ctx is done, after a graceful
// shutdown, and removes the socket file it created.
func (s *Server) Serve(ctx context.Context, udsPath, tcpAddr string) error {
	if udsPath == "" && tcpAddr == "" {
		return errors.New("backend: need a Unix socket path or a TCP address")
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	if udsPath != "" {
		if err := removeStaleSocket(udsPath); err != nil {
			return err
		}
		ln, err := net.Listen("unix", udsPath)
		if err != nil {
			return fmt.Errorf("backend: %w", err)
		}
		if err := os.Chmod(udsPath, 0o666); err != nil {
			_ = ln.Close()
			return fmt.Errorf("backend: %w", err)
		}
		lns = append(lns, countingListener{ln, &s.udsAccepted})
	}
	if tcpAddr != "" {
		ln, err := net.Listen("tcp", tcpAddr)
		if err != nil {
			closeAll()
			return fmt.Errorf("backend: %w", err)
		}
		if s.TLS != nil {
			ln = tls.NewListener(ln, s.TLS)
		}
		lns = append(lns, countingListener{ln, &s.tcpAccepted})
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, len(lns))
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		_ = srv.Close()
	}
	wg.Wait()
	return err
}

// removeStaleSocket removes a socket file nobody answers on, and refuses to
// touch a live socket or anything that is not a socket.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("backend: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return fmt.Errorf("backend: %s is in use by another server", path)
	}
	return os.Remove(path)
}
