package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps the status and drops the body,
// so the benchmark measures the handler rather than a recorder's buffer.
type discard struct {
	hdr    http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.hdr }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }

// BenchmarkCachedPages measures a cached page view: the change check, the
// cache lookup and the conditional-request handling.
func BenchmarkCachedPages(b *testing.B) {
	for _, path := range []string{"/", "/welcome/"} {
		b.Run(path, func(b *testing.B) {
			_, h := newSite(b, Options{})
			req := httptest.NewRequest("GET", path, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discard{hdr: http.Header{}}
				for pb.Next() {
					clear(w.hdr)
					w.status = 0
					h.ServeHTTP(w, req)
					if w.status != 200 {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}
