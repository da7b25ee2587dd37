package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"a,b":       {"a", "b"},
		" a , ,b, ": {"a", "b"},
		"":          nil,
	} {
		if got := splitList(in); !slices.Equal(got, want) {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindModuleWalksUpToTheWispModule(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := findModule("wisp")
	if root == "" || !strings.HasPrefix(wd, root) {
		t.Fatalf("findModule = %q from %s", root, wd)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "wisp")); err != nil {
		t.Fatalf("%s has no cmd/wisp: %v", root, err)
	}
	if got := findModule("no-such-module"); got != "" {
		t.Fatalf("findModule(no-such-module) = %q, want \"\"", got)
	}
}

func TestBadCommandLinesFailBeforeStartingAnything(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-d", "500ms"}, "whole seconds"},
		{[]string{"-targets", "nginx-ka,apache"}, `unknown target "apache"`},
		{[]string{"-paths", "/nope"}, "unknown path"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-tls", "-targets", "direct,wisp"}, "plain-HTTP backend"},
	} {
		var out bytes.Buffer
		err := runBench(context.Background(), tc.args, &out, quiet)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("runBench(%q): %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	if err := runBackend(context.Background(), []string{}, quiet); err == nil {
		t.Error("backend with no address: want an error")
	}
}
