package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"wisp/internal/blog/slug"
)

// Author is a user as the site shows them: on posts and on their archive.
type Author struct {
	ID, Name, Slug, ProfileImage, Bio string
	CoverImage, Website, Location     string
	Facebook, Twitter                 string
	MetaTitle, MetaDescription        string
}

// authorColumns are the columns scanAuthor reads, from users u.
const authorColumns = `u.id, u.name, u.slug, u.profile_image, u.bio, u.cover_image, u.website,
	u.location, u.facebook, u.twitter, u.meta_title, u.meta_description`

func (a *Author) scanDest() []any {
	return []any{&a.ID, &a.Name, &a.Slug, nullable{&a.ProfileImage}, nullable{&a.Bio},
		nullable{&a.CoverImage}, nullable{&a.Website}, nullable{&a.Location},
		nullable{&a.Facebook}, nullable{&a.Twitter}, nullable{&a.MetaTitle}, nullable{&a.MetaDescription}}
}

const authorBySlugSQL = `SELECT ` + authorColumns + ` FROM users u WHERE u.slug = ? AND u.visibility = 'public'`

// AuthorBySlug returns the public user with this slug, or ErrNotFound.
func (s *Store) AuthorBySlug(ctx context.Context, slug string) (Author, error) {
	var a Author
	err := s.stmts.authorBySlug.QueryRowContext(ctx, slug).Scan(a.scanDest()...)
	if err := lookupErr(err, "author", slug); err != nil {
		return Author{}, err
	}
	return a, nil
}

// NewAuthor is a staff user for CreateAuthor.
type NewAuthor struct {
	Name, Email string
	// Slug defaults to one made from Name; Ghost's de-duplication applies.
	Slug string
	// Role is a built-in role name; default "Author".
	Role                          string
	ProfileImage, CoverImage, Bio string
	Website, Location             string
	Facebook, Twitter             string
	MetaTitle, MetaDescription    string
}

// CreateAuthor adds an active staff user.
func (s *Store) CreateAuthor(ctx context.Context, na NewAuthor) (Author, error) {
	na.Name = strings.TrimSpace(na.Name)
	if na.Name == "" || strings.TrimSpace(na.Email) == "" {
		return Author{}, errors.New("create author: name and email are required")
	}
	if na.Role == "" {
		na.Role = "Author"
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Author{}, fmt.Errorf("create author: %w", err)
	}
	defer tx.Rollback()
	base := na.Slug
	if base == "" {
		base = na.Name
	}
	sl, err := slug.Unique(ctx, slug.Make(base, slug.User), func(ctx context.Context, cand string) (bool, error) {
		return exists(ctx, tx, `SELECT 1 FROM users WHERE slug = ?`, cand)
	})
	if err != nil {
		return Author{}, fmt.Errorf("create author: %w", err)
	}
	now := s.now()
	a := Author{ID: s.ids.next(now), Name: na.Name, Slug: sl, ProfileImage: na.ProfileImage,
		Bio: na.Bio, CoverImage: na.CoverImage, Website: na.Website, Location: na.Location,
		Facebook: na.Facebook, Twitter: na.Twitter, MetaTitle: na.MetaTitle, MetaDescription: na.MetaDescription}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, slug, email, profile_image, cover_image,
		bio, website, location, facebook, twitter, meta_title, meta_description, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
		a.ID, a.Name, a.Slug, na.Email, nullIfEmpty(a.ProfileImage), nullIfEmpty(a.CoverImage),
		nullIfEmpty(a.Bio), nullIfEmpty(a.Website), nullIfEmpty(a.Location), nullIfEmpty(a.Facebook),
		nullIfEmpty(a.Twitter), nullIfEmpty(a.MetaTitle), nullIfEmpty(a.MetaDescription),
		formatTime(now), formatTime(now)); err != nil {
		return Author{}, fmt.Errorf("create author: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO roles_users (id, role_id, user_id) SELECT ?, id, ? FROM roles WHERE name = ?`,
		s.ids.next(now), a.ID, na.Role)
	if err != nil {
		return Author{}, fmt.Errorf("create author: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Author{}, fmt.Errorf("create author: unknown role %q", na.Role)
	}
	if err := tx.Commit(); err != nil {
		return Author{}, fmt.Errorf("create author: %w", err)
	}
	return a, nil
}

// authorIDs resolves user slugs to ids, keeping their order; none means
// the Owner, as Ghost gives an authorless post to the Owner.
func authorIDs(ctx context.Context, q queryer, slugs []string) ([]string, error) {
	if len(slugs) == 0 {
		owner, err := ownerID(ctx, q)
		if err != nil {
			return nil, err
		}
		return []string{owner}, nil
	}
	ids := make([]string, 0, len(slugs))
	for _, sl := range slugs {
		var id string
		err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE slug = ?`, sl).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("author %q: %w", sl, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("author %q: %w", sl, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

type postAuthor struct {
	postID string
	Author
}

const authorsOfSQL = `SELECT pa.post_id, ` + authorColumns + `
	FROM posts_authors pa JOIN users u ON u.id = pa.author_id
	WHERE pa.post_id IN (SELECT value FROM json_each(?))
	ORDER BY pa.post_id, pa.sort_order`

func (s *Store) authorsOf(ctx context.Context, idJSON string) ([]postAuthor, error) {
	dest := func(a *postAuthor) []any { return append([]any{&a.postID}, a.scanDest()...) }
	rows, err := s.stmts.authorsOf.QueryContext(ctx, idJSON)
	return scanAll("authors", dest, rows, err)
}

// ownerID returns the id of the site's Owner, the default author.
func ownerID(ctx context.Context, q queryer) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT ru.user_id FROM roles_users ru JOIN roles r ON r.id = ru.role_id
		WHERE r.name = 'Owner' LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errors.New("the site has no owner user")
	}
	return id, err
}

// Ghost's built-in roles; the Owner is the one seeded user.
var builtinRoles = []struct{ name, description string }{
	{"Administrator", "Administrators"},
	{"Editor", "Editors"},
	{"Author", "Authors"},
	{"Contributor", "Contributors"},
	{"Owner", "Blog Owner"},
}

// createOwner inserts the roles and the Owner user. Like Ghost's fixture
// owner it starts "inactive": setup (a later Admin API) activates it.
func (s *Store) createOwner(ctx context.Context, q queryer, name, slug, email string) (string, error) {
	now := s.now()
	var ownerRole string
	for _, r := range builtinRoles {
		id := s.ids.next(now)
		if _, err := q.ExecContext(ctx, `INSERT INTO roles (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			id, r.name, r.description, formatTime(now), formatTime(now)); err != nil {
			return "", err
		}
		if r.name == "Owner" {
			ownerRole = id
		}
	}
	userID := s.ids.next(now)
	if _, err := q.ExecContext(ctx, `INSERT INTO users (id, name, slug, email, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'inactive', ?, ?)`, userID, name, slug, email, formatTime(now), formatTime(now)); err != nil {
		return "", err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO roles_users (id, role_id, user_id) VALUES (?, ?, ?)`,
		s.ids.next(now), ownerRole, userID); err != nil {
		return "", err
	}
	return userID, nil
}
