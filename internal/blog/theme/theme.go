// Package theme renders the site's pages. The built-in theme is
// html/template files embedded in the binary; a Handlebars engine for real
// Ghost themes can replace it later behind the same Renderer interface.
package theme

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"time"
)

// Renderer writes one page of the site. page is a Ghost template name:
// "index", "post", "page" or "error-404"; data is the matching *Page type.
type Renderer interface {
	Render(w io.Writer, page string, data any) error
}

// Site is what every page knows of the site.
type Site struct {
	Title, Description string
	// URL is the absolute site URL, ending in "/".
	URL         string
	Lang        string
	AccentColor string
}

// Author is a post's author; URL is empty while the site has no author
// pages, and the name is then shown without a link.
type Author struct{ Name, URL string }

// Tag is a public tag; URL is empty while the site has no tag pages.
type Tag struct{ Name, URL string }

// Post is a post or page prepared for display.
type Post struct {
	Title, URL, Excerpt string
	// HTML is trusted content: it comes from the site's own database.
	HTML                template.HTML
	FeatureImage        string
	FeatureImageAlt     string
	FeatureImageCaption string
	PublishedAt         time.Time
	ReadingTime         int
	Authors             []Author
	Tags                []Tag
	IsPage              bool
}

// Pagination links the pages of a list.
type Pagination struct {
	Page, Pages int
	// Prev and Next are URLs, empty at the ends.
	Prev, Next string
}

// IndexPage is the data of "index".
type IndexPage struct {
	Site       Site
	Canonical  string
	Posts      []Post
	Pagination Pagination
}

// PostPage is the data of "post" and "page".
type PostPage struct {
	Site      Site
	Canonical string
	Post      Post
}

// ErrorPage is the data of "error-404".
type ErrorPage struct {
	Site      Site
	Canonical string
	Status    int
	Message   string
}

//go:embed templates/*.html
var files embed.FS

// Templates is the built-in theme.
type Templates struct {
	pages map[string]*template.Template
}

var _ Renderer = (*Templates)(nil)

// Default parses the built-in theme.
func Default() (*Templates, error) {
	return parse(files)
}

func parse(fsys fs.FS) (*Templates, error) {
	funcs := template.FuncMap{
		"date":    func(t time.Time) string { return t.Format("2 Jan 2006") },
		"isodate": func(t time.Time) string { return t.Format(time.RFC3339) },
		"year":    func() int { return time.Now().Year() },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	t := &Templates{pages: map[string]*template.Template{}}
	for _, page := range []string{"index", "post", "page", "error-404"} {
		clone, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		file := page
		if page == "page" {
			file = "post" // a page is a post without date and author
		}
		if _, err := clone.ParseFS(fsys, "templates/"+file+".html"); err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		t.pages[page] = clone
	}
	return t, nil
}

// Render executes the layout with page's content.
func (t *Templates) Render(w io.Writer, page string, data any) error {
	tmpl, ok := t.pages[page]
	if !ok {
		return fmt.Errorf("theme: no template %q", page)
	}
	return tmpl.ExecuteTemplate(w, "layout.html", data)
}
