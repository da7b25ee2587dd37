package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"

	"wisp/internal/listen"
	"wisp/internal/ngxconf"
)

// Options are the proxy's command line, nginx's flags in struct form.
type Options struct {
	ConfFile string // -c
	Prefix   string // -p
	Globals  string // -g
	Name     string // program name in messages: "wisp", or "nginx" when run as nginx
	Token    string // Server header and error page footer
	Stderr   io.Writer
	Stdout   io.Writer
	Getenv   func(string) string // for inherited sockets (LISTEN_FDS, wisp up)
}

// Loaded is a loaded and compiled configuration.
type Loaded struct {
	Source *ngxconf.Config
	Config *Config
}

// Load reads and compiles the configuration named by opts.
func Load(ctx context.Context, opts Options) (*Loaded, error) {
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: opts.ConfFile, Prefix: opts.Prefix, Globals: opts.Globals})
	if err != nil {
		return nil, err
	}
	cfg, err := Compile(ctx, src.Main, CompileOptions{Prefix: src.Prefix})
	if err != nil {
		return nil, err
	}
	return &Loaded{Source: src, Config: cfg}, nil
}

// ConfigError is a failure to load the configuration; the CLI prints it as
// "NAME: [emerg] MSG" and exits 1.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Test implements -t, -T and -q: check the configuration and report with
// nginx's wording. dump adds -T's listing on stdout.
func Test(ctx context.Context, opts Options, dump, quiet bool) error {
	l, err := Load(ctx, opts)
	conf := opts.ConfFile
	if l != nil {
		conf = l.Source.ConfFile
	}
	if err != nil {
		fmt.Fprintf(opts.Stderr, "%s: [emerg] %v\n", opts.Name, err)
		fmt.Fprintf(opts.Stderr, "%s: configuration file %s test failed\n", opts.Name, conf)
		return &ConfigError{err}
	}
	if !quiet {
		fmt.Fprintf(opts.Stderr, "%s: the configuration file %s syntax is ok\n", opts.Name, conf)
		fmt.Fprintf(opts.Stderr, "%s: configuration file %s test is successful\n", opts.Name, conf)
	}
	if dump {
		io.WriteString(opts.Stdout, ngxconf.Dump(l.Source))
	}
	return nil
}

// Run loads the configuration, binds, writes the pid file and serves until
// ctx is done, then stops gracefully and removes the pid file.
func Run(ctx context.Context, opts Options) error {
	l, err := Load(ctx, opts)
	if err != nil {
		return &ConfigError{err}
	}
	cfg := l.Config
	logw, closeLog, err := openLog(cfg.ErrorLog.Path, opts.Stderr)
	if err != nil {
		return &ConfigError{err}
	}
	defer closeLog()
	log := slog.New(NewErrorLogHandler(logw, cfg.ErrorLog.Level))
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	for _, d := range l.Source.Ignored {
		log.Warn(fmt.Sprintf("%q directive is ignored by wisp in %s", d.Name, d.Pos))
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	opener, err := listen.NewOpener(getenv, log)
	if err != nil {
		return &ConfigError{err}
	}
	defer opener.Close()
	open := func(ctx context.Context, network, address string) (net.Listener, error) {
		// nginx makes its unix listen sockets 0666.
		return opener.Listen(ctx, listen.Addr{Network: network, Address: address}, 0o666)
	}
	srv := NewServer(cfg, ServerOptions{Log: log, Token: opts.Token, Listen: open})
	if err := srv.Listen(ctx); err != nil {
		return &ConfigError{err}
	}
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			srv.Serve(cancelled(ctx))
			return &ConfigError{fmt.Errorf("open() %q failed (%w)", cfg.PidFile, err)}
		}
		defer os.Remove(cfg.PidFile)
	}
	return srv.Serve(ctx)
}

// cancelled returns an already-cancelled child of ctx, to stop a server
// that never got to serve.
func cancelled(ctx context.Context) context.Context {
	c, cancel := context.WithCancel(ctx)
	cancel()
	return c
}

func openLog(path string, stderr io.Writer) (io.Writer, func(), error) {
	if path == "stderr" || path == "" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, nil, fmt.Errorf("open() %q failed (%s)", path, errnoText(pe.Err)[1:len(errnoText(pe.Err))-1])
		}
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
