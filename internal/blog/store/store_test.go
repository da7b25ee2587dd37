package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "ghost.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenFreshDatabaseMigratesAndSeedsWelcomePost(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var version int
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version < 1 {
		t.Fatalf("schema version = %d, %v", version, err)
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	p, err := s.PublishedBySlug(ctx, "welcome")
	if err != nil {
		t.Fatalf("welcome post: %v", err)
	}
	if !strings.Contains(p.HTML, "<strong>Wisp</strong>") || !strings.Contains(p.HTML, "<table>") {
		t.Errorf("welcome HTML not rendered from Markdown: %.200s", p.HTML)
	}
	if len(p.ID) != 24 || len(p.UUID) != 36 {
		t.Errorf("id %q / uuid %q not Ghost-shaped", p.ID, p.UUID)
	}
	if len(p.Authors) != 1 || p.Authors[0].Slug != "wisp" {
		t.Errorf("authors = %+v, want the owner", p.Authors)
	}
	if len(p.Tags) != 1 || p.Tags[0].Slug != "getting-started" {
		t.Errorf("tags = %+v", p.Tags)
	}
	settings, err := s.Settings(ctx)
	if err != nil || settings.Get("title", "") != "Wisp" {
		t.Errorf("settings = %v, %v", settings, err)
	}
}

func TestOpenExistingDatabaseKeepsDataAndDoesNotReseed(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	if _, err := s.CreatePost(ctx, NewPost{Title: "Kept", Markdown: "body"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if _, err := s2.PublishedBySlug(ctx, "kept"); err != nil {
		t.Errorf("post lost on reopen: %v", err)
	}
	n, err := s2.CountPublishedPosts(ctx)
	if err != nil || n != 2 {
		t.Errorf("published posts = %d, %v; want 2 (welcome seeded once)", n, err)
	}
}

func TestOpenRefusesDatabaseFromNewerWisp(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.db.Exec(`INSERT INTO schema_migrations(version, name) VALUES (9999, 'future.sql')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this wisp") {
		t.Fatalf("err = %v, want a newer-schema refusal", err)
	}
}

func TestMigrateRollsBackAFailingMigration(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	// The test's migrations follow the shipped ones, whatever their number.
	var shipped int
	if err := s.db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&shipped); err != nil {
		t.Fatal(err)
	}
	broken := fmt.Sprintf("%04d_broken.sql", shipped+2)
	files := fstest.MapFS{
		"0001_init.sql":                         {Data: []byte("-- already applied")},
		fmt.Sprintf("%04d_good.sql", shipped+1): {Data: []byte("CREATE TABLE extra (x INTEGER);")},
		broken:                                  {Data: []byte("CREATE TABLE half (x INTEGER); THIS IS NOT SQL;")},
	}
	err := migrate(ctx, s.db, files)
	if err == nil || !strings.Contains(err.Error(), broken) {
		t.Fatalf("err = %v, want failure naming %s", err, broken)
	}
	var version int
	s.db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version)
	if version != shipped+1 {
		t.Errorf("version = %d, want %d", version, shipped+1)
	}
	if ok, _ := exists(ctx, s.db, `SELECT 1 FROM sqlite_master WHERE name = 'half'`); ok {
		t.Error("table from the failed migration survived the rollback")
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"no number":        {"init.sql": {}},
		"duplicate number": {"0001_a.sql": {}, "0001_b.sql": {}},
	}
	for name, files := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := loadMigrations(files); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestCreatePostDeduplicatesSlugs(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	tests := []struct {
		np   NewPost
		want string
	}{
		{NewPost{Title: "Hello World"}, "hello-world"},
		{NewPost{Title: "Hello World"}, "hello-world-2"},
		{NewPost{Title: "Other", Slug: "Hello World"}, "hello-world-3"},
		{NewPost{Title: "About", Type: TypePage}, "about"},
		{NewPost{Title: "About"}, "about-2"},
		{NewPost{Title: "Draft", Status: StatusDraft}, "draft"},
		{NewPost{Title: ""}, "untitled"},
	}
	for _, tt := range tests {
		p, err := s.CreatePost(ctx, tt.np)
		if err != nil || p.Slug != tt.want {
			t.Errorf("CreatePost(%+v) slug = %q, %v; want %q", tt.np, p.Slug, err, tt.want)
		}
	}
	if _, err := s.PublishedBySlug(ctx, "draft"); !errors.Is(err, ErrNotFound) {
		t.Errorf("draft served: err = %v, want ErrNotFound", err)
	}
}

func TestCreatePostRejectsBadInput(t *testing.T) {
	s, _ := openTemp(t)
	for name, np := range map[string]NewPost{
		"long title": {Title: strings.Repeat("x", 256)},
		"bad status": {Title: "x", Status: "live"},
		"bad type":   {Title: "x", Type: "note"},
		"empty tag":  {Title: "x", Tags: []string{" "}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.CreatePost(context.Background(), np); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestPublishedPostsNewestFirstWithRelations(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, title := range []string{"Oldest", "Middle", "Newest"} {
		if _, err := s.CreatePost(ctx, NewPost{Title: title, Markdown: "text " + title, PublishedAt: base.Add(time.Duration(i) * time.Hour), Tags: []string{"Go", "#internal"}}); err != nil {
			t.Fatal(err)
		}
	}
	posts, err := s.PublishedPosts(ctx, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 || posts[0].Title != "Newest" || posts[1].Title != "Middle" {
		t.Fatalf("page 1 = %v", titles(posts))
	}
	if len(posts[0].Tags) != 2 || posts[0].Tags[1].Visibility != "internal" || len(posts[0].Authors) != 1 {
		t.Errorf("relations = %+v / %+v", posts[0].Tags, posts[0].Authors)
	}
	if posts[0].HTML != "" || posts[0].Plaintext != "text Newest" {
		t.Errorf("summary html=%q plaintext=%q", posts[0].HTML, posts[0].Plaintext)
	}
	posts, _ = s.PublishedPosts(ctx, 2, 2)
	if len(posts) != 2 || posts[0].Title != "Oldest" || posts[1].Title != "Welcome to Wisp" {
		t.Errorf("page 2 = %v", titles(posts))
	}
}

func titles(ps []Post) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Title)
	}
	return out
}

func TestDataVersionChangesWhenAnotherConnectionWrites(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	v1, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.DataVersion(ctx); v != v1 {
		t.Fatalf("version moved without a write: %d -> %d", v1, v)
	}
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.CreatePost(ctx, NewPost{Title: "From elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.DataVersion(ctx); v == v1 {
		t.Error("version unchanged after another process-like writer committed")
	}
	v2, _ := s.DataVersion(ctx)
	if _, err := s.CreatePost(ctx, NewPost{Title: "From this store"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.DataVersion(ctx); v == v2 {
		t.Error("version unchanged after a write through this store's pool")
	}
}

func TestIndexesServeHomeAndSlugWithoutFullScan(t *testing.T) {
	s, _ := openTemp(t)
	for name, q := range map[string]string{
		"home": `EXPLAIN QUERY PLAN ` + listPublishedSQL,
		"slug": `EXPLAIN QUERY PLAN ` + bySlugSQL,
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := s.db.Query(q, 10, 0)
			if name == "slug" {
				rows, err = s.db.Query(q, "x")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				rows.Scan(&id, &parent, &unused, &detail)
				if strings.HasPrefix(detail, "SCAN p") || detail == "SCAN posts" {
					t.Errorf("full scan: %s", detail)
				}
				if name == "home" && strings.Contains(detail, "TEMP B-TREE") {
					t.Errorf("home page sorts instead of walking the index: %s", detail)
				}
			}
		})
	}
}

func TestDataVersionUsesTheSharedMemoryFastPath(t *testing.T) {
	s, _ := openTemp(t)
	if s.wal == nil {
		t.Fatal("the -shm header was not mapped; every page view would pay for a read transaction")
	}
	if _, err := s.wal.fingerprint(); err != nil {
		t.Fatalf("fingerprint of an idle database: %v", err)
	}
}

func TestWALHeaderFingerprintDetectsTornAndUninitialisedHeaders(t *testing.T) {
	valid := make([]byte, 2*walHeaderSize)
	valid[walHeaderIsInit], valid[walHeaderSize+walHeaderIsInit] = 1, 1
	valid[8], valid[walHeaderSize+8] = 7, 7 // iChange
	torn := append([]byte(nil), valid...)
	torn[8] = 8
	uninit := make([]byte, 2*walHeaderSize)
	changed := append([]byte(nil), valid...)
	changed[8], changed[walHeaderSize+8] = 8, 8

	fpValid, err := (&walHeader{mem: valid}).fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	for name, mem := range map[string][]byte{"torn": torn, "uninitialised": uninit} {
		if _, err := (&walHeader{mem: mem}).fingerprint(); !errors.Is(err, errTornHeader) {
			t.Errorf("%s: err = %v, want errTornHeader", name, err)
		}
	}
	if fp, err := (&walHeader{mem: changed}).fingerprint(); err != nil || fp == fpValid {
		t.Errorf("changed header: fingerprint %d (%v), want one different from %d", fp, err, fpValid)
	}
}

func TestDataVersionSharedByConcurrentCallers(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	before, _ := s.version.current(ctx)
	done := make(chan int64)
	for range 8 {
		go func() {
			v, _ := s.version.current(ctx)
			done <- v
		}()
	}
	for range 8 {
		if v := <-done; v != before {
			t.Errorf("slow-path version moved without a write: %d -> %d", before, v)
		}
	}
	if _, err := s.CreatePost(ctx, NewPost{Title: "x"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.version.current(ctx); v == before {
		t.Error("slow-path version unchanged after a write")
	}
}
