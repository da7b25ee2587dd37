package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	// Reload, when it delivers (SIGHUP), re-reads the site folders and
	// their configs, rewrites proxy.conf and replaces every child by a
	// fresh start, as after an upgrade of the binary; sites added or
	// removed start or stop. A config that no longer loads is reported
	// and the running children are left alone, as nginx does.
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
	opener, err := listen.NewOpener(o.Getenv, o.Log)
	if err != nil {
		return err
	}
	defer opener.Close()
	socks := &sockets{opener: opener, byName: map[string]net.Listener{}}
	defer socks.keepOnly(nil)
	if err := socks.ensure(ctx, sites); err != nil {
		return err
	}
	// The proxy's port too: a port in use is reported now, once, rather
	// than by a proxy that fails to start over and over, and a restarting
	// proxy leaves no moment in which connections are refused.
	frontL, err := opener.Listen(ctx, front, 0o666)
	if err != nil {
		return fmt.Errorf("-listen %s: %w", o.Listen, err)
	}
	defer frontL.Close()
	conf := filepath.Join(runDir(dir), "proxy.conf")
	if err := writeFileAtomic(conf, ProxyConfig(dir, o.Listen, sites)); err != nil {
		return err
	}
	for {
		o.announce(sites)
		next, err := o.supervise(ctx, dir, conf, sites, socks, frontL)
		if next == nil {
			return err
		}
		// The processes of the old set are gone; so go the sockets of
		// sites that left it.
		socks.keepOnly(next)
		sites = next
	}
}

// supervise runs sites and the proxy until ctx is done or a child is given
// up on (it returns nil sites then), or until a reload changes the set of
// sites, which it returns after stopping everything; the sockets stay open
// meanwhile, so the pause refuses nothing.
func (o Options) supervise(ctx context.Context, dir, conf string, sites []Site, socks *sockets, frontL net.Listener) ([]Site, error) {
	children := make([]Child, len(sites))
	for i, s := range sites {
		children[i] = Child{
			Name:      s.Name,
			Command:   o.command(s.Dir, []string{socketEnv + "=" + s.Socket.Address}, "serve", "--dir", s.Dir, "--env", o.Env),
			Listeners: []net.Listener{socks.byName[s.Name]},
			Stop:      syscall.SIGTERM,
		}
	}
	proxy := Child{
		Name:      "proxy",
		Command:   o.command(runDir(dir), nil, "proxy", "-c", conf),
		Listeners: []net.Listener{frontL},
		// wisp proxy, like nginx, takes SIGTERM as a fast shutdown and
		// SIGQUIT as the graceful one, which lets requests finish.
		Stop: syscall.SIGQUIT,
	}
	restart := make(chan struct{})
	sup := &Supervisor{Policy: o.Policy, Log: o.Log, Stdout: o.Stdout, Stderr: o.Stderr, Restart: restart}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var next []Site
	reloading := make(chan struct{})
	go func() {
		defer close(reloading)
		next = o.reloads(runCtx, dir, conf, sites, socks, restart)
		stop()
	}()
	err := sup.Run(runCtx, children, []Child{proxy})
	stop()
	<-reloading
	if ctx.Err() != nil {
		return nil, nil
	}
	if errors.Is(err, ErrGaveUp) {
		return nil, fmt.Errorf("%w; its output above says why", err)
	}
	return next, err
}

// reloads serves o.Reload until ctx is done. A reload that keeps the set
// of sites restarts the children; one that changes it is returned.
func (o Options) reloads(ctx context.Context, dir, conf string, sites []Site, socks *sockets, restart chan<- struct{}) []Site {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-o.Reload:
		}
		next, err := o.reload(ctx, dir, conf, sites, socks)
		if err != nil {
			o.Log.Error("reload failed; the running sites and proxy are unchanged", "err", err)
			continue
		}
		if siteNames(next) != siteNames(sites) {
			fmt.Fprintf(o.Stdout, "wisp up: reloaded; the sites are now %s\n", siteNames(next))
			return next
		}
		sites = next
		select {
		case restart <- struct{}{}:
			fmt.Fprintln(o.Stdout, "wisp up: reloaded; restarting every site and the proxy")
		case <-ctx.Done():
			return nil
		}
	}
}

// reload reads the site folders and their configs again, opens the
// sockets of new sites and rewrites the proxy's config. On an error the
// running sites and proxy are left as they are.
func (o Options) reload(ctx context.Context, dir, conf string, running []Site, socks *sockets) ([]Site, error) {
	names, err := siteFolders(dir, o.Env)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no folder of %s holds %s any more", dir, configName(o.Env))
	}
	sites := make([]Site, len(names))
	for i, name := range names {
		if sites[i], err = loadSite(dir, name, o.Env, o.Getenv, o.Environ); err != nil {
			return nil, err
		}
	}
	if err := checkHosts(sites); err != nil {
		return nil, err
	}
	if err := socks.ensure(ctx, sites); err != nil {
		return nil, err
	}
	perm := map[string]fs.FileMode{}
	for _, s := range running {
		perm[s.Name] = s.Perm
	}
	for _, s := range sites {
		if p, ok := perm[s.Name]; ok && p != s.Perm {
			if err := os.Chmod(s.Socket.Address, s.Perm); err != nil {
				return nil, err
			}
		}
	}
	return sites, writeFileAtomic(conf, ProxyConfig(dir, o.Listen, sites))
}

// sockets are the site sockets wisp up holds, by site name. It hands each
// to every start of its site: a site that crashes or restarts leaves
// connections waiting in the backlog, never refused, and the socket file
// is removed once, when the site goes.
type sockets struct {
	opener *listen.Opener
	byName map[string]net.Listener
}

// ensure opens the sockets of sites that have none yet.
func (s *sockets) ensure(ctx context.Context, sites []Site) error {
	for _, site := range sites {
		if _, ok := s.byName[site.Name]; ok {
			continue
		}
		l, err := s.opener.Listen(ctx, site.Socket, site.Perm)
		if err != nil {
			return fmt.Errorf("site %s: %w", site.Name, err)
		}
		s.byName[site.Name] = l
	}
	return nil
}

// keepOnly closes the sockets of every site not in sites.
func (s *sockets) keepOnly(sites []Site) {
	keep := map[string]bool{}
	for _, site := range sites {
		keep[site.Name] = true
	}
	for name, l := range s.byName {
		if !keep[name] {
			l.Close()
			delete(s.byName, name)
		}
	}
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
