package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Process control as nginx's master does it (§7): -s sends a signal to the
// pid in the pid file; a running proxy takes TERM/INT as fast shutdown,
// QUIT as graceful shutdown, HUP as reload and USR1 as "reopen the logs".

// defaultPidFile is Debian's compiled-in pid path, used by -s when the
// config has no pid directive.
const defaultPidFile = "/run/nginx.pid"

// SignalNumber maps -s's argument to the signal nginx sends for it.
func SignalNumber(name string) (syscall.Signal, bool) {
	switch name {
	case "stop":
		return syscall.SIGTERM, true
	case "quit":
		return syscall.SIGQUIT, true
	case "reopen":
		return syscall.SIGUSR1, true
	case "reload":
		return syscall.SIGHUP, true
	}
	return 0, false
}

// ControlSignals are the signals Run acts on; the CLI subscribes to them.
func ControlSignals() []os.Signal {
	return []os.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}
}

// SendSignal implements -s: the configuration must load (a broken one is
// reported like -t reports it and nothing is sent), then the signal goes
// to the pid in its pid file. Failures are logged as nginx logs them, on
// stderr in the error log's format, and returned.
func SendSignal(ctx context.Context, opts Options, name string) error {
	sig, ok := SignalNumber(name)
	if !ok {
		return fmt.Errorf("invalid option: \"-s %s\"", name)
	}
	l, err := Load(ctx, opts)
	if err != nil {
		return &ConfigError{err}
	}
	l.Config.CloseLogs() // opened by the load; only the pid file is wanted
	log := slog.New(NewErrorLogHandler(opts.Stderr, slog.LevelDebug))
	log.Log(ctx, levelNotice, "signal process started")
	path := l.Config.PidFile
	if path == "" {
		path = defaultPidFile
	}
	b, err := os.ReadFile(path)
	if err != nil {
		err = fmt.Errorf("open() %q failed %s", path, errnoText(err))
		log.Error(err.Error())
		return &SignalError{err}
	}
	text := strings.TrimRight(string(b), "\n")
	pid, err := strconv.Atoi(text)
	if err != nil || pid <= 0 {
		err = fmt.Errorf("invalid PID number %q in %q", text, path)
		log.Error(err.Error())
		return &SignalError{err}
	}
	if err := syscall.Kill(pid, sig); err != nil {
		err = fmt.Errorf("kill(%d, %d) failed %s", pid, int(sig), errnoText(err))
		log.Log(ctx, levelAlert, err.Error())
		return &SignalError{err}
	}
	return nil
}

// SignalError is a -s failure that was already logged; the CLI exits 1.
type SignalError struct{ Err error }

func (e *SignalError) Error() string { return e.Err.Error() }
func (e *SignalError) Unwrap() error { return e.Err }

// signalName is nginx's "signal N (SIGX)" text.
func signalName(sig os.Signal) string {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return sig.String()
	}
	names := map[syscall.Signal]string{syscall.SIGHUP: "SIGHUP", syscall.SIGUSR1: "SIGUSR1",
		syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT"}
	return fmt.Sprintf("signal %d (%s)", int(s), names[s])
}

// logFile is the error log's destination: stderr or a file that USR1
// reopens (logrotate moves the old file away first) and that a reload may
// point elsewhere. Writers never see a closed file.
type logFile struct {
	mu     sync.Mutex
	path   string // "" or "stderr": stderr
	f      *os.File
	stderr io.Writer
}

func newLogFile(path string, stderr io.Writer) (*logFile, error) {
	l := &logFile{stderr: stderr}
	if err := l.switchTo(path); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return l.stderr.Write(p)
	}
	return l.f.Write(p)
}

// switchTo opens path and makes it the destination; on error nothing
// changes.
func (l *logFile) switchTo(path string) error {
	var f *os.File
	if path != "" && path != "stderr" {
		var err error
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("open() %q failed %s", path, errnoText(err))
		}
	}
	l.mu.Lock()
	old := l.f
	l.f, l.path = f, path
	l.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (l *logFile) currentPath() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.path
}

// reopen opens the same path again (USR1).
func (l *logFile) reopen() error {
	l.mu.Lock()
	path := l.path
	l.mu.Unlock()
	return l.switchTo(path)
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	l.path = ""
	return err
}

// Reopener is a log that USR1 reopens besides the error log, such as an
// access log: the config that owns it lists it in Config.Reopen.
type Reopener interface {
	Reopen() error
}

// reopenLogs reopens the error log and every log of cfg; failures are
// logged and do not stop the others, as in nginx.
func reopenLogs(errLog *logFile, cfg *Config, log *slog.Logger) {
	if err := errLog.reopen(); err != nil {
		log.Log(context.Background(), levelAlert, err.Error())
	}
	for _, r := range cfg.Reopen {
		if err := r.Reopen(); err != nil {
			log.Log(context.Background(), levelAlert, err.Error())
		}
	}
}

// writePidFile writes the decimal pid and a newline, truncating.
func writePidFile(path string) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("open() %q failed %s", path, errnoText(err))
	}
	return nil
}
