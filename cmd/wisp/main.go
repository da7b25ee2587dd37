// Command wisp is a Ghost-compatible publishing server and an
// nginx-compatible front proxy in one binary. This package only parses
// command lines and calls into internal packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// command is one subcommand of wisp.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv carries what a subcommand may touch of the process, so that tests
// can run subcommands without globals.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// exitError makes main exit with a given code and message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func commands() []command {
	return []command{
		{"serve", "run the Ghost-compatible publishing server for one site", runServe},
		{"proxy", "run the nginx-compatible front proxy", runProxy},
		{"up", "run every site in a directory, each on its own socket, plus the proxy", runUp},
		{"post", "manage posts from the command line (post new)", runPost},
		{"dev", "development tools (dev seed: generate posts for testing and benchmarks)", runDev},
		{"version", "print the version", runVersion},
		{"help", "print this help, or a command's help", nil},
	}
}

func main() {
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	// Invoked through a symlink named nginx, wisp is the proxy, so that
	// service units and scripts written for nginx keep working.
	if filepath.Base(os.Args[0]) == "nginx" {
		args = append([]string{"proxy"}, args...)
	}
	os.Exit(dispatch(ctx, env, args))
}

func dispatch(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return dispatch(ctx, env, []string{args[1], "-h"})
		}
		usage(env.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] || c.run == nil {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ee *exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			if ee.msg != "" {
				fmt.Fprintln(env.stderr, ee.msg)
			}
			return ee.code
		default:
			fmt.Fprintf(env.stderr, "wisp %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.stderr, "wisp: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "wisp %s: a Ghost-compatible publishing server and an nginx-compatible front proxy\n\n", version)
	fmt.Fprintln(w, "Usage: wisp <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'wisp <command> -h' for a command's flags.")
}

// newFlagSet returns a flag set that prints usage to env.stderr with a
// one-line synopsis, and returns flag.ErrHelp on -h.
func newFlagSet(env *cliEnv, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("wisp "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: wisp %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func runVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "version", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wisp version %s\n", version)
	return nil
}

// subcommand is one verb of a command group, such as "new" of "wisp post".
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, env *cliEnv, args []string) error
}

// runGroup runs the verb args[0] of the command group, or prints the
// group's usage: to stderr and exit 2 when no verb is given, exit 0 for -h.
func runGroup(ctx context.Context, env *cliEnv, group, synopsis string, subs []subcommand, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.stderr, "Usage: wisp %s %s\n\nSubcommands:\n", group, synopsis)
		for _, s := range subs {
			fmt.Fprintf(env.stderr, "  %-6s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(env.stderr, "\nRun 'wisp %s %s -h' for its flags.\n", group, subs[0].name)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, env, args[1:])
		}
		names[i] = fmt.Sprintf("%q", s.name)
	}
	return &exitError{code: 2, msg: fmt.Sprintf("wisp %s: unknown subcommand %q (want %s)", group, args[0], strings.Join(names, " or "))}
}
