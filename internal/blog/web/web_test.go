package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wisp/internal/blog/htmlcheck"
	"wisp/internal/blog/store"
)

// newSite opens a fresh store (seeded with the welcome post) and a
// handler for it.
func newSite(t testing.TB, opts Options) (*store.Store, *Handler) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ghost.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if opts.URL == "" {
		opts.URL = "http://example.com/"
	}
	h, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st, h
}

func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRoutes(t *testing.T) {
	st, h := newSite(t, Options{PostsPerPage: 1})
	ctx := context.Background()
	for _, title := range []string{"Second post", "Third post"} {
		if _, err := st.CreatePost(ctx, store.NewPost{Title: title, Markdown: "Body of " + title}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreatePost(ctx, store.NewPost{Title: "About", Type: store.TypePage, Markdown: "About page"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreatePost(ctx, store.NewPost{Title: "Secret", Status: store.StatusDraft}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, target string
		status               int
		location             string
		cacheControl         string
		body                 string
	}{
		{"home lists newest post", "GET", "/", 200, "", "public, max-age=0", "Third post"},
		{"second page", "GET", "/page/2/", 200, "", "public, max-age=0", "Second post"},
		{"last page", "GET", "/page/3/", 200, "", "public, max-age=0", "Welcome to Wisp"},
		{"page one redirects home", "GET", "/page/1/", 301, "/", cacheControlRedirect, ""},
		{"page zero", "GET", "/page/0/", 404, "", cacheControlError, "Page not found"},
		{"page not a number", "GET", "/page/abc/", 404, "", cacheControlError, ""},
		{"page beyond the last", "GET", "/page/99999/", 404, "", cacheControlError, ""},
		{"page number overflowing int", "GET", "/page/99999999999999999999/", 404, "", cacheControlError, ""},
		{"post by slug", "GET", "/welcome/", 200, "", "public, max-age=0", "<strong>Wisp</strong>"},
		{"static page by slug", "GET", "/about/", 200, "", "public, max-age=0", "About page"},
		{"draft is not served", "GET", "/secret/", 404, "", cacheControlError, ""},
		{"unknown slug", "GET", "/no-such-post/", 404, "", cacheControlError, "Page not found"},
		{"junk nested path", "GET", "/a/b/c/", 404, "", cacheControlError, ""},
		{"missing file is a plain 404", "GET", "/missing.ico", 404, "", "", "Not Found"},
		{"trailing slash added", "GET", "/welcome", 301, "/welcome/", cacheControlRedirect, ""},
		{"trailing slash keeps the query", "GET", "/welcome?ref=x", 301, "/welcome/?ref=x", cacheControlRedirect, ""},
		{"uppercase is lowercased", "GET", "/Welcome/", 301, "/welcome/", cacheControlRedirect, ""},
		{"non-ASCII capitals alone do not redirect", "GET", "/%C3%89T%C3%89/", 301, "/%C3%A9t%C3%A9/", cacheControlRedirect, ""},
		{"only non-ASCII capitals", "GET", "/%C3%89/", 404, "", cacheControlError, ""},
		{"double slashes collapse, never an open redirect", "GET", "//evil.example/", 301, "/evil.example/", cacheControlRedirect, ""},
		{"over-long URL", "GET", "/" + strings.Repeat("a", 3000) + "/", 404, "", cacheControlError, ""},
		{"odd characters in slug", "GET", "/%00%ff'\"<x>/", 404, "", cacheControlError, ""},
		{"HEAD has headers, no body", "HEAD", "/welcome/", 200, "", "public, max-age=0", ""},
		{"HEAD of a 404", "HEAD", "/nope/", 404, "", cacheControlError, ""},
		{"POST is refused", "POST", "/", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.target)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %.200s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if tt.cacheControl != "" && rec.Header().Get("Cache-Control") != tt.cacheControl {
				t.Errorf("Cache-Control = %q, want %q", rec.Header().Get("Cache-Control"), tt.cacheControl)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body lacks %q: %.300s", tt.body, rec.Body)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD wrote %d body bytes", rec.Body.Len())
			}
			if (tt.status == 200 || (tt.status == 404 && tt.body != "Not Found")) && tt.method == "GET" {
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type = %q", ct)
				}
				if err := htmlcheck.Check(rec.Body.String()); err != nil {
					t.Errorf("invalid HTML: %v", err)
				}
			}
		})
	}
}

func TestConditionalRequests(t *testing.T) {
	_, h := newSite(t, Options{})
	first := do(h, "GET", "/welcome/")
	etag, lastMod := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
	if etag == "" || lastMod == "" {
		t.Fatalf("ETag %q, Last-Modified %q: want both", etag, lastMod)
	}
	tests := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"matching If-None-Match", []string{"If-None-Match", etag}, 304},
		{"If-None-Match in a list", []string{"If-None-Match", `"other", ` + etag}, 304},
		{"If-None-Match star", []string{"If-None-Match", "*"}, 304},
		{"stale If-None-Match", []string{"If-None-Match", `W/"nope"`}, 200},
		{"If-Modified-Since equal", []string{"If-Modified-Since", lastMod}, 304},
		{"If-Modified-Since older", []string{"If-Modified-Since", time.Unix(0, 0).UTC().Format(http.TimeFormat)}, 200},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `W/"nope"`, "If-Modified-Since", lastMod}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, "GET", "/welcome/", tt.hdr...)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.status == 304 && (rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag) {
				t.Errorf("304 with body %d bytes, ETag %q", rec.Body.Len(), rec.Header().Get("ETag"))
			}
		})
	}
}

func TestNewPostShowsWithoutRestartAndChangesETag(t *testing.T) {
	st, h := newSite(t, Options{})
	before := do(h, "GET", "/")
	if again := do(h, "GET", "/"); again.Header().Get("ETag") != before.Header().Get("ETag") {
		t.Fatal("ETag changed without a data change")
	}
	if _, err := st.CreatePost(context.Background(), store.NewPost{Title: "Fresh news", Markdown: "hi"}); err != nil {
		t.Fatal(err)
	}
	after := do(h, "GET", "/")
	if !strings.Contains(after.Body.String(), "Fresh news") {
		t.Error("new post missing from the cached home page")
	}
	if after.Header().Get("ETag") == before.Header().Get("ETag") {
		t.Error("ETag unchanged after new content")
	}
	if rec := do(h, "GET", "/", "If-None-Match", before.Header().Get("ETag")); rec.Code != 200 {
		t.Errorf("old ETag got %d, want 200", rec.Code)
	}
	if rec := do(h, "GET", "/fresh-news/"); rec.Code != 200 {
		t.Errorf("new post page: %d", rec.Code)
	}
}

func TestSubdirectorySiteMovesEveryRoute(t *testing.T) {
	_, h := newSite(t, Options{URL: "https://example.com/blog/"})
	tests := []struct {
		target   string
		status   int
		location string
		body     string
	}{
		{"/blog/", 200, "", `href="https://example.com/blog/welcome/"`},
		{"/blog/welcome/", 200, "", `rel="canonical" href="https://example.com/blog/welcome/"`},
		{"/blog", 301, "/blog/", ""},
		{"/blog/welcome", 301, "/blog/welcome/", ""},
		{"/blog/page/1/", 301, "/blog/", ""},
		{"/", 404, "", ""},
		{"/welcome/", 404, "", ""},
		{"/blogger/", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := do(h, "GET", tt.target)
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.location || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("got %d Location %q body %.200s; want %d %q %q", rec.Code, rec.Header().Get("Location"), rec.Body, tt.status, tt.location, tt.body)
			}
		})
	}
}

// failing is a Source whose database is broken.
type failing struct{}

var errDB = errors.New("disk I/O error")

func (failing) DataVersion(context.Context) (int64, error)       { return 1, nil }
func (failing) Settings(context.Context) (store.Settings, error) { return store.Settings{}, nil }
func (failing) PublishedPosts(context.Context, int, int) ([]store.Post, error) {
	return nil, errDB
}
func (failing) CountPublishedPosts(context.Context) (int, error) { return 0, errDB }
func (failing) PublishedBySlug(context.Context, string) (store.Post, error) {
	return store.Post{}, fmt.Errorf("wrapped: %w", errDB)
}
func (failing) ListPosts(context.Context, store.Filter, int, int) ([]store.Post, error) {
	return nil, errDB
}
func (failing) CountPosts(context.Context, store.Filter) (int, error) { return 0, errDB }
func (failing) FeedPosts(context.Context, store.Filter, int) ([]store.Post, error) {
	return nil, errDB
}
func (failing) TagBySlug(context.Context, string) (store.Tag, error) { return store.Tag{}, errDB }
func (failing) AuthorBySlug(context.Context, string) (store.Author, error) {
	return store.Author{}, errDB
}
func (failing) SitemapEntries(context.Context, string, int, int) ([]store.SitemapEntry, error) {
	return nil, errDB
}
func (failing) SitemapSummary(context.Context, string) (int, time.Time, error) {
	return 0, time.Time{}, errDB
}

func TestDatabaseErrorsAre500WithoutDetails(t *testing.T) {
	h, err := New(failing{}, Options{URL: "http://example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/", "/welcome/", "/tag/x/", "/author/x/", "/rss/", "/sitemap.xml", "/sitemap-posts.xml"} {
		rec := do(h, "GET", target)
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "disk") {
			t.Errorf("%s: %d %q", target, rec.Code, rec.Body)
		}
	}
}

func TestNewRejectsBadSiteURL(t *testing.T) {
	for _, u := range []string{"", "example.com", "ftp://x/", "http://"} {
		if _, err := New(failing{}, Options{URL: u}); err == nil {
			t.Errorf("New(%q): want an error", u)
		}
	}
}

func TestSettingsChangeMovesLastModified(t *testing.T) {
	clock := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ghost.db"), store.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := New(st, Options{URL: "http://example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	before := do(h, "GET", "/")
	clock = clock.Add(time.Hour)
	if err := st.SetSetting(context.Background(), "site", "title", "Renamed"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/welcome/"} {
		after := do(h, "GET", path, "If-Modified-Since", before.Header().Get("Last-Modified"))
		if after.Code != 200 || !strings.Contains(after.Body.String(), "Renamed") {
			t.Errorf("%s after a title change: %d, renamed=%v", path, after.Code, strings.Contains(after.Body.String(), "Renamed"))
		}
		if got := after.Header().Get("Last-Modified"); got != clock.Format(http.TimeFormat) {
			t.Errorf("%s Last-Modified = %q, want %q", path, got, clock.Format(http.TimeFormat))
		}
	}
}
