package store

import (
	"database/sql"
	"errors"
	"fmt"
)

// scanAll reads every row of a query into a T, scanning through the
// pointers dest returns for it, and wraps any error with what was read.
// err is the query's own error, so a call reads as
// scanAll(stmt.QueryContext(ctx, args...)) with the rest filled in.
func scanAll[T any](what string, dest func(*T) []any, rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(dest(&v)...); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// lookupErr is the outcome of looking up the one kind row with key: nil
// when a row was read, ErrNotFound when there was none, the wrapped error
// otherwise. It formats nothing on success, since page views call it.
func lookupErr(err error, kind, key string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	default:
		return fmt.Errorf("%s %q: %w", kind, key, err)
	}
}
