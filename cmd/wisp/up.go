package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"wisp/internal/up"
)

func runUp(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "up", "[-listen 127.0.0.1:8080] [-env production] [DIR]\n\n"+
		"Runs one wisp serve per site folder of DIR (default ./wisp-sites), each on\n"+
		"DIR/run/<site>.sock, and the proxy in front of them with DIR/run/proxy.conf.\n"+
		"A site folder holds config.<env>.json; its url's host is what the proxy routes\n"+
		"on. A DIR without sites gets a demo site. SIGHUP re-reads the configs and\n"+
		"restarts every process without refusing a connection; SIGTERM or SIGINT stops.")
	listenAddr := fs.String("listen", "127.0.0.1:8080", "the proxy's `address`, in nginx's listen syntax")
	siteEnv := fs.String("env", "", "the config `env`ironment of the sites (default: NODE_ENV, else production)")
	grace := fs.Duration("grace", up.DefaultPolicy().Grace, "how long each process may take to stop before it is killed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return &exitError{code: 2, msg: "wisp up: at most one DIR"}
	}
	dir := "wisp-sites"
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	if *siteEnv == "" {
		*siteEnv = env.getenv("NODE_ENV")
	}
	if *siteEnv == "" {
		*siteEnv = "production"
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the wisp binary to run the sites with: %w", err)
	}
	policy := up.DefaultPolicy()
	policy.Grace = *grace
	// SIGHUP reloads, as it does nginx: new configs, and a fresh start of
	// every process (also the way to move them to an upgraded binary).
	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	defer signal.Stop(reload)
	return up.Run(ctx, up.Options{
		Dir:     dir,
		Listen:  *listenAddr,
		Env:     *siteEnv,
		Exe:     exe,
		Environ: os.Environ(),
		Getenv:  env.getenv,
		Stdout:  env.stdout,
		Stderr:  env.stderr,
		Log:     slog.New(slog.NewTextHandler(env.stderr, nil)),
		Policy:  policy,
		Reload:  reload,
	})
}
