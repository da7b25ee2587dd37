package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"wisp/internal/ngxconf"
)

const benchHead = "GET /blog/some-post/?utm=1 HTTP/1.1\r\nHost: igu.io\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
	"Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n" +
	"Cookie: a=1; b=2\r\nConnection: keep-alive\r\n\r\n"

func BenchmarkRequestParse(b *testing.B) {
	buf := []byte(benchHead)
	var r request
	r.reset()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.parse(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteAndHead is the per-request hot path short of I/O: parse,
// pick server and location, build the upstream head with Debian's
// proxy_params headers.
func BenchmarkRouteAndHead(b *testing.B) {
	cfg, err := compileSite(b, `
upstream igu { server unix:/tmp/igu.sock; }
server {
  listen 8080;
  server_name other.io;
  location / { proxy_pass http://igu; }
}
server {
  listen 8080;
  server_name igu.io;
  location /ghost/ { proxy_pass http://igu; }
  location / {
    proxy_pass http://igu;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
  }
}`)
	if err != nil {
		b.Fatal(err)
	}
	g := cfg.sockets[0].wildcard
	c := &clientConn{remoteAddr: []byte("127.0.0.1"), remotePort: []byte("40000"), serverPort: []byte("8080")}
	buf := []byte(benchHead)
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.req.parse(buf); err != nil {
			b.Fatal(err)
		}
		uri, _ := c.normalisedURI()
		s, loc := route(g, c.req.host, uri)
		ec := evalCtx{req: &c.req, conn: c, server: s, uri: uri, requestURI: c.req.target, handler: loc.handler}
		out = c.appendUpstreamHead(out[:0], loc.handler, &ec, -1)
	}
}

// benchBackend answers every request with a fixed 60-byte body and keeps
// connections alive, like proxybench's /small.
func benchBackend(b *testing.B, sock string) {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 60)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
}

// BenchmarkProxyRoundTrip is the whole engine in process: one keep-alive
// client connection, requests one after another, through wisp to a Go
// backend on a unix socket, with and without upstream keepalive; and a
// 1 KiB POST, whose body is read whole before it goes up (reqbody.go).
func BenchmarkProxyRoundTrip(b *testing.B) {
	get := "GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n"
	post := "POST /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nContent-Length: 1024\r\n\r\n" + strings.Repeat("p", 1024)
	for _, tc := range []struct {
		name string
		ka   bool
		req  string
	}{
		{"upstream-close", false, get},
		{"upstream-keepalive", true, get},
		{"upstream-keepalive-post-1k", true, post},
	} {
		ka := tc.ka
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			sock := dir + "/b.sock"
			benchBackend(b, sock)
			d := func(name string, args ...string) *ngxconf.Directive {
				return &ngxconf.Directive{Name: name, Args: args}
			}
			blk := func(name string, args []string, body ...*ngxconf.Directive) *ngxconf.Directive {
				x := d(name, args...)
				x.Block, x.IsBlock = body, true
				return x
			}
			up := blk("upstream", []string{"app"}, d("server", "unix:"+sock))
			loc := blk("location", []string{"/"}, d("proxy_pass", "http://app"))
			if ka {
				up.Block = append(up.Block, d("keepalive", "8"))
				loc.Block = append(loc.Block, d("proxy_http_version", "1.1"), d("proxy_set_header", "Connection", ""))
			}
			cfg, err := Compile(context.Background(), []*ngxconf.Directive{blk("http", nil, up, blk("server", nil, d("listen", "80"), loc))}, CompileOptions{})
			if err != nil {
				b.Fatal(err)
			}
			addr, stop := serveConfig(b, cfg)
			defer stop()
			var c net.Conn
			var br *bufio.Reader
			dial := func() {
				var err error
				if c, err = net.Dial("tcp", addr); err != nil {
					b.Fatal(err)
				}
				br = bufio.NewReader(c)
			}
			dial()
			defer func() { c.Close() }()
			req := []byte(tc.req)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.Close { // keepalive_requests reached, as wrk sees it too
					c.Close()
					dial()
				}
			}
		})
	}
}
