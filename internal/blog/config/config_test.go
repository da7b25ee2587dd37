package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// site writes files into a fresh site directory.
func site(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadFillsGhostDefaults(t *testing.T) {
	dir := site(t, nil)
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"env", c.Env, "production"},
		{"url", c.URL, "http://localhost:2368/"},
		{"addr", c.Server.Addr(), "127.0.0.1:2368"},
		{"contentPath", c.Paths.ContentPath, filepath.Join(dir, "content")},
		{"database", c.Database.Filename, filepath.Join(dir, "content", "data", "ghost.db")},
		{"client", c.Database.Client, "sqlite3"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if c.Server.Socket != nil {
		t.Errorf("socket = %+v, want none", c.Server.Socket)
	}
	if c.Server.ShutdownTimeout != 60*time.Second {
		t.Errorf("shutdownTimeout = %v", c.Server.ShutdownTimeout)
	}
}

func TestLoadPicksTheEnvironment(t *testing.T) {
	files := map[string]string{
		"config.production.json":  `{"url": "https://prod.example/"}`,
		"config.development.json": `{"url": "http://dev.example"}`,
		"config.staging.json":     `{"url": "https://staging.example/"}`,
	}
	tests := []struct {
		name, flag, nodeEnv string
		wantEnv, wantURL    string
		wantDB              string
	}{
		{"default is production", "", "", "production", "https://prod.example/", "ghost.db"},
		{"NODE_ENV when no flag", "", "development", "development", "http://dev.example/", "ghost-dev.db"},
		{"flag beats NODE_ENV", "staging", "development", "staging", "https://staging.example/", "ghost.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Options{Dir: site(t, files), Env: tt.flag, Getenv: envOf(map[string]string{"NODE_ENV": tt.nodeEnv})})
			if err != nil {
				t.Fatal(err)
			}
			if c.Env != tt.wantEnv || c.URL != tt.wantURL || filepath.Base(c.Database.Filename) != tt.wantDB {
				t.Errorf("env=%q url=%q db=%q; want %q %q %q", c.Env, c.URL, filepath.Base(c.Database.Filename), tt.wantEnv, tt.wantURL, tt.wantDB)
			}
		})
	}
}

func TestLoadAppliesDoubleUnderscoreOverrides(t *testing.T) {
	file := `{"server": {"host": "0.0.0.0", "port": 2000}, "mail": {"transport": "Direct"}}`
	tests := []struct {
		name    string
		env     map[string]string
		environ []string
		check   func(t *testing.T, c *Config)
	}{
		{"port as number beats the file", map[string]string{"server__port": "2369"}, nil, func(t *testing.T, c *Config) {
			if c.Server.Port != 2369 || c.Server.Host != "0.0.0.0" {
				t.Errorf("addr = %s", c.Server.Addr())
			}
		}},
		{"database filename relative to the site", map[string]string{"database__connection__filename": "db/site.db"}, nil, func(t *testing.T, c *Config) {
			if c.Database.Filename != filepath.Join(c.Dir, "db", "site.db") {
				t.Errorf("db = %s", c.Database.Filename)
			}
		}},
		{"url gets a trailing slash", map[string]string{"url": "https://example.com/blog"}, nil, func(t *testing.T, c *Config) {
			if c.URL != "https://example.com/blog/" {
				t.Errorf("url = %s", c.URL)
			}
		}},
		{"socket path alone selects a socket with mode 660", map[string]string{"server__socket__path": "run/site.sock"}, nil, func(t *testing.T, c *Config) {
			if c.Server.Socket == nil || c.Server.Socket.Path != filepath.Join(c.Dir, "run", "site.sock") || c.Server.Socket.Perm != 0o660 {
				t.Errorf("socket = %+v", c.Server.Socket)
			}
		}},
		{"socket permissions string stays octal", map[string]string{"server__socket__path": "/tmp/x.sock", "server__socket__permissions": "0666"}, nil, func(t *testing.T, c *Config) {
			if c.Server.Socket == nil || c.Server.Socket.Perm != 0o666 {
				t.Errorf("socket = %+v", c.Server.Socket)
			}
		}},
		{"unknown keys are typed and kept", map[string]string{"mail__transport": "SMTP", "privacy__useTinfoil": "true"},
			[]string{"mail__transport=SMTP", "privacy__useTinfoil=true", "PATH=/bin"}, func(t *testing.T, c *Config) {
				if c.Raw["mail"].(map[string]any)["transport"] != "SMTP" || c.Raw["privacy"].(map[string]any)["useTinfoil"] != true {
					t.Errorf("raw = %v", c.Raw)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Options{Dir: site(t, map[string]string{"config.production.json": file}), Getenv: envOf(tt.env), Environ: tt.environ})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadReadsSocketForms(t *testing.T) {
	tests := []struct {
		name     string
		server   string
		wantPath string // relative to the site dir unless absolute
		wantPerm fs.FileMode
	}{
		{"seed object", `{"socket": {"path": "/tmp/igu-io.sock", "permissions": "0666"}}`, "/tmp/igu-io.sock", 0o666},
		{"bare string", `{"socket": "/tmp/bare.sock"}`, "/tmp/bare.sock", 0o660},
		{"empty string means the default path", `{"socket": ""}`, "content/production.socket", 0o660},
		{"object without path", `{"socket": {"permissions": "600"}}`, "content/production.socket", 0o600},
		{"object with empty path", `{"socket": {"path": "", "permissions": "0o640"}}`, "content/production.socket", 0o640},
		{"socket beats host and port", `{"host": "::", "port": 80, "socket": "s.sock"}`, "s.sock", 0o660},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := site(t, map[string]string{"config.production.json": `{"server": ` + tt.server + `}`})
			c, err := Load(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.wantPath
			if !filepath.IsAbs(want) {
				want = filepath.Join(dir, want)
			}
			if c.Server.Socket == nil || c.Server.Socket.Path != want || c.Server.Socket.Perm != tt.wantPerm {
				t.Errorf("socket = %+v, want {%s %#o}", c.Server.Socket, want, tt.wantPerm)
			}
		})
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"malformed JSON names file and line:col", "{\n  \"server\": {\n    \"port\": 2368,\n  }\n}", nil,
			[]string{"config.production.json:4:3", "invalid JSON"}},
		{"truncated JSON", "{\n  \"url\": \"http://x\"", nil, []string{"config.production.json:2:", "unexpected end"}},
		{"trailing data", `{"url": "http://x"} {}`, nil, []string{"config.production.json:1:", "after the top-level value"}},
		{"top level not an object", `[1]`, nil, []string{"must be a JSON object"}},
		{"permissions not octal", `{"server": {"socket": {"path": "/tmp/a.sock", "permissions": "rw-rw-rw-"}}}`, nil,
			[]string{"server.socket.permissions", "octal"}},
		{"permissions octal out of range", `{"server": {"socket": {"path": "/tmp/a.sock", "permissions": "7777"}}}`, nil,
			[]string{"server.socket.permissions"}},
		{"port of the wrong type", `{"server": {"port": true}}`, nil, []string{"server.port", "number"}},
		{"port not numeric from env", `{}`, map[string]string{"server__port": "abc"}, []string{"server.port", `"abc"`}},
		{"port out of range", `{"server": {"port": 70000}}`, nil, []string{"server.port", "out of range"}},
		{"url without protocol", `{"url": "example.com"}`, nil, []string{"URL in config must be provided with protocol"}},
		{"url of the wrong type", `{"url": true}`, nil, []string{"url must be a string"}},
		{"socket of the wrong type", `{"server": {"socket": 5}}`, nil, []string{"server.socket must be"}},
		{"unsupported database", `{"database": {"client": "mysql"}}`, nil, []string{`"mysql" is not supported`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{Dir: site(t, map[string]string{"config.production.json": tt.file}), Getenv: envOf(tt.env)})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadRejectsEnvironmentWithPathSeparators(t *testing.T) {
	if _, err := Load(Options{Dir: t.TempDir(), Env: "../etc/x"}); err == nil {
		t.Fatal("want an error")
	}
}

func TestLoadMergesLocalFileUnderEnvFile(t *testing.T) {
	dir := site(t, map[string]string{
		"config.local.json":      `{"url": "http://local.example/", "server": {"port": 3000, "host": "::1"}}`,
		"config.production.json": `{"server": {"port": 4000}}`,
	})
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://local.example/" || c.Server.Addr() != "[::1]:4000" || len(c.Files) != 2 {
		t.Errorf("url=%s addr=%s files=%v", c.URL, c.Server.Addr(), c.Files)
	}
}

func TestLoadReadsGhostCachingMaxAges(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want Caching
	}{
		{"Ghost's defaults", `{}`, nil, Caching{FrontendMaxAge: 0, SitemapMaxAge: 3600, RobotstxtMaxAge: 3600, ThemeMaxAge: 31536000}},
		{"from the file", `{"caching":{"frontend":{"maxAge":60},"sitemap":{"maxAge":0},"theme":{"maxAge":5}}}`, nil,
			Caching{FrontendMaxAge: 60, SitemapMaxAge: 0, RobotstxtMaxAge: 3600, ThemeMaxAge: 5}},
		{"from the environment", `{}`, map[string]string{"caching__robotstxt__maxAge": "10"},
			Caching{SitemapMaxAge: 3600, RobotstxtMaxAge: 10, ThemeMaxAge: 31536000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Options{Dir: site(t, map[string]string{"config.production.json": tt.file}), Getenv: envOf(tt.env)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Caching != tt.want {
				t.Errorf("caching = %+v, want %+v", c.Caching, tt.want)
			}
		})
	}
	if _, err := Load(Options{Dir: site(t, map[string]string{"config.production.json": `{"caching":{"sitemap":{"maxAge":-1}}}`})}); err == nil || !strings.Contains(err.Error(), "caching.sitemap.maxAge") {
		t.Errorf("negative max-age: err = %v", err)
	}
}
