package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wisp/internal/blog"
	"wisp/internal/blog/config"
)

// testEnv is a cliEnv with captured output and no environment.
func testEnv(stdin string) (*cliEnv, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, &out, &errb
}

func TestPostNewPublishesAndTheRunningSiteServesIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.production.json"), []byte(`{"url": "https://blog.example/"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// The site is open (as a running server would be) before the post is
	// written, so the page must appear without a restart.
	srv, err := blog.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	get("/") // fill the page cache

	mdFile := filepath.Join(t.TempDir(), "post.md")
	os.WriteFile(mdFile, []byte("From a *file*."), 0o644)
	tests := []struct {
		name, stdin string
		args        []string
		wantOut     string
		path        string
		wantBody    string
	}{
		{"from stdin with dash", "# Hi\n\nFrom *stdin*.", []string{"--title", "Via stdin", "--dir", dir, "-"},
			"https://blog.example/via-stdin/\n", "/via-stdin/", "<em>stdin</em>"},
		{"from stdin without a file", "plain", []string{"--title", "No file", "--dir", dir},
			"https://blog.example/no-file/\n", "/no-file/", "plain"},
		{"from a file with a slug", "", []string{"--title", "T", "--slug", "My Slug", "--tag", "Go", "--dir", dir, mdFile},
			"https://blog.example/my-slug/\n", "/my-slug/", "<em>file</em>"},
		{"duplicate title is de-duplicated", "again", []string{"--title", "Via stdin", "--dir", dir},
			"https://blog.example/via-stdin-2/\n", "/via-stdin-2/", "again"},
		{"flags after the file", "", []string{mdFile, "--title", "Flags last", "--dir", dir},
			"https://blog.example/flags-last/\n", "/flags-last/", "<em>file</em>"},
		{"page", "about us", []string{"--title", "About", "--page", "--dir", dir},
			"https://blog.example/about/\n", "/about/", "about us"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errb := testEnv(tt.stdin)
			if err := runPost(context.Background(), env, append([]string{"new"}, tt.args...)); err != nil {
				t.Fatalf("runPost: %v (stderr %s)", err, errb)
			}
			if out.String() != tt.wantOut {
				t.Errorf("printed %q, want %q", out, tt.wantOut)
			}
			code, body := get(tt.path)
			if code != http.StatusOK || !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s = %d, body lacks %q", tt.path, code, tt.wantBody)
			}
		})
	}
	if _, home := get("/"); !strings.Contains(home, "No file") {
		t.Error("home page does not list the new posts")
	}

	env, out, _ := testEnv("secret")
	if err := runPost(context.Background(), env, []string{"new", "--title", "Hidden", "--draft", "--dir", dir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "draft") {
		t.Errorf("draft output %q", out)
	}
	if code, _ := get("/hidden/"); code != http.StatusNotFound {
		t.Errorf("draft served with %d", code)
	}
}

func TestPostRejectsBadUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no subcommand", nil, "", ""},
		{"unknown subcommand", []string{"delete"}, "", "unknown subcommand"},
		{"missing title", []string{"new", "--dir", dir}, "x", "--title is required"},
		{"two files", []string{"new", "--title", "x", "a.md", "b.md"}, "", "at most one file"},
		{"missing file", []string{"new", "--title", "x", "--dir", dir, filepath.Join(dir, "nope.md")}, "", "nope.md"},
		{"not UTF-8", []string{"new", "--title", "x", "--dir", dir}, "\xff\xfe", "UTF-8"},
		{"bad config", []string{"new", "--title", "x", "--dir", "DIR_WITH_BAD_CONFIG"}, "x", "config.production.json:1:"},
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "config.production.json"), []byte("{oops"), 0o644)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, a := range tt.args {
				if a == "DIR_WITH_BAD_CONFIG" {
					tt.args[i] = bad
				}
			}
			env, _, errb := testEnv(tt.stdin)
			err := runPost(context.Background(), env, tt.args)
			if err == nil {
				t.Fatal("want an error")
			}
			if msg := err.Error() + errb.String(); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q lacks %q", msg, tt.want)
			}
		})
	}
}

func TestPostHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"new", "-h"}} {
		env, _, errb := testEnv("")
		if code := dispatch(context.Background(), env, append([]string{"post"}, args...)); code != 0 {
			t.Errorf("post %v exited %d", args, code)
		}
		if !strings.Contains(errb.String(), "Usage: wisp post") {
			t.Errorf("post %v usage: %q", args, errb)
		}
	}
}
