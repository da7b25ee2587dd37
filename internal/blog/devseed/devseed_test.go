package devseed

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"wisp/internal/blog/store"
)

// chroma's regexp engine (regexp2) keeps one process-wide clock goroutine
// for match timeouts while highlighting runs; it is the library's, not a
// leak of ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/dlclark/regexp2/v2.runClock"))
}

// seeded opens a fresh store, runs the generator on it and returns the
// store's database path.
func seeded(t *testing.T, o Options, p Progress) (*store.Store, string, Summary) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ghost.db")
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sum, err := Run(context.Background(), st, o, p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return st, path, sum
}

// content is every generated post as (slug, title, published_at, html,
// tags), in a fixed order, read straight from the database.
func content(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT p.slug, p.title, coalesce(p.published_at, ''), p.status, p.type, p.html,
		coalesce((SELECT group_concat(t.slug) FROM posts_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id ORDER BY pt.sort_order), ''),
		(SELECT group_concat(u.slug) FROM posts_authors pa JOIN users u ON u.id = pa.author_id WHERE pa.post_id = p.id ORDER BY pa.sort_order)
		FROM posts p WHERE p.slug != 'welcome' ORDER BY p.slug`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var f [8]string
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]); err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(f[:], "\x1f") + "\x1e")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

type recorder struct{ calls [][2]int }

func (r *recorder) Advance(done, total int) { r.calls = append(r.calls, [2]int{done, total}) }

func TestRunIsDeterministicForASeedWhateverTheBatchSizeAndWorkers(t *testing.T) {
	_, a, _ := seeded(t, Options{Posts: 60, Seed: 7, BatchSize: 25, Workers: 1}, nil)
	_, b, _ := seeded(t, Options{Posts: 60, Seed: 7, BatchSize: 1000, Workers: 3}, nil)
	_, c, _ := seeded(t, Options{Posts: 60, Seed: 8}, nil)
	ca, cb, cc := content(t, a), content(t, b), content(t, c)
	if ca != cb {
		t.Errorf("same seed, different content")
	}
	if ca == cc {
		t.Errorf("seeds 7 and 8 gave the same content")
	}
	if n := strings.Count(ca, "\x1e"); n != 60 {
		t.Errorf("%d posts written, want 60", n)
	}
}

func TestRunWritesPublishedPostsWithAuthorsTagsAndRenderedHTML(t *testing.T) {
	rec := &recorder{}
	st, _, sum := seeded(t, Options{Posts: 150, Tags: 12, Authors: 3, BatchSize: 50}, rec)
	if sum.Posts+sum.Drafts+sum.Pages != 150 || sum.Posts < 120 {
		t.Errorf("summary %+v: want 150 posts, mostly published", sum)
	}
	if want := [][2]int{{50, 150}, {100, 150}, {150, 150}}; len(rec.calls) != 3 || rec.calls[2] != want[2] {
		t.Errorf("progress calls %v, want %v", rec.calls, want)
	}
	ctx := context.Background()
	n, err := st.CountPublishedPosts(ctx)
	if err != nil || n != sum.Posts+1 { // + the welcome post
		t.Fatalf("published posts = %d, %v; want %d", n, err, sum.Posts+1)
	}
	posts, err := st.PublishedPosts(ctx, 50, 0)
	if err != nil {
		t.Fatal(err)
	}
	tagged, coauthored := 0, 0
	years := map[int]bool{}
	for _, p := range posts {
		full, err := st.PublishedBySlug(ctx, p.Slug)
		if err != nil {
			t.Fatalf("post %q: %v", p.Slug, err)
		}
		if !strings.Contains(full.HTML, "<p>") || full.Plaintext == "" || strings.Contains(full.Plaintext, "<p>") {
			t.Errorf("post %q: html %.80q / plaintext %.80q not rendered", p.Slug, full.HTML, full.Plaintext)
		}
		if len(full.Authors) == 0 {
			t.Errorf("post %q has no author", p.Slug)
		}
		if len(full.Authors) > 1 {
			coauthored++
		}
		if len(full.Tags) > 0 {
			tagged++
		}
		years[full.PublishedAt.Year()] = true
	}
	if tagged < len(posts)/2 {
		t.Errorf("only %d of %d posts have tags", tagged, len(posts))
	}
	if len(years) < 2 {
		t.Errorf("the newest 50 posts span years %v; want dates spread over years", years)
	}
	// The oldest posts are years before the newest.
	oldest, err := st.PublishedPosts(ctx, 1, n-1)
	if err != nil || len(oldest) != 1 || posts[0].PublishedAt.Sub(oldest[0].PublishedAt).Hours() < 24*365*5 {
		t.Errorf("oldest post %v, newest %v: want about 8 years apart (%v)", oldest, posts[0].PublishedAt, err)
	}
	if _, err := st.TagBySlug(ctx, "cache"); err != nil {
		t.Errorf("the most common tag: %v", err)
	}
}

func TestRunTwiceAddsPostsWithFreshSlugs(t *testing.T) {
	st, path, _ := seeded(t, Options{Posts: 40, Seed: 3}, nil)
	if _, err := Run(context.Background(), st, Options{Posts: 40, Seed: 3}, nil); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if n := strings.Count(content(t, path), "\x1e"); n != 80 {
		t.Errorf("%d posts after two runs, want 80", n)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Posts: 0}, {Posts: -1}, {Posts: 5, Tags: -1}} {
		if _, err := Run(context.Background(), nil, o, nil); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
}
