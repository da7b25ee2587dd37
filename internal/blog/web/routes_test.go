package web

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wisp/internal/blog/htmlcheck"
	"wisp/internal/blog/store"
)

// newRichSite is a site with two authors, public and internal tags, a
// page, a post with a feature image and a content folder with an image
// beside a symlink that leads out of it.
func newRichSite(t testing.TB, url string) (*store.Store, *Handler) {
	t.Helper()
	content := t.TempDir()
	images := filepath.Join(content, "images", "2024", "01")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(images, "cat.png"), []byte("\x89PNG fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(images, "leak.png")); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(content, "data", "ghost.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.CreateAuthor(ctx, store.NewAuthor{Name: "Ann Lee", Email: "ann@example.com", Bio: "Writes about Go.",
		Website: "https://ann.example"}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	posts := []store.NewPost{
		{Title: "Go one", Markdown: "first", Tags: []string{"Go", "#hidden"}, Authors: []string{"ann-lee"}, PublishedAt: base},
		{Title: "Go two", Markdown: "second", Tags: []string{"Go"}, Authors: []string{"ann-lee", "wisp"}, PublishedAt: base.Add(time.Hour),
			FeatureImage: "/content/images/2024/01/cat.png", FeatureImageAlt: "A cat", FeatureImageCaption: "Our cat",
			CustomExcerpt: "Two is better.", CodeinjectionHead: `<meta name="x-post" content="1">`,
			Meta: store.PostMeta{OGTitle: "OG two", TwitterDescription: "Tweet two"}},
		{Title: "Hidden only", Markdown: "third", Tags: []string{"#internal-only"}, PublishedAt: base.Add(2 * time.Hour)},
		{Title: "About us", Type: store.TypePage, Markdown: "about"},
		{Title: "Later", Status: store.StatusScheduled, PublishedAt: time.Now().Add(time.Hour)},
	}
	for _, np := range posts {
		if _, err := st.CreatePost(ctx, np); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"navigation":         `[{"label":"Home","url":"/"},{"label":"About","url":"/about-us/"}]`,
		"codeinjection_head": `<meta name="x-site" content="1">`,
		"codeinjection_foot": `<!-- site foot -->`,
	} {
		if err := st.SetSetting(ctx, "site", k, v); err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(st, Options{URL: url, ContentPath: content, PostsPerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return st, h
}

func TestArchiveFeedSitemapAndFileRoutes(t *testing.T) {
	_, h := newRichSite(t, "http://example.com/")
	const (
		html   = "text/html; charset=utf-8"
		rss    = "application/rss+xml; charset=utf-8"
		xmlCT  = "text/xml; charset=utf-8"
		plain  = "text/plain; charset=utf-8"
		year   = "public, max-age=31536000"
		hourly = "public, max-age=3600"
	)
	tests := []struct {
		name, target string
		status       int
		location     string
		contentType  string
		cacheControl string
		body         string
	}{
		{"tag archive", "/tag/go/", 200, "", html, "public, max-age=0", "Go two"},
		{"tag archive page 2", "/tag/go/page/2/", 200, "", html, "", "Go one"},
		{"tag archive page 1 redirects", "/tag/go/page/1/", 301, "/tag/go/", "", year, ""},
		{"tag archive beyond the last page", "/tag/go/page/3/", 404, "", html, cacheControlError, ""},
		{"tag archive page zero", "/tag/go/page/0/", 404, "", html, "", ""},
		{"tag archive page not a number", "/tag/go/page/x/", 404, "", html, "", ""},
		{"tag feed", "/tag/go/rss/", 200, "", rss, "public, max-age=0", "<title><![CDATA[Go - Wisp]]></title>"},
		{"tag feed alias", "/tag/go/feed/", 301, "/tag/go/rss/", "", year, ""},
		{"internal tag has no page", "/tag/hash-hidden/", 404, "", html, "", ""},
		{"unknown tag", "/tag/nope/", 404, "", html, "", ""},
		{"junk under a tag", "/tag/go/x/", 404, "", html, "", ""},
		{"tag without slash", "/tag/go", 301, "/tag/go/", "", year, ""},
		{"tag in capitals", "/TAG/Go/", 301, "/tag/go/", "", year, ""},
		{"author archive", "/author/ann-lee/", 200, "", html, "", "Writes about Go."},
		{"author archive page 2", "/author/ann-lee/page/2/", 200, "", html, "", "Go one"},
		{"author feed", "/author/ann-lee/rss/", 200, "", rss, "", "Ann Lee - Wisp"},
		{"unknown author", "/author/nobody/", 404, "", html, "", ""},
		{"site feed", "/rss/", 200, "", rss, "", `<atom:link href="http://example.com/rss/" rel="self" type="application/rss+xml">`},
		{"site feed alias", "/feed/", 301, "/rss/", "", year, ""},
		{"AMP URL goes to the post", "/go-two/amp/", 301, "/go-two/", "", year, ""},
		{"sitemap index", "/sitemap.xml", 200, "", xmlCT, hourly, "http://example.com/sitemap-posts.xml"},
		{"posts sitemap", "/sitemap-posts.xml", 200, "", xmlCT, hourly, "http://example.com/go-two/"},
		{"pages sitemap", "/sitemap-pages.xml", 200, "", xmlCT, hourly, "http://example.com/about-us/"},
		{"tags sitemap", "/sitemap-tags.xml", 200, "", xmlCT, hourly, "http://example.com/tag/go/"},
		{"authors sitemap", "/sitemap-authors.xml", 200, "", xmlCT, hourly, "http://example.com/author/ann-lee/"},
		{"sitemap page 1 is unnumbered", "/sitemap-posts-1.xml", 404, "", "", "", ""},
		{"sitemap page past the end", "/sitemap-posts-2.xml", 404, "", "", "", ""},
		{"unknown sitemap", "/sitemap-things.xml", 404, "", "", "", ""},
		{"robots.txt", "/robots.txt", 200, "", plain, hourly, "Sitemap: http://example.com/sitemap.xml\nDisallow: /ghost/"},
		{"content image", "/content/images/2024/01/cat.png", 200, "", "image/png", year, "PNG fake"},
		{"missing content image", "/content/images/2024/01/dog.png", 404, "", "", "", ""},
		{"content image folder", "/content/images/2024/", 404, "", "", "", ""},
		{"traversal with dot segments", "/content/images/../../data/ghost.db", 404, "", "", "", ""},
		{"traversal with encoded dots", "/content/images/%2e%2e/data/ghost.db", 404, "", "", "", ""},
		{"symlink out of the images folder", "/content/images/2024/01/leak.png", 404, "", "", "", ""},
		{"theme asset", "/assets/built/screen.css", 200, "", "text/css; charset=utf-8", year, "--rule"},
		{"missing theme asset", "/assets/built/none.css", 404, "", "", "", ""},
		{"theme template is not an asset", "/assets/../post.html", 404, "", "", "", ""},
		{"scheduled post not yet live", "/later/", 404, "", html, "", ""},
		{"default favicon", "/favicon.ico", 200, "", "", "public, max-age=86400", ""},
		{"default png favicon", "/favicon.png", 200, "", "image/png", "public, max-age=86400", "PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, "GET", tt.target)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %.300s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if tt.contentType != "" && rec.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), tt.contentType)
			}
			if tt.cacheControl != "" && rec.Header().Get("Cache-Control") != tt.cacheControl {
				t.Errorf("Cache-Control = %q, want %q", rec.Header().Get("Cache-Control"), tt.cacheControl)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body lacks %q: %.500s", tt.body, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Error("served a file from outside the content folder")
			}
			if rec.Header().Get("Content-Type") == html {
				if err := htmlcheck.Check(rec.Body.String()); err != nil {
					t.Errorf("invalid HTML: %v", err)
				}
			}
		})
	}
}

// rssDoc is the part of RSS 2.0 the tests check.
type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title       string `xml:"title"`
		Description string `xml:"description"`
		// link and atom:link share a local name; the namespace tells them apart.
		Links []struct {
			XMLName xml.Name
			Href    string `xml:"href,attr"`
			Rel     string `xml:"rel,attr"`
			Value   string `xml:",chardata"`
		} `xml:"link"`
		Items []struct {
			Title string `xml:"title"`
			Link  string `xml:"link"`
			GUID  struct {
				IsPermaLink string `xml:"isPermaLink,attr"`
				Value       string `xml:",chardata"`
			} `xml:"guid"`
			Categories []string `xml:"category"`
			Creator    string   `xml:"http://purl.org/dc/elements/1.1/ creator"`
			PubDate    string   `xml:"pubDate"`
			Content    string   `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
			Media      struct {
				URL    string `xml:"url,attr"`
				Medium string `xml:"medium,attr"`
			} `xml:"http://search.yahoo.com/mrss/ content"`
		} `xml:"item"`
	} `xml:"channel"`
}

func strictDecode(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(v); err != nil {
		t.Fatalf("not well-formed XML: %v\n%.500s", err, body)
	}
	// Nothing but whitespace may follow the root element.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after the root: %v", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) != 0 {
			t.Fatalf("unexpected %T after the root element", tok)
		}
	}
}

func TestFeedIsRSS2AsGhostEmitsIt(t *testing.T) {
	_, h := newRichSite(t, "https://example.com/blog/")
	rec := do(h, "GET", "/blog/rss/")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	var doc rssDoc
	strictDecode(t, rec.Body.Bytes(), &doc)
	ch := doc.Channel
	var link, self string
	for _, l := range ch.Links {
		switch l.XMLName.Space {
		case "":
			link = l.Value
		case "http://www.w3.org/2005/Atom":
			if l.Rel == "self" {
				self = l.Href
			}
		}
	}
	if doc.Version != "2.0" || ch.Title != "Wisp" || link != "https://example.com/blog/" || ch.Description == "" {
		t.Errorf("channel = %q %q %q %q", doc.Version, ch.Title, link, ch.Description)
	}
	if self != "https://example.com/blog/rss/" {
		t.Errorf("atom:link self = %q", self)
	}
	if len(ch.Items) != 4 {
		t.Fatalf("items = %d, want the 4 published posts (welcome, hidden, two, one)", len(ch.Items))
	}
	for _, it := range ch.Items {
		if it.GUID.Value == "" || it.GUID.IsPermaLink != "false" || it.Link == "" || it.Creator == "" || it.Content == "" {
			t.Errorf("item %q lacks guid/link/creator/content: %+v", it.Title, it)
		}
		if _, err := time.Parse(time.RFC1123, it.PubDate); err != nil {
			t.Errorf("pubDate %q: %v", it.PubDate, err)
		}
		if !strings.HasPrefix(it.Link, "https://example.com/blog/") {
			t.Errorf("link %q outside the subdirectory", it.Link)
		}
	}
	two := ch.Items[2]
	if two.Title != "Go two" || strings.Join(two.Categories, ",") != "Go" || two.Creator != "Ann Lee" {
		t.Errorf("Go two: categories %v creator %q", two.Categories, two.Creator)
	}
	if two.Media.URL != "https://example.com/blog/content/images/2024/01/cat.png" || two.Media.Medium != "image" {
		t.Errorf("media:content = %+v", two.Media)
	}
	if hidden := ch.Items[1]; hidden.Title != "Hidden only" || len(hidden.Categories) != 0 {
		t.Errorf("internal tags leaked into the feed: %+v", hidden.Categories)
	}
}

type urlset struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []struct {
		Loc     string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 loc"`
		LastMod string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 lastmod"`
		Image   struct {
			Loc string `xml:"http://www.google.com/schemas/sitemap-image/1.1 loc"`
		} `xml:"http://www.google.com/schemas/sitemap-image/1.1 image"`
	} `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 url"`
}

type sitemapIndex struct {
	XMLName  xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemapindex"`
	Sitemaps []struct {
		Loc     string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 loc"`
		LastMod string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 lastmod"`
	} `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemap"`
}

// w3cDatetime is the complete-date-plus-time form of W3C datetimes.
var w3cDatetime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

func TestSitemapsAreSitemapsOrgXML(t *testing.T) {
	_, h := newRichSite(t, "https://example.com/blog/")
	var idx sitemapIndex
	strictDecode(t, do(h, "GET", "/blog/sitemap.xml").Body.Bytes(), &idx)
	var locs []string
	for _, s := range idx.Sitemaps {
		locs = append(locs, s.Loc)
		if !w3cDatetime.MatchString(s.LastMod) {
			t.Errorf("%s lastmod %q is not a W3C datetime", s.Loc, s.LastMod)
		}
	}
	want := "https://example.com/blog/sitemap-pages.xml https://example.com/blog/sitemap-posts.xml https://example.com/blog/sitemap-authors.xml https://example.com/blog/sitemap-tags.xml"
	if strings.Join(locs, " ") != want {
		t.Errorf("index = %v", locs)
	}
	// The seeded welcome post adds a post and the Getting Started tag;
	// the home page is listed among the pages.
	counts := map[string]int{"pages": 2, "posts": 4, "authors": 2, "tags": 2}
	for kind, n := range counts {
		t.Run(kind, func(t *testing.T) {
			var set urlset
			strictDecode(t, do(h, "GET", "/blog/sitemap-"+kind+".xml").Body.Bytes(), &set)
			if len(set.URLs) != n {
				t.Errorf("%d urls, want %d", len(set.URLs), n)
			}
			for _, u := range set.URLs {
				if !strings.HasPrefix(u.Loc, "https://example.com/blog/") {
					t.Errorf("loc %q is not absolute under the site", u.Loc)
				}
				if !w3cDatetime.MatchString(u.LastMod) {
					t.Errorf("%s lastmod %q is not a W3C datetime", u.Loc, u.LastMod)
				}
			}
		})
	}
	var posts urlset
	strictDecode(t, do(h, "GET", "/blog/sitemap-posts.xml").Body.Bytes(), &posts)
	if posts.URLs[2].Image.Loc != "https://example.com/blog/content/images/2024/01/cat.png" {
		t.Errorf("image:loc = %q", posts.URLs[2].Image.Loc)
	}
}

func TestSubdirectoryMovesArchivesFilesAndLinks(t *testing.T) {
	_, h := newRichSite(t, "https://example.com/blog/")
	tests := []struct {
		target, location string
		status           int
		body             string
	}{
		{"/blog/tag/go/", "", 200, `href="https://example.com/blog/go-two/"`},
		{"/blog/author/ann-lee/rss/", "", 200, "<link>https://example.com/blog/author/ann-lee/</link>"},
		{"/blog/tag/go", "/blog/tag/go/", 301, ""},
		{"/blog/feed/", "/blog/rss/", 301, ""},
		{"/blog/robots.txt", "", 200, "Sitemap: https://example.com/blog/sitemap.xml"},
		{"/blog/content/images/2024/01/cat.png", "", 200, "PNG"},
		{"/blog/assets/built/screen.css", "", 200, "--rule"},
		{"/blog/", "", 200, `href="https://example.com/blog/assets/built/screen.css?v=`},
		{"/blog/", "", 200, `<a href="https://example.com/blog/about-us/">About</a>`},
		{"/tag/go/", "", 404, ""},
		{"/content/images/2024/01/cat.png", "", 404, ""},
		{"/sitemap.xml", "", 404, ""},
		{"/rss/", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := do(h, "GET", tt.target)
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.location || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("got %d %q %.300s; want %d %q %q", rec.Code, rec.Header().Get("Location"), rec.Body, tt.status, tt.location, tt.body)
			}
		})
	}
}

var jsonLDRE = regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`)

func TestHeadMetadataAsGhostHead(t *testing.T) {
	_, h := newRichSite(t, "http://example.com/")
	tests := []struct {
		target, ldType string
		want           []string
	}{
		{"/", "WebSite", []string{`<meta property="og:type" content="website">`, `<link rel="canonical" href="http://example.com/">`,
			`<meta name="twitter:card" content="summary">`, `<link rel="alternate" type="application/rss+xml" title="Wisp" href="http://example.com/rss/">`,
			`<meta name="x-site" content="1">`, `<!-- site foot -->`, `<meta name="generator" content="Wisp">`}},
		{"/go-two/", "Article", []string{`<meta property="og:type" content="article">`, `<meta property="og:title" content="OG two">`,
			`<meta property="og:image" content="http://example.com/content/images/2024/01/cat.png">`,
			`<meta property="article:tag" content="Go">`, `<meta property="article:published_time" content="2024-01-01T01:00:00.000Z">`,
			`<meta name="twitter:card" content="summary_large_image">`, `<meta name="twitter:description" content="Tweet two">`,
			`<meta name="description" content="Two is better.">`, `<meta name="x-site" content="1">`, `<meta name="x-post" content="1">`,
			`<meta name="twitter:data1" content="Ann Lee">`, `alt="A cat"`, `<figcaption>Our cat</figcaption>`}},
		{"/tag/go/", "Series", []string{`<title>Go - Wisp</title>`, `<link rel="canonical" href="http://example.com/tag/go/">`, `<link rel="next" href="http://example.com/tag/go/page/2/">`}},
		{"/author/ann-lee/", "Person", []string{`<meta property="og:type" content="profile">`, `<meta name="description" content="Writes about Go.">`}},
		{"/about-us/", "Article", []string{`<a href="http://example.com/about-us/" aria-current="page">About</a>`}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			body := do(h, "GET", tt.target).Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %s", w)
				}
			}
			m := jsonLDRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no JSON-LD")
			}
			var ld map[string]any
			if err := json.Unmarshal([]byte(m[1]), &ld); err != nil {
				t.Fatalf("JSON-LD: %v: %s", err, m[1])
			}
			if ld["@type"] != tt.ldType || ld["@context"] != "https://schema.org" {
				t.Errorf("JSON-LD type %v, want %s", ld["@type"], tt.ldType)
			}
			if err := htmlcheck.Check(body); err != nil {
				t.Errorf("invalid HTML: %v", err)
			}
		})
	}
}

func TestFeedsAndSitemapsAnswerConditionalRequests(t *testing.T) {
	_, h := newRichSite(t, "http://example.com/")
	for _, target := range []string{"/rss/", "/tag/go/rss/", "/sitemap.xml", "/sitemap-posts.xml", "/robots.txt"} {
		first := do(h, "GET", target)
		etag := first.Header().Get("ETag")
		if etag == "" {
			t.Errorf("%s: no ETag", target)
			continue
		}
		if rec := do(h, "GET", target, "If-None-Match", etag); rec.Code != 304 {
			t.Errorf("%s: If-None-Match got %d, want 304", target, rec.Code)
		}
	}
}

func TestSiteIconReplacesTheDefaultFavicon(t *testing.T) {
	st, h := newRichSite(t, "https://example.com/blog/")
	if body := do(h, "GET", "/blog/").Body.String(); !strings.Contains(body, `<link rel="icon" href="https://example.com/blog/favicon.ico">`) {
		t.Error("pages should link the default favicon")
	}
	if err := st.SetSetting(context.Background(), "site", "icon", "/content/images/2024/01/cat.png"); err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", "/blog/favicon.ico")
	if rec.Code != 302 || rec.Header().Get("Location") != "https://example.com/blog/content/images/2024/01/cat.png" {
		t.Errorf("favicon with an icon set: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if body := do(h, "GET", "/blog/").Body.String(); !strings.Contains(body, `<link rel="icon" href="https://example.com/blog/content/images/2024/01/cat.png">`) {
		t.Error("pages should link the site icon")
	}
}

func TestDatesShowInTheSiteTimezone(t *testing.T) {
	st, h := newRichSite(t, "http://example.com/")
	if err := st.SetSetting(context.Background(), "site", "timezone", "America/New_York"); err != nil {
		t.Fatal(err)
	}
	// Go one is published 2024-01-01 00:00 UTC, the evening before in New York.
	body := do(h, "GET", "/go-one/").Body.String()
	if !strings.Contains(body, `<time datetime="2023-12-31T19:00:00-05:00">31 Dec 2023</time>`) {
		t.Errorf("date not in the site timezone: %s", regexp.MustCompile(`<time[^>]*>[^<]*</time>`).FindString(body))
	}
	if err := st.SetSetting(context.Background(), "site", "timezone", "Mars/Base"); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/go-one/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "1 Jan 2024") {
		t.Errorf("unknown timezone: %d", rec.Code)
	}
}

func TestActiveThemeOverridesTemplatesFromTheContentFolder(t *testing.T) {
	st, h := newRichSite(t, "http://example.com/")
	dir := filepath.Join(h.contentPath, "themes", "mine")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "post.html"), []byte(`{{define "content"}}<p class="mine">{{.Post.Title}}</p>{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(context.Background(), "theme", "active_theme", "mine"); err != nil {
		t.Fatal(err)
	}
	if body := do(h, "GET", "/go-one/").Body.String(); !strings.Contains(body, `<p class="mine">Go one</p>`) {
		t.Errorf("override not used: %.300s", body)
	}
	if body := do(h, "GET", "/").Body.String(); !strings.Contains(body, "Welcome to Wisp") {
		t.Error("the built-in index template should still serve the home page")
	}
	if err := st.SetSetting(context.Background(), "theme", "active_theme", "../../etc"); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/go-one/"); rec.Code != 200 || strings.Contains(rec.Body.String(), "mine") {
		t.Errorf("a theme name with a path should give the built-in theme: %d", rec.Code)
	}
}
