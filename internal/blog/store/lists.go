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

// archive is the SQL of a tag's or an author's archive: its join table,
// the column naming the tag or author there, and the trigger-kept table of
// its published post counts (migration 0003).
type archive struct {
	links, key, counts string
}

var (
	tagArchive    = archive{links: "posts_tags", key: "tag_id", counts: "tag_post_counts"}
	authorArchive = archive{links: "posts_authors", key: "author_id", counts: "author_post_counts"}
)

// countSQL reads the archive's count of published posts.
func (a archive) countSQL() string {
	return `SELECT coalesce((SELECT n FROM ` + a.counts + ` WHERE ` + a.key + ` = ?), 0)`
}

// listSQL selects one page of the archive's published posts, newest
// first, with the given html/plaintext columns. Its arguments are the tag
// or author id, the limit and the offset. There are two plans, and which
// is faster depends on how much of the site the archive holds:
//   - walk: read the published posts newest first from the
//     (type, status, published_at) index and probe each one's link. For an
//     archive holding a share s of the site, a page ends after about
//     (offset+limit)/s index entries, wherever it is in the archive.
//   - from the links: read every link of the tag or author, filter and
//     sort them in the (id, type, status, published_at) index without
//     reading the posts' rows (which hold the html), then read the rows of
//     the page's ids only. It costs the archive's size in index entries.
//
// INDEXED BY because SQLite otherwise joins through the primary key and
// reads every linked post's row to filter and sort.
func (a archive) listSQL(columns string, walk bool) string {
	if walk {
		return `SELECT ` + fmt.Sprintf(postColumns, columns) + `
	WHERE p.type = 'post' AND p.status = 'published'
	  AND EXISTS (SELECT 1 FROM ` + a.links + ` x WHERE x.post_id = p.id AND x.` + a.key + ` = ?)
	ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`
	}
	return `SELECT ` + fmt.Sprintf(postColumns, columns) + `
	WHERE p.id IN (SELECT q.id FROM ` + a.links + ` x
		JOIN posts q INDEXED BY posts_id_type_status_published_at ON q.id = x.post_id
		WHERE x.` + a.key + ` = ? AND q.type = 'post' AND q.status = 'published'
		ORDER BY q.published_at DESC, q.id DESC LIMIT ? OFFSET ?)
	ORDER BY p.published_at DESC, p.id DESC`
}

// walkIsCheaper says whether the walk plan of listSQL reaches the page
// after reading fewer index entries than the archive holds: the walk reads
// about (offset+limit) * total/n entries (n of total published posts in
// the archive), the other plan n.
func walkIsCheaper(n, total, limit, offset int) bool {
	if n <= 0 {
		return false
	}
	// float64: this is an estimate, and n*n can overflow an int64.
	return float64(offset+limit)*float64(total) < float64(n)*float64(n)
}

var (
	listByTagSQL        = tagArchive.listSQL(summaryColumns, false)
	listByTagWalkSQL    = tagArchive.listSQL(summaryColumns, true)
	countByTagSQL       = tagArchive.countSQL()
	listByAuthorSQL     = authorArchive.listSQL(summaryColumns, false)
	listByAuthorWalkSQL = authorArchive.listSQL(summaryColumns, true)
	countByAuthorSQL    = authorArchive.countSQL()
)

// archiveOf returns the archive f selects and its tag or author id; ok is
// false for the unfiltered list of all published posts.
func archiveOf(f Filter) (a archive, id string, ok bool) {
	switch {
	case f.TagID != "":
		return tagArchive, f.TagID, true
	case f.AuthorID != "":
		return authorArchive, f.AuthorID, true
	}
	return archive{}, "", false
}

// walks says whether a page of f's archive is read with the walk plan.
func (s *Store) walks(ctx context.Context, f Filter, limit, offset int) (bool, error) {
	n, err := s.CountPosts(ctx, f)
	if err != nil {
		return false, err
	}
	total, err := s.CountPosts(ctx, Filter{})
	if err != nil {
		return false, err
	}
	return walkIsCheaper(n, total, limit, offset), nil
}

// ListPosts returns one page of the published posts f selects, newest
// first, with their authors and tags.
func (s *Store) ListPosts(ctx context.Context, f Filter, limit, offset int) ([]Post, error) {
	a, id, ok := archiveOf(f)
	if !ok {
		return s.queryPosts(ctx, s.stmts.listPublished, limit, offset)
	}
	walk, err := s.walks(ctx, f, limit, offset)
	if err != nil {
		return nil, err
	}
	return s.queryPosts(ctx, s.stmts.archiveList(a, walk), id, limit, offset)
}

// FeedPosts returns the newest published posts f selects with their
// full html, for feeds.
func (s *Store) FeedPosts(ctx context.Context, f Filter, limit int) ([]Post, error) {
	a, id, ok := archiveOf(f)
	if !ok {
		q := `SELECT ` + fmt.Sprintf(postColumns, fullColumns) + ` WHERE p.type = 'post' AND p.status = 'published'
		ORDER BY p.published_at DESC, p.id DESC LIMIT ?`
		rows, err := s.db.QueryContext(ctx, q, limit)
		return s.collectPosts(ctx, rows, err)
	}
	walk, err := s.walks(ctx, f, limit, 0)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, a.listSQL(fullColumns, walk), id, limit, 0)
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
// Ghost's sitemap only lists taxonomies with content. Posts and pages are
// read from the covering index posts_sitemap (migration 0004), named
// because after ANALYZE SQLite prefers the narrower
// posts_type_status_published_at and reads every listed post's row.
const (
	tagHasPosts    = `EXISTS (SELECT 1 FROM tag_post_counts c WHERE c.tag_id = t.id AND c.n > 0)`
	authorHasPosts = `EXISTS (SELECT 1 FROM author_post_counts c WHERE c.author_id = u.id AND c.n > 0)`
)

var sitemapSQL = map[string]string{
	SitemapPosts: `SELECT p.slug, coalesce(p.updated_at, p.published_at), p.feature_image, m.feature_image_caption
		FROM posts p INDEXED BY posts_sitemap LEFT JOIN posts_meta m ON m.post_id = p.id
		WHERE p.type = 'post' AND p.status = 'published'
		ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
	SitemapPages: `SELECT p.slug, coalesce(p.updated_at, p.published_at), p.feature_image, m.feature_image_caption
		FROM posts p INDEXED BY posts_sitemap LEFT JOIN posts_meta m ON m.post_id = p.id
		WHERE p.type = 'page' AND p.status = 'published'
		ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
	SitemapTags: `SELECT t.slug, coalesce(t.updated_at, t.created_at), t.feature_image, NULL
		FROM tags t WHERE t.visibility = 'public' AND ` + tagHasPosts + `
		ORDER BY t.slug LIMIT ? OFFSET ?`,
	SitemapAuthors: `SELECT u.slug, coalesce(u.updated_at, u.created_at), u.profile_image, NULL
		FROM users u WHERE u.visibility = 'public' AND ` + authorHasPosts + `
		ORDER BY u.slug LIMIT ? OFFSET ?`,
}

// SitemapEntries returns one page of the entries of a sitemap kind.
func (s *Store) SitemapEntries(ctx context.Context, kind string, limit, offset int) ([]SitemapEntry, error) {
	q, ok := sitemapSQL[kind]
	if !ok {
		return nil, fmt.Errorf("sitemap %q: %w", kind, ErrNotFound)
	}
	dest := func(e *SitemapEntry) []any {
		return []any{&e.Slug, nullTime{&e.Modified}, nullable{&e.Image}, nullable{&e.ImageCaption}}
	}
	rows, err := s.db.QueryContext(ctx, q, limit, offset)
	return scanAll("sitemap "+kind, dest, rows, err)
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
// change, for the sitemap index. Posts and pages take their count from
// post_counts and their latest change from one step into the
// posts_type_status_modified index (migration 0003).
var sitemapSummarySQL = map[string]string{
	SitemapPosts: postsSummarySQL(TypePost),
	SitemapPages: postsSummarySQL(TypePage),
	SitemapTags: `SELECT count(*), coalesce(max(coalesce(t.updated_at, t.created_at)), '')
		FROM tags t WHERE t.visibility = 'public' AND ` + tagHasPosts,
	SitemapAuthors: `SELECT count(*), coalesce(max(coalesce(u.updated_at, u.created_at)), '')
		FROM users u WHERE u.visibility = 'public' AND ` + authorHasPosts,
}

func postsSummarySQL(typ string) string {
	return `SELECT
		coalesce((SELECT n FROM post_counts WHERE type = '` + typ + `' AND status = 'published'), 0),
		coalesce((SELECT coalesce(updated_at, published_at) FROM posts
			WHERE type = '` + typ + `' AND status = 'published'
			ORDER BY coalesce(updated_at, published_at) DESC LIMIT 1), '')`
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
