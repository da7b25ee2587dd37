package store

import (
	"context"
	"time"
)

// defaultSettings are the settings a fresh site starts with (Ghost's
// defaults, with Wisp's name).
var defaultSettings = []struct{ group, key, value string }{
	{"site", "title", "Wisp"},
	{"site", "description", "Thoughts, stories and ideas."},
	{"site", "locale", "en"},
	{"site", "timezone", "Etc/UTC"},
	{"site", "accent_color", "#FF1A75"},
	{"site", "navigation", `[{"label":"Home","url":"/"}]`},
	{"site", "secondary_navigation", `[]`},
	{"theme", "active_theme", "wisp"},
}

const welcomeMarkdown = `This site runs on **Wisp**, a Ghost-compatible publishing server in a single Go binary.
It keeps its content in SQLite and can listen on a Unix socket behind an nginx-style proxy.

## Writing

Publish a post from a Markdown file:

` + "```" + `
wisp post new --title "My first post" post.md
` + "```" + `

or pipe one in on standard input. The new post shows up on the home page at once, without a restart.

## What Markdown can do

| Feature | Example |
|---|---|
| Emphasis | *italic*, **bold**, ~~struck~~ |
| Links | [Ghost](https://ghost.org) |
| Footnotes | Like this one[^1] |

[^1]: Footnotes are numbered and linked back to the text.
`

// seed fills a fresh database: settings, the Owner and a welcome post. It
// runs in one write transaction and does nothing once an owner exists, so
// two processes opening a new site at once seed it once.
func (s *Store) seed(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	seeded, err := exists(ctx, tx, `SELECT 1 FROM users LIMIT 1`)
	if err != nil || seeded {
		return err
	}
	for _, d := range defaultSettings {
		if err := setSetting(ctx, tx, s, d.group, d.key, d.value); err != nil {
			return err
		}
	}
	owner, err := s.createOwner(ctx, tx, "Wisp", "wisp", "owner@example.com")
	if err != nil {
		return err
	}
	if _, err := s.insertPost(ctx, tx, NewPost{
		Title:       "Welcome to Wisp",
		Slug:        "welcome",
		Markdown:    welcomeMarkdown,
		PublishedAt: s.now().Add(-time.Minute),
		Tags:        []string{"Getting Started"},
	}, []string{owner}); err != nil {
		return err
	}
	return tx.Commit()
}
