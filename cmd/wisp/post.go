package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"wisp/internal/blog"
	"wisp/internal/blog/store"
)

// maxPostBytes bounds a post read from a file or stdin.
const maxPostBytes = 16 << 20

func runPost(ctx context.Context, env *cliEnv, args []string) error {
	return runGroup(ctx, env, "post", "new --title TITLE [flags] [FILE.md | -]", []subcommand{
		{"new", "publish a Markdown post (from FILE, or stdin when FILE is - or missing)", runPostNew},
	}, args)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runPostNew(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "post new", "--title TITLE [flags] [FILE.md | -]")
	title := fs.String("title", "", "post title (required)")
	slug := fs.String("slug", "", "URL slug (default: made from the title; de-duplicated like Ghost)")
	draft := fs.Bool("draft", false, "save as a draft instead of publishing")
	page := fs.Bool("page", false, "create a static page instead of a post")
	var tags stringList
	fs.Var(&tags, "tag", "tag name, repeatable; the first is the primary tag")
	site := addSiteFlags(fs)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*title) == "" {
		fs.Usage()
		return &exitError{code: 2, msg: "wisp post new: --title is required"}
	}
	if len(files) > 1 {
		return &exitError{code: 2, msg: "wisp post new: give at most one file"}
	}
	files = append(files, "")
	src, err := readSource(env, files[0])
	if err != nil {
		return err
	}
	cfg, err := site.load(env)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Database.Filename, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	np := store.NewPost{Title: *title, Slug: *slug, Markdown: src, Tags: tags}
	if *draft {
		np.Status = store.StatusDraft
	}
	if *page {
		np.Type = store.TypePage
	}
	p, err := st.CreatePost(ctx, np)
	if err != nil {
		return err
	}
	if *draft {
		fmt.Fprintf(env.stdout, "Saved draft %q (slug %s); it is not public until published.\n", p.Title, p.Slug)
		return nil
	}
	fmt.Fprintln(env.stdout, blog.PostURL(cfg, p.Slug))
	return nil
}

// parseInterspersed parses flags wherever they appear, so that
// "wisp post new post.md --title T" works as well as the flags-first form.
// Arguments after "--" are all positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// readSource reads the Markdown from path, or stdin for "" and "-".
func readSource(env *cliEnv, path string) (string, error) {
	var r io.Reader = env.stdin
	name := "standard input"
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r, name = f, path
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPostBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxPostBytes {
		return "", fmt.Errorf("read %s: the post is larger than %d MiB", name, maxPostBytes>>20)
	}
	if !utf8.Valid(b) {
		return "", errors.New("read " + name + ": the post is not valid UTF-8 text")
	}
	return string(b), nil
}
