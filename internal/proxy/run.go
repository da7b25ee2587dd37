package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"

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
	// Signals delivers the process's control signals (ControlSignals) to
	// Run; nil: only the end of Run's context stops it, gracefully.
	Signals <-chan os.Signal
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
	l.Config.CloseLogs()
	if !quiet {
		fmt.Fprintf(opts.Stderr, "%s: the configuration file %s syntax is ok\n", opts.Name, conf)
	}
	if err := testBinds(ctx, l.Config); err != nil {
		fmt.Fprintf(opts.Stderr, "%s: [emerg] %v\n", opts.Name, err)
		fmt.Fprintf(opts.Stderr, "%s: configuration file %s test failed\n", opts.Name, conf)
		return &ConfigError{err}
	}
	if !quiet {
		fmt.Fprintf(opts.Stderr, "%s: configuration file %s test is successful\n", opts.Name, conf)
	}
	if dump {
		io.WriteString(opts.Stdout, ngxconf.Dump(l.Source))
	}
	return nil
}

// testBinds binds each listen socket and lets it go, as nginx -t does: an
// address another process holds (EADDRINUSE: a running server's own
// socket, or a unix socket's file left behind) passes, since the test
// cannot tell; any other failure fails the test. A unix socket's file is
// removed again.
func testBinds(ctx context.Context, cfg *Config) error {
	var lc net.ListenConfig
	for _, sock := range cfg.sockets {
		l, err := lc.Listen(ctx, sock.network, sock.address)
		if err == nil {
			l.Close()
			continue
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		addr := sock.address
		if sock.network == "unix" {
			addr = "unix:" + addr
		}
		return fmt.Errorf("bind() to %s failed %s", addr, errnoText(err))
	}
	return nil
}

// Run loads the configuration, binds, writes the pid file and serves until
// ctx is done (a graceful stop) or opts.Signals says otherwise: HUP
// reloads, USR1 reopens the logs, QUIT stops gracefully, TERM and INT stop
// at once. The pid file is removed on the way out.
func Run(ctx context.Context, opts Options) error {
	l, err := Load(ctx, opts)
	if err != nil {
		return &ConfigError{err}
	}
	cfg := l.Config
	errLog, err := newLogFile(cfg.ErrorLog.Path, opts.Stderr)
	if err != nil {
		return &ConfigError{err}
	}
	defer errLog.Close()
	level := new(slog.LevelVar)
	level.Set(cfg.ErrorLog.Level)
	log := slog.New(NewErrorLogHandler(errLog, level))
	logLoaded(log, l)
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
	// Whichever config is current at the end writes out its access logs.
	defer func() { srv.cfg.Load().retire() }()
	if err := srv.Listen(ctx); err != nil {
		return &ConfigError{err}
	}
	m := &master{opts: opts, srv: srv, log: log, level: level, errLog: errLog, pidFile: cfg.PidFile}
	if m.pidFile != "" {
		if err := writePidFile(m.pidFile); err != nil {
			srv.Serve(cancelled(ctx))
			return &ConfigError{err}
		}
	}
	defer m.removePidFile()
	return m.run(ctx)
}

// logLoaded logs what loading a config found worth a warning.
func logLoaded(log *slog.Logger, l *Loaded) {
	for _, w := range l.Config.Warnings {
		log.Warn(w)
	}
	for _, d := range l.Source.Ignored {
		log.Warn(fmt.Sprintf("%q directive is ignored by wisp in %s", d.Name, d.Pos))
	}
}

// master is the running proxy's control side: signals, reloads, the pid
// file and the error log.
type master struct {
	opts    Options
	srv     *Server
	log     *slog.Logger
	level   *slog.LevelVar
	errLog  *logFile
	pidFile string
}

func (m *master) run(ctx context.Context) error {
	// The server stops only when told: ctx's end is one way to tell it.
	serveCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	done := make(chan error, 1)
	go func() { done <- m.srv.Serve(serveCtx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			stop()
			return <-done
		case sig := <-m.opts.Signals:
			switch sig {
			case syscall.SIGHUP:
				m.log.Log(ctx, levelNotice, signalName(sig)+" received, reconfiguring")
				m.reload(ctx)
			case syscall.SIGUSR1:
				m.log.Log(ctx, levelNotice, signalName(sig)+" received, reopening logs")
				reopenLogs(m.errLog, m.srv.cfg.Load(), m.log)
			case syscall.SIGQUIT:
				m.log.Log(ctx, levelNotice, signalName(sig)+" received, shutting down")
				stop()
				return <-done
			case syscall.SIGTERM, syscall.SIGINT:
				m.log.Log(ctx, levelNotice, signalName(sig)+" received, exiting")
				m.srv.Abort()
				stop()
				return <-done
			}
		}
	}
}

// reload is nginx's HUP: the new config is read and checked in full
// (certificates, log files and new sockets included) before it replaces
// the old one; any failure is logged at emerg and the old one keeps
// serving.
func (m *master) reload(ctx context.Context) {
	l, err := Load(ctx, m.opts)
	if err != nil {
		m.log.Log(ctx, levelEmerg, err.Error())
		return
	}
	cfg := l.Config
	prevLog := m.errLog.currentPath()
	if cfg.ErrorLog.Path != prevLog {
		if err := m.errLog.switchTo(cfg.ErrorLog.Path); err != nil {
			m.log.Log(ctx, levelEmerg, err.Error())
			cfg.CloseLogs()
			return
		}
	}
	if err := m.srv.Reload(ctx, cfg); err != nil {
		m.log.Log(ctx, levelEmerg, err.Error())
		cfg.CloseLogs()
		if cfg.ErrorLog.Path != prevLog {
			m.errLog.switchTo(prevLog)
		}
		return
	}
	m.level.Set(cfg.ErrorLog.Level)
	if cfg.PidFile != m.pidFile {
		m.removePidFile()
		m.pidFile = cfg.PidFile
		if m.pidFile != "" {
			if err := writePidFile(m.pidFile); err != nil {
				m.log.Log(ctx, levelAlert, err.Error())
			}
		}
	}
	m.log.Log(ctx, levelNotice, "reconfiguring")
	logLoaded(m.log, l)
}

func (m *master) removePidFile() {
	if m.pidFile != "" {
		os.Remove(m.pidFile)
	}
}

// cancelled returns an already-cancelled child of ctx, to stop a server
// that never got to serve.
func cancelled(ctx context.Context) context.Context {
	c, cancel := context.WithCancel(ctx)
	cancel()
	return c
}
