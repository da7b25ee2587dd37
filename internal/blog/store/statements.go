package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// queryer is what *sql.DB and *sql.Tx share, so one helper serves both.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// statements are the queries of every page view, prepared once.
type statements struct {
	listPublished    *sql.Stmt
	countPublished   *sql.Stmt
	bySlug           *sql.Stmt
	authorsOf        *sql.Stmt
	tagsOf           *sql.Stmt
	settings         *sql.Stmt
	listByTag        *sql.Stmt
	listByTagWalk    *sql.Stmt
	countByTag       *sql.Stmt
	listByAuthor     *sql.Stmt
	listByAuthorWalk *sql.Stmt
	countByAuthor    *sql.Stmt
	tagBySlug        *sql.Stmt
	authorBySlug     *sql.Stmt
}

func (st *statements) all() []**sql.Stmt {
	return []**sql.Stmt{&st.listPublished, &st.countPublished, &st.bySlug, &st.authorsOf, &st.tagsOf,
		&st.settings, &st.listByTag, &st.listByTagWalk, &st.countByTag, &st.listByAuthor,
		&st.listByAuthorWalk, &st.countByAuthor,
		&st.tagBySlug, &st.authorBySlug}
}

// archiveList is the statement listing a page of archive a with the
// walk plan or from the links (see archive.listSQL).
func (st *statements) archiveList(a archive, walk bool) *sql.Stmt {
	switch {
	case a == tagArchive && walk:
		return st.listByTagWalk
	case a == tagArchive:
		return st.listByTag
	case walk:
		return st.listByAuthorWalk
	}
	return st.listByAuthor
}

func (st *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.listPublished, listPublishedSQL},
		{&st.countPublished, countPublishedSQL},
		{&st.bySlug, bySlugSQL},
		{&st.authorsOf, authorsOfSQL},
		{&st.tagsOf, tagsOfSQL},
		{&st.settings, settingsSQL},
		{&st.listByTag, listByTagSQL},
		{&st.listByTagWalk, listByTagWalkSQL},
		{&st.countByTag, countByTagSQL},
		{&st.listByAuthor, listByAuthorSQL},
		{&st.listByAuthorWalk, listByAuthorWalkSQL},
		{&st.countByAuthor, countByAuthorSQL},
		{&st.tagBySlug, tagBySlugSQL},
		{&st.authorBySlug, authorBySlugSQL},
	} {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = stmt
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, s := range st.all() {
		if *s != nil {
			errs = append(errs, (*s).Close())
		}
	}
	return errors.Join(errs...)
}
