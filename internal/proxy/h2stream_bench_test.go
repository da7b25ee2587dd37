package proxy

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// BenchmarkHTTP2RoundTrip is the HTTP/2 bridge in process: cleartext
// HTTP/2 (prior knowledge) from Go's client, streams in parallel on one
// connection, through wisp to a Go backend on a unix socket with upstream
// keepalive, like h2load on /small.
func BenchmarkHTTP2RoundTrip(b *testing.B) {
	dir := b.TempDir()
	sock := filepath.Join(dir, "b.sock")
	benchBackend(b, sock)
	cfg, err := compileSite(b, `
upstream app { server unix:`+sock+`; keepalive 32; }
server {
    listen 80 http2;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
}`)
	if err != nil {
		b.Fatal(err)
	}
	addr, stop := serveConfig(b, cfg)
	defer stop()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	url := "http://" + addr + "/small"
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := cl.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
