// Package web is the site's HTTP handler: Ghost's front-end routes for
// the home page, its pagination and single posts and pages, with Ghost's
// redirects, headers and a themed 404. Rendered pages are cached until the
// database changes.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wisp/internal/blog/render"
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
}

// Options configure a Handler.
type Options struct {
	// URL is the site URL; its path is the sub-directory the site lives in.
	URL string
	// FrontendMaxAge is caching.frontend.maxAge in seconds (Ghost: 0).
	FrontendMaxAge int
	// PostsPerPage is the page size of post lists (default 10).
	PostsPerPage int
	// Theme renders pages; nil means the built-in theme.
	Theme theme.Renderer
	// CacheBytes bounds the rendered-page cache (default 32 MiB).
	CacheBytes int
	Log        *slog.Logger
}

// Handler serves the site.
type Handler struct {
	src          Source
	theme        theme.Renderer
	log          *slog.Logger
	site         *url.URL
	subdir       string // "" or "/blog", without trailing slash
	perPage      int
	cacheControl string
	cache        *pageCache
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
	if opts.Theme == nil {
		if opts.Theme, err = theme.Default(); err != nil {
			return nil, err
		}
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
	return &Handler{
		src:          src,
		theme:        opts.Theme,
		log:          opts.Log,
		site:         site,
		subdir:       strings.TrimSuffix(site.Path, "/"),
		perPage:      opts.PostsPerPage,
		cacheControl: fmt.Sprintf("public, max-age=%d", opts.FrontendMaxAge),
		cache:        newPageCache(opts.CacheBytes),
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
	if !strings.HasSuffix(p, "/") {
		// A path whose last segment has an extension is a file; Ghost
		// serves those before this redirect and 404s plainly when missing.
		if strings.Contains(p[strings.LastIndexByte(p, '/'):], ".") {
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
	hdr.Set("Cache-Control", h.cacheControl)
	hdr.Set("ETag", pg.etag)
	if pg.lastModified != "" {
		hdr.Set("Last-Modified", pg.lastModified)
	}
	if notModified(r, pg) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", contentTypeHTML)
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

// renderRoute matches Ghost's default routes.
func (h *Handler) renderRoute(ctx context.Context, rel string) (*page, error) {
	segs := strings.Split(strings.Trim(rel, "/"), "/")
	switch {
	case rel == "/":
		return h.renderIndex(ctx, 1)
	case len(segs) == 2 && segs[0] == "page":
		n, ok := pageNumber(segs[1])
		if !ok {
			return nil, errNotFound
		}
		if n == 1 {
			return nil, errRedirect{to: "/"}
		}
		return h.renderIndex(ctx, n)
	case len(segs) == 1:
		return h.renderPost(ctx, segs[0])
	}
	return nil, errNotFound
}

// pageNumber accepts what Ghost's \d+ page parameter accepts, within int.
func pageNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1
}

func (h *Handler) renderIndex(ctx context.Context, n int) (*page, error) {
	total, err := h.src.CountPublishedPosts(ctx)
	if err != nil {
		return nil, err
	}
	pages := max(1, (total+h.perPage-1)/h.perPage)
	if n > pages {
		return nil, errNotFound
	}
	posts, err := h.src.PublishedPosts(ctx, h.perPage, (n-1)*h.perPage)
	if err != nil {
		return nil, err
	}
	site, modified, err := h.siteView(ctx)
	if err != nil {
		return nil, err
	}
	data := theme.IndexPage{Site: site, Canonical: h.pageURL(n), Pagination: theme.Pagination{Page: n, Pages: pages}}
	if n > 1 {
		data.Pagination.Prev = h.pageURL(n - 1)
	}
	if n < pages {
		data.Pagination.Next = h.pageURL(n + 1)
	}
	for _, p := range posts {
		data.Posts = append(data.Posts, h.postView(p, excerptRunes))
		modified = later(modified, p.UpdatedAt)
	}
	return h.renderPage("index", data, http.StatusOK, modified)
}

func (h *Handler) renderPost(ctx context.Context, slug string) (*page, error) {
	p, err := h.src.PublishedBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	site, settingsChanged, err := h.siteView(ctx)
	if err != nil {
		return nil, err
	}
	view := h.postView(p, descriptionRunes)
	if p.MetaDescription != "" {
		view.Excerpt = p.MetaDescription
	}
	canonical := view.URL
	if p.CanonicalURL != "" {
		canonical = p.CanonicalURL
	}
	tmpl := "post"
	if p.Type == store.TypePage {
		tmpl = "page"
	}
	return h.renderPage(tmpl, theme.PostPage{Site: site, Post: view, Canonical: canonical}, http.StatusOK, later(p.UpdatedAt, settingsChanged))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (h *Handler) renderPage(name string, data any, status int, modified time.Time) (*page, error) {
	var buf bytes.Buffer
	if err := h.theme.Render(&buf, name, data); err != nil {
		return nil, err
	}
	sum := fnv.New64a()
	sum.Write(buf.Bytes())
	pg := &page{
		status:   status,
		body:     buf.Bytes(),
		etag:     fmt.Sprintf(`W/"%x-%x"`, buf.Len(), sum.Sum64()),
		modified: modified.UTC(),
	}
	if !modified.IsZero() {
		pg.lastModified = pg.modified.Format(http.TimeFormat)
	}
	return pg, nil
}

// pageURL is the URL of page n of the post list; page 1 is the home page.
func (h *Handler) pageURL(n int) string {
	if n <= 1 {
		return h.abs("/")
	}
	return h.abs("/page/" + strconv.Itoa(n) + "/")
}

// abs returns the absolute URL of a site-relative path.
func (h *Handler) abs(rel string) string {
	return h.site.Scheme + "://" + h.site.Host + h.subdir + rel
}

// siteView returns what every page shows of the site, and when the
// settings behind it last changed.
func (h *Handler) siteView(ctx context.Context) (theme.Site, time.Time, error) {
	s, err := h.src.Settings(ctx)
	if err != nil {
		return theme.Site{}, time.Time{}, err
	}
	return theme.Site{
		Title:       s.Get("title", "Wisp"),
		Description: s.Get("description", ""),
		URL:         h.abs("/"),
		Lang:        s.Get("locale", "en"),
		AccentColor: s.Get("accent_color", "#FF1A75"),
	}, s.UpdatedAt, nil
}

func (h *Handler) postView(p store.Post, excerpt int) theme.Post {
	v := theme.Post{
		Title:               p.Title,
		URL:                 h.abs("/" + p.Slug + "/"),
		Excerpt:             p.CustomExcerpt,
		HTML:                safeHTML(p.HTML),
		FeatureImage:        p.FeatureImage,
		FeatureImageAlt:     p.FeatureImageAlt,
		FeatureImageCaption: p.FeatureImageCaption,
		PublishedAt:         p.PublishedAt,
		IsPage:              p.Type == store.TypePage,
	}
	if v.Excerpt == "" {
		v.Excerpt = render.Excerpt(p.Plaintext, excerpt)
	}
	if p.HTML != "" {
		v.ReadingTime = render.ReadingTime(p.HTML, p.FeatureImage != "")
	}
	for _, a := range p.Authors {
		v.Authors = append(v.Authors, theme.Author{Name: a.Name})
	}
	for _, t := range p.Tags {
		if t.Visibility == "public" {
			v.Tags = append(v.Tags, theme.Tag{Name: t.Name})
		}
	}
	return v
}

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
	site, _, err := h.siteView(ctx)
	if err != nil {
		return nil, err
	}
	pg, err := h.renderPage("error-404", theme.ErrorPage{Site: site, Status: http.StatusNotFound, Message: "Page not found"}, http.StatusNotFound, time.Time{})
	if err != nil {
		return nil, err
	}
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
