// Package sitemap writes sitemaps.org XML as Ghost emits it: an index of
// the per-type sitemaps, and url sets with an image entry where a post,
// tag or author has one.
package sitemap

import (
	"encoding/xml"
	"io"
	"time"
)

// ContentType is what Ghost sends with sitemaps.
const ContentType = "text/xml; charset=utf-8"

// PageSize is how many URLs one sitemap file holds before Ghost moves on
// to sitemap-<type>-2.xml.
const PageSize = 50000

const (
	nsSitemap = "http://www.sitemaps.org/schemas/sitemap/0.9"
	nsImage   = "http://www.google.com/schemas/sitemap-image/1.1"
)

// Ref is one entry of the index: a sitemap file and its latest change.
type Ref struct {
	Loc     string
	LastMod time.Time
}

// URL is one entry of a url set.
type URL struct {
	Loc          string
	LastMod      time.Time
	Image        string
	ImageCaption string
}

// w3c is the W3C datetime form Ghost writes (moment's toISOString).
func w3c(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type index struct {
	XMLName  xml.Name `xml:"sitemapindex"`
	NS       string   `xml:"xmlns,attr"`
	Sitemaps []ref    `xml:"sitemap"`
}

type ref struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

type urlset struct {
	XMLName xml.Name `xml:"urlset"`
	NS      string   `xml:"xmlns,attr"`
	Image   string   `xml:"xmlns:image,attr"`
	URLs    []url    `xml:"url"`
}

type url struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
	Image   *img   `xml:"image:image,omitempty"`
}

type img struct {
	Loc     string `xml:"image:loc"`
	Caption string `xml:"image:caption,omitempty"`
}

func lastmod(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return w3c(t)
}

// WriteIndex writes the sitemap index.
func WriteIndex(w io.Writer, refs []Ref) error {
	doc := index{NS: nsSitemap, Sitemaps: []ref{}}
	for _, r := range refs {
		doc.Sitemaps = append(doc.Sitemaps, ref{Loc: r.Loc, LastMod: lastmod(r.LastMod)})
	}
	return write(w, doc)
}

// WriteURLSet writes one sitemap file.
func WriteURLSet(w io.Writer, urls []URL) error {
	doc := urlset{NS: nsSitemap, Image: nsImage, URLs: []url{}}
	for _, u := range urls {
		x := url{Loc: u.Loc, LastMod: lastmod(u.LastMod)}
		if u.Image != "" {
			x.Image = &img{Loc: u.Image, Caption: u.ImageCaption}
		}
		doc.URLs = append(doc.URLs, x)
	}
	return write(w, doc)
}

func write(w io.Writer, doc any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	return xml.NewEncoder(w).Encode(doc)
}
