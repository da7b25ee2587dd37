package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"wisp/internal/proxy"
)

// defaultConfFile is nginx's compiled-in default (Debian's).
const defaultConfFile = "/etc/nginx/nginx.conf"

// runProxy parses nginx's command line: -c -p -g -t -T -q -v -V -h -? -s.
// Flags may be grouped (-tq) and values attached (-c/path) as in nginx, so
// the standard flag package, which accepts neither, is not used.
func runProxy(ctx context.Context, env *cliEnv, args []string) error {
	name := "wisp"
	if filepath.Base(os.Args[0]) == "nginx" {
		name = "nginx"
	}
	opts := proxy.Options{Name: name, Token: "wisp/" + version, Stderr: env.stderr, Stdout: env.stdout, Getenv: env.getenv}
	var test, dump, quiet bool
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			return &exitError{1, fmt.Sprintf("%s: invalid option: %q", name, a)}
		}
		for j := 1; j < len(a); j++ {
			switch c := a[j]; c {
			case '?', 'h':
				fmt.Fprintf(env.stderr, "%s version: wisp/%s\nUsage: %s [-?hvVtTq] [-s signal] [-p prefix] [-c filename] [-g directives]\n\n"+
					"Options:\n  -?,-h         : this help\n  -v            : show version and exit\n  -V            : show version and configure options then exit\n"+
					"  -t            : test configuration and exit\n  -T            : test configuration, dump it and exit\n  -q            : suppress non-error messages during configuration testing\n"+
					"  -s signal     : send signal to a master process: stop, quit, reopen, reload (not supported yet)\n"+
					"  -p prefix     : set prefix path (default: the configuration file's directory)\n  -c filename   : set configuration file (default: %s)\n"+
					"  -g directives : set global directives out of configuration file\n", name, version, name, defaultConfFile)
				return flag.ErrHelp
			case 'v', 'V':
				fmt.Fprintf(env.stderr, "%s version: wisp/%s\n", name, version)
				return nil
			case 't':
				test = true
			case 'T':
				test, dump = true, true
			case 'q':
				quiet = true
			case 'c', 'p', 'g', 's':
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return &exitError{1, fmt.Sprintf("%s: option \"-%c\" requires %s", name, c, map[byte]string{'c': "file name", 'p': "directory name", 'g': "parameter", 's': "signal"}[c])}
					}
					i++
					val = args[i]
				}
				switch c {
				case 'c':
					opts.ConfFile = val
				case 'p':
					opts.Prefix = val
				case 'g':
					opts.Globals = val
				case 's':
					return &exitError{1, fmt.Sprintf("%s: [emerg] -s %s: signals are not supported by wisp yet; send the signal to the process (TERM/INT/QUIT stop it gracefully)", name, val)}
				}
				j = len(a)
			default:
				return &exitError{1, fmt.Sprintf("%s: invalid option: \"%s\"", name, a[j:])}
			}
		}
	}
	if opts.ConfFile == "" {
		opts.ConfFile = defaultConfFile
	}
	if test {
		if err := proxy.Test(ctx, opts, dump, quiet); err != nil {
			return &exitError{1, ""}
		}
		return nil
	}
	// SIGQUIT is nginx's graceful stop; TERM and INT already cancel ctx.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGQUIT)
	defer stop()
	if err := proxy.Run(ctx, opts); err != nil {
		var ce *proxy.ConfigError
		if errors.As(err, &ce) {
			return &exitError{1, fmt.Sprintf("%s: [emerg] %s", name, strings.TrimSpace(ce.Error()))}
		}
		return &exitError{1, fmt.Sprintf("%s: [emerg] %v", name, err)}
	}
	return nil
}
