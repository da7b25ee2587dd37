package up

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"wisp/internal/blog/config"
	"wisp/internal/listen"
)

// Site is one site folder that wisp up runs.
type Site struct {
	// Name is the folder's name; the socket is named after it.
	Name string
	// Dir is the folder, absolute.
	Dir string
	// URL is the site's canonical URL from its config; its host is what
	// the proxy routes on.
	URL string
	// Socket is where the site listens, DIR/run/<name>.sock, whatever its
	// config says: wisp up owns the sockets it routes to.
	Socket listen.Addr
	// Perm is the socket's mode, from the site's server.socket.permissions.
	Perm fs.FileMode
}

// Host is the name the proxy routes to this site.
func (s Site) Host() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// runDir holds what wisp up writes: the sockets and the proxy config.
func runDir(dir string) string { return filepath.Join(dir, "run") }

// socketEnv is the Ghost-style override that points a site at the socket
// wisp up made for it; env beats the config file, as in Ghost.
const socketEnv = "server__socket__path"

// Discover finds the sites of dir: its folders that hold config.<env>.json.
// When there are none, it creates a demo site that the proxy at listenAddr
// serves, so that a first `wisp up` shows something. Each site's config is
// loaded as wisp serve will load it, so that a broken one stops wisp up
// with the config's own error before anything starts.
func Discover(dir, env, listenAddr string, getenv func(string) string, environ []string) ([]Site, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	names, err := siteFolders(dir, env)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if err := createDemo(dir, env, listenAddr); err != nil {
			return nil, err
		}
		names = []string{demoName}
	}
	sites := make([]Site, 0, len(names))
	for _, name := range names {
		s, err := loadSite(dir, name, env, getenv, environ)
		if err != nil {
			return nil, err
		}
		sites = append(sites, s)
	}
	if err := checkHosts(sites); err != nil {
		return nil, err
	}
	return sites, nil
}

// checkHosts refuses two sites with one host name: the proxy would only
// ever route to the first.
func checkHosts(sites []Site) error {
	byHost := map[string]string{}
	for _, s := range sites {
		if other, ok := byHost[s.Host()]; ok {
			return fmt.Errorf("sites %s and %s both have the host name %q in their url; the proxy could only ever reach the first", other, s.Name, s.Host())
		}
		byHost[s.Host()] = s.Name
	}
	return nil
}

// siteFolders lists the folders of dir holding config.<env>.json, sorted,
// so that the first is the proxy's default server from run to run.
func siteFolders(dir, env string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == "run" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), configName(env))); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func configName(env string) string { return "config." + env + ".json" }

const demoName = "demo"

// createDemo writes a minimal site whose url is where the proxy will
// answer, so that its links work.
func createDemo(dir, env, listenAddr string) error {
	a, err := listen.ParseAddr(listenAddr)
	if err != nil {
		return fmt.Errorf("-listen %s: %w", listenAddr, err)
	}
	host, port, err := net.SplitHostPort(a.Address)
	if err != nil || a.Network == "unix" {
		return fmt.Errorf("-listen %s: the proxy must listen on a TCP address", listenAddr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	hostport := net.JoinHostPort(host, port)
	if port == "80" {
		hostport = host
	}
	cfg, err := json.MarshalIndent(map[string]any{"url": "http://" + hostport + "/"}, "", "  ")
	if err != nil {
		return err
	}
	site := filepath.Join(dir, demoName)
	if err := os.MkdirAll(site, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(site, configName(env)), append(cfg, '\n'), 0o644)
}

func loadSite(dir, name, env string, getenv func(string) string, environ []string) (Site, error) {
	sock, err := listen.Unix(filepath.Join(runDir(dir), name+".sock"))
	if err != nil {
		return Site{}, fmt.Errorf("site %s: %w", name, err)
	}
	siteDir := filepath.Join(dir, name)
	cfg, err := config.Load(config.Options{
		Dir:     siteDir,
		Env:     env,
		Getenv:  overlay(getenv, socketEnv, sock.Address),
		Environ: environ,
	})
	if err != nil {
		return Site{}, fmt.Errorf("site %s: %w", name, err)
	}
	perm := fs.FileMode(0o660) // Ghost's default; the override makes Socket non-nil anyway
	if cfg.Server.Socket != nil {
		perm = cfg.Server.Socket.Perm
	}
	return Site{Name: name, Dir: siteDir, URL: cfg.URL, Socket: sock, Perm: perm}, nil
}

// overlay returns getenv with one variable set.
func overlay(getenv func(string) string, name, value string) func(string) string {
	return func(k string) string {
		if k == name {
			return value
		}
		if getenv == nil {
			return ""
		}
		return getenv(k)
	}
}
