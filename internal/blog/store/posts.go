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
	PublishedAt               time.Time
	CreatedAt, UpdatedAt      time.Time
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
)

const postColumns = `p.id, p.uuid, p.title, p.slug, %s, %s, p.markdown, p.feature_image,
	m.feature_image_alt, m.feature_image_caption, p.featured, p.type, p.status, p.visibility,
	p.custom_excerpt, p.canonical_url, p.codeinjection_head, p.codeinjection_foot,
	m.meta_title, m.meta_description, p.published_at, p.created_at, p.updated_at
	FROM posts p LEFT JOIN posts_meta m ON m.post_id = p.id`

var (
	listPublishedSQL = `SELECT ` + fmt.Sprintf(postColumns, `''`, fmt.Sprintf(`substr(p.plaintext, 1, %d)`, SummaryPlaintextRunes)) + `
	WHERE p.type = 'post' AND p.status = 'published'
	ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`
	countPublishedSQL = `SELECT count(*) FROM posts WHERE type = 'post' AND status = 'published'`
	// Posts win over pages with the same slug, as Ghost's collection router
	// runs before the static pages router.
	bySlugSQL = `SELECT ` + fmt.Sprintf(postColumns, `p.html`, `p.plaintext`) + `
	WHERE p.slug = ? AND p.status = 'published' AND p.type IN ('post', 'page')
	ORDER BY p.type = 'page' LIMIT 1`
)

func scanPost(sc interface{ Scan(...any) error }) (Post, error) {
	var p Post
	var featured int
	err := sc.Scan(&p.ID, &p.UUID, &p.Title, &p.Slug, nullable{&p.HTML}, nullable{&p.Plaintext},
		nullable{&p.Markdown}, nullable{&p.FeatureImage}, nullable{&p.FeatureImageAlt},
		nullable{&p.FeatureImageCaption}, &featured, &p.Type, &p.Status, &p.Visibility,
		nullable{&p.CustomExcerpt}, nullable{&p.CanonicalURL}, nullable{&p.CodeinjectionHead},
		nullable{&p.CodeinjectionFoot}, nullable{&p.MetaTitle}, nullable{&p.MetaDescription},
		nullTime{&p.PublishedAt}, nullTime{&p.CreatedAt}, nullTime{&p.UpdatedAt})
	p.Featured = featured != 0
	return p, err
}

// PublishedPosts returns one page of published posts, newest first, with
// their authors and tags (two extra queries in all, not one per post).
func (s *Store) PublishedPosts(ctx context.Context, limit, offset int) ([]Post, error) {
	rows, err := s.stmts.listPublished.QueryContext(ctx, limit, offset)
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
	if errors.Is(err, sql.ErrNoRows) {
		return Post{}, ErrNotFound
	}
	if err != nil {
		return Post{}, fmt.Errorf("post %q: %w", slug, err)
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
	// Type is TypePost (default) or TypePage.
	Type string
	// Status is StatusPublished (default) or StatusDraft.
	Status string
	// PublishedAt defaults to now for published posts.
	PublishedAt time.Time
	// Tags are tag names, created when missing; the first is the primary.
	Tags []string
}

// maxTitleRunes is Ghost's title limit.
const maxTitleRunes = 255

// CreatePost renders np's Markdown and inserts the post with the owner as
// its author, in one transaction so the slug check cannot race.
func (s *Store) CreatePost(ctx context.Context, np NewPost) (Post, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	defer tx.Rollback()
	owner, err := ownerID(ctx, tx)
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	p, err := s.insertPost(ctx, tx, np, owner)
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	return p, nil
}

func (s *Store) insertPost(ctx context.Context, q queryer, np NewPost, authorID string) (Post, error) {
	now := s.now().UTC().Truncate(time.Second)
	title := strings.TrimSpace(np.Title)
	if title == "" {
		title = "(Untitled)"
	}
	if utf8.RuneCountInString(title) > maxTitleRunes {
		return Post{}, fmt.Errorf("title is longer than %d characters", maxTitleRunes)
	}
	typ := np.Type
	if typ == "" {
		typ = TypePost
	}
	if typ != TypePost && typ != TypePage {
		return Post{}, fmt.Errorf("type %q must be %q or %q", typ, TypePost, TypePage)
	}
	status := np.Status
	if status == "" {
		status = StatusPublished
	}
	if status != StatusPublished && status != StatusDraft {
		return Post{}, fmt.Errorf("status %q must be %q or %q", status, StatusPublished, StatusDraft)
	}
	base := np.Slug
	if base == "" {
		base = title
	}
	sl, err := slug.Unique(ctx, slug.Make(base, slug.Post), func(ctx context.Context, cand string) (bool, error) {
		return exists(ctx, q, `SELECT 1 FROM posts WHERE slug = ?`, cand)
	})
	if err != nil {
		return Post{}, err
	}
	html, err := s.md.HTML(np.Markdown)
	if err != nil {
		return Post{}, err
	}
	p := Post{
		ID: s.ids.next(now), UUID: newUUID(), Title: title, Slug: sl,
		HTML: html, Plaintext: render.Plaintext(html), Markdown: np.Markdown,
		Type: typ, Status: status, Visibility: "public",
		CreatedAt: now, UpdatedAt: now,
	}
	var published, publishedBy any
	if status == StatusPublished {
		p.PublishedAt = np.PublishedAt.UTC().Truncate(time.Second)
		if np.PublishedAt.IsZero() {
			p.PublishedAt = now
		}
		published, publishedBy = formatTime(p.PublishedAt), authorID
	}
	_, err = q.ExecContext(ctx, `INSERT INTO posts (id, uuid, title, slug, markdown, html, comment_id,
		plaintext, type, status, visibility, created_at, created_by, updated_at, updated_by,
		published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UUID, p.Title, p.Slug, p.Markdown, p.HTML, p.ID, p.Plaintext, p.Type, p.Status,
		p.Visibility, formatTime(now), authorID, formatTime(now), authorID, published, publishedBy)
	if err != nil {
		return Post{}, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO posts_authors (id, post_id, author_id, sort_order) VALUES (?, ?, ?, 0)`,
		s.ids.next(now), p.ID, authorID); err != nil {
		return Post{}, err
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
