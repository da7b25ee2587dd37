package ngxconf

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var mutants = flag.Int("mutants", 40, "how many mutated configs TestMutantsFailLikeNginx compares")

// ourMessages are the message shapes this package owns; for any other
// nginx message (a semantic check of a directive's value) we only require
// not to report an earlier, different error.
var ourMessages = []string{
	"unexpected ", "unknown directive ", "directive is not allowed here", "invalid number of arguments",
	"is not terminated by", "has no opening", "directive is duplicate", `must be "on" or "off"`,
	"too long parameter", `no "events" section`, "open() ", "invalid number of the map parameters",
}

func ownsMessage(msg string) bool {
	for _, m := range ourMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// lineOf is the line a message names (all mutants live in one file).
func lineOf(msg string) int {
	i := strings.LastIndexByte(msg, ':')
	n, err := strconv.Atoi(msg[i+1:])
	if i < 0 || err != nil {
		return 0
	}
	return n
}

// mutate makes a small random edit of the kind people make by hand: drop,
// duplicate or insert a byte of the config language, or swap two lines.
func mutate(r *rand.Rand, src string) string {
	if src == "" {
		return src
	}
	tokens := []string{";", "{", "}", "\"", "'", "\\", "#", " ", "\n", "$", "${", "server", "location / {", "foo", "include x;", "(", ")"}
	i := r.IntN(len(src))
	switch r.IntN(4) {
	case 0:
		return src[:i] + src[i+1:]
	case 1:
		return src[:i] + tokens[r.IntN(len(tokens))] + src[i:]
	case 2:
		return src[:i] + src[i:i+1] + src[i:]
	default:
		lines := strings.Split(src, "\n")
		a, b := r.IntN(len(lines)), r.IntN(len(lines))
		lines[a], lines[b] = lines[b], lines[a]
		return strings.Join(lines, "\n")
	}
}

// mutantBases are the configs TestMutantsFailLikeNginx edits: the
// Ghost-CLI site (as a Debian nginx.conf would include it) and a config
// that exercises the rest of the language.
func mutantBases(t *testing.T) []string {
	base, err := os.ReadFile(filepath.Join(configsDir(t), "debian/sites-enabled/example.com.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// Listening on 80 would make nginx -t bind; a high loopback port keeps
	// the test to parsing.
	site := strings.NewReplacer("listen 80;", "listen 127.0.0.1:18081;", "listen [::]:80;", "").Replace(string(base))
	return []string{
		"events {}\nhttp {\n" + site + "\n}\n",
		`worker_processes 1;
events {
    worker_connections 64; # comment { ; }
}
http {
    types {
        text/html html htm;
        image/png png;
    }
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
        "~^ws"  "upgrade";
    }
    log_format main '$remote_addr - "$request" $status';
    upstream app {
        server unix:/run/app.sock weight=2 max_fails=3 fail_timeout=10s;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:18082 default_server;
        server_name example.com "www.example.com" *.example.org;
        if ($http_x_bad = "1") {
            return 403;
        }
        location = /health {
            return 200 "ok\n";
        }
        location ~* \.(css|js)$ {
            expires 7d;
            add_header Cache-Control "public" always;
        }
        location / {
            limit_except GET POST {
                deny all;
            }
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_pass http://app;
        }
    }
}
`,
	}
}

// TestMutantsFailLikeNginx edits the bases at random (fixed seed) and
// requires, for every mutant, our verdict to match the real nginx's: same
// message for the errors we own, success when it succeeds, and never an
// error earlier than a value check of nginx's that we leave to the proxy.
func TestMutantsFailLikeNginx(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	for b, base := range mutantBases(t) {
		for n := range *mutants {
			src := base
			for range 1 + r.IntN(3) {
				src = mutate(r, src)
			}
			writeFile(t, conf, src)
			want := nginxTest(t, dir, dir+"/", conf, baseGlobals(dir))
			got := ourTest(dir, dir+"/", conf, baseGlobals(dir))
			switch {
			case want == "" && got != "":
				t.Errorf("base %d mutant %d: nginx accepts, we say %q\n%s", b, n, got, src)
			case want != "" && ownsMessage(want) && got != want:
				t.Errorf("base %d mutant %d:\nnginx: %q\nwe:    %q\n%s", b, n, want, got, src)
			case want != "" && !ownsMessage(want) && got != "" && lineOf(got) < lineOf(want):
				t.Errorf("base %d mutant %d: nginx fails on a value check (%q), we report an earlier %q\n%s", b, n, want, got, src)
			}
		}
	}
}
