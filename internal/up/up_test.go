package up

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func writeSite(t *testing.T, dir, name, cfg string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "config.production.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func noEnv(string) string { return "" }

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestDiscoverCreatesADemoSiteServedWhereTheProxyListens(t *testing.T) {
	tests := []struct {
		listen string
		url    string
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"8080", "http://localhost:8080/"},
		{"80", "http://localhost/"},
		{"[::1]:8080", "http://[::1]:8080/"},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			dir := filepath.Join(shortDir(t), "sites")
			sites, err := Discover(dir, "production", tc.listen, noEnv, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sites) != 1 || sites[0].Name != "demo" || sites[0].URL != tc.url {
				t.Fatalf("sites = %+v, want the demo site at %s", sites, tc.url)
			}
			if want := filepath.Join(dir, "run", "demo.sock"); sites[0].Socket.Address != want {
				t.Errorf("socket = %s, want %s", sites[0].Socket, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "demo", "config.production.json")); err != nil {
				t.Errorf("demo config not written: %v", err)
			}
			// A second run finds the demo as an ordinary site.
			again, err := Discover(dir, "production", "9999", noEnv, nil)
			if err != nil || len(again) != 1 || again[0].URL != tc.url {
				t.Errorf("second Discover = %+v, %v", again, err)
			}
		})
	}
}

func TestDiscoverFindsTheSiteFoldersInOrder(t *testing.T) {
	dir := shortDir(t)
	writeSite(t, dir, "b", `{"url": "https://B.example/", "server": {"socket": {"permissions": "0666"}}}`)
	writeSite(t, dir, "a", `{"url": "http://a.example:2368"}`)
	writeSite(t, dir, ".hidden", `{}`)
	writeSite(t, dir, "run", `{}`)
	if err := os.MkdirAll(filepath.Join(dir, "no-config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sites, err := Discover(dir, "production", "8080", noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		name, url, host string
		perm            fs.FileMode
	}
	want := []got{
		{"a", "http://a.example:2368/", "a.example", 0o660},
		{"b", "https://B.example/", "b.example", 0o666},
	}
	if len(sites) != len(want) {
		t.Fatalf("found %d sites, want %d: %+v", len(sites), len(want), sites)
	}
	for i, s := range sites {
		if g := (got{s.Name, s.URL, s.Host(), s.Perm}); g != want[i] {
			t.Errorf("site %d = %+v, want %+v", i, g, want[i])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a demo site was created beside real ones")
	}
}

func TestDiscoverRefusesWhatCannotWork(t *testing.T) {
	tests := []struct {
		name   string
		dir    string // relative to a short temp dir
		sites  map[string]string
		listen string
		want   []string
	}{
		{
			name:  "two sites with one host name",
			sites: map[string]string{"a": `{"url": "http://same.example/"}`, "b": `{"url": "http://SAME.example:8080/"}`},
			want:  []string{"sites a and b", `"same.example"`},
		},
		{
			name:  "a broken config names its file and line",
			sites: map[string]string{"a": "{\n  \"url\": \"http://a/\",\n}\n"},
			want:  []string{"site a", "config.production.json:3"},
		},
		{
			name:  "a url without protocol",
			sites: map[string]string{"a": `{"url": "a.example"}`},
			want:  []string{"site a", "URL in config must be provided with protocol"},
		},
		{
			name:  "a socket path over the kernel limit",
			dir:   strings.Repeat("d", 100),
			sites: map[string]string{"a": `{}`},
			want:  []string{"site a", "must be shorter than 108 bytes"},
		},
		{
			name:   "a demo site for a proxy on a unix socket",
			listen: "unix:/tmp/p.sock",
			want:   []string{"-listen unix:/tmp/p.sock", "TCP"},
		},
		{
			name:   "a demo site for a bad listen address",
			listen: "localhost:http",
			want:   []string{"-listen localhost:http", "invalid port"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(shortDir(t), tc.dir)
			for name, cfg := range tc.sites {
				writeSite(t, dir, name, cfg)
			}
			listenAddr := tc.listen
			if listenAddr == "" {
				listenAddr = "8080"
			}
			_, err := Discover(dir, "production", listenAddr, noEnv, nil)
			if err == nil {
				t.Fatal("Discover succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// syncBuffer collects the output of concurrently running children, and
// copies it to any writers teed in later.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	tees []io.Writer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.tees {
		w.Write(p)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) tee(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tees = append(s.tees, w)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningUp is a Run in the background with stand-in children.
type runningUp struct {
	front      string
	out        *syncBuffer
	proxyReady *lineWaiter
	reload     chan os.Signal
	stop       func() error
}

// startRun runs the sites of dir, the children logging to state, and
// returns once the sites are announced, that is once their sockets exist.
func startRun(t *testing.T, dir, state string) *runningUp {
	t.Helper()
	r := &runningUp{
		front: freeAddr(t),
		out:   &syncBuffer{},
		// The stand-in proxy says so once it handles SIGTERM.
		proxyReady: &lineWaiter{want: "[proxy] ready", seen: make(chan struct{})},
		reload:     make(chan os.Signal, 1),
	}
	announced := &lineWaiter{want: "wisp up: proxy on", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			Dir:     dir,
			Listen:  r.front,
			Env:     "production",
			Exe:     os.Args[0],
			Environ: append(os.Environ(), helperEnv+"=1", helperState+"="+state),
			Getenv:  noEnv,
			Stdout:  io.MultiWriter(r.out, announced, r.proxyReady),
			Stderr:  r.out,
			Log:     slog.New(slog.NewTextHandler(r.out, nil)),
			Policy:  testPolicy(),
			Reload:  r.reload,
		})
	}()
	r.stop = func() error {
		<-r.proxyReady.seen
		cancel()
		return <-done
	}
	select {
	case <-announced.seen:
	case err := <-done:
		t.Fatalf("Run ended before announcing the sites: %v\n%s", err, r.out.String())
	}
	return r
}

func TestRunServesEverySiteOnItsSocketAndCleansUp(t *testing.T) {
	dir := shortDir(t)
	state := shortDir(t)
	writeSite(t, dir, "a", `{"url": "http://a.example/"}`)
	writeSite(t, dir, "b", `{"url": "http://b.example/", "server": {"socket": {"path": "/elsewhere.sock", "permissions": "0666"}}}`)
	r := startRun(t, dir, state)
	front, out := r.front, r.out
	run := filepath.Join(dir, "run")
	for _, tc := range []struct {
		site string
		mode fs.FileMode
	}{{"a", 0o660}, {"b", 0o666}} {
		sock := filepath.Join(run, tc.site+".sock")
		// The socket exists from before the child starts; the request waits
		// for it. wisp up's socket wins over the one in b's config.
		if got := getUnix(t, sock); !strings.HasPrefix(got, tc.site+" start 1 ") {
			t.Errorf("%s answered %q", sock, got)
		}
		if fi, err := os.Lstat(sock); err != nil || fi.Mode() != fs.ModeSocket|tc.mode {
			t.Errorf("%s: mode %v, %v; want %v", sock, fi.Mode(), err, fs.ModeSocket|tc.mode)
		}
	}
	conf, err := os.ReadFile(filepath.Join(run, "proxy.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server unix:" + filepath.Join(run, "a.sock") + ";", "server_name b.example;"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("proxy.conf lacks %q:\n%s", want, conf)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"http://a.example/", "http://b.example/", "http://" + front + "/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not announce %s:\n%s", want, out.String())
		}
	}
	if socks, _ := filepath.Glob(filepath.Join(run, "*.sock")); len(socks) != 0 {
		t.Errorf("sockets left after Run: %v", socks)
	}
	if stops := readLines(t, filepath.Join(state, "stops")); len(stops) != 3 || stops[0] != "proxy" {
		t.Errorf("stops = %v, want the proxy first, then both sites", stops)
	}
	if c, err := net.Dial("tcp", front); err == nil {
		c.Close()
		t.Errorf("the proxy's port %s still accepts connections after Run", front)
	}
}

func TestRunReportsAPortInUseBeforeStartingAnything(t *testing.T) {
	dir := shortDir(t)
	writeSite(t, dir, "a", `{}`)
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = Run(context.Background(), Options{
		Dir: dir, Listen: busy.Addr().String(), Env: "production", Exe: "/nonexistent/wisp",
		Getenv: noEnv, Stdout: io.Discard, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler), Policy: testPolicy(),
	})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "-listen "+busy.Addr().String()) {
		t.Fatalf("Run = %v, want EADDRINUSE naming -listen", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "a.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the site's socket was left behind")
	}
}

func TestRunFailsWithoutStartingAnythingOnABadSite(t *testing.T) {
	dir := shortDir(t)
	writeSite(t, dir, "a", `{"url": "ftp://a.example/"}`)
	err := Run(context.Background(), Options{
		Dir: dir, Listen: "8080", Env: "production", Exe: "/nonexistent/wisp",
		Getenv: noEnv, Log: slog.New(slog.DiscardHandler), Policy: testPolicy(),
	})
	if err == nil || !strings.Contains(err.Error(), "site a") {
		t.Fatalf("Run = %v, want the site's config error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "a.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a socket was created for a site that cannot start")
	}
}

func TestRunGivesUpWhenTheBinaryCannotRun(t *testing.T) {
	dir := shortDir(t)
	writeSite(t, dir, "a", `{}`)
	p := testPolicy()
	p.GiveUp = 2
	err := Run(context.Background(), Options{
		Dir: dir, Listen: freeAddr(t), Env: "production", Exe: "/nonexistent/wisp",
		Getenv: noEnv, Stdout: io.Discard, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler), Policy: p,
	})
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "/nonexistent/wisp") {
		t.Fatalf("Run = %v, want ErrGaveUp naming the binary", err)
	}
}

func TestRunReloadRewritesTheProxyConfigAndRestartsEverything(t *testing.T) {
	dir := shortDir(t)
	state := shortDir(t)
	writeSite(t, dir, "a", `{"url": "http://a.example/"}`)
	r := startRun(t, dir, state)
	sock := filepath.Join(dir, "run", "a.sock")
	if got := getUnix(t, sock); !strings.HasPrefix(got, "a start 1 ") {
		t.Fatalf("answer = %q", got)
	}
	<-r.proxyReady.seen
	failed := &lineWaiter{want: "reload failed", seen: make(chan struct{})}
	reloaded := &lineWaiter{want: "wisp up: reloaded", seen: make(chan struct{})}
	r.out.tee(failed)
	r.out.tee(reloaded)

	// A broken config is reported and changes nothing ...
	writeSite(t, dir, "a", `{"url": "http://a2.example/",}`)
	r.reload <- syscall.SIGHUP
	<-failed.seen
	// ... which the next, good, reload shows: the site restarts only once.
	writeSite(t, dir, "a", `{"url": "http://a2.example/", "server": {"socket": {"permissions": "0600"}}}`)
	newProxy := &lineWaiter{want: "[proxy] ready", seen: make(chan struct{})}
	r.out.tee(newProxy)
	r.reload <- syscall.SIGHUP
	<-reloaded.seen
	<-newProxy.seen
	got := ""
	for i := 0; i < 1000 && !strings.HasPrefix(got, "a start 2 "); i++ {
		got, _ = tryGetUnix(sock)
	}
	if !strings.HasPrefix(got, "a start 2 ") {
		t.Fatalf("site never answered from its second start; last %q", got)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "run", "proxy.conf"))
	if err != nil || !strings.Contains(string(conf), "server_name a2.example;") {
		t.Errorf("proxy.conf not rewritten from the new url (%v):\n%s", err, conf)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode not updated to 0600: %v %v", fi.Mode(), err)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if starts := readLines(t, filepath.Join(state, "proxy.starts")); starts[0] != "2" {
		t.Errorf("proxy started %s times, want twice", starts[0])
	}
}

func TestRunReloadStartsNewSitesAndStopsRemovedOnes(t *testing.T) {
	dir := shortDir(t)
	state := shortDir(t)
	writeSite(t, dir, "a", `{"url": "http://a.example/"}`)
	r := startRun(t, dir, state)
	run := filepath.Join(dir, "run")
	getUnix(t, filepath.Join(run, "a.sock"))
	<-r.proxyReady.seen
	reloaded := &lineWaiter{want: "wisp up: reloaded; the sites are now b", seen: make(chan struct{})}
	newProxy := &lineWaiter{want: "[proxy] ready", seen: make(chan struct{})}
	r.out.tee(reloaded)
	r.out.tee(newProxy)

	writeSite(t, dir, "b", `{"url": "http://b.example/"}`)
	if err := os.Remove(filepath.Join(dir, "a", "config.production.json")); err != nil {
		t.Fatal(err)
	}
	r.reload <- syscall.SIGHUP
	<-reloaded.seen
	if got := getUnix(t, filepath.Join(run, "b.sock")); !strings.HasPrefix(got, "b start 1 ") {
		t.Errorf("new site answered %q", got)
	}
	<-newProxy.seen
	if _, err := os.Lstat(filepath.Join(run, "a.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the removed site's socket is still there: %v", err)
	}
	conf, err := os.ReadFile(filepath.Join(run, "proxy.conf"))
	if err != nil || strings.Contains(string(conf), "a.sock") || !strings.Contains(string(conf), "b.sock") {
		t.Errorf("proxy.conf does not route to b alone (%v):\n%s", err, conf)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if stops := readLines(t, filepath.Join(state, "stops")); strings.Join(stops, " ") != "proxy a proxy b" {
		t.Errorf("stops = %v, want the old proxy and a, then the new proxy and b", stops)
	}
	if socks, _ := filepath.Glob(filepath.Join(run, "*.sock")); len(socks) != 0 {
		t.Errorf("sockets left after Run: %v", socks)
	}
}
