package web

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkCachedPages measures a cached page view: the change check, the
// cache lookup and the conditional-request handling.
func BenchmarkCachedPages(b *testing.B) {
	for _, path := range []string{"/", "/welcome/"} {
		b.Run(path, func(b *testing.B) {
			_, h := newSite(b, Options{})
			req := httptest.NewRequest("GET", path, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}
