package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"wisp/internal/blog"
	"wisp/internal/blog/config"
	"wisp/internal/listen"
)

// siteFlags are the flags every command working on one site takes.
type siteFlags struct {
	dir, env *string
}

func addSiteFlags(fs *flag.FlagSet) siteFlags {
	return siteFlags{
		dir: fs.String("dir", ".", "site directory holding config.<env>.json"),
		env: fs.String("env", "", "environment name (default: $NODE_ENV, else production)"),
	}
}

// load reads the site's configuration. Values come through env.getenv;
// os.Environ only supplies the names of "__" overrides for keys that Wisp
// does not look up by name.
func (f siteFlags) load(env *cliEnv) (*config.Config, error) {
	return config.Load(config.Options{Dir: *f.dir, Env: *f.env, Getenv: env.getenv, Environ: os.Environ()})
}

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "serve", "[--dir DIR] [--env ENV]")
	site := addSiteFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, msg: fmt.Sprintf("wisp serve: unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := site.load(env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.stdout, nil))
	opener, err := listen.NewOpener(env.getenv, log)
	if err != nil {
		return err
	}
	defer opener.Close()
	return blog.Run(ctx, cfg, opener, log)
}
