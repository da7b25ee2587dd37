package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCreatePostKeepsGhostFieldsAndOrderedRelations(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for _, name := range []string{"Ann", "Bob"} {
		if _, err := s.CreateAuthor(ctx, NewAuthor{Name: name, Email: strings.ToLower(name) + "@example.com", Bio: name + " writes"}); err != nil {
			t.Fatal(err)
		}
	}
	in := NewPost{
		Title: "Full", Markdown: "body", Tags: []string{"Zeta", "alpha", "#internal"}, Authors: []string{"bob", "ann"},
		Visibility: "members", Featured: true, FeatureImage: "/content/images/x.jpg", FeatureImageAlt: "alt",
		FeatureImageCaption: "cap", CustomExcerpt: "custom", CanonicalURL: "https://elsewhere.example/full/",
		CodeinjectionHead: "<style></style>", CodeinjectionFoot: "<script></script>",
		Meta: PostMeta{MetaTitle: "mt", MetaDescription: "md", OGImage: "og.jpg", OGTitle: "ogt", OGDescription: "ogd",
			TwitterImage: "tw.jpg", TwitterTitle: "twt", TwitterDescription: "twd"},
	}
	if _, err := s.CreatePost(ctx, in); err != nil {
		t.Fatal(err)
	}
	p, err := s.PublishedBySlug(ctx, "full")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{p.Visibility, p.FeatureImage, p.FeatureImageAlt, p.FeatureImageCaption, p.CustomExcerpt, p.CanonicalURL,
		p.CodeinjectionHead, p.CodeinjectionFoot, p.MetaTitle, p.MetaDescription, p.OGImage, p.OGTitle, p.OGDescription,
		p.TwitterImage, p.TwitterTitle, p.TwitterDescription, p.Markdown}
	want := []string{"members", "/content/images/x.jpg", "alt", "cap", "custom", "https://elsewhere.example/full/",
		"<style></style>", "<script></script>", "mt", "md", "og.jpg", "ogt", "ogd", "tw.jpg", "twt", "twd", "body"}
	if strings.Join(got, "|") != strings.Join(want, "|") || !p.Featured {
		t.Errorf("fields = %q (featured %v)\nwant     %q", got, p.Featured, want)
	}
	if len(p.Authors) != 2 || p.Authors[0].Slug != "bob" || p.Authors[1].Slug != "ann" || p.Authors[0].Bio != "Bob writes" {
		t.Errorf("authors = %+v, want bob then ann", p.Authors)
	}
	if len(p.Tags) != 3 || p.Tags[0].Slug != "zeta" || p.Tags[1].Slug != "alpha" || p.Tags[2].Visibility != "internal" {
		t.Errorf("tags = %+v, want zeta, alpha, #internal in order", p.Tags)
	}
}

func TestCreatePostRejectsBadGhostFields(t *testing.T) {
	s, _ := openTemp(t)
	tests := []struct {
		name string
		np   NewPost
		want string
	}{
		{"unknown status", NewPost{Status: "sent"}, "status"},
		{"scheduled without a time", NewPost{Status: StatusScheduled}, "publication time"},
		{"unknown visibility", NewPost{Visibility: "secret"}, "visibility"},
		{"unknown author", NewPost{Authors: []string{"ghost-writer"}}, "not found"},
		{"over-long excerpt", NewPost{CustomExcerpt: strings.Repeat("x", 301)}, "custom_excerpt"},
		{"over-long meta description", NewPost{Meta: PostMeta{MetaDescription: strings.Repeat("x", 501)}}, "meta_description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.CreatePost(context.Background(), tt.np); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestArchivesListOnlyTheirPublishedPosts(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	ann, err := s.CreateAuthor(ctx, NewAuthor{Name: "Ann", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, np := range []NewPost{
		{Title: "A1", Tags: []string{"Go"}, Authors: []string{"ann"}},
		{Title: "A2", Tags: []string{"Go", "Rust"}},
		{Title: "A3", Tags: []string{"Go"}, Authors: []string{"wisp", "ann"}},
		{Title: "Draft", Tags: []string{"Go"}, Authors: []string{"ann"}, Status: StatusDraft},
		{Title: "Page", Tags: []string{"Go"}, Type: TypePage},
	} {
		np.PublishedAt = base.Add(time.Duration(i) * time.Hour)
		np.Markdown = "text of " + np.Title
		if _, err := s.CreatePost(ctx, np); err != nil {
			t.Fatal(err)
		}
	}
	goTag, err := s.TagBySlug(ctx, "go")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		f     Filter
		count int
		want  string
	}{
		{"tag", Filter{TagID: goTag.ID}, 3, "A3 A2 A1"},
		{"author with secondary authorship", Filter{AuthorID: ann.ID}, 2, "A3 A1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.CountPosts(ctx, tt.f)
			if err != nil || n != tt.count {
				t.Errorf("count = %d, %v; want %d", n, err, tt.count)
			}
			posts, err := s.ListPosts(ctx, tt.f, 10, 0)
			if err != nil || strings.Join(titles(posts), " ") != tt.want {
				t.Errorf("list = %v, %v; want %s", titles(posts), err, tt.want)
			}
			feed, err := s.FeedPosts(ctx, tt.f, 1)
			if err != nil || len(feed) != 1 || feed[0].HTML == "" {
				t.Errorf("feed posts = %+v, %v; want one with its html", feed, err)
			}
		})
	}
	if _, err := s.CreatePost(ctx, NewPost{Title: "Hidden", Tags: []string{"#secret"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TagBySlug(ctx, "hash-secret"); !errors.Is(err, ErrNotFound) {
		t.Errorf("internal tag by slug: %v, want ErrNotFound", err)
	}
}

func TestSchedulingPublishesOnlyDuePosts(t *testing.T) {
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(context.Background(), t.TempDir()+"/ghost.db", Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, h := range []int{1, 2} {
		if _, err := s.CreatePost(ctx, NewPost{Title: "In " + string(rune('0'+h)), Status: StatusScheduled,
			PublishedAt: clock.Add(time.Duration(h) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	next, ok, err := s.NextScheduled(ctx)
	if err != nil || !ok || !next.Equal(clock.Add(time.Hour)) {
		t.Fatalf("next = %v %v %v", next, ok, err)
	}
	if n, err := s.PublishDue(ctx); err != nil || n != 0 {
		t.Errorf("published %d early (%v)", n, err)
	}
	clock = clock.Add(90 * time.Minute)
	if n, err := s.PublishDue(ctx); err != nil || n != 1 {
		t.Errorf("published %d, want 1 (%v)", n, err)
	}
	if _, err := s.PublishedBySlug(ctx, "in-1"); err != nil {
		t.Errorf("due post not live: %v", err)
	}
	if _, err := s.PublishedBySlug(ctx, "in-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("future post live: %v", err)
	}
	clock = clock.Add(time.Hour)
	s.PublishDue(ctx)
	if _, ok, _ := s.NextScheduled(ctx); ok {
		t.Error("nothing should be left scheduled")
	}
}

func TestArchiveQueriesUseIndexes(t *testing.T) {
	s, _ := openTemp(t)
	for name, q := range map[string]string{
		"tag list":     listByTagSQL,
		"tag count":    countByTagSQL,
		"author list":  listByAuthorSQL,
		"author count": countByAuthorSQL,
		"schedule":     `SELECT min(published_at) FROM posts WHERE status = 'scheduled'`,
	} {
		t.Run(name, func(t *testing.T) {
			args := []any{"x", 10, 0}[:strings.Count(q, "?")]
			rows, err := s.db.Query(`EXPLAIN QUERY PLAN `+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				rows.Scan(&id, &parent, &unused, &detail)
				if strings.HasPrefix(detail, "SCAN p") || strings.HasPrefix(detail, "SCAN posts") || strings.HasPrefix(detail, "SCAN pt") || strings.HasPrefix(detail, "SCAN pa") {
					t.Errorf("full scan: %s", detail)
				}
			}
		})
	}
}
