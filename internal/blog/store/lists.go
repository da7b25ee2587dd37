package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Filter picks the posts of an archive: all published posts, or those of
// one tag or one author. At most one of TagID and AuthorID is set.
type Filter struct {
	TagID, AuthorID string
}

// archivePublished selects published posts in queries that start from a
// tag's or author's rows. The unary plus keeps SQLite from using the
// (type, status, published_at) index there: walking every published post
// and probing the join table for each is what a rare tag on a large site
// must not do; reading the tag's rows and sorting them is bounded by the
// tag's size.
const archivePublished = `+p.type = 'post' AND +p.status = 'published'`

var (
	listByTagSQL = `SELECT ` + fmt.Sprintf(postColumns, summaryColumns) + `
	WHERE ` + archivePublished + `
	  AND p.id IN (SELECT post_id FROM posts_tags WHERE tag_id = ?)
	ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`
	countByTagSQL = `SELECT count(*) FROM posts_tags pt JOIN posts p ON p.id = pt.post_id
	WHERE pt.tag_id = ? AND ` + archivePublished
	listByAuthorSQL = `SELECT ` + fmt.Sprintf(postColumns, summaryColumns) + `
	WHERE ` + archivePublished + `
	  AND p.id IN (SELECT post_id FROM posts_authors WHERE author_id = ?)
	ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`
	countByAuthorSQL = `SELECT count(*) FROM posts_authors pa JOIN posts p ON p.id = pa.post_id
	WHERE pa.author_id = ? AND ` + archivePublished
)

// ListPosts returns one page of the published posts f selects, newest
// first, with their authors and tags.
func (s *Store) ListPosts(ctx context.Context, f Filter, limit, offset int) ([]Post, error) {
	switch {
	case f.TagID != "":
		return s.queryPosts(ctx, s.stmts.listByTag, f.TagID, limit, offset)
	case f.AuthorID != "":
		return s.queryPosts(ctx, s.stmts.listByAuthor, f.AuthorID, limit, offset)
	}
	return s.queryPosts(ctx, s.stmts.listPublished, limit, offset)
}

// FeedPosts returns the newest published posts f selects with their
// full html, for feeds.
func (s *Store) FeedPosts(ctx context.Context, f Filter, limit int) ([]Post, error) {
	q := `SELECT ` + fmt.Sprintf(postColumns, fullColumns) + ` WHERE p.type = 'post' AND p.status = 'published'`
	args := []any{}
	if f != (Filter{}) {
		q = `SELECT ` + fmt.Sprintf(postColumns, fullColumns) + ` WHERE ` + archivePublished
	}
	switch {
	case f.TagID != "":
		q += ` AND p.id IN (SELECT post_id FROM posts_tags WHERE tag_id = ?)`
		args = append(args, f.TagID)
	case f.AuthorID != "":
		q += ` AND p.id IN (SELECT post_id FROM posts_authors WHERE author_id = ?)`
		args = append(args, f.AuthorID)
	}
	q += ` ORDER BY p.published_at DESC, p.id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, append(args, limit)...)
	return s.collectPosts(ctx, rows, err)
}

// CountPosts counts the published posts f selects.
func (s *Store) CountPosts(ctx context.Context, f Filter) (int, error) {
	var row *sql.Row
	switch {
	case f.TagID != "":
		row = s.stmts.countByTag.QueryRowContext(ctx, f.TagID)
	case f.AuthorID != "":
		row = s.stmts.countByAuthor.QueryRowContext(ctx, f.AuthorID)
	default:
		row = s.stmts.countPublished.QueryRowContext(ctx)
	}
	var n int
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return n, nil
}

// SitemapEntry is one URL of a sitemap: a slug, when it last changed and
// its image, if any.
type SitemapEntry struct {
	Slug         string
	Modified     time.Time
	Image        string
	ImageCaption string
}

// Sitemap kinds, as Ghost names its sub-sitemaps.
const (
	SitemapPosts   = "posts"
	SitemapPages   = "pages"
	SitemapTags    = "tags"
	SitemapAuthors = "authors"
)

// Tags and authors are listed when they have a published post, as
// Ghost's sitemap only lists taxonomies with content.
var sitemapSQL = map[string]string{
	SitemapPosts: `SELECT p.slug, coalesce(p.updated_at, p.published_at), p.feature_image, m.feature_image_caption
		FROM posts p LEFT JOIN posts_meta m ON m.post_id = p.id
		WHERE p.type = 'post' AND p.status = 'published'
		ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
	SitemapPages: `SELECT p.slug, coalesce(p.updated_at, p.published_at), p.feature_image, m.feature_image_caption
		FROM posts p LEFT JOIN posts_meta m ON m.post_id = p.id
		WHERE p.type = 'page' AND p.status = 'published'
		ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
	SitemapTags: `SELECT t.slug, coalesce(t.updated_at, t.created_at), t.feature_image, NULL
		FROM tags t WHERE t.visibility = 'public' AND EXISTS (
			SELECT 1 FROM posts_tags pt JOIN posts p ON p.id = pt.post_id
			WHERE pt.tag_id = t.id AND ` + archivePublished + `)
		ORDER BY t.slug LIMIT ? OFFSET ?`,
	SitemapAuthors: `SELECT u.slug, coalesce(u.updated_at, u.created_at), u.profile_image, NULL
		FROM users u WHERE u.visibility = 'public' AND EXISTS (
			SELECT 1 FROM posts_authors pa JOIN posts p ON p.id = pa.post_id
			WHERE pa.author_id = u.id AND ` + archivePublished + `)
		ORDER BY u.slug LIMIT ? OFFSET ?`,
}

// SitemapEntries returns one page of the entries of a sitemap kind.
func (s *Store) SitemapEntries(ctx context.Context, kind string, limit, offset int) ([]SitemapEntry, error) {
	q, ok := sitemapSQL[kind]
	if !ok {
		return nil, fmt.Errorf("sitemap %q: %w", kind, ErrNotFound)
	}
	rows, err := s.db.QueryContext(ctx, q, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sitemap %s: %w", kind, err)
	}
	defer rows.Close()
	var out []SitemapEntry
	for rows.Next() {
		var e SitemapEntry
		if err := rows.Scan(&e.Slug, nullTime{&e.Modified}, nullable{&e.Image}, nullable{&e.ImageCaption}); err != nil {
			return nil, fmt.Errorf("sitemap %s: %w", kind, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PublishDue publishes every scheduled post whose time has come and
// reports how many it published.
func (s *Store) PublishDue(ctx context.Context) (int, error) {
	now := formatTime(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE posts SET status = 'published', updated_at = ?,
		published_by = coalesce(published_by, updated_by, created_by)
		WHERE status = 'scheduled' AND published_at <= ?`, now, now)
	if err != nil {
		return 0, fmt.Errorf("publish scheduled posts: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// NextScheduled returns the time of the next scheduled post; ok is false
// when none is waiting.
func (s *Store) NextScheduled(ctx context.Context) (t time.Time, ok bool, err error) {
	var at string
	err = s.db.QueryRowContext(ctx, `SELECT coalesce(min(published_at), '') FROM posts WHERE status = 'scheduled'`).Scan(&at)
	if err != nil || at == "" {
		return time.Time{}, false, err
	}
	t, err = parseTime(at)
	return t, err == nil, err
}

// sitemapSummarySQL counts each kind's entries and finds its latest
// change, for the sitemap index.
var sitemapSummarySQL = map[string]string{
	SitemapPosts: `SELECT count(*), coalesce(max(coalesce(updated_at, published_at)), '')
		FROM posts WHERE type = 'post' AND status = 'published'`,
	SitemapPages: `SELECT count(*), coalesce(max(coalesce(updated_at, published_at)), '')
		FROM posts WHERE type = 'page' AND status = 'published'`,
	SitemapTags: `SELECT count(*), coalesce(max(coalesce(t.updated_at, t.created_at)), '')
		FROM tags t WHERE t.visibility = 'public' AND EXISTS (
			SELECT 1 FROM posts_tags pt JOIN posts p ON p.id = pt.post_id
			WHERE pt.tag_id = t.id AND ` + archivePublished + `)`,
	SitemapAuthors: `SELECT count(*), coalesce(max(coalesce(u.updated_at, u.created_at)), '')
		FROM users u WHERE u.visibility = 'public' AND EXISTS (
			SELECT 1 FROM posts_authors pa JOIN posts p ON p.id = pa.post_id
			WHERE pa.author_id = u.id AND ` + archivePublished + `)`,
}

// SitemapSummary returns how many entries a sitemap kind has and when the
// latest of them changed.
func (s *Store) SitemapSummary(ctx context.Context, kind string) (int, time.Time, error) {
	q, ok := sitemapSummarySQL[kind]
	if !ok {
		return 0, time.Time{}, fmt.Errorf("sitemap %q: %w", kind, ErrNotFound)
	}
	var n int
	var last time.Time
	if err := s.db.QueryRowContext(ctx, q).Scan(&n, nullTime{&last}); err != nil {
		return 0, time.Time{}, fmt.Errorf("sitemap %s: %w", kind, err)
	}
	return n, last, nil
}
