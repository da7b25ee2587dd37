// Package web is the site's HTTP handler: Ghost's front-end routes for
// the home page, its pagination and single posts and pages, with Ghost's
// redirects, headers and a themed 404. Rendered pages are cached until the
// database changes.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wisp/internal/blog/store"
	"wisp/internal/blog/theme"
)

// Source is what the handler reads; *store.Store implements it.
type Source interface {
	DataVersion(ctx context.Context) (int64, error)
	Settings(ctx context.Context) (store.Settings, error)
	PublishedPosts(ctx context.Context, limit, offset int) ([]store.Post, error)
	CountPublishedPosts(ctx context.Context) (int, error)
	PublishedBySlug(ctx context.Context, slug string) (store.Post, error)
	ListPosts(ctx context.Context, f store.Filter, limit, offset int) ([]store.Post, error)
	CountPosts(ctx context.Context, f store.Filter) (int, error)
	FeedPosts(ctx context.Context, f store.Filter, limit int) ([]store.Post, error)
	TagBySlug(ctx context.Context, slug string) (store.Tag, error)
	AuthorBySlug(ctx context.Context, slug string) (store.Author, error)
	SitemapEntries(ctx context.Context, kind string, limit, offset int) ([]store.SitemapEntry, error)
	SitemapSummary(ctx context.Context, kind string) (int, time.Time, error)
}

// Options configure a Handler.
type Options struct {
	// URL is the site URL; its path is the sub-directory the site lives in.
	URL string
	// Caching is Ghost's caching config; nil means Ghost's defaults.
	Caching *Caching
	// PostsPerPage is the page size of post lists when the posts_per_page
	// setting is unset (default 10).
	PostsPerPage int
	// ContentPath is the site's content folder: images/ is served under
	// /content/images/ and themes/<active_theme>/ overrides the built-in
	// theme. Empty serves neither.
	ContentPath string
	// Theme, when set, is used whatever the active_theme setting says.
	Theme *theme.Theme
	// CacheBytes bounds the rendered-page cache (default 32 MiB).
	CacheBytes int
	Log        *slog.Logger
}

// Caching are the max-age values, in seconds, of Ghost's caching config:
// frontend pages and feeds, sitemaps, robots.txt, and theme assets and
// images.
type Caching struct {
	Frontend, Sitemap, Robots, Theme int
}

// Handler serves the site.
type Handler struct {
	src     Source
	themes  *themes
	log     *slog.Logger
	site    *url.URL
	subdir  string // "" or "/blog", without trailing slash
	perPage int
	// Cache-Control values, from Ghost's caching config.
	ccFrontend, ccSitemap, ccRobots, ccStatic string
	contentPath                               string
	cache                                     *pageCache
	sourceErrors                              *onceLog
}

// Header values Ghost sends.
const (
	cacheControlRedirect = "public, max-age=31536000"
	cacheControlError    = "no-cache, private, no-store, must-revalidate, max-stale=0, post-check=0, pre-check=0"
	contentTypeHTML      = "text/html; charset=utf-8"
	// maxPathLen turns absurd URLs into a cheap 404.
	maxPathLen = 2048
	// excerptRunes sizes the excerpts on post lists.
	excerptRunes = 300
	// descriptionRunes sizes a post's meta description fallback.
	descriptionRunes = 500
)

// New returns the site handler.
func New(src Source, opts Options) (*Handler, error) {
	site, err := url.Parse(opts.URL)
	if err != nil || (site.Scheme != "http" && site.Scheme != "https") || site.Host == "" {
		return nil, fmt.Errorf("site url %q must be an absolute http(s) URL", opts.URL)
	}
	if !strings.HasSuffix(site.Path, "/") {
		site.Path += "/"
	}
	th, err := newThemes(opts.Theme, opts.ContentPath)
	if err != nil {
		return nil, err
	}
	if opts.PostsPerPage <= 0 {
		opts.PostsPerPage = 10
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 32 << 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Caching == nil {
		opts.Caching = &Caching{Sitemap: 3600, Robots: 3600, Theme: 31536000}
	}
	maxAge := func(n int) string { return fmt.Sprintf("public, max-age=%d", max(n, 0)) }
	return &Handler{
		src:          src,
		themes:       th,
		log:          opts.Log,
		site:         site,
		subdir:       strings.TrimSuffix(site.Path, "/"),
		perPage:      opts.PostsPerPage,
		ccFrontend:   maxAge(opts.Caching.Frontend),
		ccSitemap:    maxAge(opts.Caching.Sitemap),
		ccRobots:     maxAge(opts.Caching.Robots),
		ccStatic:     maxAge(opts.Caching.Theme),
		contentPath:  opts.ContentPath,
		cache:        newPageCache(opts.CacheBytes),
		sourceErrors: newOnceLog(opts.Log),
	}, nil
}

// errNotFound is how route handlers say 404.
var errNotFound = errors.New("page not found")

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if len(p) > maxPathLen || !strings.HasPrefix(p, "/") || !printable(p) {
		h.notFound(w, r)
		return
	}
	if clean := collapseSlashes(p); clean != p {
		h.redirect(w, r, clean)
		return
	}
	rel, ok := h.relative(p)
	if !ok {
		h.notFound(w, r)
		return
	}
	if h.serveStatic(w, r, rel) {
		return
	}
	if !strings.HasSuffix(p, "/") {
		// A path whose last segment has an extension is a file; Ghost
		// serves those before this redirect and 404s plainly when missing.
		if strings.Contains(p[strings.LastIndexByte(p, '/'):], ".") {
			if fileRoutes[rel] || sitemapFile(rel) {
				h.serveCached(w, r, rel)
				return
			}
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		h.redirect(w, r, p+"/")
		return
	}
	// Ghost lowercases when the path has an ASCII capital, and then the
	// whole path, as JavaScript's toLowerCase does.
	if strings.ContainsFunc(p, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		h.redirect(w, r, strings.ToLower(p))
		return
	}
	h.serveCached(w, r, rel)
}

// relative strips the sub-directory; ok is false outside it.
func (h *Handler) relative(p string) (string, bool) {
	if h.subdir == "" {
		return p, true
	}
	if p == h.subdir {
		return "/", true // redirected to the slash form by the caller
	}
	rest, ok := strings.CutPrefix(p, h.subdir+"/")
	return "/" + rest, ok
}

// printable rejects paths that do not decode to clean UTF-8 text, which
// Ghost answers with a 404.
func printable(p string) bool {
	if !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func collapseSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// redirect sends Ghost's permanent redirect to path, keeping the query.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path string) {
	target := (&url.URL{Path: path, RawQuery: r.URL.RawQuery}).String()
	w.Header().Set("Cache-Control", cacheControlRedirect)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusMovedPermanently)
}

// serveCached serves rel (a path relative to the site, ending in "/")
// from the cache, rendering it on a miss.
func (h *Handler) serveCached(w http.ResponseWriter, r *http.Request, rel string) {
	ctx := r.Context()
	gen, err := h.src.DataVersion(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg, ok := h.cache.get(gen, rel)
	if !ok {
		var rd errRedirect
		pg, err = h.renderRoute(ctx, rel)
		switch {
		case errors.Is(err, errNotFound):
			h.notFound(w, r)
			return
		case errors.As(err, &rd):
			h.redirect(w, r, h.subdir+rd.to)
			return
		case err != nil:
			h.fail(w, r, err)
			return
		}
		h.cache.put(gen, rel, pg)
	}
	h.writePage(w, r, pg)
}

// writePage sends a cached page, or 304 when the client's copy is current.
func (h *Handler) writePage(w http.ResponseWriter, r *http.Request, pg *page) {
	hdr := w.Header()
	hdr.Set("Cache-Control", pg.cacheControl)
	hdr.Set("ETag", pg.etag)
	if pg.lastModified != "" {
		hdr.Set("Last-Modified", pg.lastModified)
	}
	if notModified(r, pg) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", pg.contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(pg.body)))
	w.WriteHeader(pg.status)
	if r.Method != http.MethodHead {
		w.Write(pg.body)
	}
}

// notModified evaluates If-None-Match, or when it is absent
// If-Modified-Since, as RFC 9110 orders them for GET and HEAD.
func notModified(r *http.Request, pg *page) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return etagMatches(inm, pg.etag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || pg.modified.IsZero() {
		return false
	}
	t, err := http.ParseTime(ims)
	return err == nil && !pg.modified.Truncate(time.Second).After(t)
}

// etagMatches is the weak comparison of an If-None-Match list.
func etagMatches(header, etag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for part := range strings.SplitSeq(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(part), "W/") == want {
			return true
		}
	}
	return false
}

// errRedirect asks serveCached for a redirect to a site-relative path.
type errRedirect struct{ to string }

func (e errRedirect) Error() string { return "redirect to " + e.to }

// notFound renders the theme's 404 page with Ghost's no-cache headers.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := h.render404(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentTypeHTML)
	hdr.Set("Cache-Control", cacheControlError)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// notFoundKey caches the 404 page; it cannot clash with a path key.
const notFoundKey = "404"

func (h *Handler) render404(ctx context.Context) ([]byte, error) {
	gen, err := h.src.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	if pg, ok := h.cache.get(gen, notFoundKey); ok {
		return pg.body, nil
	}
	sc, err := h.siteContext(ctx, "")
	if err != nil {
		return nil, err
	}
	head := h.baseHead(sc, "Page not found", h.abs("/"))
	data := theme.ErrorPage{Site: sc.view, Head: head, Status: http.StatusNotFound, Message: "Page not found"}
	pg, err := h.renderHTML(sc, "error-404", data, time.Time{})
	if err != nil {
		return nil, err
	}
	pg.status = http.StatusNotFound
	h.cache.put(gen, notFoundKey, pg)
	return pg.body, nil
}

// fail logs an internal error and answers 500 without details.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away; nothing to answer
	}
	h.log.Error("request failed", "path", r.URL.Path, "err", err)
	w.Header().Set("Cache-Control", cacheControlError)
	http.Error(w, "Internal Server Error", http.StatusInternalServerError)
}
