package proxy

// A small differential harness: the same raw request goes through real
// nginx and through wisp, both in front of the same echo backend, and the
// test compares what the backend received and what the client got back.
// Issue 3's differential suite extends the case table.

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

const nginxBin = "/usr/sbin/nginx"

// echoBackend answers every request with its raw head and body as the
// response body, so a test sees exactly the bytes the proxy sent.
type echoBackend struct {
	connServer
	mode string // "echo"; "chunked" or "close" framing; "hang" (accept, read, never answer)
}

func startEcho(t *testing.T, path, mode string) *echoBackend {
	t.Helper()
	b := &echoBackend{mode: mode}
	b.serveConns(listenUnix0666(t, path), b.serve)
	t.Cleanup(b.stop)
	return b
}

func (b *echoBackend) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		var head bytes.Buffer
		cl := 0
		keep := false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			switch strings.ToLower(k) {
			case "content-length":
				cl, _ = strconv.Atoi(strings.TrimSpace(v))
			case "connection":
				keep = strings.TrimSpace(v) == ""
			}
		}
		if head.Len() > 0 && strings.HasSuffix(strings.SplitN(head.String(), "\r\n", 2)[0], "HTTP/1.1") {
			keep = !strings.Contains(strings.ToLower(head.String()), "\r\nconnection: close")
		}
		body := make([]byte, cl)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		if b.mode == "hang" {
			io.Copy(io.Discard, br)
			return
		}
		out := append(head.Bytes(), body...)
		switch b.mode {
		case "chunked": // HTTP/1.1 chunked body with a trailer
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
				strconv.FormatInt(int64(len(out)), 16) + "\r\n" + string(out) + "\r\n5\r\nextra\r\n0\r\nX-Trailer: t\r\n\r\n"))
			return
		case "close": // HTTP/1.0, body delimited by closing
			c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"))
			c.Write(out)
			return
		}
		conn := "close"
		if keep {
			conn = "keep-alive"
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo: 1\r\nContent-Length: " +
			strconv.Itoa(len(out)) + "\r\nConnection: " + conn + "\r\n\r\n"))
		c.Write(out)
		if !keep {
			return
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNginx runs real nginx in the foreground with site included in http{}
// and returns its address. A missing nginx fails the test.
func startNginx(t *testing.T, dir, site string) string {
	t.Helper()
	if _, err := os.Stat(nginxBin); err != nil {
		t.Fatalf("real nginx is needed for the differential tests: %v", err)
	}
	port := freePort(t)
	site = strings.ReplaceAll(site, "LISTEN", "127.0.0.1:"+strconv.Itoa(port))
	sitePath := filepath.Join(dir, "nginx-site.conf")
	must(t, os.WriteFile(sitePath, []byte(site), 0o644))
	main := "events {}\nhttp {\n access_log off;\n client_body_temp_path " + dir + "/body;\n proxy_temp_path " + dir + "/ptemp;\n include " + sitePath + ";\n}\n"
	confPath := filepath.Join(dir, "nginx.conf")
	must(t, os.WriteFile(confPath, []byte(main), 0o644))
	cmd := exec.Command(nginxBin, "-p", dir+"/", "-c", confPath,
		"-g", "daemon off; master_process off; pid "+dir+"/nginx.pid; error_log "+dir+"/nginx-error.log;")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		select {
		case <-done:
			t.Fatalf("nginx exited: %s", stderr.String())
		case <-time.After(25 * time.Millisecond):
		}
	}
	t.Fatalf("nginx did not start listening: %s", stderr.String())
	return ""
}

// startWisp compiles site the way wisp proxy -c does and serves it on a
// free loopback port; it returns the address and a stop function.
func startWisp(t *testing.T, dir, site string) (string, func()) {
	t.Helper()
	site = strings.ReplaceAll(site, "LISTEN", "80")
	path := filepath.Join(dir, "wisp-site.conf")
	must(t, os.WriteFile(path, []byte(site), 0o644))
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, cfg)
}

func serveConfig(t testing.TB, cfg *Config) (string, func()) {
	t.Helper()
	_, addr, stop := serveServer(t, cfg)
	return addr, stop
}

// serveServer is serveConfig that also returns the running server.
func serveServer(t testing.TB, cfg *Config) (*Server, string, func()) {
	t.Helper()
	open := func(ctx context.Context, network, address string) (net.Listener, error) {
		var lc net.ListenConfig
		if strings.HasPrefix(network, "tcp") {
			return lc.Listen(ctx, "tcp4", "127.0.0.1:0")
		}
		return lc.Listen(ctx, network, address)
	}
	var logs bytes.Buffer
	if testing.Verbose() {
		t.Cleanup(func() { t.Log(logs.String()) })
	}
	srv := NewServer(cfg, ServerOptions{Token: "nginx/1.22.1", Listen: open, Drain: 2 * time.Second,
		Log: slog.New(NewErrorLogHandler(&syncWriter{w: &logs}, slog.LevelInfo))})
	ctx, cancel := context.WithCancel(context.Background())
	must(t, srv.Listen(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, srv.Addrs()[0].String(), stop
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// exchange sends raw bytes and reads one response.
type result struct {
	status  int
	headers []string // raw header lines in order, Date blanked
	body    string
}

func exchange(t *testing.T, addr, raw string) result {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	// The raw head is kept so that header order and case are compared too.
	br := bufio.NewReader(c)
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: reading head: %v (got %q)", addr, err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(bytes.NewReader(head.Bytes()), br)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: parsing response: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading body: %v", addr, err)
	}
	// The two proxies listen on different ports; absolute redirects
	// carry them. Date differs by nature.
	_, port, _ := net.SplitHostPort(addr)
	var hs []string
	for _, line := range strings.Split(strings.TrimSpace(head.String()), "\r\n")[1:] {
		if strings.HasPrefix(line, "Date: ") {
			line = "Date: *"
		}
		hs = append(hs, strings.ReplaceAll(line, ":"+port, ":PORT"))
	}
	return result{status: resp.StatusCode, body: string(body), headers: hs}
}

// diffCase is one row of the differential table.
type diffCase struct {
	name string
	raw  string // the request, CRLF line ends
	// want, if set, is the exact head the backend must receive (checked
	// on both proxies, so agreement on a wrong answer still fails).
	want string
}

func runDiff(t *testing.T, nginxAddr, wispAddr string, cases []diffCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := exchange(t, nginxAddr, tc.raw)
			w := exchange(t, wispAddr, tc.raw)
			if n.status != w.status {
				t.Errorf("status: nginx %d, wisp %d", n.status, w.status)
			}
			if n.body != w.body {
				t.Errorf("body differs\nnginx:\n%s\nwisp:\n%s", n.body, w.body)
			}
			if strings.Join(n.headers, "\n") != strings.Join(w.headers, "\n") {
				t.Errorf("response headers differ\nnginx:\n%s\nwisp:\n%s", strings.Join(n.headers, "\n"), strings.Join(w.headers, "\n"))
			}
			if tc.want != "" && w.body != tc.want {
				t.Errorf("backend received\n%q\nwant\n%q", w.body, tc.want)
			}
		})
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
