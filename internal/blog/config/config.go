// Package config loads a site's Ghost-style configuration: config.<env>.json
// from the site directory, Ghost's "__" environment overrides on top, and
// Ghost's defaults underneath. Only the keys Wisp uses are typed; every
// other key is kept in Raw so later features (mail, caching, ...) can read
// them without a new loader.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"wisp/internal/listen"
)

// Options are the inputs of Load. Nothing is read from the process
// environment directly, so tests are hermetic.
type Options struct {
	// Dir is the site directory holding config.<env>.json ("" means ".").
	Dir string
	// Env is the --env flag; empty means NODE_ENV, then "production".
	Env string
	// Getenv looks up one environment variable; nil means none are set.
	Getenv func(string) string
	// Environ lists "NAME=value" pairs; only the names are used, to find
	// "__" overrides for keys Wisp does not know by name. May be nil.
	Environ []string
}

// Config is the resolved configuration of one site.
type Config struct {
	Env string
	// Dir is the absolute site directory; relative paths resolve against it.
	Dir string
	// Files are the config files that were read, strongest first.
	Files []string
	// URL is the canonical site URL, always ending in "/".
	URL      string
	Server   Server
	Database Database
	Paths    Paths
	Caching  Caching
	// Raw is the merged configuration tree, unknown keys included.
	Raw map[string]any
}

// Server says where and how the blog server listens.
type Server struct {
	Host string
	Port int
	// Socket, when non-nil, takes precedence over Host and Port.
	Socket *Socket
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown.
	ShutdownTimeout time.Duration
}

// Socket is a Unix socket to bind, with the mode it must have.
type Socket struct {
	Path string
	Perm fs.FileMode
}

// Database locates the SQLite database.
type Database struct {
	Client   string
	Filename string
}

// Paths are the resolved content locations.
type Paths struct {
	ContentPath string
}

// Caching holds the max-age values (seconds) Wisp uses, with Ghost's
// defaults: frontend 0, sitemap and robotstxt 3600, theme 31536000.
type Caching struct {
	FrontendMaxAge  int
	SitemapMaxAge   int
	RobotstxtMaxAge int
	ThemeMaxAge     int
}

// Addr returns the listen address of the configured TCP endpoint.
func (s Server) Addr() string {
	return netJoin(s.Host, s.Port)
}

func netJoin(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// knownOverrides are the environment variables read by name, so that a
// Getenv-only caller still gets every override Wisp acts on.
var knownOverrides = []string{
	"url",
	"server__host", "server__port", "server__socket", "server__socket__path",
	"server__socket__permissions", "server__shutdownTimeout",
	"database__client", "database__connection__filename",
	"paths__contentPath", "caching__frontend__maxAge", "caching__sitemap__maxAge",
	"caching__robotstxt__maxAge", "caching__theme__maxAge",
}

// Load reads and resolves the configuration of the site in opts.Dir.
func Load(opts Options) (*Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	env := opts.Env
	if env == "" {
		env = getenv("NODE_ENV")
	}
	if env == "" {
		env = "production"
	}
	if strings.ContainsAny(env, `/\`) {
		return nil, fmt.Errorf("invalid environment name %q", env)
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}

	cfg := &Config{Env: env, Dir: dir, Raw: map[string]any{}}
	// Weakest first; each layer merges over the previous one, as nconf's
	// stores do key by key.
	layers := []string{"config.local.json", "config." + env + ".json"}
	if strings.HasPrefix(env, "testing") {
		layers = layers[1:]
	}
	for _, name := range layers {
		path := filepath.Join(dir, name)
		tree, err := readJSONFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		merge(cfg.Raw, tree)
		cfg.Files = append([]string{path}, cfg.Files...)
	}
	applyEnv(cfg.Raw, getenv, opts.Environ)
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// readJSONFile parses one config file; syntax errors carry file:line:col.
func readJSONFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(path, data, err)
	}
	if dec.More() {
		off := dec.InputOffset()
		line, col := lineCol(data, off)
		return nil, fmt.Errorf("%s:%d:%d: invalid JSON: unexpected data after the top-level value", path, line, col)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s:1:1: invalid config: the top level must be a JSON object", path)
	}
	return m, nil
}

func jsonError(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("%s:%d:%d: invalid JSON: %v", path, line, col, syn)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("%s:%d:%d: invalid JSON: unexpected end of file", path, line, col)
	default:
		return fmt.Errorf("%s: invalid JSON: %v", path, err)
	}
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// merge copies src over dst, recursing where both sides are objects.
func merge(dst, src map[string]any) {
	for k, v := range src {
		sm, sok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if sok && dok {
			merge(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// applyEnv applies nconf-style overrides: "a__b__c=v" sets a.b.c, and
// values are typed as nconf's parseValues does (JSON if it parses, else a
// string).
func applyEnv(tree map[string]any, getenv func(string) string, environ []string) {
	names := map[string]bool{}
	for _, n := range knownOverrides {
		names[n] = true
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.Contains(name, "__") {
			names[name] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	// Shorter keys first, so "server__socket={...}" is refined by
	// "server__socket__path=..." rather than replacing it.
	sort.Slice(sorted, func(i, j int) bool {
		if len(sorted[i]) != len(sorted[j]) {
			return len(sorted[i]) < len(sorted[j])
		}
		return sorted[i] < sorted[j]
	})
	for _, name := range sorted {
		raw := getenv(name)
		if raw == "" {
			continue
		}
		setPath(tree, strings.Split(name, "__"), parseEnvValue(raw))
	}
}

func parseEnvValue(s string) any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return s
	}
	return v
}

func setPath(tree map[string]any, keys []string, v any) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := tree[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			tree[k] = next
		}
		tree = next
	}
	tree[keys[len(keys)-1]] = v
}

// lookup walks a dotted key through the tree.
func (c *Config) lookup(key string) (any, bool) {
	var cur any = c.Raw
	for _, k := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func (c *Config) str(key, def string) (string, error) {
	v, ok := c.lookup(key)
	if !ok {
		return def, nil
	}
	switch t := v.(type) {
	case string:
		if t == "" {
			return def, nil
		}
		return t, nil
	case json.Number:
		return t.String(), nil
	}
	return "", fmt.Errorf("invalid config: %s must be a string, not %s", key, jsonType(v))
}

func (c *Config) integer(key string, def int) (int, error) {
	v, ok := c.lookup(key)
	if !ok {
		return def, nil
	}
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = strings.TrimSpace(t)
	default:
		return 0, fmt.Errorf("invalid config: %s must be a number, not %s", key, jsonType(v))
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("invalid config: %s must be a whole number, not %q", key, s)
	}
	return n, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	}
	return fmt.Sprintf("%T", v)
}

// abs resolves p against the site directory.
func (c *Config) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Dir, p)
}

func (c *Config) resolve() error {
	var err error
	if c.URL, err = c.str("url", "http://localhost:2368/"); err != nil {
		return err
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return errors.New(`URL in config must be provided with protocol, eg. "http://my-ghost-blog.com"`)
	}
	if !strings.HasSuffix(c.URL, "/") {
		c.URL += "/"
	}

	content, err := c.str("paths.contentPath", "content")
	if err != nil {
		return err
	}
	c.Paths.ContentPath = c.abs(content)

	if c.Database.Client, err = c.str("database.client", "sqlite3"); err != nil {
		return err
	}
	switch c.Database.Client {
	case "sqlite3", "better-sqlite3":
		c.Database.Client = "sqlite3"
	default:
		return fmt.Errorf("invalid config: database.client %q is not supported yet (only sqlite3)", c.Database.Client)
	}
	file, err := c.str("database.connection.filename", filepath.Join(c.Paths.ContentPath, "data", defaultDBName(c.Env)))
	if err != nil {
		return err
	}
	c.Database.Filename = c.abs(file)

	if c.Server.Host, err = c.str("server.host", "127.0.0.1"); err != nil {
		return err
	}
	if c.Server.Port, err = c.integer("server.port", 2368); err != nil {
		return err
	}
	if c.Server.Port < 0 || c.Server.Port > 65535 {
		return fmt.Errorf("invalid config: server.port %d is out of range 0-65535", c.Server.Port)
	}
	ms, err := c.integer("server.shutdownTimeout", 60000)
	if err != nil {
		return err
	}
	c.Server.ShutdownTimeout = time.Duration(ms) * time.Millisecond
	if c.Server.Socket, err = c.socket(); err != nil {
		return err
	}
	for _, m := range []struct {
		key string
		def int
		dst *int
	}{
		{"caching.frontend.maxAge", 0, &c.Caching.FrontendMaxAge},
		{"caching.sitemap.maxAge", 3600, &c.Caching.SitemapMaxAge},
		{"caching.robotstxt.maxAge", 3600, &c.Caching.RobotstxtMaxAge},
		{"caching.theme.maxAge", 31536000, &c.Caching.ThemeMaxAge},
	} {
		if *m.dst, err = c.integer(m.key, m.def); err != nil {
			return err
		}
		if *m.dst < 0 {
			return fmt.Errorf("invalid config: %s must not be negative", m.key)
		}
	}
	return nil
}

func defaultDBName(env string) string {
	switch {
	case env == "development":
		return "ghost-dev.db"
	case strings.HasPrefix(env, "testing"):
		return "ghost-test.db"
	}
	return "ghost.db"
}

// socket follows Ghost 4's GhostServer: a string is the path, an object
// gives path and permissions, and falsy values fall back to
// <contentPath>/<env>.socket and "660".
func (c *Config) socket() (*Socket, error) {
	v, ok := c.lookup("server.socket")
	if !ok {
		return nil, nil
	}
	path := ""
	var perm any = "660"
	switch t := v.(type) {
	case string:
		path = t
	case map[string]any:
		if p, ok := t["path"]; ok && p != nil {
			s, isStr := p.(string)
			if !isStr {
				return nil, fmt.Errorf("invalid config: server.socket.path must be a string, not %s", jsonType(p))
			}
			path = s
		}
		if p, ok := t["permissions"]; ok && p != nil && p != "" {
			perm = p
		}
	case bool:
		if !t {
			return nil, nil
		}
	default:
		return nil, fmt.Errorf("invalid config: server.socket must be a path string or {path, permissions}, not %s", jsonType(v))
	}
	if path == "" {
		path = filepath.Join(c.Paths.ContentPath, c.Env+".socket")
	}
	mode, err := listen.ParsePerm(perm)
	if err != nil {
		return nil, fmt.Errorf("invalid config: server.socket.permissions: %w", err)
	}
	return &Socket{Path: c.abs(path), Perm: mode}, nil
}
