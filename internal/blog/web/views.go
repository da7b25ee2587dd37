package web

import (
	"context"
	"encoding/json"
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"

	"wisp/internal/blog/render"
	"wisp/internal/blog/store"
	"wisp/internal/blog/theme"
)

// siteContext is what one render needs of the site: its settings as the
// theme shows them, the active theme, and when the settings last changed.
type siteContext struct {
	settings store.Settings
	view     theme.Site
	theme    *theme.Theme
	modified time.Time
	perPage  int
	// loc is the timezone setting, in which dates are shown.
	loc *time.Location
}

// navItem is one entry of Ghost's navigation setting.
type navItem struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// siteContext reads the settings; current is the site-relative path of
// the page, to mark its navigation link.
func (h *Handler) siteContext(ctx context.Context, current string) (siteContext, error) {
	s, err := h.src.Settings(ctx)
	if err != nil {
		return siteContext{}, err
	}
	th, err := h.themes.get(s.Get("active_theme", ""), h.log)
	if err != nil {
		return siteContext{}, err
	}
	sc := siteContext{settings: s, theme: th, modified: s.UpdatedAt, perPage: h.perPage, loc: time.UTC}
	if tz := s.Get("timezone", "Etc/UTC"); tz != "Etc/UTC" {
		if loc, err := time.LoadLocation(tz); err == nil {
			sc.loc = loc
		} else {
			h.sourceErrors.report("timezone setting is unknown; showing dates in UTC", "settings/timezone/"+tz, err)
		}
	}
	if n, err := strconv.Atoi(s.Get("posts_per_page", "")); err == nil && n > 0 && n <= 100 {
		sc.perPage = n
	}
	sc.view = theme.Site{
		Title:               s.Get("title", "Wisp"),
		Description:         s.Get("description", ""),
		URL:                 h.abs("/"),
		RSSURL:              h.abs("/rss/"),
		Lang:                s.Get("locale", "en"),
		AccentColor:         s.Get("accent_color", "#FF1A75"),
		Logo:                h.absMedia(s.Get("logo", "")),
		Icon:                h.absMedia(s.Get("icon", "/favicon.ico")),
		Cover:               h.absMedia(s.Get("cover_image", "")),
		Navigation:          h.navigation(s.Get("navigation", ""), current),
		SecondaryNavigation: h.navigation(s.Get("secondary_navigation", ""), current),
		AssetBase:           h.abs("/assets/"),
		AssetVersion:        th.Version,
	}
	return sc, nil
}

// navigation parses a navigation setting; a malformed one is logged and
// shown as no menu rather than breaking every page.
func (h *Handler) navigation(raw, current string) []theme.NavItem {
	if raw == "" {
		return nil
	}
	var items []navItem
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		h.sourceErrors.report("navigation setting is not valid JSON", "settings/navigation", err)
		return nil
	}
	out := make([]theme.NavItem, 0, len(items))
	for _, it := range items {
		if it.Label == "" || it.URL == "" {
			continue
		}
		u := it.URL
		if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
			u = h.abs(u)
		}
		out = append(out, theme.NavItem{Label: it.Label, URL: u, Current: current != "" && u == h.abs(current)})
	}
	return out
}

// abs returns the absolute URL of a site-relative path.
func (h *Handler) abs(rel string) string {
	return h.site.Scheme + "://" + h.site.Host + h.subdir + rel
}

// ghostURL is the placeholder Ghost stores in place of the site URL.
const ghostURL = "__GHOST_URL__"

// absMedia makes an image reference absolute: Ghost's __GHOST_URL__
// placeholder and site-relative paths resolve against the site.
func (h *Handler) absMedia(ref string) string {
	switch {
	case ref == "":
		return ""
	case strings.HasPrefix(ref, ghostURL):
		return h.abs(strings.TrimPrefix(ref, ghostURL))
	case strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//"):
		return h.abs(ref)
	}
	return ref
}

// bodyHTML is a post's html with Ghost's URL placeholder resolved. The
// stored html is authoritative, as in Ghost; only when it is missing is
// the post's source rendered, and a source that fails to render leaves
// the post with its (empty) stored html and one logged error.
func (h *Handler) bodyHTML(p store.Post) string {
	body := p.HTML
	if strings.TrimSpace(body) == "" && (p.Markdown != "" || p.Lexical != "" || p.Mobiledoc != "") {
		rendered, err := render.Source(render.Sources{Markdown: p.Markdown, Lexical: p.Lexical, Mobiledoc: p.Mobiledoc})
		if err != nil {
			h.sourceErrors.report("post source could not be rendered; showing its stored html", p.ID+"@"+p.UpdatedAt.String(), err)
		} else {
			body = rendered
		}
	}
	return strings.ReplaceAll(body, ghostURL, h.abs(""))
}

func (h *Handler) postView(sc siteContext, p store.Post, excerptLen int) theme.Post {
	v := theme.Post{
		Title:               p.Title,
		URL:                 h.abs("/" + p.Slug + "/"),
		Excerpt:             p.CustomExcerpt,
		HTML:                safeHTML(p.HTML),
		FeatureImage:        h.absMedia(p.FeatureImage),
		FeatureImageAlt:     p.FeatureImageAlt,
		FeatureImageCaption: p.FeatureImageCaption,
		PublishedAt:         p.PublishedAt.In(sc.loc),
		IsPage:              p.Type == store.TypePage,
	}
	if v.Excerpt == "" {
		v.Excerpt = excerpt(p.Plaintext, excerptLen)
	}
	if p.HTML != "" {
		v.ReadingTime = render.ReadingTime(p.HTML, p.FeatureImage != "")
	}
	for _, a := range p.Authors {
		v.Authors = append(v.Authors, h.authorView(a))
	}
	for _, t := range p.Tags {
		if t.Visibility == "public" {
			v.Tags = append(v.Tags, h.tagView(t))
		}
	}
	return v
}

func excerpt(plaintext string, n int) string { return render.Excerpt(plaintext, n) }

func (h *Handler) tagView(t store.Tag) theme.Tag {
	u := h.abs("/tag/" + t.Slug + "/")
	return theme.Tag{Name: t.Name, URL: u, RSSURL: u + "rss/", Description: t.Description, FeatureImage: h.absMedia(t.FeatureImage)}
}

func (h *Handler) authorView(a store.Author) theme.Author {
	u := h.abs("/author/" + a.Slug + "/")
	return theme.Author{Name: a.Name, URL: u, RSSURL: u + "rss/", ProfileImage: h.absMedia(a.ProfileImage),
		Bio: a.Bio, Website: a.Website, Location: a.Location}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func escapeAttr(s string) string { return html.EscapeString(s) }

// jsonTime is the ISO form Ghost's metadata uses.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// publisher is the JSON-LD Organization Ghost names as every page's publisher.
func (h *Handler) publisher(sc siteContext) map[string]any {
	p := map[string]any{"@type": "Organization", "name": sc.view.Title, "url": sc.view.URL}
	if sc.view.Logo != "" {
		p["logo"] = map[string]any{"@type": "ImageObject", "url": sc.view.Logo}
	}
	return p
}

// baseHead is the metadata of a page of the site itself: the home page,
// its pagination and the error page.
func (h *Handler) baseHead(sc siteContext, title, canonical string) theme.Head {
	s := sc.settings
	desc := s.Get("meta_description", sc.view.Description)
	image := h.absMedia(s.Get("og_image", ""))
	if image == "" {
		image = sc.view.Cover
	}
	head := theme.Head{
		Title:       title,
		Description: desc,
		Canonical:   canonical,
		OG: theme.OpenGraph{Type: "website", Title: s.Get("og_title", title),
			Description: s.Get("og_description", desc), Image: image},
		Twitter: theme.Twitter{Title: s.Get("twitter_title", title),
			Description: s.Get("twitter_description", desc), Image: firstNonEmpty(h.absMedia(s.Get("twitter_image", "")), image)},
		Injection: template.HTML(s.Get("codeinjection_head", "")),
		Foot:      template.HTML(s.Get("codeinjection_foot", "")),
	}
	head.Twitter.Card = twitterCard(head.Twitter.Image)
	ld := map[string]any{"@context": "https://schema.org", "@type": "WebSite", "publisher": h.publisher(sc),
		"url": canonical, "name": sc.view.Title, "mainEntityOfPage": canonical}
	if desc != "" {
		ld["description"] = desc
	}
	if image != "" {
		ld["image"] = map[string]any{"@type": "ImageObject", "url": image}
	}
	head.JSONLD = ld
	return head
}

func twitterCard(image string) string {
	if image != "" {
		return "summary_large_image"
	}
	return "summary"
}

// listHead is the metadata of the home page, a tag or an author archive.
func (h *Handler) listHead(sc siteContext, a archive, n int, pg theme.Pagination) theme.Head {
	canonical := h.listPageURL(a, n)
	title := sc.settings.Get("meta_title", sc.view.Title)
	var head theme.Head
	switch a.kind {
	case "tag":
		title = firstNonEmpty(a.tag.MetaTitle, a.tag.Name+" - "+sc.view.Title)
		head = h.baseHead(sc, title, canonical)
		desc := firstNonEmpty(a.tag.MetaDescription, a.tag.Description)
		img := h.absMedia(a.tag.FeatureImage)
		head.Description, head.OG.Description, head.Twitter.Description = desc, desc, desc
		head.OG.Title, head.Twitter.Title = title, title
		head.OG.Image, head.Twitter.Image = img, img
		head.Twitter.Card = twitterCard(img)
		ld := map[string]any{"@context": "https://schema.org", "@type": "Series", "publisher": h.publisher(sc),
			"url": canonical, "name": a.tag.Name, "mainEntityOfPage": canonical}
		if desc != "" {
			ld["description"] = desc
		}
		head.JSONLD = ld
	case "author":
		title = firstNonEmpty(a.author.MetaTitle, a.author.Name+" - "+sc.view.Title)
		head = h.baseHead(sc, title, canonical)
		desc := firstNonEmpty(a.author.MetaDescription, a.author.Bio)
		img := h.absMedia(firstNonEmpty(a.author.CoverImage, a.author.ProfileImage))
		head.Description, head.OG.Description, head.Twitter.Description = desc, desc, desc
		head.OG.Type, head.OG.Title, head.Twitter.Title = "profile", title, title
		head.OG.Image, head.Twitter.Image = img, img
		head.Twitter.Card = twitterCard(img)
		ld := map[string]any{"@context": "https://schema.org", "@type": "Person", "name": a.author.Name,
			"url": canonical, "mainEntityOfPage": canonical, "sameAs": sameAs(a.author)}
		if desc != "" {
			ld["description"] = desc
		}
		if p := h.absMedia(a.author.ProfileImage); p != "" {
			ld["image"] = map[string]any{"@type": "ImageObject", "url": p}
		}
		head.JSONLD = ld
	default:
		head = h.baseHead(sc, title, canonical)
	}
	if n > 1 {
		head.Title += " (Page " + strconv.Itoa(n) + ")"
	}
	head.Prev, head.Next = pg.Prev, pg.Next
	return head
}

// sameAs lists an author's profiles, as Ghost's Person schema does.
func sameAs(a store.Author) []string {
	out := []string{}
	if a.Website != "" {
		out = append(out, a.Website)
	}
	if a.Facebook != "" {
		out = append(out, "https://www.facebook.com/"+strings.TrimPrefix(a.Facebook, "/"))
	}
	if a.Twitter != "" {
		out = append(out, "https://x.com/"+strings.TrimPrefix(a.Twitter, "@"))
	}
	return out
}

// postHead is the metadata of a post or page.
func (h *Handler) postHead(sc siteContext, p store.Post, v theme.Post) theme.Head {
	canonical := firstNonEmpty(p.CanonicalURL, v.URL)
	title := firstNonEmpty(p.MetaTitle, p.Title)
	desc := firstNonEmpty(p.MetaDescription, p.CustomExcerpt, v.Excerpt)
	image := firstNonEmpty(h.absMedia(p.OGImage), v.FeatureImage)
	head := theme.Head{
		Title:       title,
		Description: desc,
		Canonical:   canonical,
		OG: theme.OpenGraph{Type: "article", Title: firstNonEmpty(p.OGTitle, title),
			Description: firstNonEmpty(p.OGDescription, p.CustomExcerpt, desc), Image: image,
			PublishedTime: jsonTime(p.PublishedAt), ModifiedTime: jsonTime(p.UpdatedAt)},
		Twitter: theme.Twitter{Title: firstNonEmpty(p.TwitterTitle, title),
			Description: firstNonEmpty(p.TwitterDescription, p.CustomExcerpt, desc),
			Image:       firstNonEmpty(h.absMedia(p.TwitterImage), v.FeatureImage)},
		Injection: template.HTML(sc.settings.Get("codeinjection_head", "") + p.CodeinjectionHead),
		Foot:      template.HTML(sc.settings.Get("codeinjection_foot", "") + p.CodeinjectionFoot),
	}
	head.Twitter.Card = twitterCard(head.Twitter.Image)
	var tags []string
	for _, t := range v.Tags {
		tags = append(tags, t.Name)
	}
	head.OG.Tags = tags
	if len(v.Authors) > 0 {
		head.Twitter.Labels = append(head.Twitter.Labels, theme.Label{Label: "Written by", Data: v.Authors[0].Name})
	}
	if len(tags) > 0 {
		head.Twitter.Labels = append(head.Twitter.Labels, theme.Label{Label: "Filed under", Data: strings.Join(tags, ", ")})
	}
	ld := map[string]any{"@context": "https://schema.org", "@type": "Article", "publisher": h.publisher(sc),
		"headline": title, "url": v.URL, "datePublished": jsonTime(p.PublishedAt),
		"dateModified": jsonTime(p.UpdatedAt), "mainEntityOfPage": v.URL}
	if desc != "" {
		ld["description"] = desc
	}
	if image != "" {
		ld["image"] = map[string]any{"@type": "ImageObject", "url": image}
	}
	if len(tags) > 0 {
		ld["keywords"] = strings.Join(tags, ", ")
	}
	if len(p.Authors) > 0 {
		a := p.Authors[0]
		person := map[string]any{"@type": "Person", "name": a.Name, "url": h.abs("/author/" + a.Slug + "/"), "sameAs": sameAs(a)}
		if img := h.absMedia(a.ProfileImage); img != "" {
			person["image"] = map[string]any{"@type": "ImageObject", "url": img}
		}
		ld["author"] = person
	}
	head.JSONLD = ld
	return head
}
