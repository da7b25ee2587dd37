// Package feed writes RSS 2.0 the way Ghost's feeds look: the channel
// with an atom:link to itself, and items with a guid that is the post id
// (not a permalink), dc:creator, a category per public tag, the full html
// in content:encoded and the feature image as media:content.
package feed

import (
	"encoding/xml"
	"io"
	"net/http"
	"time"
)

// ContentType is what Ghost sends with a feed.
const ContentType = "application/rss+xml; charset=utf-8"

// Channel is one feed.
type Channel struct {
	Title, Description string
	// Link is the site (or archive) URL; SelfURL the feed's own URL.
	Link, SelfURL string
	// ImageURL is the site icon, shown by readers beside the title.
	ImageURL  string
	Generator string
	LastBuild time.Time
	Items     []Item
}

// Item is one post.
type Item struct {
	Title, Description, Link string
	// GUID is the post id, as Ghost uses it.
	GUID       string
	Categories []string
	Creator    string
	Published  time.Time
	// ImageURL is the feature image, or "".
	ImageURL string
	// HTML is the full post content.
	HTML string
}

type rss struct {
	XMLName xml.Name `xml:"rss"`
	DC      string   `xml:"xmlns:dc,attr"`
	Content string   `xml:"xmlns:content,attr"`
	Atom    string   `xml:"xmlns:atom,attr"`
	Version string   `xml:"version,attr"`
	Media   string   `xml:"xmlns:media,attr"`
	Channel channel  `xml:"channel"`
}

type cdata struct {
	Text string `xml:",cdata"`
}

type channel struct {
	Title       cdata    `xml:"title"`
	Description cdata    `xml:"description"`
	Link        string   `xml:"link"`
	Image       *image   `xml:"image,omitempty"`
	Generator   string   `xml:"generator,omitempty"`
	LastBuild   string   `xml:"lastBuildDate"`
	AtomLink    atomLink `xml:"atom:link"`
	TTL         int      `xml:"ttl"`
	Items       []item   `xml:"item"`
}

type image struct {
	URL   string `xml:"url"`
	Title string `xml:"title"`
	Link  string `xml:"link"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type guid struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type media struct {
	URL    string `xml:"url,attr"`
	Medium string `xml:"medium,attr"`
}

type item struct {
	Title       cdata   `xml:"title"`
	Description cdata   `xml:"description"`
	Link        string  `xml:"link"`
	GUID        guid    `xml:"guid"`
	Categories  []cdata `xml:"category"`
	Creator     *cdata  `xml:"dc:creator,omitempty"`
	PubDate     string  `xml:"pubDate"`
	Media       *media  `xml:"media:content,omitempty"`
	Content     cdata   `xml:"content:encoded"`
}

// rssTime is RFC 822 time as Ghost's feed library writes it (JavaScript's
// toUTCString: always GMT).
func rssTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// Write writes c as an RSS 2.0 document.
func Write(w io.Writer, c Channel) error {
	doc := rss{
		DC:      "http://purl.org/dc/elements/1.1/",
		Content: "http://purl.org/rss/1.0/modules/content/",
		Atom:    "http://www.w3.org/2005/Atom",
		Version: "2.0",
		Media:   "http://search.yahoo.com/mrss/",
		Channel: channel{
			Title:       cdata{c.Title},
			Description: cdata{c.Description},
			Link:        c.Link,
			Generator:   c.Generator,
			LastBuild:   rssTime(c.LastBuild),
			AtomLink:    atomLink{Href: c.SelfURL, Rel: "self", Type: "application/rss+xml"},
			TTL:         60,
		},
	}
	if c.ImageURL != "" {
		doc.Channel.Image = &image{URL: c.ImageURL, Title: c.Title, Link: c.Link}
	}
	for _, it := range c.Items {
		x := item{
			Title:       cdata{it.Title},
			Description: cdata{it.Description},
			Link:        it.Link,
			GUID:        guid{IsPermaLink: "false", Value: it.GUID},
			PubDate:     rssTime(it.Published),
			Content:     cdata{it.HTML},
		}
		for _, cat := range it.Categories {
			x.Categories = append(x.Categories, cdata{cat})
		}
		if it.Creator != "" {
			x.Creator = &cdata{it.Creator}
		}
		if it.ImageURL != "" {
			x.Media = &media{URL: it.ImageURL, Medium: "image"}
		}
		doc.Channel.Items = append(doc.Channel.Items, x)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	return xml.NewEncoder(w).Encode(doc)
}
