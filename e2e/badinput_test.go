package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestServeRejectsBadConfigWithAClearError(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", 120) + ".sock"
	tests := []struct {
		name   string
		config string
		want   []string // each must appear in the output
	}{
		{
			name:   "malformed JSON names the file, line and column",
			config: "{\n  \"server\": {\n    \"port\": 2369,\n  }\n}\n",
			want:   []string{"config.production.json", ":4:"},
		},
		{
			name:   "non-octal permissions are named",
			config: `{"server": {"socket": {"path": "SOCK", "permissions": "rw-rw-rw-"}}}`,
			want:   []string{"rw-rw-rw-", "permissions"},
		},
		{
			name:   "a socket path over the kernel limit is refused, not truncated",
			config: `{"server": {"socket": {"path": "` + long + `", "permissions": "0660"}}}`,
			want:   []string{long, "108"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			cfg := strings.ReplaceAll(tc.config, "SOCK", filepath.Join(dir, "s.sock"))
			writeFile(t, filepath.Join(dir, "config.production.json"), cfg)
			code, out := run(t, dir, []string{"NODE_ENV=production"}, "", "serve")
			if code == 0 {
				t.Fatalf("wisp serve exited 0 on a bad config:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Errorf("wisp serve panicked:\n%s", out)
			}
			if _, err := os.Stat(long[:107]); err == nil {
				t.Errorf("a truncated socket path was created")
			}
		})
	}
}

func TestServeNeverDeletesAFileThatIsNotASocket(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "blog.sock")
	writeFile(t, sock, "precious\n")
	writeFile(t, filepath.Join(dir, "config.production.json"),
		`{"server": {"socket": {"path": "`+sock+`", "permissions": "0660"}}}`)
	code, out := run(t, dir, nil, "", "serve", "--env", "production")
	if code == 0 {
		t.Fatalf("wisp serve exited 0 with a regular file at the socket path:\n%s", out)
	}
	if !strings.Contains(out, sock) {
		t.Errorf("error does not name the path:\n%s", out)
	}
	if got := readFile(t, sock); got != "precious\n" {
		t.Errorf("the file at the socket path was changed: %q", got)
	}
}

func TestProxyConfigTest(t *testing.T) {
	tests := []struct {
		name     string
		conf     string
		wantCode int
		want     *regexp.Regexp
	}{
		{
			name:     "a good bare site file passes",
			conf:     "server {\n    listen 8081;\n    server_name igu.io;\n    location / {\n        proxy_pass http://igu;\n    }\n}\nupstream igu {\n    server unix:/tmp/x.sock fail_timeout=0;\n}\n",
			wantCode: 0,
			want:     regexp.MustCompile(`(?s)the configuration file \S+ syntax is ok.*configuration file \S+ test is successful`),
		},
		{
			name:     "an unknown directive names file and line",
			conf:     "server {\n    listen 8081;\n    foo bar;\n}\n",
			wantCode: 1,
			want:     regexp.MustCompile(`wisp: \[emerg\] unknown directive "foo" in \S+/site.conf:3`),
		},
		{
			name:     "a missing semicolon names file and line",
			conf:     "server {\n    listen 8081\n}\n",
			wantCode: 1,
			want:     regexp.MustCompile(`\[emerg\] .* in \S+/site.conf:\d+`),
		},
		{
			name:     "an unbalanced brace names file and line",
			conf:     "server {\n    listen 8081;\n}\n}\n",
			wantCode: 1,
			want:     regexp.MustCompile(`\[emerg\] unexpected "}" in \S+/site.conf:4`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			conf := filepath.Join(dir, "site.conf")
			writeFile(t, conf, tc.conf)
			code, out := run(t, dir, nil, "", "proxy", "-t", "-c", conf)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			if !tc.want.MatchString(out) {
				t.Errorf("output does not match %v:\n%s", tc.want, out)
			}
		})
	}
}

func TestCLIHelpAndVersion(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"version"}, 0, "wisp version"},
		{[]string{"serve", "-h"}, 0, "Usage: wisp serve"},
		{[]string{"up", "-h"}, 0, "Usage: wisp up"},
		{[]string{"post", "-h"}, 0, "Usage: wisp post"},
		{[]string{"help", "serve"}, 0, "Usage: wisp serve"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := run(t, shortDir(t), nil, "", tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Errorf("wisp %v = %d, %q; want %d and output containing %q", tc.args, code, out, tc.wantCode, tc.want)
			}
		})
	}
}
