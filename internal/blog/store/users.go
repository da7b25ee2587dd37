package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Author is a user as the site shows them on posts.
type Author struct {
	ID, Name, Slug, ProfileImage, Bio string
}

type postAuthor struct {
	postID string
	Author
}

const authorsOfSQL = `SELECT pa.post_id, u.id, u.name, u.slug, u.profile_image, u.bio
	FROM posts_authors pa JOIN users u ON u.id = pa.author_id
	WHERE pa.post_id IN (SELECT value FROM json_each(?))
	ORDER BY pa.post_id, pa.sort_order`

func (s *Store) authorsOf(ctx context.Context, idJSON string) ([]postAuthor, error) {
	rows, err := s.stmts.authorsOf.QueryContext(ctx, idJSON)
	if err != nil {
		return nil, fmt.Errorf("authors: %w", err)
	}
	defer rows.Close()
	var out []postAuthor
	for rows.Next() {
		var a postAuthor
		if err := rows.Scan(&a.postID, &a.ID, &a.Name, &a.Slug, nullable{&a.ProfileImage}, nullable{&a.Bio}); err != nil {
			return nil, fmt.Errorf("authors: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
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
