package web

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"wisp/internal/blog/store"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMalformedSourcesNeverTakeAPostDown(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ghost.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, np := range []store.NewPost{
		{Title: "Stored html wins", HTML: "<p>from ghost</p>", Lexical: `{"root": broken`},
		{Title: "No html, bad lexical", Lexical: `{"root": broken`},
		{Title: "No html, bad mobiledoc", Mobiledoc: `[[`},
	} {
		if _, err := st.CreatePost(ctx, np); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	h, err := New(st, Options{URL: "http://example.com/", Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ target, body string }{
		{"/stored-html-wins/", "<p>from ghost</p>"},
		{"/no-html-bad-lexical/", "No html, bad lexical"},
		{"/no-html-bad-mobiledoc/", "No html, bad mobiledoc"},
		{"/rss/", "No html, bad lexical"},
		{"/", "Stored html wins"},
	}
	for _, tt := range tests {
		rec := do(h, "GET", tt.target)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("%s: %d, body lacks %q", tt.target, rec.Code, tt.body)
		}
	}
	// Render again in a new data version: still one error per post.
	if err := st.SetSetting(ctx, "site", "title", "Again"); err != nil {
		t.Fatal(err)
	}
	do(h, "GET", "/no-html-bad-lexical/")
	if n := strings.Count(logs.String(), "lexical is malformed"); n != 1 {
		t.Errorf("lexical error logged %d times, want once:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "mobiledoc is malformed"); n != 1 {
		t.Errorf("mobiledoc error logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "stored-html") {
		t.Error("a post with stored html should not be re-rendered")
	}
}
