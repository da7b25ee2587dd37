package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wisp/internal/blog/feed"
	"wisp/internal/blog/sitemap"
	"wisp/internal/blog/store"
	"wisp/internal/blog/theme"
)

// feedItems is how many posts a feed carries (Ghost's default).
const feedItems = 15

// fileRoutes are the generated files at fixed paths.
var fileRoutes = map[string]bool{"/robots.txt": true, "/sitemap.xml": true}

// sitemapFile reports whether rel names a sub-sitemap, such as
// /sitemap-posts.xml or /sitemap-posts-2.xml.
func sitemapFile(rel string) bool {
	_, _, ok := parseSitemapName(rel)
	return ok
}

// parseSitemapName splits /sitemap-<kind>[-N].xml; N is never 1, as the
// unnumbered file is page 1.
func parseSitemapName(rel string) (kind string, page int, ok bool) {
	name, found := strings.CutPrefix(rel, "/sitemap-")
	if !found {
		return "", 0, false
	}
	name, found = strings.CutSuffix(name, ".xml")
	if !found {
		return "", 0, false
	}
	kind, num, numbered := strings.Cut(name, "-")
	page = 1
	if numbered {
		n, valid := pageNumber(num)
		if !valid || n == 1 {
			return "", 0, false
		}
		page = n
	}
	switch kind {
	case store.SitemapPosts, store.SitemapPages, store.SitemapTags, store.SitemapAuthors:
		return kind, page, true
	}
	return "", 0, false
}

// renderRoute matches Ghost's default routes.
func (h *Handler) renderRoute(ctx context.Context, rel string) (*page, error) {
	switch {
	case rel == "/robots.txt":
		return h.renderRobots(ctx)
	case rel == "/sitemap.xml":
		return h.renderSitemapIndex(ctx)
	case strings.HasSuffix(rel, ".xml"):
		kind, n, ok := parseSitemapName(rel)
		if !ok {
			return nil, errNotFound
		}
		return h.renderSitemap(ctx, kind, n)
	}
	segs := strings.Split(strings.Trim(rel, "/"), "/")
	if len(segs) > 1 && segs[len(segs)-1] == "amp" {
		// Ghost 6 removed AMP and sends its URLs to the page itself.
		return nil, errRedirect{to: "/" + strings.Join(segs[:len(segs)-1], "/") + "/"}
	}
	switch segs[0] {
	case "tag", "author":
		if len(segs) >= 2 {
			return h.renderArchive(ctx, segs[0], segs[1], segs[2:])
		}
	}
	if rel == "/" {
		return h.renderList(ctx, home, 1)
	}
	if a, ok := h.listRoute(home, segs); ok {
		return a(ctx)
	}
	if len(segs) == 1 {
		return h.renderPost(ctx, segs[0])
	}
	return nil, errNotFound
}

// listRoute matches what follows a collection or archive: page/N/, rss/
// or feed/ (which Ghost redirects to rss/).
func (h *Handler) listRoute(a archive, rest []string) (func(context.Context) (*page, error), bool) {
	switch {
	case len(rest) == 1 && rest[0] == "rss":
		return func(ctx context.Context) (*page, error) { return h.renderFeed(ctx, a) }, true
	case len(rest) == 1 && rest[0] == "feed":
		return func(context.Context) (*page, error) { return nil, errRedirect{to: a.path + "rss/"} }, true
	case len(rest) == 2 && rest[0] == "page":
		n, ok := pageNumber(rest[1])
		return func(ctx context.Context) (*page, error) {
			switch {
			case !ok:
				return nil, errNotFound
			case n == 1:
				return nil, errRedirect{to: a.path}
			}
			return h.renderList(ctx, a, n)
		}, true
	}
	return nil, false
}

// pageNumber accepts what Ghost's \d+ page parameter accepts, within int.
func pageNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1
}

// archive is the collection a list shows: the whole site (zero value), a
// tag or an author.
type archive struct {
	kind   string // "", "tag" or "author"
	path   string // site-relative URL of page 1: "/" or e.g. "/tag/go/"
	filter store.Filter
	tag    store.Tag
	author store.Author
}

// home is the site's own collection.
var home = archive{path: "/"}

func (a archive) name() string {
	switch a.kind {
	case "tag":
		return a.tag.Name
	case "author":
		return a.author.Name
	}
	return ""
}

func (h *Handler) renderArchive(ctx context.Context, kind, slug string, rest []string) (*page, error) {
	a := archive{kind: kind, path: "/" + kind + "/" + slug + "/"}
	var err error
	if kind == "tag" {
		a.tag, err = h.src.TagBySlug(ctx, slug)
		a.filter.TagID = a.tag.ID
	} else {
		a.author, err = h.src.AuthorBySlug(ctx, slug)
		a.filter.AuthorID = a.author.ID
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(rest) == 0 {
		return h.renderList(ctx, a, 1)
	}
	if route, ok := h.listRoute(a, rest); ok {
		return route(ctx)
	}
	return nil, errNotFound
}

// listPageURL is the URL of page n of an archive; page 1 is the archive.
func (h *Handler) listPageURL(a archive, n int) string {
	if n <= 1 {
		return h.abs(a.path)
	}
	return h.abs(a.path + "page/" + strconv.Itoa(n) + "/")
}

func (h *Handler) renderList(ctx context.Context, a archive, n int) (*page, error) {
	sc, err := h.siteContext(ctx, a.path)
	if err != nil {
		return nil, err
	}
	total, err := h.src.CountPosts(ctx, a.filter)
	if err != nil {
		return nil, err
	}
	pages := max(1, (total+sc.perPage-1)/sc.perPage)
	if n > pages {
		return nil, errNotFound
	}
	posts, err := h.src.ListPosts(ctx, a.filter, sc.perPage, (n-1)*sc.perPage)
	if err != nil {
		return nil, err
	}
	data := theme.IndexPage{Site: sc.view, Total: total, Pagination: theme.Pagination{Page: n, Pages: pages}}
	if n > 1 {
		data.Pagination.Prev = h.listPageURL(a, n-1)
	}
	if n < pages {
		data.Pagination.Next = h.listPageURL(a, n+1)
	}
	modified := sc.modified
	for _, p := range posts {
		data.Posts = append(data.Posts, h.postView(sc, p, excerptRunes))
		modified = later(modified, p.UpdatedAt)
	}
	data.Head = h.listHead(sc, a, n, data.Pagination)
	tmpl := "index"
	switch a.kind {
	case "tag":
		data.Tag = h.tagView(a.tag)
		tmpl = "tag"
	case "author":
		data.Author = h.authorView(a.author)
		tmpl = "author"
	}
	return h.renderHTML(sc, tmpl, data, modified)
}

func (h *Handler) renderPost(ctx context.Context, slug string) (*page, error) {
	p, err := h.src.PublishedBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	sc, err := h.siteContext(ctx, "/"+p.Slug+"/")
	if err != nil {
		return nil, err
	}
	p.HTML = h.bodyHTML(p)
	view := h.postView(sc, p, descriptionRunes)
	tmpl := "post"
	if p.Type == store.TypePage {
		tmpl = "page"
	}
	data := theme.PostPage{Site: sc.view, Post: view, Head: h.postHead(sc, p, view)}
	return h.renderHTML(sc, tmpl, data, later(p.UpdatedAt, sc.modified))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// newPage wraps a rendered body with its validators.
func newPage(body []byte, contentType, cacheControl string, modified time.Time) *page {
	sum := fnv.New64a()
	sum.Write(body)
	pg := &page{
		status:       http.StatusOK,
		contentType:  contentType,
		cacheControl: cacheControl,
		body:         body,
		etag:         fmt.Sprintf(`W/"%x-%x"`, len(body), sum.Sum64()),
		modified:     modified.UTC(),
	}
	if !modified.IsZero() {
		pg.lastModified = pg.modified.Format(http.TimeFormat)
	}
	return pg
}

func (h *Handler) renderHTML(sc siteContext, name string, data any, modified time.Time) (*page, error) {
	var buf bytes.Buffer
	if err := sc.theme.Render(&buf, name, data); err != nil {
		return nil, err
	}
	return newPage(buf.Bytes(), contentTypeHTML, h.ccFrontend, modified), nil
}

func (h *Handler) renderFeed(ctx context.Context, a archive) (*page, error) {
	sc, err := h.siteContext(ctx, a.path)
	if err != nil {
		return nil, err
	}
	posts, err := h.src.FeedPosts(ctx, a.filter, feedItems)
	if err != nil {
		return nil, err
	}
	link := h.listPageURL(a, 1)
	ch := feed.Channel{
		Title:       sc.view.Title,
		Description: sc.view.Description,
		Link:        link,
		SelfURL:     link + "rss/",
		ImageURL:    sc.view.Icon,
		Generator:   "Wisp",
		LastBuild:   sc.modified,
	}
	if name := a.name(); name != "" {
		ch.Title = name + " - " + sc.view.Title
	}
	for _, p := range posts {
		ch.LastBuild = later(ch.LastBuild, p.UpdatedAt)
		html := h.bodyHTML(p)
		it := feed.Item{
			Title:       p.Title,
			Description: firstNonEmpty(p.CustomExcerpt, p.MetaDescription, excerpt(p.Plaintext, descriptionRunes)),
			Link:        h.abs("/" + p.Slug + "/"),
			GUID:        p.ID,
			Published:   p.PublishedAt,
		}
		for _, t := range p.Tags {
			if t.Visibility == "public" {
				it.Categories = append(it.Categories, t.Name)
			}
		}
		if len(p.Authors) > 0 {
			it.Creator = p.Authors[0].Name
		}
		if p.FeatureImage != "" {
			it.ImageURL = h.absMedia(p.FeatureImage)
			// As Ghost does, for readers that ignore media:content.
			html = `<img src="` + escapeAttr(it.ImageURL) + `" alt="` + escapeAttr(p.Title) + `"><br>` + html
		}
		it.HTML = html
		ch.Items = append(ch.Items, it)
	}
	var buf bytes.Buffer
	if err := feed.Write(&buf, ch); err != nil {
		return nil, err
	}
	return newPage(buf.Bytes(), feed.ContentType, h.ccFrontend, ch.LastBuild), nil
}

// sitemapKinds are the sub-sitemaps in the order Ghost's index lists them.
var sitemapKinds = []string{store.SitemapPages, store.SitemapPosts, store.SitemapAuthors, store.SitemapTags}

func (h *Handler) renderSitemapIndex(ctx context.Context) (*page, error) {
	var refs []sitemap.Ref
	var modified time.Time
	for _, kind := range sitemapKinds {
		n, last, err := h.src.SitemapSummary(ctx, kind)
		if err != nil {
			return nil, err
		}
		modified = later(modified, last)
		files := max(1, (n+sitemap.PageSize-1)/sitemap.PageSize)
		for i := 1; i <= files; i++ {
			name := "/sitemap-" + kind + ".xml"
			if i > 1 {
				name = "/sitemap-" + kind + "-" + strconv.Itoa(i) + ".xml"
			}
			refs = append(refs, sitemap.Ref{Loc: h.abs(name), LastMod: last})
		}
	}
	var buf bytes.Buffer
	if err := sitemap.WriteIndex(&buf, refs); err != nil {
		return nil, err
	}
	return newPage(buf.Bytes(), sitemap.ContentType, h.ccSitemap, modified), nil
}

func (h *Handler) renderSitemap(ctx context.Context, kind string, n int) (*page, error) {
	entries, err := h.src.SitemapEntries(ctx, kind, sitemap.PageSize, (n-1)*sitemap.PageSize)
	if err != nil {
		return nil, err
	}
	if n > 1 && len(entries) == 0 {
		return nil, errNotFound
	}
	var urls []sitemap.URL
	var modified time.Time
	if kind == store.SitemapPages && n == 1 {
		// Ghost lists the home page first among the pages.
		urls = append(urls, sitemap.URL{Loc: h.abs("/")})
	}
	for _, e := range entries {
		u := sitemap.URL{LastMod: e.Modified, ImageCaption: e.ImageCaption}
		switch kind {
		case store.SitemapTags:
			u.Loc = h.abs("/tag/" + e.Slug + "/")
		case store.SitemapAuthors:
			u.Loc = h.abs("/author/" + e.Slug + "/")
		default:
			u.Loc = h.abs("/" + e.Slug + "/")
		}
		if e.Image != "" {
			u.Image = h.absMedia(e.Image)
		}
		modified = later(modified, e.Modified)
		urls = append(urls, u)
	}
	if len(urls) > 0 && urls[0].LastMod.IsZero() {
		urls[0].LastMod = modified
	}
	var buf bytes.Buffer
	if err := sitemap.WriteURLSet(&buf, urls); err != nil {
		return nil, err
	}
	return newPage(buf.Bytes(), sitemap.ContentType, h.ccSitemap, modified), nil
}

// robotsDisallow are the paths Ghost's default robots.txt keeps crawlers out of.
var robotsDisallow = []string{"/ghost/", "/p/", "/email/", "/r/", "/webmentions/receive/"}

func (h *Handler) renderRobots(ctx context.Context) (*page, error) {
	var b strings.Builder
	b.WriteString("User-agent: *\n")
	b.WriteString("Sitemap: " + h.abs("/sitemap.xml") + "\n")
	for _, d := range robotsDisallow {
		b.WriteString("Disallow: " + h.subdir + d + "\n")
	}
	return newPage([]byte(b.String()), "text/plain; charset=utf-8", h.ccRobots, time.Time{}), nil
}
