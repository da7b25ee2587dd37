package blog

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"wisp/internal/blog/config"
	"wisp/internal/listen"
)

// chroma's regexp engine (regexp2) keeps one process-wide clock goroutine
// for match timeouts while highlighting runs; it is the library's, not a
// leak of ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/dlclark/regexp2/v2.runClock"))
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// unixClient talks HTTP over the socket at path.
func unixClient(path string) (*http.Client, func()) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

func TestServeDrainsInFlightRequestsThenStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, time.Minute, quiet()) }()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	type result struct {
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		resc <- result{string(b), err}
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	if r := <-resc; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q, %v; want it to finish", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("still accepting after shutdown")
	}
}

func TestServeClosesRequestsThatOutlastTheDrainTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, 0, quiet()) }()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	errc := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := <-errc; err == nil {
		t.Error("request outlasting the drain got a response; want its connection closed")
	}
	close(release)
}

func siteConfig(t *testing.T, body string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.production.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRunServesTheSiteOnAUnixSocketAndRemovesIt(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "site.sock")
	cfg := siteConfig(t, `{"server": {"socket": {"path": "`+sock+`", "permissions": "0666"}}}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opener, err := listen.NewOpener(func(string) string { return "" }, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer opener.Close()
	ln, err := s.Listen(ctx, opener)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket file: %v, %v; want a socket with mode 0666", fi.Mode(), err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	client, closeIdle := unixClient(sock)
	resp, err := client.Get("http://igu.io/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	closeIdle()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Welcome to Wisp") {
		t.Fatalf("home page over the socket: %d %.200s", resp.StatusCode, body)
	}

	// A second server on the same live socket must fail, naming the path.
	s2, err := Open(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if ln2, err := s2.Listen(ctx, opener); err == nil {
		ln2.Close()
		t.Fatal("second server bound a live socket")
	} else if !strings.Contains(err.Error(), sock) {
		t.Errorf("error %q does not name %s", err, sock)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left after shutdown: %v", err)
	}
}

func TestAddrPrefersTheSocketOverHostAndPort(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"host and port", `{"server": {"host": "0.0.0.0", "port": 2369}}`, "0.0.0.0:2369"},
		{"socket wins", `{"server": {"port": 2369, "socket": "/tmp/x.sock"}}`, "unix:/tmp/x.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Addr(siteConfig(t, tt.config))
			if err != nil || a.String() != tt.want {
				t.Errorf("Addr = %v, %v; want %s", a, err, tt.want)
			}
		})
	}
}

func TestAddrRefusesOverlongSocketPath(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", 120) + ".sock"
	if _, err := Addr(siteConfig(t, `{"server": {"socket": "`+long+`"}}`)); err == nil || !strings.Contains(err.Error(), "108") {
		t.Fatalf("err = %v, want a length error", err)
	}
}
