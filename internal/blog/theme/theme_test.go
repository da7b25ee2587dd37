package theme

import (
	"bytes"
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
	site := Site{Title: "T & Co", Description: "Desc", URL: "http://x/", Lang: "en", AccentColor: "#FF1A75"}
	post := Post{Title: "Hello <World>", URL: "http://x/hello/", Excerpt: "ex", HTML: "<p>Body <em>text</em></p>",
		PublishedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), ReadingTime: 3,
		Authors: []Author{{Name: "Ann", URL: "http://x/author/ann/"}}, Tags: []Tag{{Name: "Go", URL: "http://x/tag/go/"}}}
	tests := []struct {
		page string
		data any
		want []string
	}{
		{"index", IndexPage{Site: site, Posts: []Post{post, post}, Pagination: Pagination{Page: 2, Pages: 3, Prev: "http://x/", Next: "http://x/page/3/"}},
			[]string{`<html lang="en">`, "Hello &lt;World&gt;", `rel="next"`, "Page 2 of 3", "T &amp; Co"}},
		{"post", PostPage{Site: site, Post: post, Canonical: post.URL}, []string{"<p>Body <em>text</em></p>", "3 min read", `rel="canonical"`, `rel="tag"`, "by"}},
		{"page", PostPage{Site: site, Post: Post{Title: "About", HTML: "<p>a</p>", IsPage: true}}, []string{"<h1 class=\"post-title\">About</h1>"}},
		{"error-404", ErrorPage{Site: site, Status: 404, Message: "Page not found"}, []string{"404", "Page not found"}},
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
	if err := th.Render(&bytes.Buffer{}, "tag", nil); err == nil {
		t.Fatal("want an error")
	}
}
