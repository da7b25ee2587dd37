package store

import (
	"context"
	"fmt"
	"time"
)

// Settings are the site settings as key/value strings (Ghost stores
// arrays and objects JSON-encoded in the same column).
type Settings struct {
	Values map[string]string
	// UpdatedAt is the latest change to any setting, so pages can include
	// it in their Last-Modified.
	UpdatedAt time.Time
}

// Get returns the value of key, or def when it is unset or empty.
func (s Settings) Get(key, def string) string {
	if v := s.Values[key]; v != "" {
		return v
	}
	return def
}

const settingsSQL = `SELECT key, value, updated_at FROM settings`

// Settings reads every setting.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	rows, err := s.stmts.settings.QueryContext(ctx)
	if err != nil {
		return Settings{}, fmt.Errorf("settings: %w", err)
	}
	defer rows.Close()
	out := Settings{Values: map[string]string{}}
	for rows.Next() {
		var k, v string
		var updated time.Time
		if err := rows.Scan(&k, nullable{&v}, nullTime{&updated}); err != nil {
			return Settings{}, fmt.Errorf("settings: %w", err)
		}
		out.Values[k] = v
		if updated.After(out.UpdatedAt) {
			out.UpdatedAt = updated
		}
	}
	return out, rows.Err()
}

// SetSetting stores one setting, creating it in the given group if new.
func (s *Store) SetSetting(ctx context.Context, group, key, value string) error {
	return setSetting(ctx, s.db, s, group, key, value)
}

func setSetting(ctx context.Context, q queryer, s *Store, group, key, value string) error {
	now := formatTime(s.now())
	_, err := q.ExecContext(ctx, `INSERT INTO settings (id, "group", key, value, type, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'string', ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		s.ids.next(s.now()), group, key, value, now, now)
	if err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	return nil
}
