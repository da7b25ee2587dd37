package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"wisp/internal/blog/slug"
)

// Tag is a tag as the site shows it. Internal tags (names starting with
// "#") have Visibility "internal" and are not shown.
type Tag struct {
	ID, Name, Slug, Description, Visibility  string
	FeatureImage, MetaTitle, MetaDescription string
}

// tagColumns are the columns of Tag.scanDest, from tags t.
const tagColumns = `t.id, t.name, t.slug, t.description, t.visibility, t.feature_image, t.meta_title, t.meta_description`

func (t *Tag) scanDest() []any {
	return []any{&t.ID, &t.Name, &t.Slug, nullable{&t.Description}, &t.Visibility,
		nullable{&t.FeatureImage}, nullable{&t.MetaTitle}, nullable{&t.MetaDescription}}
}

const tagBySlugSQL = `SELECT ` + tagColumns + ` FROM tags t WHERE t.slug = ? AND t.visibility = 'public'`

// TagBySlug returns the public tag with this slug, or ErrNotFound:
// internal tags have no page on the site.
func (s *Store) TagBySlug(ctx context.Context, slug string) (Tag, error) {
	var t Tag
	err := s.stmts.tagBySlug.QueryRowContext(ctx, slug).Scan(t.scanDest()...)
	if err := lookupErr(err, "tag", slug); err != nil {
		return Tag{}, err
	}
	return t, nil
}

type postTag struct {
	postID string
	Tag
}

const tagsOfSQL = `SELECT pt.post_id, ` + tagColumns + `
	FROM posts_tags pt JOIN tags t ON t.id = pt.tag_id
	WHERE pt.post_id IN (SELECT value FROM json_each(?))
	ORDER BY pt.post_id, pt.sort_order`

func (s *Store) tagsOf(ctx context.Context, idJSON string) ([]postTag, error) {
	dest := func(t *postTag) []any { return append([]any{&t.postID}, t.scanDest()...) }
	rows, err := s.stmts.tagsOf.QueryContext(ctx, idJSON)
	return scanAll("tags", dest, rows, err)
}

// ensureTag returns the tag with this name's slug, creating it if needed;
// Ghost matches tags by slug, so "Go" and "go" are one tag.
func (s *Store) ensureTag(ctx context.Context, q queryer, name string) (Tag, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Tag{}, errors.New("empty tag name")
	}
	t := Tag{Name: name, Slug: slug.Make(name, slug.Tag), Visibility: "public"}
	if strings.HasPrefix(name, "#") {
		t.Visibility = "internal"
	}
	err := q.QueryRowContext(ctx, `SELECT id, name, description, visibility FROM tags WHERE slug = ?`, t.Slug).
		Scan(&t.ID, &t.Name, nullable{&t.Description}, &t.Visibility)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Tag{}, fmt.Errorf("tag %q: %w", name, err)
	}
	now := s.now()
	t.ID = s.ids.next(now)
	_, err = q.ExecContext(ctx, `INSERT INTO tags (id, name, slug, visibility, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Slug, t.Visibility, formatTime(now), formatTime(now))
	if err != nil {
		return Tag{}, fmt.Errorf("tag %q: %w", name, err)
	}
	return t, nil
}
