package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"wisp/internal/listen"
)

// Options are the inputs of Run.
type Options struct {
	// Dir holds one folder per site; it is created, with a demo site, when
	// it holds none.
	Dir string
	// Listen is the proxy's address, in nginx's listen syntax.
	Listen string
	// Env picks each site's config.<env>.json.
	Env string
	// Exe is the wisp binary the children run.
	Exe string
	// Environ is the environment the children start from; Getenv reads it.
	Environ []string
	Getenv  func(string) string
	// Stdout gets the site URLs and the children's output; Stderr their
	// errors.
	Stdout, Stderr io.Writer
	Log            *slog.Logger
	Policy         Policy
	// Reload, when it delivers (SIGHUP), re-reads the sites' configs,
	// rewrites proxy.conf and replaces every child by a fresh start, as
	// after an upgrade of the binary. A config that no longer loads is
	// reported and the running children are left alone, as nginx does.
	Reload <-chan os.Signal
}

// Run runs every site of o.Dir and the proxy in front of them until ctx
// is done, then stops them (the proxy first) and removes the sockets.
func Run(ctx context.Context, o Options) error {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	front, err := listen.ParseAddr(o.Listen)
	if err != nil {
		return fmt.Errorf("-listen %s: %w", o.Listen, err)
	}
	sites, err := Discover(dir, o.Env, o.Listen, o.Getenv, o.Environ)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(runDir(dir), 0o755); err != nil {
		return err
	}
	// wisp up holds every site's socket itself and hands it to each start
	// of the site: a site that crashes or restarts leaves connections
	// waiting in the backlog, never refused, and the socket file is removed
	// once, when wisp up stops.
	opener, err := listen.NewOpener(o.Getenv, o.Log)
	if err != nil {
		return err
	}
	defer opener.Close()
	listeners := make([]net.Listener, 0, len(sites))
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, s := range sites {
		l, err := opener.Listen(ctx, s.Socket, s.Perm)
		if err != nil {
			return fmt.Errorf("site %s: %w", s.Name, err)
		}
		listeners = append(listeners, l)
	}
	// The proxy's port too: a port in use is reported now, once, rather
	// than by a proxy that fails to start over and over, and a restarting
	// proxy leaves no moment in which connections are refused.
	frontL, err := opener.Listen(ctx, front, 0o666)
	if err != nil {
		return fmt.Errorf("-listen %s: %w", o.Listen, err)
	}
	listeners = append(listeners, frontL)
	conf := filepath.Join(runDir(dir), "proxy.conf")
	if err := writeFileAtomic(conf, ProxyConfig(dir, o.Listen, sites)); err != nil {
		return err
	}

	children := make([]Child, len(sites))
	for i, s := range sites {
		children[i] = Child{
			Name:      s.Name,
			Command:   o.command(s.Dir, []string{socketEnv + "=" + s.Socket.Address}, "serve", "--dir", s.Dir, "--env", o.Env),
			Listeners: []net.Listener{listeners[i]},
			Stop:      syscall.SIGTERM,
		}
	}
	proxy := Child{
		Name:      "proxy",
		Command:   o.command(runDir(dir), nil, "proxy", "-c", conf),
		Listeners: []net.Listener{frontL},
		// Graceful for wisp proxy; nginx itself would take SIGTERM as a
		// fast shutdown (SIGQUIT is its graceful one).
		Stop: syscall.SIGTERM,
	}
	o.announce(sites)
	restart := make(chan struct{})
	sup := &Supervisor{Policy: o.Policy, Log: o.Log, Stdout: o.Stdout, Stderr: o.Stderr, Restart: restart}
	reloadCtx, stopReloads := context.WithCancel(ctx)
	defer stopReloads()
	go o.reloads(reloadCtx, dir, conf, sites, restart)
	err = sup.Run(ctx, children, []Child{proxy})
	if errors.Is(err, ErrGaveUp) {
		return fmt.Errorf("%w; its output above says why", err)
	}
	return err
}

// reloads serves o.Reload until ctx is done: each signal that reloads
// cleanly restarts the children.
func (o Options) reloads(ctx context.Context, dir, conf string, sites []Site, restart chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.Reload:
		}
		next, err := o.reload(dir, conf, sites)
		if err != nil {
			o.Log.Error("reload failed; the running sites and proxy are unchanged", "err", err)
			continue
		}
		sites = next
		select {
		case restart <- struct{}{}:
			fmt.Fprintln(o.Stdout, "wisp up: reloaded; restarting every site and the proxy")
		case <-ctx.Done():
			return
		}
	}
}

// reload re-reads the configs of the running sites and rewrites the
// proxy's config from them. Site folders added or removed since the start
// are only reported: their sockets and processes come and go with a
// restart of wisp up.
func (o Options) reload(dir, conf string, running []Site) ([]Site, error) {
	names, err := siteFolders(dir, o.Env)
	if err != nil {
		return nil, err
	}
	if now, before := strings.Join(names, " "), siteNames(running); now != before {
		o.Log.Warn("site folders changed; restart wisp up to start or stop sites", "running", before, "found", now)
	}
	sites := make([]Site, len(running))
	for i, s := range running {
		if sites[i], err = loadSite(dir, s.Name, o.Env, o.Getenv, o.Environ); err != nil {
			return nil, err
		}
	}
	if err := checkHosts(sites); err != nil {
		return nil, err
	}
	for i, s := range sites {
		if s.Perm != running[i].Perm {
			if err := os.Chmod(s.Socket.Address, s.Perm); err != nil {
				return nil, err
			}
		}
	}
	return sites, writeFileAtomic(conf, ProxyConfig(dir, o.Listen, sites))
}

func siteNames(sites []Site) string {
	names := make([]string, len(sites))
	for i, s := range sites {
		names[i] = s.Name
	}
	return strings.Join(names, " ")
}

// writeFileAtomic replaces path so that a proxy starting meanwhile reads
// the old file or the new one, never half of one.
func writeFileAtomic(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// command returns a builder of `wisp args...` run in dir, with wisp up's
// environment minus anything meant for wisp up itself, plus env.
func (o Options) command(dir string, env []string, args ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(o.Exe, args...)
		cmd.Dir = dir
		for _, kv := range o.Environ {
			name, _, _ := strings.Cut(kv, "=")
			switch name {
			case listen.EnvListeners, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", socketEnv:
				continue
			}
			cmd.Env = append(cmd.Env, kv)
		}
		cmd.Env = append(cmd.Env, env...)
		return cmd
	}
}

// announce prints where each site answers.
func (o Options) announce(sites []Site) {
	where := o.Listen
	if a, err := listen.ParseAddr(o.Listen); err == nil && a.Network != "unix" {
		where = "http://" + a.Address + "/"
	}
	fmt.Fprintf(o.Stdout, "wisp up: proxy on %s\n", where)
	for _, s := range sites {
		fmt.Fprintf(o.Stdout, "  %-12s %s  (%s)\n", s.Name, s.URL, s.Socket)
	}
}
