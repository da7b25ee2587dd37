package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDevSeedFillsTheSiteAndPrintsPlainProgressOffATerminal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.production.json"), []byte(`{"url": "https://blog.example/"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv("")
	code := dispatch(context.Background(), env, []string{"dev", "seed", "--posts", "30", "--tags", "5", "--authors", "2", "--dir", dir})
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
	if !strings.Contains(out.String(), "published posts") || !strings.Contains(out.String(), "5 tags, 2 authors") {
		t.Errorf("stdout = %q, want a summary", out)
	}
	if !strings.Contains(errb.String(), "seeded 30/30 posts (100%)") {
		t.Errorf("stderr = %q, want plain progress lines", errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "content", "data", "ghost.db")); err != nil {
		t.Errorf("no database: %v", err)
	}
}

func TestDevSeedRejectsBadArguments(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no posts", []string{"dev", "seed"}, "--posts must be a positive number", 2},
		{"zero posts", []string{"dev", "seed", "--posts", "0"}, "--posts must be a positive number", 2},
		{"negative tags", []string{"dev", "seed", "--posts", "3", "--tags", "-1"}, "--tags and --authors must be positive", 2},
		{"stray argument", []string{"dev", "seed", "--posts", "3", "extra"}, `unexpected argument "extra"`, 2},
		{"unknown subcommand", []string{"dev", "grow"}, `unknown subcommand "grow"`, 2},
		// A value the flag package rejects exits 1, as with every command.
		{"not a number", []string{"dev", "seed", "--posts", "many"}, "invalid value", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, _, errb := testEnv("")
			if code := dispatch(context.Background(), env, tt.args); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr = %q, want %q", errb, tt.want)
			}
		})
	}
}
