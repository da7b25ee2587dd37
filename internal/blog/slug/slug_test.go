package slug

import (
	"context"
	"errors"
	"testing"
)

func TestMakeFollowsGhostRules(t *testing.T) {
	tests := []struct {
		name, in string
		kind     Kind
		want     string
	}{
		{"lowercases and hyphenates spaces", "Hello World", Post, "hello-world"},
		{"drops apostrophes", "It's Ghost’s day", Post, "its-ghosts-day"},
		{"replaces reserved characters", "a.b@c:d/e?f#g", Post, "a-b-c-d-e-f-g"},
		{"collapses and trims hyphens", "  --Hello -- World--  ", Post, "hello-world"},
		{"folds Latin accents to ASCII", "Crème Brûlée à Straße", Post, "creme-brulee-a-strasse"},
		{"drops characters without ASCII form", "日本 blog", Post, "blog"},
		{"pound sign becomes hyphen", "price£10", Post, "price-10"},
		{"empty becomes the model name", "!!!", Post, "post"},
		{"single character gets the model prefix", "a", Tag, "tag-a"},
		{"protected slugs get the model suffix", "RSS", Post, "rss-post"},
		{"internal tags get hash prefix", "#Internal", Tag, "hash-internal"},
		{"hash on a post is not special", "#Internal", Post, "internal"},
		{"keeps digits and underscores", "Go 1_26", Post, "go-1_26"},
		{"drops control characters", "a\x01b\x00c\u200bd", Post, "abcd"},
		{"tabs and newlines are spaces", "a\tb\nc", Post, "a-b-c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Make(tt.in, tt.kind); got != tt.want {
				t.Errorf("Make(%q, %s) = %q, want %q", tt.in, tt.kind, got, tt.want)
			}
		})
	}
}

func TestMakeCutsLongSlugs(t *testing.T) {
	long := ""
	for len(long) < 300 {
		long += "word "
	}
	got := Make(long, Post)
	if len(got) > MaxLen || got[len(got)-1] == '-' {
		t.Errorf("len %d, ends %q: want <= %d and no trailing hyphen", len(got), got[len(got)-1:], MaxLen)
	}
}

func TestUniqueAppendsNextFreeNumber(t *testing.T) {
	tests := []struct {
		name  string
		taken []string
		base  string
		want  string
	}{
		{"free slug is kept", nil, "hello", "hello"},
		{"taken slug gets -2", []string{"hello"}, "hello", "hello-2"},
		{"skips taken numbers", []string{"hello", "hello-2", "hello-3"}, "hello", "hello-4"},
		{"replaces an existing numeric suffix", []string{"hello-2"}, "hello-2", "hello-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]bool{}
			for _, s := range tt.taken {
				set[s] = true
			}
			got, err := Unique(context.Background(), tt.base, func(_ context.Context, s string) (bool, error) { return set[s], nil })
			if err != nil || got != tt.want {
				t.Errorf("Unique = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestUniquePassesLookupErrorsOn(t *testing.T) {
	boom := errors.New("db down")
	_, err := Unique(context.Background(), "x", func(context.Context, string) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}
