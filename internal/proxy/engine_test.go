package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

func TestPipelinedRequestsOnOneConnectionAreAnsweredInOrder(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startEcho(t, sock, "echo")
	addr, _ := startWisp(t, dir, seedSite(t, sock))
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: igu.io\r\n\r\nPOST /2 HTTP/1.1\r\nHost: igu.io\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []string{"GET /1 ", "POST /2 ", "GET /3 "} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.HasPrefix(string(body), want) {
			t.Errorf("response %d: body %q, want prefix %q", i+1, body, want)
		}
		if i == 1 && !strings.HasSuffix(string(body), "\r\n\r\nabc") {
			t.Errorf("POST body not forwarded: %q", body)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection not closed after Connection: close: %v", err)
	}
}

// countingBackend is an echo backend that also counts connections.
func TestUpstreamKeepaliveReusesConnections(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	var accepted atomic.Int32
	ln, err := net.Listen("unix", sock)
	must(t, err)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, r.Proto+" "+r.Header.Get("Connection")+" "+strconv.Itoa(int(accepted.Load())))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				accepted.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	defer srv.Close()
	// Built by hand: ngxconf's table does not know "keepalive" yet.
	d := func(name string, args ...string) *ngxconf.Directive {
		return &ngxconf.Directive{Name: name, Args: args, Pos: ngxconf.Pos{File: "hand", Line: 1}}
	}
	blk := func(name string, args []string, body ...*ngxconf.Directive) *ngxconf.Directive {
		x := d(name, args...)
		x.Block, x.IsBlock = body, true
		return x
	}
	main := []*ngxconf.Directive{blk("http", nil,
		blk("upstream", []string{"app"}, d("server", "unix:"+sock), d("keepalive", "4")),
		blk("server", nil, d("listen", "80"),
			blk("location", []string{"/"}, d("proxy_pass", "http://app"), d("proxy_http_version", "1.1"), d("proxy_set_header", "Connection", ""))))}
	cfg, err := Compile(context.Background(), main, CompileOptions{Prefix: dir})
	must(t, err)
	addr, stop := serveConfig(t, cfg)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var last string
	for i := 0; i < 5; i++ {
		resp, err := client.Get("http://" + addr + "/")
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(b)
	}
	if last != "HTTP/1.1  1" {
		t.Errorf("backend saw %q, want HTTP/1.1 with no Connection header on its first connection", last)
	}
	stop()
	srv.Close()
}

func TestShutdownLetsInFlightRequestFinishAndClosesIdleConnections(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "slow.sock")
	ln, err := net.Listen("unix", sock)
	must(t, err)
	release := make(chan struct{})
	started := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})}
	go srv.Serve(ln)
	defer srv.Close()
	addr, stop := startWisp(t, dir, "server {\n listen LISTEN;\n location / { proxy_pass http://unix:"+sock+"; }\n}\n")

	idle, err := net.Dial("tcp", addr)
	must(t, err)
	defer idle.Close()
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			result <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Errorf("idle connection still open during shutdown")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("new connections still accepted during shutdown")
	}
	close(release)
	if got := <-result; got != "done" {
		t.Errorf("in-flight request got %q", got)
	}
	<-stopped
}

func TestRunWritesPidFileAndRemovesItOnStop(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "site.conf")
	port := freePort(t)
	must(t, writeFile(conf, "server {\n listen 127.0.0.1:"+strconv.Itoa(port)+";\n location / { proxy_pass http://unix:"+dir+"/none.sock; }\n}\n"))
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfFile: conf, Globals: "pid " + dir + "/w.pid;", Name: "wisp", Stderr: &syncWriter{w: &stderr}})
	}()
	pidFile := filepath.Join(dir, "w.pid")
	var pid []byte
	for i := 0; i < 200 && len(pid) == 0; i++ {
		pid, _ = os.ReadFile(pidFile)
		time.Sleep(10 * time.Millisecond)
	}
	if string(pid) != strconv.Itoa(os.Getpid())+"\n" {
		t.Fatalf("pid file holds %q", pid)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	cancel()
	must(t, <-done)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	if !strings.Contains(stderr.String(), "[crit]") || !strings.Contains(stderr.String(), "connect() to unix:"+dir+"/none.sock failed (2: No such file or directory)") {
		t.Errorf("error log: %s", stderr.String())
	}
}

func TestConfigTestUsesNginxWording(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	bad := filepath.Join(dir, "bad.conf")
	must(t, writeFile(good, "server {\n listen 8080;\n}\n"))
	must(t, writeFile(bad, "server {\n listen 8080;\n ssi on;\n}\n"))
	tests := []struct {
		conf, name string
		fail       bool
		want       string
	}{
		{good, "wisp", false, "wisp: the configuration file " + good + " syntax is ok\nwisp: configuration file " + good + " test is successful\n"},
		{bad, "nginx", true, "nginx: [emerg] \"ssi\" directive is not supported by wisp in " + bad + ":3\nnginx: configuration file " + bad + " test failed\n"},
	}
	for _, tc := range tests {
		var out, errw bytes.Buffer
		err := Test(context.Background(), Options{ConfFile: tc.conf, Name: tc.name, Stderr: &errw, Stdout: &out}, false, false)
		if (err != nil) != tc.fail || errw.String() != tc.want {
			t.Errorf("%s: err %v, stderr %q, want %q", tc.conf, err, errw.String(), tc.want)
		}
	}
}

// poolBackend numbers its connections and the requests on each: every
// answer is "cN rM", kept alive. It counts the connections it saw closed.
type poolBackend struct {
	*scriptedBackend
	conns, closed atomic.Int64
}

func startPoolBackend(t *testing.T, network, path string) *poolBackend {
	t.Helper()
	b := &poolBackend{}
	b.scriptedBackend = startScripted(t, network, path, func(c net.Conn, _ string, br *bufio.Reader) {
		n := b.conns.Add(1)
		defer b.closed.Add(1)
		for req := 1; ; req++ {
			body := "c" + strconv.FormatInt(n, 10) + " r" + strconv.Itoa(req) + "\n"
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			if _, err := readHeadString(br); err != nil {
				return
			}
		}
	})
	return b
}

// TestUpstreamKeepalivePoolsMatchNginx runs the same requests through
// nginx and wisp, each with its own backend, over unix: and TCP: which
// upstream connection served each request (keepalive_requests ends one
// after 2), and an idle pooled connection closed once keepalive_timeout
// has passed, with no request to notice it.
func TestUpstreamKeepalivePoolsMatchNginx(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			site := `
upstream app { server BACKEND; keepalive 4; keepalive_requests 2; keepalive_timeout 1s; }
server {
    listen LISTEN;
    location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://app; }
}
`
			var got [2]string
			for i, who := range []string{"nginx", "wisp"} {
				b := startPoolBackend(t, network, filepath.Join(dir, who+".sock"))
				s := strings.ReplaceAll(site, "BACKEND", strings.TrimPrefix(b.target(), "http://"))
				var addr string
				if who == "nginx" {
					addr = startNginx(t, dir, s)
				} else {
					addr, _ = startWisp(t, dir, s)
				}
				got[i] = keepAliveSequence(t, addr, "/", 5)
				if !strings.HasPrefix(got[i], "c1 r1\nc1 r2\nc2 r1\n") {
					t.Errorf("%s: keepalive_requests 2 not honoured: %q", who, got[i])
				}
				// The last connection holds one request, idle in the pool:
				// keepalive_timeout closes it (bounded wait, generous).
				deadline := time.Now().Add(5 * time.Second)
				for b.closed.Load() < b.conns.Load() && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if open := b.conns.Load() - b.closed.Load(); open != 0 {
					t.Errorf("%s: %d idle upstream connections still open 5 s after keepalive_timeout 1s", who, open)
				}
			}
			if got[0] != got[1] {
				t.Errorf("upstream connections used\nnginx: %q\nwisp:  %q", got[0], got[1])
			}
		})
	}
}
