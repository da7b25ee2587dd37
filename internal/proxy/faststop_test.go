package proxy

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startStalledBody serves, on a unix socket, answers that promise 100
// bytes and send 10: a relay of one waits on the peer until
// proxy_read_timeout.
func startStalledBody(t *testing.T, path string) {
	t.Helper()
	s := &connServer{}
	s.serveConns(listenUnix0666(t, path), func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		io.Copy(io.Discard, c) // until the proxy or the test closes it
	})
	t.Cleanup(s.stop)
}

// TestStopsCutRequestsWaitingOnAStalledPeer: a fast stop (Abort, TERM) and
// a graceful one whose drain time ran out both close the upstream
// connections of the requests still in flight, so Serve returns at once
// rather than when proxy_read_timeout (60 s here) ends the wait.
func TestStopsCutRequestsWaitingOnAStalledPeer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		abort bool
	}{{"fast stop", true}, {"graceful stop past its drain time", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "stalled.sock")
			startStalledBody(t, sock)
			cfg, err := compileSite(t, "server { listen 80; location / { proxy_pass http://unix:"+sock+":; } }\n")
			must(t, err)
			open := func(ctx context.Context, network, address string) (net.Listener, error) {
				var lc net.ListenConfig
				return lc.Listen(ctx, "tcp4", "127.0.0.1:0")
			}
			srv := NewServer(cfg, ServerOptions{Listen: open, Drain: 100 * time.Millisecond,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			must(t, srv.Listen(ctx))
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx) }()
			c, err := net.Dial("tcp", srv.Addrs()[0].String())
			must(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			must(t, err)
			if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
				t.Fatal(err)
			}
			if tc.abort {
				srv.Abort()
			}
			cancel()
			select {
			case err := <-done:
				must(t, err)
			case <-time.After(5 * time.Second):
				t.Fatal("Serve still waits on the stalled peer")
			}
			if rest, err := io.ReadAll(resp.Body); err == nil || strings.Contains(string(rest), "x") {
				t.Errorf("the cut answer ended cleanly: %q %v", rest, err)
			}
		})
	}
}
