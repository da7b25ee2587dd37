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
	var sig string
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
					"  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"+
					"  -p prefix     : set prefix path (default: the configuration file's directory)\n  -c filename   : set configuration file (default: %s)\n"+
					"  -g directives : set global directives out of configuration file\n", name, version, name, defaultConfFile)
				return flag.ErrHelp
			case 'v', 'V':
				fmt.Fprint(env.stderr, proxy.VersionText(name, version, c == 'V'))
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
					if _, ok := proxy.SignalNumber(val); !ok {
						return &exitError{1, fmt.Sprintf("%s: invalid option: \"-s %s\"", name, val)}
					}
					sig = val
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
	if sig != "" {
		err := proxy.SendSignal(ctx, opts, sig)
		var se *proxy.SignalError
		if errors.As(err, &se) {
			return &exitError{1, ""} // already logged, as nginx does
		}
		return proxyError(name, err)
	}
	// The proxy answers signals as nginx's master does (TERM/INT fast
	// stop, QUIT graceful stop, HUP reload, USR1 reopen), so main's
	// cancel-on-TERM/INT must not turn a fast stop into a graceful one.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, proxy.ControlSignals()...)
	defer signal.Stop(sigs)
	opts.Signals = sigs
	return proxyError(name, proxy.Run(context.WithoutCancel(ctx), opts))
}

// proxyError turns the proxy's errors into nginx-style messages.
func proxyError(name string, err error) error {
	if err != nil {
		var ce *proxy.ConfigError
		if errors.As(err, &ce) {
			return &exitError{1, fmt.Sprintf("%s: [emerg] %s", name, strings.TrimSpace(ce.Error()))}
		}
		return &exitError{1, fmt.Sprintf("%s: [emerg] %v", name, err)}
	}
	return nil
}
