package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"wisp/internal/ngxconf"
)

// scriptedBackend runs answer for every connection after reading the
// request head; it listens on a unix socket or on 127.0.0.1.
type scriptedBackend struct {
	connServer
	answer func(c net.Conn, head string, br *bufio.Reader)
}

func startScripted(t *testing.T, network, path string, answer func(c net.Conn, head string, br *bufio.Reader)) *scriptedBackend {
	t.Helper()
	var ln net.Listener
	if network == "unix" {
		ln = listenUnix0666(t, path)
	} else {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		must(t, err)
	}
	b := &scriptedBackend{answer: answer}
	b.serveConns(ln, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := readHeadString(br)
		if err != nil {
			return
		}
		b.answer(c, head, br)
	})
	t.Cleanup(b.stop)
	return b
}

// target is what proxy_pass names for the backend.
func (b *scriptedBackend) target() string {
	if a, ok := b.ln.Addr().(*net.TCPAddr); ok {
		return "http://" + a.String()
	}
	return "http://unix:" + b.ln.Addr().String()
}

func readHeadString(br *bufio.Reader) (string, error) {
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return head.String(), err
		}
		head.WriteString(line)
		if line == "\r\n" || line == "\n" {
			return head.String(), nil
		}
	}
}

// logBuf collects a server's error log for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWispLogged serves site like startWisp and returns its error log.
func startWispLogged(t *testing.T, dir, site string) (string, *logBuf) {
	t.Helper()
	path := filepath.Join(dir, "wisp-site.conf")
	must(t, os.WriteFile(path, []byte(strings.ReplaceAll(site, "LISTEN", "80")), 0o644))
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
	must(t, err)
	cfg, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
	must(t, err)
	logs := &logBuf{}
	open := func(ctx context.Context, network, address string) (net.Listener, error) {
		var lc net.ListenConfig
		return lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	}
	srv := NewServer(cfg, ServerOptions{Token: "nginx/1.22.1", Listen: open, Drain: 2 * time.Second,
		Log: slog.New(NewErrorLogHandler(logs, slog.LevelInfo))})
	ctx, cancel := context.WithCancel(context.Background())
	must(t, srv.Listen(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if testing.Verbose() {
			t.Log(logs.String())
		}
	})
	return srv.Addrs()[0].String(), logs
}

// readAllRaw returns every byte the proxy sends until it closes, with the
// Date header blanked; bounded by limit.
func readAllRaw(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("connection not closed within %v: %v (got %q)", limit, err, b)
	}
	lines := strings.Split(string(b), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Date: ") {
			lines[i] = "Date: *"
		}
	}
	return strings.Join(lines, "\r\n")
}

func TestUpgradeIsTunnelledLikeNginx(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			heads := make(chan string, 2)
			b := startScripted(t, network, filepath.Join(dir, "ws.sock"), func(c net.Conn, head string, br *bufio.Reader) {
				heads <- head
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
				io.Copy(c, br) // echo until the client side closes
			})
			site := "server {\n listen LISTEN;\n location / {\n  proxy_pass " + b.target() + ";\n  proxy_http_version 1.1;\n" +
				"  proxy_set_header Upgrade $http_upgrade;\n  proxy_set_header Connection \"upgrade\";\n }\n}\n"
			nginxAddr := startNginx(t, dir, site)
			wispAddr, _ := startWispLogged(t, dir, site)
			var got [2]string
			var backendSaw [2]string
			for i, addr := range []string{nginxAddr, wispAddr} {
				c, err := net.Dial("tcp", addr)
				must(t, err)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				// "early" arrives with the head: it must reach the upstream
				// after the switch, before what is sent later.
				io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nearly/")
				br := bufio.NewReader(c)
				head, err := readHeadString(br)
				if err != nil {
					t.Fatalf("%s: reading 101 head: %v (%q)", addr, err, head)
				}
				io.WriteString(c, "later")
				echo := make([]byte, len("early/later"))
				if _, err := io.ReadFull(br, echo); err != nil {
					t.Fatalf("%s: reading echo: %v", addr, err)
				}
				c.(*net.TCPConn).CloseWrite()
				rest, _ := io.ReadAll(br) // the proxy closes once the upstream does
				c.Close()
				got[i] = strings.Join(blankDate(head), "\n") + "\n" + string(echo) + string(rest)
				backendSaw[i] = <-heads
			}
			if got[0] != got[1] {
				t.Errorf("client saw\nnginx:\n%s\nwisp:\n%s", got[0], got[1])
			}
			if !strings.HasSuffix(got[1], "early/later") {
				t.Errorf("echo through wisp: %q", got[1])
			}
			if backendSaw[0] != backendSaw[1] {
				t.Errorf("upstream received\nnginx:\n%q\nwisp:\n%q", backendSaw[0], backendSaw[1])
			}
		})
	}
}

func blankDate(head string) []string {
	lines := strings.Split(strings.TrimSpace(head), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Date: ") {
			lines[i] = "Date: *"
		}
	}
	return lines
}

func TestStreamedResponseReachesClientBeforeItEnds(t *testing.T) {
	tests := []struct {
		name, directive, header string
	}{
		{"proxy_buffering off", "proxy_buffering off;", ""},
		{"X-Accel-Buffering no", "", "X-Accel-Buffering: no\r\n"},
		{"default buffering still streams", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			release := make(chan struct{})
			b := startScripted(t, "unix", filepath.Join(dir, "sse.sock"), func(c net.Conn, head string, br *bufio.Reader) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"+tc.header+"Transfer-Encoding: chunked\r\n\r\n")
				io.WriteString(c, "d\r\ndata: first\n\n\r\n")
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				io.WriteString(c, "e\r\ndata: second\n\n\r\n0\r\n\r\n")
			})
			addr, _ := startWispLogged(t, dir, "server {\n listen LISTEN;\n location / { proxy_pass "+b.target()+"; "+tc.directive+" }\n}\n")
			c, err := net.Dial("tcp", addr)
			must(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			br := bufio.NewReader(c)
			head, err := readHeadString(br)
			must(t, err)
			if strings.Contains(head, "X-Accel") {
				t.Errorf("X-Accel-* header passed to the client: %q", head)
			}
			// The first event must arrive while the upstream still holds
			// the second one back.
			var got strings.Builder
			for !strings.Contains(got.String(), "data: first") {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("first event not streamed: %v (got %q)", err, got.String())
				}
				got.WriteString(line)
			}
			close(release)
			rest, err := io.ReadAll(br)
			must(t, err)
			if !strings.Contains(string(rest), "data: second") || !strings.HasSuffix(string(rest), "0\r\n\r\n") {
				t.Errorf("rest of the stream: %q", rest)
			}
		})
	}
}

// heapSampler records the largest heap in use while a transfer runs.
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-h.stop:
				h.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) peak() uint64 { close(h.stop); return <-h.done }

func TestGigabyteBodiesPassInConstantMemory(t *testing.T) {
	const size = 1 << 30
	dir := t.TempDir()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	b := startScripted(t, "unix", filepath.Join(dir, "big.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		if strings.HasPrefix(head, "POST") {
			cl := size
			if i := strings.Index(head, "Content-Length: "); i >= 0 {
				cl, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(head[i+16:], "\r\n", 2)[0]))
			}
			n, _ := io.CopyBuffer(io.Discard, io.LimitReader(br, int64(cl)), make([]byte, 64<<10))
			body := strconv.FormatInt(n, 10)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	addr, _ := startWispLogged(t, dir, "server {\n listen LISTEN;\n client_max_body_size 0;\n location / { proxy_pass "+b.target()+"; }\n}\n")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	hs := sampleHeap()

	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(4 * time.Minute))
	io.WriteString(c, "GET /download HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	head, err := readHeadString(br)
	must(t, err)
	if !strings.Contains(head, "Content-Length: "+strconv.Itoa(size)) {
		t.Fatalf("download head: %q", head)
	}
	if n, err := io.CopyBuffer(io.Discard, io.LimitReader(br, size), make([]byte, 64<<10)); n != size {
		t.Fatalf("downloaded %d bytes: %v", n, err)
	}

	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("upload after %d bytes: %v", sent, err)
		}
	}
	head, err = readHeadString(br)
	must(t, err)
	body := make([]byte, len(strconv.Itoa(size)))
	if _, err := io.ReadFull(br, body); err != nil || string(body) != strconv.Itoa(size) {
		t.Fatalf("upload answer %q %q: %v", head, body, err)
	}

	// A chunked upload is spooled to a temporary file past
	// client_body_buffer_size (as nginx does) and sent on with
	// Content-Length.
	const chunkedSize = 256 << 20
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunkHead := strconv.FormatInt(int64(len(chunk)), 16) + "\r\n"
	for sent := 0; sent < chunkedSize; sent += len(chunk) {
		io.WriteString(c, chunkHead)
		c.Write(chunk)
		if _, err := io.WriteString(c, "\r\n"); err != nil {
			t.Fatalf("chunked upload after %d bytes: %v", sent, err)
		}
	}
	io.WriteString(c, "0\r\n\r\n")
	head, err = readHeadString(br)
	must(t, err)
	body = make([]byte, len(strconv.Itoa(chunkedSize)))
	if _, err := io.ReadFull(br, body); err != nil || string(body) != strconv.Itoa(chunkedSize) {
		t.Fatalf("chunked upload answer %q %q: %v", head, body, err)
	}

	peak := hs.peak()
	if grew := int64(peak) - int64(before.HeapInuse); grew > 8<<20 {
		t.Errorf("heap in use grew by %d KiB while 1 GiB went each way", grew>>10)
	}
}

func TestSlowClientsAreCutLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startEcho(t, sock, "echo")
	site := "server {\n listen LISTEN;\n client_header_timeout 1s;\n client_body_timeout 1s;\n" +
		" location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, logs := startWispLogged(t, dir, site)
	// One request first, so that whatever the server starts once (the
	// idle poller, pools) runs before the goroutines are counted.
	if r := exchange(t, wispAddr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); r.status != 200 {
		t.Fatalf("warm-up request: %d", r.status)
	}
	running := goleak.IgnoreCurrent()
	tests := []struct {
		name  string
		first string // sent at once
		drip  string // then one line of this every 300 ms, at most 20 times
		want  string // substring of wisp's log
	}{
		{name: "nothing sent", want: "client timed out (110: Connection timed out) while waiting for request"},
		{name: "slowloris head", first: "GET / HTTP/1.1\r\nHost: x\r\n", drip: "X-Drip: 1\r\n",
			want: "client timed out (110: Connection timed out) while reading client request headers"},
		// nginx 1.22 writes no error-log line for a body that times out
		// while it is buffered (reqbuf_test.go compares the logs).
		{name: "stalled body", first: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out [2]string
			for i, addr := range []string{nginxAddr, wispAddr} {
				c, err := net.Dial("tcp", addr)
				must(t, err)
				io.WriteString(c, tc.first)
				stop := make(chan struct{})
				dripped := make(chan struct{})
				go func() {
					defer close(dripped)
					for n := 0; tc.drip != "" && n < 20; n++ {
						select {
						case <-stop:
							return
						case <-time.After(300 * time.Millisecond):
						}
						if _, err := io.WriteString(c, tc.drip); err != nil {
							return
						}
					}
				}()
				out[i] = readAllRaw(t, c, 5*time.Second)
				close(stop)
				<-dripped
				c.Close()
			}
			if out[0] != out[1] {
				t.Errorf("client got\nnginx: %q\nwisp:  %q", out[0], out[1])
			}
			if !strings.Contains(logs.String(), tc.want) {
				t.Errorf("wisp's log lacks %q:\n%s", tc.want, logs.String())
			}
			// The cut connection leaves nothing behind in the server
			// that keeps running (goleak retries while goroutines end).
			if err := goleak.Find(running); err != nil {
				t.Errorf("goroutines left after the slow client was cut: %v", err)
			}
		})
	}
}

// TestClientTimeoutsDefaultToNginxs: unset, client_header_timeout and
// client_body_timeout are nginx's 60 s; set at http level, a server takes
// them. (The slow-client test above checks the cut itself with 1 s.)
func TestClientTimeoutsDefaultToNginxs(t *testing.T) {
	tests := []struct {
		name         string
		http         string
		header, body time.Duration
	}{
		{"unset", "", 60 * time.Second, 60 * time.Second},
		{"set at http level", "client_header_timeout 7s; client_body_timeout 9s;", 7 * time.Second, 9 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := compileSite(t, "events {}\nhttp {\n"+tc.http+"\nserver { listen 8000; location / { proxy_pass http://unix:/nowhere.sock; } }\n}\n")
			must(t, err)
			srv := cfg.sockets[0].wildcard.def
			_, loc := route(cfg.sockets[0].wildcard, nil, []byte("/"))
			if got := srv.client.headerTimeout(); got != tc.header {
				t.Errorf("client_header_timeout %v, want %v", got, tc.header)
			}
			if got := loc.client.bodyTimeout(); got != tc.body {
				t.Errorf("client_body_timeout %v, want %v", got, tc.body)
			}
		})
	}
}

func TestBadUpstreamResponsesLikeNginx(t *testing.T) {
	tests := []struct {
		name, answer, log string
	}{
		// nginx 1.22 takes an unparsable Content-Length as absent.
		{"invalid Content-Length is ignored", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok", ""},
		{"header line with a NUL", "HTTP/1.1 200 OK\r\nX-A: 1\x002\r\n\r\nok",
			`upstream sent invalid header: "X-A: 1\x00..." while reading response header from upstream`},
		{"NUL in a header name", "HTTP/1.1 200 OK\r\nX-\x00A: 1\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "X-\x00..." while reading response header from upstream`},
		{"line starting with a colon", "HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "\x3a..." while reading response header from upstream`},
		{"obs-fold in the answer", "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "\x20..." while reading response header from upstream`},
		{"space in a header name", "HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "X\x20..." while reading response header from upstream`},
		{"tab in a header name", "HTTP/1.1 200 OK\r\nX\tA: 1\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "X\x09..." while reading response header from upstream`},
		{"DEL in a header name", "HTTP/1.1 200 OK\r\nX\x7fA: 1\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "X\x7f..." while reading response header from upstream`},
		{"NUL after a value and a space", "HTTP/1.1 200 OK\r\nX-A: ab \x00\r\nContent-Length: 2\r\n\r\nok",
			`upstream sent invalid header: "X-A: ab \x00..." while reading response header from upstream`},
		{"closed inside the head", "HTTP/1.1 200 OK\r\nX-A: 1\r\n",
			"upstream prematurely closed connection while reading response header from upstream"},
		{"closed before any byte", "",
			"upstream prematurely closed connection while reading response header from upstream"},
		{"closed mid-body", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789",
			"upstream prematurely closed connection while reading upstream"},
		// The head bound (16 KiB) holds whatever the reader's buffer size.
		{"head past 16 KiB", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 17<<10) + "\r\nContent-Length: 2\r\n\r\nok",
			"upstream sent too big header while reading response header from upstream"},
		{"closed mid-chunk", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01234",
			"upstream prematurely closed connection while reading upstream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "bad.sock")
			b := startScripted(t, "unix", sock, func(c net.Conn, head string, br *bufio.Reader) {
				io.WriteString(c, tc.answer)
			})
			site := "server {\n listen LISTEN;\n location / { proxy_pass " + b.target() + "; }\n}\n"
			nginxAddr := startNginx(t, dir, site)
			wispAddr, logs := startWispLogged(t, dir, site)
			// Whether the client's connection is kept or closed after
			// the failure shows with a keep-alive request followed by a
			// pipelined one; readAllRaw fails on a reset instead of a
			// clean close.
			for _, raw := range []string{
				"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				"GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			} {
				var out [2]string
				for i, addr := range []string{nginxAddr, wispAddr} {
					c, err := net.Dial("tcp", addr)
					must(t, err)
					io.WriteString(c, raw)
					out[i] = readAllRaw(t, c, 10*time.Second)
					c.Close()
				}
				if out[0] != out[1] {
					t.Errorf("client sent %q and got\nnginx: %q\nwisp:  %q", raw, out[0], out[1])
				}
			}
			if tc.log == "" {
				return
			}
			want := tc.log + ", client: 127.0.0.1, server: , request: \"GET /x HTTP/1.1\", upstream: \"http://unix:" + sock + ":/x\", host: \"x\""
			if !strings.Contains(logs.String(), want) {
				t.Errorf("wisp's log lacks %q:\n%s", want, logs.String())
			}
			// The same line is in nginx's own log, so the wording is
			// nginx's and not only this table's.
			if b, _ := os.ReadFile(filepath.Join(dir, "nginx-error.log")); !strings.Contains(string(b), want) {
				t.Errorf("nginx's log lacks %q:\n%s", want, b)
			}
		})
	}
}

func TestClientLeavingCancelsUpstreamRequest(t *testing.T) {
	dir := t.TempDir()
	got := make(chan struct{}, 1)
	closed := make(chan struct{}, 1)
	b := startScripted(t, "unix", filepath.Join(dir, "slow.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		got <- struct{}{}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := br.ReadByte(); err == io.EOF {
			closed <- struct{}{}
		}
	})
	addr, logs := startWispLogged(t, dir, "server {\n listen LISTEN;\n location / { proxy_pass "+b.target()+"; }\n}\n")
	c, err := net.Dial("tcp", addr)
	must(t, err)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-got
	c.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream connection still open 10s after the client left")
	}
	for i := 0; i < 100 && !strings.Contains(logs.String(), "prematurely closed"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "client prematurely closed connection, so upstream connection is closed too") {
		t.Errorf("log: %s", logs.String())
	}
}

// wsFrame writes one WebSocket frame (RFC 6455 §5.2): FIN set, masked as a
// client must, unmasked as a server does.
func wsFrame(opcode byte, payload []byte, masked bool) []byte {
	f := []byte{0x80 | opcode}
	maskBit := byte(0)
	if masked {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, maskBit|byte(n))
	case n < 1<<16:
		f = append(f, maskBit|126, byte(n>>8), byte(n))
	default:
		f = append(f, maskBit|127)
		for i := 7; i >= 0; i-- {
			f = append(f, byte(uint64(n)>>(8*i)))
		}
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// readWSFrame reads one frame and returns its opcode and unmasked payload.
func readWSFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	if n >= 126 {
		ext := make([]byte, map[uint64]int{126: 2, 127: 8}[n])
		if _, err := io.ReadFull(r, ext); err != nil {
			return 0, nil, err
		}
		n = 0
		for _, b := range ext {
			n = n<<8 | uint64(b)
		}
	}
	var key [4]byte
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return 0, nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return h[0] & 0x0f, payload, nil
}

// TestWebSocketEchoOverAUnixSocket is issue 4's acceptance check: a real
// WebSocket handshake (the accept key checked) and framed messages, small
// and large, text and binary, then the closing handshake, echoed by a
// backend on a unix socket through each proxy.
func TestWebSocketEchoOverAUnixSocket(t *testing.T) {
	dir := t.TempDir()
	accept := func(key string) string {
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	b := startScripted(t, "unix", filepath.Join(dir, "ws.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		key, _ := headerOf(head, "Sec-WebSocket-Key")
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+accept(key)+"\r\n\r\n")
		for {
			op, payload, err := readWSFrame(br)
			if err != nil {
				return
			}
			c.Write(wsFrame(op, payload, false))
			if op == 8 {
				return // close echoed: the server ends the TCP connection
			}
		}
	})
	site := "server {\n listen LISTEN;\n location /ws { proxy_pass " + b.target() + "; proxy_http_version 1.1;\n" +
		"  proxy_set_header Upgrade $http_upgrade;\n  proxy_set_header Connection \"upgrade\";\n  proxy_read_timeout 5s;\n }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	messages := []struct {
		op      byte
		payload []byte
	}{{1, []byte("hello")}, {2, big}, {1, []byte(strings.Repeat("é", 200))}, {8, []byte{0x03, 0xe8}}}
	for _, who := range []struct{ name, addr string }{{"nginx", nginxAddr}, {"wisp", wispAddr}} {
		t.Run(who.name, func(t *testing.T) {
			c, err := net.Dial("tcp", who.addr)
			must(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			const key = "dGhlIHNhbXBsZSBub25jZQ=="
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
			br := bufio.NewReader(c)
			head, err := readHeadString(br)
			must(t, err)
			if got, _ := headerOf(head, "Sec-WebSocket-Accept"); !strings.HasPrefix(head, "HTTP/1.1 101 ") || got != accept(key) {
				t.Fatalf("handshake answer: %q", head)
			}
			// All messages go out before any echo is read, so the tunnel
			// carries both directions at once.
			wrote := make(chan struct{})
			defer func() { c.Close(); <-wrote }()
			go func() {
				defer close(wrote)
				for _, m := range messages {
					c.Write(wsFrame(m.op, m.payload, true))
				}
			}()
			for i, m := range messages {
				op, payload, err := readWSFrame(br)
				if err != nil {
					t.Fatalf("echo %d: %v", i, err)
				}
				if op != m.op || !bytes.Equal(payload, m.payload) {
					t.Errorf("echo %d: opcode %d, %d bytes; want opcode %d, %d bytes", i, op, len(payload), m.op, len(m.payload))
				}
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Errorf("after the close: %q, %v; want a clean end of the connection", rest, err)
			}
		})
	}
}
