package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
)

// The counters of migration 0003 must equal a recount of the rows after
// any change, however it is made: the pagination of every archive and the
// sitemap index read them instead of counting.
func TestCountersEqualARecountAfterEveryKindOfChange(t *testing.T) {
	ctx := context.Background()
	firstTag := `(SELECT id FROM tags ORDER BY slug LIMIT 1)`
	lastAuthor := `(SELECT id FROM users ORDER BY slug DESC LIMIT 1)`
	tests := []struct {
		name string
		sql  []string
		// api runs a change through the store's own methods.
		api func(t *testing.T, s *Store)
	}{
		{name: "as seeded"},
		{name: "publish drafts", sql: []string{`UPDATE posts SET status = 'published' WHERE status = 'draft'`}},
		{name: "unpublish posts", sql: []string{`UPDATE posts SET status = 'draft' WHERE rowid % 3 = 0`}},
		{name: "schedule posts", sql: []string{`UPDATE posts SET status = 'scheduled' WHERE rowid % 7 = 0`}},
		{name: "turn posts into pages and back", sql: []string{
			`UPDATE posts SET type = 'page' WHERE rowid % 5 = 0`,
			`UPDATE posts SET type = 'post' WHERE rowid % 10 = 0`}},
		{name: "update other columns only", sql: []string{`UPDATE posts SET title = title || '!', status = status`}},
		{name: "delete published posts, links cascading", sql: []string{`DELETE FROM posts WHERE rowid % 4 = 0`}},
		{name: "delete drafts and pages", sql: []string{`DELETE FROM posts WHERE status = 'draft' OR type = 'page'`}},
		{name: "unlink tags and authors", sql: []string{
			`DELETE FROM posts_tags WHERE rowid % 2 = 0`,
			`DELETE FROM posts_authors WHERE rowid % 3 = 0`}},
		{name: "link every post to a tag and an author", sql: []string{
			`INSERT OR IGNORE INTO posts_tags (id, post_id, tag_id) SELECT 'pt' || rowid, id, ` + firstTag + ` FROM posts`,
			`INSERT OR IGNORE INTO posts_authors (id, post_id, author_id) SELECT 'pa' || rowid, id, ` + lastAuthor + ` FROM posts`}},
		{name: "move links to another tag and author", sql: []string{
			`UPDATE OR IGNORE posts_tags SET tag_id = ` + firstTag + ` WHERE rowid % 3 = 0`,
			`UPDATE OR IGNORE posts_authors SET author_id = ` + lastAuthor + ` WHERE rowid % 2 = 0`}},
		{name: "move links to another post", sql: []string{
			`UPDATE OR IGNORE posts_tags SET post_id = (SELECT id FROM posts WHERE status = 'draft' LIMIT 1) WHERE rowid % 5 = 0`}},
		{name: "delete a tag and an author, links cascading", sql: []string{
			`DELETE FROM tags WHERE slug = 'tag-3'`,
			`DELETE FROM posts_authors WHERE author_id = (SELECT id FROM users WHERE slug = 'author-2')`,
			`DELETE FROM users WHERE slug = 'author-2'`}},
		{name: "create posts through the store", api: func(t *testing.T, s *Store) {
			for i, status := range []string{StatusPublished, StatusDraft, StatusPublished} {
				np := NewPost{Title: fmt.Sprintf("New %d", i), Markdown: "x", Status: status,
					Tags: []string{"Tag 1", "Brand new"}, Authors: []string{"author-1"}}
				if _, err := s.CreatePost(ctx, np); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			seedScaleSite(t, s, 120)
			for _, q := range tt.sql {
				if _, err := s.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if tt.api != nil {
				tt.api(t, s)
			}
			for _, c := range []struct{ counters, recount string }{
				{`SELECT type || '/' || status, n FROM post_counts`,
					`SELECT type || '/' || status, count(*) FROM posts GROUP BY type, status`},
				{`SELECT tag_id, n FROM tag_post_counts`,
					`SELECT pt.tag_id, count(*) FROM posts_tags pt JOIN posts p ON p.id = pt.post_id
					 WHERE p.type = 'post' AND p.status = 'published' GROUP BY pt.tag_id`},
				{`SELECT author_id, n FROM author_post_counts`,
					`SELECT pa.author_id, count(*) FROM posts_authors pa JOIN posts p ON p.id = pa.post_id
					 WHERE p.type = 'post' AND p.status = 'published' GROUP BY pa.author_id`},
			} {
				got, want := keyedCounts(t, s, c.counters), keyedCounts(t, s, c.recount)
				// A counter may stay at zero after its last post goes.
				maps.DeleteFunc(got, func(_ string, n int) bool { return n == 0 })
				if !maps.Equal(got, want) {
					t.Errorf("%s\n= %v\nrecount %v", c.counters, got, want)
				}
			}
		})
	}
}

func keyedCounts(t *testing.T, s *Store, q string) map[string]int {
	t.Helper()
	rows, err := s.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Both plans of an archive list the same posts in the same order, on
// every page, for big and small archives, as a plain query does.
func TestArchivePlansListTheSamePages(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	seedScaleSite(t, s, 300)
	var bigTag, smallTag, author string
	for q, dst := range map[string]*string{
		`SELECT tag_id FROM posts_tags GROUP BY tag_id ORDER BY count(*) DESC, tag_id LIMIT 1`: &bigTag,
		`SELECT tag_id FROM posts_tags GROUP BY tag_id ORDER BY count(*), tag_id LIMIT 1`:      &smallTag,
		`SELECT id FROM users WHERE slug = 'author-1'`:                                         &author,
	} {
		if err := s.db.QueryRowContext(ctx, q).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		a    archive
		f    Filter
		id   string
	}{
		{"big tag", tagArchive, Filter{TagID: bigTag}, bigTag},
		{"small tag", tagArchive, Filter{TagID: smallTag}, smallTag},
		{"author", authorArchive, Filter{AuthorID: author}, author},
		{"unknown tag", tagArchive, Filter{TagID: "nope"}, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := postIDs(t, s, `SELECT p.id FROM posts p JOIN `+tt.a.links+` x ON x.post_id = p.id
				WHERE x.`+tt.a.key+` = ? AND p.type = 'post' AND p.status = 'published'
				ORDER BY p.published_at DESC, p.id DESC`, tt.id)
			n, err := s.CountPosts(ctx, tt.f)
			if err != nil || n != len(want) {
				t.Fatalf("CountPosts = %d, %v; want %d", n, err, len(want))
			}
			const limit = 7
			for offset := 0; offset <= len(want)+limit; offset += limit {
				page := want[min(offset, len(want)):min(offset+limit, len(want))]
				for _, walk := range []bool{false, true} {
					got := postIDs(t, s, tt.a.listSQL(summaryColumns, walk), tt.id, limit, offset)
					if !slices.Equal(got, page) {
						t.Fatalf("walk=%v offset %d: %v\nwant %v", walk, offset, got, page)
					}
				}
				posts, err := s.ListPosts(ctx, tt.f, limit, offset)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range posts {
					got = append(got, p.ID)
				}
				if !slices.Equal(got, page) {
					t.Fatalf("ListPosts offset %d: %v\nwant %v", offset, got, page)
				}
			}
			feed, err := s.FeedPosts(ctx, tt.f, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(feed) != min(limit, len(want)) || (len(feed) > 0 && (feed[0].ID != want[0] || feed[0].HTML == "")) {
				t.Errorf("FeedPosts: %d posts, want the newest %d with their html", len(feed), min(limit, len(want)))
			}
		})
	}
}

func postIDs(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]any, len(cols))
		var id string
		dst[0] = &id
		for i := 1; i < len(dst); i++ {
			dst[i] = new(any)
		}
		if err := rows.Scan(dst...); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestWalkIsCheaperOnlyWhenAPageEndsBeforeTheArchiveIsRead(t *testing.T) {
	for _, tt := range []struct {
		name                    string
		n, total, limit, offset int
		want                    bool
	}{
		{"empty archive", 0, 100000, 10, 0, false},
		{"big tag, first page", 27836, 95516, 10, 0, true},
		{"big tag, deep page", 27836, 95516, 10, 20000, false},
		{"small tag, first page", 500, 95516, 10, 0, false},
		{"one author of five", 19000, 95516, 10, 990, true},
		{"whole site", 1000, 1000, 10, 0, true},
		{"no overflow at large sizes", 1 << 40, 1 << 41, 10, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := walkIsCheaper(tt.n, tt.total, tt.limit, tt.offset); got != tt.want {
				t.Errorf("walkIsCheaper(%d, %d, %d, %d) = %v, want %v", tt.n, tt.total, tt.limit, tt.offset, got, tt.want)
			}
		})
	}
}
