package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"wisp/internal/blog/slug"
)

// BulkAuthor is a staff user (role Author) for BulkInsert. A user whose
// slug already exists is reused as it is, so running a generator twice
// does not fail on its authors.
type BulkAuthor struct {
	Name, Slug, Email, Bio string
}

// BulkPost is a post whose HTML and plaintext are already rendered, so the
// write transaction does no rendering. Slugs follow Ghost's rules and are
// de-duplicated against the database as CreatePost does.
type BulkPost struct {
	Title string
	// Slug is the wanted slug; empty means one made from the title.
	Slug                      string
	Markdown, HTML, Plaintext string
	CustomExcerpt             string
	Featured                  bool
	// Type and Status default to TypePost and StatusPublished; the schema
	// rejects any other value.
	Type, Status string
	// PublishedAt is required for published posts; CreatedAt defaults to it.
	PublishedAt, CreatedAt time.Time
	// Authors are user slugs, from the same batch or the database, the
	// first being the primary author; none means the site's Owner.
	Authors []string
	// Tags are tag names, created when missing; the first is the primary.
	Tags []string
}

// Batch is what one BulkInsert writes, in one transaction.
type Batch struct {
	Authors []BulkAuthor
	Posts   []BulkPost
}

// bulkTx holds the statements of one BulkInsert, prepared once for the
// transaction, and the ids it has resolved, so that a batch of thousands
// of posts makes one round trip per row and no repeated lookups.
type bulkTx struct {
	s     *Store
	tx    *sql.Tx
	now   time.Time
	owner string

	slugTaken, insertPost, insertAuthor, insertTag *sql.Stmt
	userBySlug                                     *sql.Stmt

	users map[string]string // slug -> id
	tags  map[string]Tag    // name as given -> tag
}

const bulkInsertPostSQL = `INSERT INTO posts (id, uuid, title, slug, markdown, html, comment_id,
	plaintext, featured, type, status, visibility, custom_excerpt, created_at, created_by,
	updated_at, updated_by, published_at, published_by)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'public', ?, ?, ?, ?, ?, ?, ?)`

// BulkInsert writes b in one transaction with prepared statements: the
// authors first, then the posts with their author and tag links. It is the
// fast path for importers and data-set generators; a failure leaves the
// database as it was before the call. Many batches go faster through one
// Bulk session.
func (s *Store) BulkInsert(ctx context.Context, b Batch) error {
	bulk, err := s.OpenBulk(ctx)
	if err != nil {
		return err
	}
	return errors.Join(bulk.Insert(ctx, b), bulk.Close())
}

// bulkCacheKiB is the page cache of a bulk session. Slugs and uuids are
// random keys, so at 100,000 posts their index inserts touch pages all
// over those indexes; with SQLite's default 2 MiB cache a third of the
// import's time went to reading pages back.
const bulkCacheKiB = 64 << 10

// Bulk is a write session for importers: one connection, with a large page
// cache for the session's length, that every batch reuses.
type Bulk struct {
	s         *Store
	conn      *sql.Conn
	prevCache int64
}

// OpenBulk starts a bulk session; Close ends it.
func (s *Store) OpenBulk(ctx context.Context) (*Bulk, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("bulk insert: %w", err)
	}
	b := &Bulk{s: s, conn: conn}
	if err := conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&b.prevCache); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bulk insert: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, bulkCacheKiB)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bulk insert: %w", err)
	}
	return b, nil
}

// Close gives the connection back to the pool with its usual cache size,
// so that the server's memory does not keep the session's cache.
func (b *Bulk) Close() error {
	_, err := b.conn.ExecContext(context.Background(), fmt.Sprintf(`PRAGMA cache_size = %d`, b.prevCache))
	return errors.Join(err, b.conn.Close())
}

// Insert writes one batch in one transaction (see BulkInsert).
func (b *Bulk) Insert(ctx context.Context, batch Batch) error {
	tx, err := b.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("bulk insert: %w", err)
	}
	defer tx.Rollback()
	s := b.s
	bt := &bulkTx{s: s, tx: tx, now: s.now().UTC().Truncate(time.Second),
		users: map[string]string{}, tags: map[string]Tag{}}
	defer bt.close()
	if err := bt.prepare(ctx); err != nil {
		return fmt.Errorf("bulk insert: %w", err)
	}
	for _, a := range batch.Authors {
		if err := bt.author(ctx, a); err != nil {
			return fmt.Errorf("bulk insert: author %q: %w", a.Slug, err)
		}
	}
	for i := range batch.Posts {
		if err := bt.post(ctx, &batch.Posts[i]); err != nil {
			return fmt.Errorf("bulk insert: post %q: %w", batch.Posts[i].Title, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("bulk insert: %w", err)
	}
	return nil
}

func (bt *bulkTx) prepare(ctx context.Context) error {
	var err error
	if bt.owner, err = ownerID(ctx, bt.tx); err != nil {
		return err
	}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&bt.slugTaken, `SELECT 1 FROM posts WHERE slug = ?`},
		{&bt.insertPost, bulkInsertPostSQL},
		{&bt.insertAuthor, `INSERT INTO posts_authors (id, post_id, author_id, sort_order) VALUES (?, ?, ?, ?)`},
		{&bt.insertTag, `INSERT OR IGNORE INTO posts_tags (id, post_id, tag_id, sort_order) VALUES (?, ?, ?, ?)`},
		{&bt.userBySlug, `SELECT id FROM users WHERE slug = ?`},
	} {
		if *p.dst, err = bt.tx.PrepareContext(ctx, p.query); err != nil {
			return err
		}
	}
	return nil
}

func (bt *bulkTx) close() {
	for _, st := range []*sql.Stmt{bt.slugTaken, bt.insertPost, bt.insertAuthor, bt.insertTag, bt.userBySlug} {
		if st != nil {
			st.Close()
		}
	}
}

// author creates a with the Author role unless a user with its slug exists.
func (bt *bulkTx) author(ctx context.Context, a BulkAuthor) error {
	if a.Slug == "" {
		a.Slug = slug.Make(a.Name, slug.User)
	}
	if _, err := bt.userID(ctx, a.Slug); err == nil || !errors.Is(err, ErrNotFound) {
		return err
	}
	now := formatTime(bt.now)
	id := bt.s.ids.next(bt.now)
	if _, err := bt.tx.ExecContext(ctx, `INSERT INTO users (id, name, slug, email, bio, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'active', ?, ?)`, id, a.Name, a.Slug, a.Email, nullIfEmpty(a.Bio), now, now); err != nil {
		return err
	}
	if _, err := bt.tx.ExecContext(ctx, `INSERT INTO roles_users (id, role_id, user_id)
		SELECT ?, id, ? FROM roles WHERE name = 'Author'`, bt.s.ids.next(bt.now), id); err != nil {
		return err
	}
	bt.users[a.Slug] = id
	return nil
}

func (bt *bulkTx) userID(ctx context.Context, userSlug string) (string, error) {
	if id, ok := bt.users[userSlug]; ok {
		return id, nil
	}
	var id string
	err := bt.userBySlug.QueryRowContext(ctx, userSlug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("user %q: %w", userSlug, ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	bt.users[userSlug] = id
	return id, nil
}

func (bt *bulkTx) tag(ctx context.Context, name string) (Tag, error) {
	if t, ok := bt.tags[name]; ok {
		return t, nil
	}
	t, err := bt.s.ensureTag(ctx, bt.tx, name)
	if err != nil {
		return Tag{}, err
	}
	bt.tags[name] = t
	return t, nil
}

func (bt *bulkTx) post(ctx context.Context, p *BulkPost) error {
	title := strings.TrimSpace(p.Title)
	if title == "" {
		title = "(Untitled)"
	}
	typ, status := p.Type, p.Status
	if typ == "" {
		typ = TypePost
	}
	if status == "" {
		status = StatusPublished
	}
	base := p.Slug
	if base == "" {
		base = title
	}
	sl, err := slug.Unique(ctx, slug.Make(base, slug.Post), func(ctx context.Context, cand string) (bool, error) {
		var one int
		err := bt.slugTaken.QueryRowContext(ctx, cand).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	authorIDs := make([]string, 0, max(1, len(p.Authors)))
	for _, a := range p.Authors {
		id, err := bt.userID(ctx, a)
		if err != nil {
			return err
		}
		authorIDs = append(authorIDs, id)
	}
	if len(authorIDs) == 0 {
		authorIDs = append(authorIDs, bt.owner)
	}
	created := p.CreatedAt
	if created.IsZero() {
		created = p.PublishedAt
	}
	if created.IsZero() {
		created = bt.now
	}
	var published, publishedBy any
	if status == StatusPublished {
		if p.PublishedAt.IsZero() {
			return errors.New("a published post needs its published time")
		}
		published, publishedBy = formatTime(p.PublishedAt), authorIDs[0]
	}
	featured := 0
	if p.Featured {
		featured = 1
	}
	id := bt.s.ids.next(bt.now)
	if _, err := bt.insertPost.ExecContext(ctx, id, newUUID(), title, sl, nullIfEmpty(p.Markdown), p.HTML, id,
		p.Plaintext, featured, typ, status, nullIfEmpty(p.CustomExcerpt), formatTime(created), authorIDs[0],
		formatTime(created), authorIDs[0], published, publishedBy); err != nil {
		return err
	}
	for i, a := range authorIDs {
		if _, err := bt.insertAuthor.ExecContext(ctx, bt.s.ids.next(bt.now), id, a, i); err != nil {
			return err
		}
	}
	for i, name := range p.Tags {
		t, err := bt.tag(ctx, name)
		if err != nil {
			return err
		}
		if _, err := bt.insertTag.ExecContext(ctx, bt.s.ids.next(bt.now), id, t.ID, i); err != nil {
			return err
		}
	}
	return nil
}
