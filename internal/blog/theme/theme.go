// Package theme renders the site's pages. The built-in theme is
// html/template files embedded in the binary; a site can override any of
// them, and any asset, from <contentPath>/themes/<active theme>/. A
// Handlebars engine for real Ghost themes can replace it later behind the
// same Renderer interface.
package theme

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"sort"
	"time"
)

// Renderer writes one page of the site. page is a Ghost template name:
// "index", "post", "page", "tag", "author" or "error-404"; data is the
// matching *Page type.
type Renderer interface {
	Render(w io.Writer, page string, data any) error
}

// Pages are the templates a theme has.
var Pages = []string{"index", "post", "page", "tag", "author", "error-404"}

// NavItem is one link of a navigation menu.
type NavItem struct {
	Label, URL string
	// Current marks the link to the page being shown.
	Current bool
}

// Site is what every page knows of the site.
type Site struct {
	Title, Description string
	// URL is the absolute site URL, ending in "/".
	URL                 string
	RSSURL              string
	Lang                string
	AccentColor         string
	Logo, Icon, Cover   string
	Navigation          []NavItem
	SecondaryNavigation []NavItem
	// AssetBase is the URL of the theme's /assets/ folder and AssetVersion
	// the cache-busting version added to asset URLs.
	AssetBase, AssetVersion string
}

// Head is the page's metadata, as Ghost's ghost_head helper emits it.
type Head struct {
	Title, Description, Canonical string
	Prev, Next                    string
	OG                            OpenGraph
	Twitter                       Twitter
	// JSONLD is marshalled to JSON into the ld+json script.
	JSONLD any
	// Injection is the site's and then the post's code injection for the
	// head; Foot the same for the end of the body. Both are trusted: the
	// site's staff write them, as in Ghost.
	Injection, Foot template.HTML
}

// OpenGraph are the og: and article: properties.
type OpenGraph struct {
	Type, Title, Description, Image string
	PublishedTime, ModifiedTime     string
	Tags                            []string
}

// Twitter is the Twitter card.
type Twitter struct {
	Card, Title, Description, Image string
	Labels                          []Label
}

// Label is a twitter:labelN/dataN pair.
type Label struct{ Label, Data string }

// Author is a post's author or an author archive's subject.
type Author struct {
	Name, URL, RSSURL, ProfileImage, Bio, Website, Location string
}

// Tag is a public tag or a tag archive's subject.
type Tag struct{ Name, URL, RSSURL, Description, FeatureImage string }

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

// IndexPage is the data of "index", "tag" and "author"; Tag or Author is
// set on their archives, and Total counts the archive's posts.
type IndexPage struct {
	Site       Site
	Head       Head
	Posts      []Post
	Pagination Pagination
	Tag        Tag
	Author     Author
	Total      int
}

// PostPage is the data of "post" and "page".
type PostPage struct {
	Site Site
	Head Head
	Post Post
}

// ErrorPage is the data of "error-404".
type ErrorPage struct {
	Site    Site
	Head    Head
	Status  int
	Message string
}

//go:embed default
var embedded embed.FS

// builtin is the embedded theme's folder.
func builtin() fs.FS {
	sub, err := fs.Sub(embedded, "default")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder exists
	}
	return sub
}

// Theme is a parsed theme: its templates and its assets.
type Theme struct {
	templates map[string]*template.Template
	// Assets is the theme's assets folder (paths like "built/screen.css").
	Assets fs.FS
	// Root is the theme's folder, for the fixed files beside the
	// templates: favicon.ico and favicon.png.
	Root fs.FS
	// Version changes whenever an asset's content does.
	Version string
}

var _ Renderer = (*Theme)(nil)

// Default parses the built-in theme.
func Default() (*Theme, error) {
	return parse(builtin())
}

// Load parses the theme in dir over the built-in one: each template and
// asset found in dir replaces the built-in one, and the rest stay. A
// missing dir gives the built-in theme. dir is read through os.Root, so
// neither ".." nor a symlink can reach outside it.
func Load(dir string) (*Theme, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return Default()
	}
	return parse(overlay{dir: dir, under: builtin()})
}

// overlay reads a file from dir when it is there, else from under.
type overlay struct {
	dir   string
	under fs.FS
}

func (o overlay) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if root, err := os.OpenRoot(o.dir); err == nil {
		f, err := root.Open(name)
		root.Close() // an open file outlives its root
		if err == nil {
			if st, err := f.Stat(); err == nil && !st.IsDir() {
				return f, nil
			}
			f.Close()
		}
	}
	return o.under.Open(name)
}

// funcs are the template helpers of every theme.
var funcs = template.FuncMap{
	"date":    func(t time.Time) string { return t.Format("2 Jan 2006") },
	"isodate": func(t time.Time) string { return t.Format(time.RFC3339) },
	"year":    func() int { return time.Now().Year() },
	"inc":     func(i int) int { return i + 1 },
	// asset is Ghost's {{asset}}: the file's URL with the version string.
	"asset": func(s Site, name string) string { return s.AssetBase + name + "?v=" + s.AssetVersion },
}

func parse(fsys fs.FS) (*Theme, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "layout.html")
	if err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	t := &Theme{templates: map[string]*template.Template{}}
	for _, page := range Pages {
		clone, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		file := page
		if page == "page" {
			file = "post" // a page is a post without date and author
			if _, err := fs.Stat(fsys, "page.html"); err == nil {
				file = "page"
			}
		}
		if _, err := clone.ParseFS(fsys, file+".html"); err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		t.templates[page] = clone
	}
	t.Root = fsys
	if t.Assets, err = fs.Sub(fsys, "assets"); err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	if t.Version, err = version(t.Assets); err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	return t, nil
}

// version hashes the built-in asset names and every asset's content.
func version(assets fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(assets, n)
		if err != nil {
			return "", err
		}
		io.WriteString(h, n+"\x00")
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:10], nil
}

// Render executes the layout with page's content.
func (t *Theme) Render(w io.Writer, page string, data any) error {
	tmpl, ok := t.templates[page]
	if !ok {
		return fmt.Errorf("theme: no template %q", page)
	}
	return tmpl.ExecuteTemplate(w, "layout.html", data)
}
