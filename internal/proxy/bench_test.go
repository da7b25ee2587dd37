package proxy

import (
	"testing"
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
