package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"wisp/internal/blog/render"
	"wisp/internal/blog/slug"
)

// Post is a post or a page with what the site shows of it.
type Post struct {
	ID, UUID, Title, Slug string
	// HTML is empty in list results; Plaintext there is cut to
	// SummaryPlaintextRunes, enough for an excerpt.
	HTML, Plaintext, Markdown string
	FeatureImage              string
	FeatureImageAlt           string
	FeatureImageCaption       string
	Featured                  bool
	Type, Status, Visibility  string
	CustomExcerpt             string
	CanonicalURL              string
	CodeinjectionHead         string
	CodeinjectionFoot         string
	MetaTitle                 string
	MetaDescription           string
	OGImage, OGTitle          string
	OGDescription             string
	TwitterImage              string
	TwitterTitle              string
	TwitterDescription        string
	// Lexical and Mobiledoc are the editor sources of posts that came from
	// Ghost; they are empty in list results.
	Lexical, Mobiledoc   string
	PublishedAt          time.Time
	CreatedAt, UpdatedAt time.Time
	// Authors and Tags are in sort_order; the first is the primary one.
	Authors []Author
	Tags    []Tag
}

// SummaryPlaintextRunes is how much plaintext list queries return.
const SummaryPlaintextRunes = 600

// Post types and statuses, as Ghost names them.
const (
	TypePost = "post"
	TypePage = "page"

	StatusPublished = "published"
	StatusDraft     = "draft"
	StatusScheduled = "scheduled"
)

// postColumns lists what scanPost reads; the first %s is the html,
// plaintext and source columns (full or cut down for lists).
const postColumns = `p.id, p.uuid, p.title, p.slug, %s, p.feature_image,
	m.feature_image_alt, m.feature_image_caption, p.featured, p.type, p.status, p.visibility,
	p.custom_excerpt, p.canonical_url, p.codeinjection_head, p.codeinjection_foot,
	m.meta_title, m.meta_description, m.og_image, m.og_title, m.og_description,
	m.twitter_image, m.twitter_title, m.twitter_description,
	p.published_at, p.created_at, p.updated_at
	FROM posts p LEFT JOIN posts_meta m ON m.post_id = p.id`

var (
	// summaryColumns leave out what a list does not show.
	summaryColumns = fmt.Sprintf(`'', substr(p.plaintext, 1, %d), '', '', ''`, SummaryPlaintextRunes)
	fullColumns    = `p.html, p.plaintext, p.markdown, p.lexical, p.mobiledoc`

	listPublishedSQL = `SELECT ` + fmt.Sprintf(postColumns, summaryColumns) + `
	WHERE p.type = 'post' AND p.status = 'published'
	ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`
	// post_counts is kept by triggers (migration 0003): counting the rows
	// took up to 1.4 s at 100,000 posts.
	countPublishedSQL = `SELECT coalesce((SELECT n FROM post_counts WHERE type = 'post' AND status = 'published'), 0)`
	// Posts win over pages with the same slug, as Ghost's collection router
	// runs before the static pages router.
	bySlugSQL = `SELECT ` + fmt.Sprintf(postColumns, fullColumns) + `
	WHERE p.slug = ? AND p.status = 'published' AND p.type IN ('post', 'page')
	ORDER BY p.type = 'page' LIMIT 1`
)

func scanPost(sc interface{ Scan(...any) error }) (Post, error) {
	var p Post
	var featured int
	err := sc.Scan(&p.ID, &p.UUID, &p.Title, &p.Slug, nullable{&p.HTML}, nullable{&p.Plaintext},
		nullable{&p.Markdown}, nullable{&p.Lexical}, nullable{&p.Mobiledoc},
		nullable{&p.FeatureImage}, nullable{&p.FeatureImageAlt},
		nullable{&p.FeatureImageCaption}, &featured, &p.Type, &p.Status, &p.Visibility,
		nullable{&p.CustomExcerpt}, nullable{&p.CanonicalURL}, nullable{&p.CodeinjectionHead},
		nullable{&p.CodeinjectionFoot}, nullable{&p.MetaTitle}, nullable{&p.MetaDescription},
		nullable{&p.OGImage}, nullable{&p.OGTitle}, nullable{&p.OGDescription},
		nullable{&p.TwitterImage}, nullable{&p.TwitterTitle}, nullable{&p.TwitterDescription},
		nullTime{&p.PublishedAt}, nullTime{&p.CreatedAt}, nullTime{&p.UpdatedAt})
	p.Featured = featured != 0
	return p, err
}

// PublishedPosts returns one page of published posts, newest first, with
// their authors and tags (two extra queries in all, not one per post).
func (s *Store) PublishedPosts(ctx context.Context, limit, offset int) ([]Post, error) {
	return s.queryPosts(ctx, s.stmts.listPublished, limit, offset)
}

// queryPosts runs a list statement and attaches the posts' relations.
func (s *Store) queryPosts(ctx context.Context, stmt *sql.Stmt, args ...any) ([]Post, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	return s.collectPosts(ctx, rows, err)
}

// collectPosts reads the rows of a post query and attaches the posts'
// relations.
func (s *Store) collectPosts(ctx context.Context, rows *sql.Rows, err error) ([]Post, error) {
	if err != nil {
		return nil, fmt.Errorf("list posts: %w", err)
	}
	defer rows.Close()
	var posts []Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, fmt.Errorf("list posts: %w", err)
		}
		posts = append(posts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list posts: %w", err)
	}
	return posts, s.attachRelations(ctx, posts)
}

// CountPublishedPosts counts published posts (for pagination).
func (s *Store) CountPublishedPosts(ctx context.Context) (int, error) {
	var n int
	err := s.stmts.countPublished.QueryRowContext(ctx).Scan(&n)
	return n, err
}

// PublishedBySlug returns the published post, or else page, with slug.
func (s *Store) PublishedBySlug(ctx context.Context, slug string) (Post, error) {
	p, err := scanPost(s.stmts.bySlug.QueryRowContext(ctx, slug))
	if err := lookupErr(err, "post", slug); err != nil {
		return Post{}, err
	}
	posts := []Post{p}
	if err := s.attachRelations(ctx, posts); err != nil {
		return Post{}, err
	}
	return posts[0], nil
}

// attachRelations loads authors and tags for all posts at once.
func (s *Store) attachRelations(ctx context.Context, posts []Post) error {
	if len(posts) == 0 {
		return nil
	}
	index := make(map[string]int, len(posts))
	ids := make([]string, len(posts))
	for i, p := range posts {
		index[p.ID] = i
		ids[i] = p.ID
	}
	idJSON, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	authors, err := s.authorsOf(ctx, string(idJSON))
	if err != nil {
		return err
	}
	for _, a := range authors {
		posts[index[a.postID]].Authors = append(posts[index[a.postID]].Authors, a.Author)
	}
	tags, err := s.tagsOf(ctx, string(idJSON))
	if err != nil {
		return err
	}
	for _, t := range tags {
		posts[index[t.postID]].Tags = append(posts[index[t.postID]].Tags, t.Tag)
	}
	return nil
}

// NewPost is what CreatePost needs; zero values take Ghost's defaults.
type NewPost struct {
	Title string
	// Slug is the wanted slug; empty means one made from the title. Either
	// way Ghost's slug rules and de-duplication apply.
	Slug     string
	Markdown string
	// HTML is used as given when Markdown is empty (content from Ghost,
	// whose html column is always the rendered result). Lexical and
	// Mobiledoc are kept beside it.
	HTML, Lexical, Mobiledoc string
	// Type is TypePost (default) or TypePage.
	Type string
	// Status is StatusPublished (default), StatusDraft or StatusScheduled.
	Status string
	// PublishedAt defaults to now for published posts; a scheduled post
	// needs it, and goes live then.
	PublishedAt time.Time
	// Tags are tag names, created when missing; the first is the primary.
	Tags []string
	// Authors are user slugs; the first is the primary. Empty means the
	// site's Owner.
	Authors []string
	// Visibility is "public" (default), "members", "paid" or "tiers".
	Visibility          string
	Featured            bool
	FeatureImage        string
	FeatureImageAlt     string
	FeatureImageCaption string
	CustomExcerpt       string
	CanonicalURL        string
	CodeinjectionHead   string
	CodeinjectionFoot   string
	Meta                PostMeta
}

// PostMeta are the SEO and sharing fields Ghost keeps in posts_meta.
type PostMeta struct {
	MetaTitle, MetaDescription                     string
	OGImage, OGTitle, OGDescription                string
	TwitterImage, TwitterTitle, TwitterDescription string
}

func (m PostMeta) empty() bool { return m == PostMeta{} }

// Limits Ghost's validation enforces on posts.
const (
	maxTitleRunes         = 255
	maxCustomExcerptRunes = 300
	maxMetaTitleRunes     = 300
	maxMetaDescRunes      = 500
)

var visibilities = map[string]bool{"public": true, "members": true, "paid": true, "tiers": true}

// CreatePost renders np's Markdown and inserts the post with its authors
// (the owner by default), in one transaction so the slug check cannot race.
func (s *Store) CreatePost(ctx context.Context, np NewPost) (Post, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	defer tx.Rollback()
	authors, err := authorIDs(ctx, tx, np.Authors)
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	p, err := s.insertPost(ctx, tx, np, authors)
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	return p, nil
}

// validate applies Ghost's defaults to np and checks its fields.
func (np *NewPost) validate() error {
	np.Title = strings.TrimSpace(np.Title)
	if np.Title == "" {
		np.Title = "(Untitled)"
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"title", np.Title, maxTitleRunes},
		{"custom_excerpt", np.CustomExcerpt, maxCustomExcerptRunes},
		{"meta_title", np.Meta.MetaTitle, maxMetaTitleRunes},
		{"meta_description", np.Meta.MetaDescription, maxMetaDescRunes},
	} {
		if utf8.RuneCountInString(f.value) > f.max {
			return fmt.Errorf("%s is longer than %d characters", f.name, f.max)
		}
	}
	if np.Type == "" {
		np.Type = TypePost
	}
	if np.Type != TypePost && np.Type != TypePage {
		return fmt.Errorf("type %q must be %q or %q", np.Type, TypePost, TypePage)
	}
	if np.Status == "" {
		np.Status = StatusPublished
	}
	switch np.Status {
	case StatusPublished, StatusDraft:
	case StatusScheduled:
		if np.PublishedAt.IsZero() {
			return errors.New("a scheduled post needs a publication time")
		}
	default:
		return fmt.Errorf("status %q must be %q, %q or %q", np.Status, StatusPublished, StatusDraft, StatusScheduled)
	}
	if np.Visibility == "" {
		np.Visibility = "public"
	}
	if !visibilities[np.Visibility] {
		return fmt.Errorf("visibility %q must be public, members, paid or tiers", np.Visibility)
	}
	return nil
}

func (s *Store) insertPost(ctx context.Context, q queryer, np NewPost, authorIDs []string) (Post, error) {
	now := s.now().UTC().Truncate(time.Second)
	if err := np.validate(); err != nil {
		return Post{}, err
	}
	base := np.Slug
	if base == "" {
		base = np.Title
	}
	sl, err := slug.Unique(ctx, slug.Make(base, slug.Post), func(ctx context.Context, cand string) (bool, error) {
		return exists(ctx, q, `SELECT 1 FROM posts WHERE slug = ?`, cand)
	})
	if err != nil {
		return Post{}, err
	}
	html := np.HTML
	if np.Markdown != "" || html == "" {
		if html, err = s.md.HTML(np.Markdown); err != nil {
			return Post{}, err
		}
	}
	p := Post{
		ID: s.ids.next(now), UUID: newUUID(), Title: np.Title, Slug: sl,
		HTML: html, Plaintext: render.Plaintext(html), Markdown: np.Markdown,
		Lexical: np.Lexical, Mobiledoc: np.Mobiledoc,
		Type: np.Type, Status: np.Status, Visibility: np.Visibility, Featured: np.Featured,
		FeatureImage: np.FeatureImage, FeatureImageAlt: np.FeatureImageAlt,
		FeatureImageCaption: np.FeatureImageCaption, CustomExcerpt: np.CustomExcerpt,
		CanonicalURL: np.CanonicalURL, CodeinjectionHead: np.CodeinjectionHead,
		CodeinjectionFoot: np.CodeinjectionFoot,
		MetaTitle:         np.Meta.MetaTitle, MetaDescription: np.Meta.MetaDescription,
		OGImage: np.Meta.OGImage, OGTitle: np.Meta.OGTitle, OGDescription: np.Meta.OGDescription,
		TwitterImage: np.Meta.TwitterImage, TwitterTitle: np.Meta.TwitterTitle,
		TwitterDescription: np.Meta.TwitterDescription,
		CreatedAt:          now, UpdatedAt: now,
	}
	var published, publishedBy any
	if np.Status != StatusDraft {
		p.PublishedAt = np.PublishedAt.UTC().Truncate(time.Second)
		if np.PublishedAt.IsZero() {
			p.PublishedAt = now
		}
		published = formatTime(p.PublishedAt)
	}
	if np.Status == StatusPublished {
		publishedBy = authorIDs[0]
	}
	_, err = q.ExecContext(ctx, `INSERT INTO posts (id, uuid, title, slug, markdown, html, lexical, mobiledoc,
		comment_id, plaintext, type, status, visibility, featured, feature_image, custom_excerpt,
		canonical_url, codeinjection_head, codeinjection_foot, created_at, created_by, updated_at,
		updated_by, published_at, published_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UUID, p.Title, p.Slug, nullIfEmpty(p.Markdown), p.HTML, nullIfEmpty(p.Lexical),
		nullIfEmpty(p.Mobiledoc), p.ID, p.Plaintext, p.Type, p.Status, p.Visibility, p.Featured,
		nullIfEmpty(p.FeatureImage), nullIfEmpty(p.CustomExcerpt), nullIfEmpty(p.CanonicalURL),
		nullIfEmpty(p.CodeinjectionHead), nullIfEmpty(p.CodeinjectionFoot),
		formatTime(now), authorIDs[0], formatTime(now), authorIDs[0], published, publishedBy)
	if err != nil {
		return Post{}, err
	}
	// Ghost only creates a posts_meta row when a post has one of its fields.
	if !np.Meta.empty() || np.FeatureImageAlt != "" || np.FeatureImageCaption != "" {
		m := np.Meta
		if _, err := q.ExecContext(ctx, `INSERT INTO posts_meta (id, post_id, og_image, og_title,
			og_description, twitter_image, twitter_title, twitter_description, meta_title,
			meta_description, feature_image_alt, feature_image_caption)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ids.next(now), p.ID, nullIfEmpty(m.OGImage), nullIfEmpty(m.OGTitle),
			nullIfEmpty(m.OGDescription), nullIfEmpty(m.TwitterImage), nullIfEmpty(m.TwitterTitle),
			nullIfEmpty(m.TwitterDescription), nullIfEmpty(m.MetaTitle), nullIfEmpty(m.MetaDescription),
			nullIfEmpty(np.FeatureImageAlt), nullIfEmpty(np.FeatureImageCaption)); err != nil {
			return Post{}, err
		}
	}
	for i, id := range authorIDs {
		if _, err := q.ExecContext(ctx, `INSERT OR IGNORE INTO posts_authors (id, post_id, author_id, sort_order) VALUES (?, ?, ?, ?)`,
			s.ids.next(now), p.ID, id, i); err != nil {
			return Post{}, err
		}
	}
	for i, name := range np.Tags {
		t, err := s.ensureTag(ctx, q, name)
		if err != nil {
			return Post{}, err
		}
		if _, err := q.ExecContext(ctx, `INSERT OR IGNORE INTO posts_tags (id, post_id, tag_id, sort_order) VALUES (?, ?, ?, ?)`,
			s.ids.next(now), p.ID, t.ID, i); err != nil {
			return Post{}, err
		}
		p.Tags = append(p.Tags, t)
	}
	return p, nil
}

// exists reports whether query returns a row.
func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
