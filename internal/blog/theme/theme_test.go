package theme

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wisp/internal/blog/htmlcheck"
)

func TestDefaultThemeRendersValidPages(t *testing.T) {
	th, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	site := Site{Title: "T & Co", Description: "Desc", URL: "http://x/", Lang: "en", AccentColor: "#FF1A75",
		Navigation: []NavItem{{Label: "Home", URL: "http://x/", Current: true}}, AssetBase: "http://x/assets/", AssetVersion: "abc"}
	head := Head{Title: "T", Canonical: "http://x/hello/", OG: OpenGraph{Type: "article", Title: "T"},
		Twitter: Twitter{Card: "summary"}, JSONLD: map[string]any{"@type": "Article", "headline": "</script><b>"}}
	post := Post{Title: "Hello <World>", URL: "http://x/hello/", Excerpt: "ex", HTML: "<p>Body <em>text</em></p>",
		PublishedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), ReadingTime: 3,
		Authors: []Author{{Name: "Ann", URL: "http://x/author/ann/"}}, Tags: []Tag{{Name: "Go", URL: "http://x/tag/go/"}}}
	tests := []struct {
		page string
		data any
		want []string
	}{
		{"index", IndexPage{Site: site, Head: head, Posts: []Post{post, post}, Pagination: Pagination{Page: 2, Pages: 3, Prev: "http://x/", Next: "http://x/page/3/"}},
			[]string{`<html lang="en">`, "Hello &lt;World&gt;", `rel="next"`, "Page 2 of 3", "T &amp; Co", `href="http://x/assets/built/screen.css?v=abc"`, `aria-current="page"`}},
		{"tag", IndexPage{Site: site, Head: head, Posts: []Post{post}, Tag: Tag{Name: "Go", RSSURL: "http://x/tag/go/rss/"}, Total: 1},
			[]string{"<h1 class=\"post-title\">Go</h1>", "1 post", "http://x/tag/go/rss/"}},
		{"author", IndexPage{Site: site, Head: head, Author: Author{Name: "Ann", Bio: "Writes."}, Total: 2},
			[]string{"Ann", "Writes.", "2 posts"}},
		{"post", PostPage{Site: site, Head: head, Post: post}, []string{"<p>Body <em>text</em></p>", "3 min read", `rel="canonical"`, `rel="tag"`, "by",
			`<meta property="og:type" content="article">`, `"headline":"\u003c/script\u003e\u003cb\u003e"`}},
		{"page", PostPage{Site: site, Head: head, Post: Post{Title: "About", HTML: "<p>a</p>", IsPage: true}}, []string{"<h1 class=\"post-title\">About</h1>"}},
		{"error-404", ErrorPage{Site: site, Head: head, Status: 404, Message: "Page not found"}, []string{"404", "Page not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			var buf bytes.Buffer
			if err := th.Render(&buf, tt.page, tt.data); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if err := htmlcheck.Check(out); err != nil {
				t.Errorf("invalid HTML: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if strings.Contains(out, "ZgotmplZ") {
				t.Error("a value was rejected by the escaper")
			}
		})
	}
}

func TestRenderUnknownPageIsAnError(t *testing.T) {
	th, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := th.Render(&bytes.Buffer{}, "amp", nil); err == nil {
		t.Fatal("want an error")
	}
}

func TestLoadOverridesTemplatesAndAssetsPerFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("error-404.html", `{{define "content"}}<p>custom not found</p>{{end}}`)
	write("assets/built/screen.css", "body{color:red}")
	builtin, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	th, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := th.Render(&buf, "error-404", ErrorPage{Site: Site{Lang: "en"}}); err != nil || !strings.Contains(buf.String(), "custom not found") {
		t.Errorf("override not used: %v %s", err, buf.String())
	}
	buf.Reset()
	if err := th.Render(&buf, "post", PostPage{Site: Site{Lang: "en"}, Post: Post{Title: "Kept"}}); err != nil || !strings.Contains(buf.String(), "Kept") {
		t.Errorf("built-in post template not used: %v", err)
	}
	css, err := fs.ReadFile(th.Assets, "built/screen.css")
	if err != nil || string(css) != "body{color:red}" {
		t.Errorf("asset override: %q %v", css, err)
	}
	if th.Version == builtin.Version {
		t.Error("asset version did not change with the asset's content")
	}
	missing, err := Load(filepath.Join(dir, "nope"))
	if err != nil || missing.Version != builtin.Version {
		t.Errorf("a missing theme folder should give the built-in theme: %v", err)
	}
}

func TestLoadRefusesSymlinksOutOfTheThemeFolder(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.css")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "assets", "leak.css")); err != nil {
		t.Fatal(err)
	}
	th, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"leak.css", "../../secret.css"} {
		if b, err := fs.ReadFile(th.Assets, name); err == nil {
			t.Errorf("%s read outside the theme: %q", name, b)
		}
	}
}
