package ngxconf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nginxBin is the reference implementation; tests that need it fail when it
// is missing (the README's test command installs it).
const nginxBin = "/usr/sbin/nginx"

// tree is a config laid out in a temporary directory: relative path to
// contents. The main file is "nginx.conf" unless a case says otherwise.
type tree map[string]string

func writeTree(t *testing.T, files tree) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The message runs to nginx's closing "configuration file ... test failed"
// line, since a value quoted in it may hold newlines.
var emergLine = regexp.MustCompile(`(?s)\[(?:emerg|crit)\] (?:\d+#\d+: )?(.*?)\n(?:nginx: configuration file|$)`)

// baseGlobals keeps the real nginx off system paths; Load gets the same
// string, so both parse exactly the same directives.
func baseGlobals(dir string) string {
	return "pid " + dir + "/nginx.pid; error_log stderr;"
}

// nginxTest runs the real "nginx -t" and returns its [emerg] (or [crit])
// text with dir replaced by DIR, or "" when the test passed.
func nginxTest(t *testing.T, dir, prefix, conf, globals string) string {
	t.Helper()
	msg, err := runNginxTest(dir, prefix, conf, globals)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// runNginxTest is nginxTest for goroutines, which must not call t.Fatal.
func runNginxTest(dir, prefix, conf, globals string) (string, error) {
	if _, err := exec.LookPath(nginxBin); err != nil {
		return "", fmt.Errorf("the real nginx is needed for this test: %w", err)
	}
	out, err := exec.Command(nginxBin, "-t", "-p", prefix, "-c", conf, "-g", globals).CombinedOutput()
	m := emergLine.FindStringSubmatch(string(out))
	var exit *exec.ExitError
	switch {
	case err == nil && m == nil:
		return "", nil
	case m != nil:
		return strings.ReplaceAll(m[1], dir, "DIR"), nil
	case errors.As(err, &exit):
		// Some handlers fail without logging (modern_browser x, say).
		return "(failed without a message)", nil
	default:
		return "", fmt.Errorf("running nginx: %w", err)
	}
}

func ourTest(dir, prefix, conf, globals string) string {
	_, err := Load(Options{ConfFile: conf, Prefix: prefix, Globals: globals})
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), dir, "DIR")
}

// TestErrorsWordedAsNginx feeds the same broken (and a few valid) configs to
// the real nginx and to Load and requires the same message, file and line.
func TestErrorsWordedAsNginx(t *testing.T) {
	long := strings.Repeat("x", 5000)
	cases := []struct {
		name    string
		files   tree
		globals string // extra -g directives
		main    string // main file, default nginx.conf
		prefix  string // -p relative to dir, default dir itself
		relC    bool   // give -c relative, to be taken against the prefix
	}{
		{name: "valid minimal config", files: tree{"nginx.conf": "events {}\nhttp {}\n"}},
		{name: "unknown directive", files: tree{"nginx.conf": "events {}\nhttp {\n  foo bar;\n}\n"}},
		{name: "unknown directive names the line of its semicolon", files: tree{"nginx.conf": "events {}\nhttp {\n  foo\n   bar\n   ;\n}\n"}},
		{name: "missing semicolon at end of file", files: tree{"nginx.conf": "events {}\nhttp {}\nworker_processes 1"}},
		{name: "end of file inside a block", files: tree{"nginx.conf": "events {}\nhttp {\n  server {\n"}},
		{name: "stray closing brace", files: tree{"nginx.conf": "events {}\n}\nhttp {}\n"}},
		{name: "closing brace after pending words", files: tree{"nginx.conf": "events {}\nhttp { server_tokens off }\n"}},
		{name: "opening brace without a name", files: tree{"nginx.conf": "events {}\n{\n}\n"}},
		{name: "semicolon without a name", files: tree{"nginx.conf": "events {};\n"}},
		{name: "text right after a closing quote", files: tree{"nginx.conf": "events {}\nhttp {\n  server_tokens \"off\"x;\n}\n"}},
		{name: "closing paren right after a quote is fine", files: tree{"nginx.conf": "events {}\nhttp {\n server {\n  listen 127.0.0.1:18080;\n  if ($host = \"a\") {\n return 404;\n }\n }\n}\n"}},
		{name: "brace inside a bare word is ordinary", files: tree{"nginx.conf": "events {}\nhttp {\n  foo}bar;\n}\n"}},
		{name: "hash inside a word is ordinary", files: tree{"nginx.conf": "events {}\nhttp {\n  foo#bar;\n}\n"}},
		{name: "comment hides a broken line", files: tree{"nginx.conf": "events {}\n# foo {\nhttp {}\n"}},
		{name: "escaped semicolon does not end a word", files: tree{"nginx.conf": "events {}\nhttp {\n  fo\\;o;\n}\n"}},
		{name: "quoted directive name", files: tree{"nginx.conf": "events {}\n\"http\" {}\n"}},
		{name: "variable brace does not open a block", files: tree{"nginx.conf": "events {}\nhttp {\n  ab${x}c;\n}\n"}},
		{name: "directive not allowed here", files: tree{"nginx.conf": "events {}\nhttp {\n  proxy_pass http://127.0.0.1:1;\n}\n"}},
		{name: "server at main level of a full config", files: tree{"nginx.conf": "events {}\nserver {}\nhttp {}\n"}},
		{name: "location inside if", files: tree{"nginx.conf": "events {}\nhttp {\n server {\n  if ($a) {\n   location / {}\n  }\n }\n}\n"}},
		{name: "simple directive ended by a brace", files: tree{"nginx.conf": "events {}\nhttp {\n  server_tokens off {\n  }\n}\n"}},
		{name: "block directive ended by a semicolon", files: tree{"nginx.conf": "events;\nhttp {}\n"}},
		{name: "invalid number of arguments", files: tree{"nginx.conf": "events {}\nhttp {\n server {\n  listen;\n }\n}\n"}},
		{name: "too many arguments", files: tree{"nginx.conf": "events {}\nhttp {\n  proxy_set_header a b c;\n}\n"}},
		{name: "upstream server without address", files: tree{"nginx.conf": "events {}\nhttp {\n upstream u {\n  server;\n }\n}\n"}},
		{name: "upstream keepalive_timeout takes one argument", files: tree{"nginx.conf": "events {}\nhttp {\n upstream u {\n  server 127.0.0.1:1;\n  keepalive_timeout 1 2;\n }\n}\n"}},
		{name: "duplicate http", files: tree{"nginx.conf": "events {}\nhttp {}\nhttp {}\n"}},
		{name: "duplicate events", files: tree{"nginx.conf": "events {}\nevents {}\nhttp {}\n"}},
		{name: "duplicate flag", files: tree{"nginx.conf": "events {}\nhttp {\n gzip on;\n gzip off;\n}\n"}},
		{name: "duplicate pid against -g", files: tree{"nginx.conf": "pid x.pid;\nevents {}\nhttp {}\n"}},
		{name: "repeatable directive twice", files: tree{"nginx.conf": "events {}\nhttp {\n proxy_set_header A b;\n proxy_set_header A c;\n}\n"}},
		{name: "flag with a bad value", files: tree{"nginx.conf": "events {}\nhttp {\n  gzip maybe;\n}\n"}},
		{name: "flag values are case-insensitive", files: tree{"nginx.conf": "events {}\nhttp {\n  gzip ON;\n}\n"}},
		{name: "no events section", files: tree{"nginx.conf": "http {}\n"}},
		{name: "empty file", files: tree{"nginx.conf": ""}},
		{name: "missing main file", files: tree{"other.conf": ""}},
		{name: "missing include", files: tree{"nginx.conf": "events {}\nhttp {\n  include nope.conf;\n}\n"}},
		{name: "glob include matching nothing", files: tree{"nginx.conf": "events {}\nhttp {\n  include nope/*.conf;\n}\n"}},
		{name: "include is relative to the config directory, not the prefix",
			files: tree{"conf/nginx.conf": "events {}\nhttp {\n  include sites/*;\n}\n", "conf/sites/a": "foo;\n"},
			main:  "conf/nginx.conf", prefix: "other"},
		{name: "relative -c naming a missing file under the prefix",
			files: tree{"conf/nginx.conf": "events {}\nhttp {}\n"}, main: "conf/nginx.conf", prefix: "other", relC: true},
		{name: "relative -c is taken against the prefix",
			files: tree{"p/conf/nginx.conf": "events {}\nhttp {\n  include sites/a;\n}\n", "p/conf/sites/a": "\n\nbar;\n"},
			main:  "conf/nginx.conf", prefix: "p", relC: true},
		{name: "error inside an included file",
			files: tree{"nginx.conf": "events {}\nhttp {\n  include inc/*.conf;\n}\n", "inc/a.conf": "server_tokens off;\n", "inc/b.conf": "\nserver {\n  listen 127.0.0.1:18080;\n  proxy_pass x;\n}\n"}},
		{name: "glob skips dotfiles",
			files: tree{"nginx.conf": "events {}\nhttp {\n  include inc/*;\n}\n", "inc/.hidden": "foo;\n", "inc/z": "bar;\n"}},
		{name: "glob bracket negation with !",
			files: tree{"nginx.conf": "events {}\nhttp {\n  include g/[!b];\n}\n", "g/b": "bbb;\n", "g/c": "ccc;\n"}},
		{name: "glob with an unclosed bracket is literal",
			files: tree{"nginx.conf": "events {}\nhttp {\n  include g/a[*;\n}\n", "g/a[x": "aaa;\n", "g/b": "bbb;\n"}},
		{name: "closing brace at top of an included file",
			files: tree{"nginx.conf": "events {}\nhttp {\n  include a.conf;\n}\n", "a.conf": "}\n"}},
		{name: "end of file in a block opened in an included file",
			files: tree{"nginx.conf": "events {}\nhttp {\n  include a.conf;\n}\n", "a.conf": "server {\n"}},
		{name: "included file at main context",
			files: tree{"nginx.conf": "include ev.conf;\nhttp {}\n", "ev.conf": "events {\n worker_connections 10;\n}\n"}},
		{name: "including a device reads it as empty", files: tree{"nginx.conf": "events {}\nhttp {\n include /dev/zero;\n}\n"}},
		{name: "include with no argument", files: tree{"nginx.conf": "events {}\ninclude;\n"}},
		{name: "too long bare word", files: tree{"nginx.conf": "events {}\nhttp {\n  a" + long + ";\n}\n"}},
		{name: "longest word that fits the buffer", files: tree{"nginx.conf": "events {}\nhttp {\n  " + strings.Repeat("y", 4095) + ";\n}\n"}},
		{name: "shortest word that overflows the buffer", files: tree{"nginx.conf": "events {}\nhttp {\n  " + strings.Repeat("y", 4096) + ";\n}\n"}},
		{name: "quoted word at the buffer limit", files: tree{"nginx.conf": "events {}\nhttp {\n  a \"" + strings.Repeat("y", 4095) + "\";\n}\n"}},
		{name: "unterminated double quote", files: tree{"nginx.conf": "events {}\nhttp {\n  a \"" + long + "\n}\n"}},
		{name: "unterminated single quote", files: tree{"nginx.conf": "events {}\nhttp {\n  a '" + long + "\n}\n"}},
		{name: "long comment", files: tree{"nginx.conf": "events {}\n#" + long + "\nhttp {}\n"}},
		{name: "map entry with three words", files: tree{"nginx.conf": "events {}\nhttp {\n map $a $b {\n  x y z;\n }\n}\n"}},
		{name: "map entry opening a block", files: tree{"nginx.conf": "events {}\nhttp {\n map $a $b {\n  x {\n }\n}\n"}},
		{name: "map with hostnames and default", files: tree{"nginx.conf": "events {}\nhttp {\n map $http_host $b {\n  hostnames;\n  default 0;\n  example.com 1;\n }\n}\n"}},
		{name: "types entry opening a block", files: tree{"nginx.conf": "events {}\nhttp {\n types {\n  text/html {\n }\n}\n"}},
		{name: "include inside types",
			files: tree{"nginx.conf": "events {}\nhttp {\n types {\n  include mime.types;\n }\n}\n", "mime.types": "text/html html;\n"}},
		{name: "include with two arguments inside types", files: tree{"nginx.conf": "events {}\nhttp {\n types {\n  include a b;\n }\n}\n"}},
		{name: "include with two arguments inside map", files: tree{"nginx.conf": "events {}\nhttp {\n map $a $b {\n  include a b;\n }\n}\n"}},
		{name: "include inside map",
			files: tree{"nginx.conf": "events {}\nhttp {\n map $a $b {\n  include m.conf;\n }\n}\n", "m.conf": "a 1;\nb 2 3;\n"}},
		{name: "include inside geo", files: tree{"nginx.conf": "events {}\nhttp {\n geo $a {\n  include nope.conf;\n }\n}\n"}},
		{name: "-g without a semicolon", files: tree{"nginx.conf": "events {}\nhttp {}\n"}, globals: "worker_processes 1"},
		{name: "-g error before a missing main file", files: tree{"other.conf": ""}, globals: "foo;"},
		{name: "-g unknown directive", files: tree{"nginx.conf": "events {}\nhttp {}\n"}, globals: "foo;"},
		{name: "-g block directive", files: tree{"nginx.conf": "events {}\nhttp {}\n"}, globals: "events {}"},
		{name: "-g http-level directive", files: tree{"nginx.conf": "events {}\nhttp {}\n"}, globals: "server_tokens off;"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, tc.files)
			main := tc.main
			if main == "" {
				main = "nginx.conf"
			}
			prefix := dir + "/"
			conf := filepath.Join(dir, main)
			if tc.prefix != "" {
				prefix = filepath.Join(dir, tc.prefix) + "/"
			}
			if tc.relC {
				conf = main
			}
			globals := baseGlobals(dir) + " " + tc.globals
			want := nginxTest(t, dir, prefix, conf, globals)
			got := ourTest(dir, prefix, conf, globals)
			t.Logf("nginx: %q", want)
			if got != want {
				t.Errorf("nginx: %q\nwe:    %q", want, got)
			}
		})
	}
}
