package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sys/unix"

	"wisp/internal/blog/devseed"
	"wisp/internal/blog/store"
)

func runDev(ctx context.Context, env *cliEnv, args []string) error {
	return runGroup(ctx, env, "dev", "seed --posts N [flags]", []subcommand{
		{"seed", "fill a site's database with generated posts, tags and authors", runDevSeed},
	}, args)
}

func runDevSeed(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "dev seed", "--posts N [--tags T] [--authors A] [--seed S] [--dir D] [--env E]")
	posts := fs.Int("posts", 0, "number of posts to generate (required; a few drafts and pages among them)")
	tags := fs.Int("tags", 50, "number of distinct tags (every tenth is an internal #tag)")
	authors := fs.Int("authors", 5, "number of authors besides the Owner")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same content")
	site := addSiteFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, msg: fmt.Sprintf("wisp dev seed: unexpected argument %q", fs.Arg(0))}
	}
	if *posts <= 0 {
		fs.Usage()
		return &exitError{code: 2, msg: "wisp dev seed: --posts must be a positive number"}
	}
	if *tags <= 0 || *authors <= 0 {
		return &exitError{code: 2, msg: "wisp dev seed: --tags and --authors must be positive numbers"}
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
	sum, err := devseed.Run(ctx, st, devseed.Options{Posts: *posts, Tags: *tags, Authors: *authors, Seed: *seed},
		progressFor(env.stderr, *posts))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "seeded %s: %d published posts, %d drafts, %d pages, %d tags, %d authors in %s\n",
		cfg.Database.Filename, sum.Posts, sum.Drafts, sum.Pages, sum.Tags, sum.Authors, sum.Elapsed.Round(time.Millisecond))
	return nil
}

// progressFor draws a progress bar on a terminal and prints plain lines
// anywhere else.
func progressFor(w io.Writer, total int) devseed.Progress {
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			return barProgress{progressbar.NewOptions(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription("seeding posts"),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("posts"),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)}
		}
	}
	return devseed.NewLines(w)
}

type barProgress struct{ bar *progressbar.ProgressBar }

func (b barProgress) Advance(done, _ int) { b.bar.Set(done) }
