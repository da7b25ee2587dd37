package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocationPrecedenceMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startEcho(t, sock, "echo")
	site := `
upstream app { server unix:` + sock + `; }
server {
    listen LISTEN;
    location / { proxy_pass http://app; proxy_set_header X-Loc root; }
    location = /ex/ { proxy_pass http://app; proxy_set_header X-Loc ex-exact; }
    location /a-b { return 200 "a-b\n"; }
    location /a/ { proxy_pass http://app; proxy_set_header X-Loc a; }
    location /a/b/c/ { proxy_pass http://app; proxy_set_header X-Loc abc; }
    location = /a/b/c/d { return 200 "exact abcd\n"; }
    location /a/b/c/d { return 200 "prefix abcd\n"; }
    location ^~ /static/ { return 200 "static\n"; }
    location /n/ {
        return 200 "n\n";
        location ~ \.gif$ { return 200 "n-gif\n"; }
        location /n/deep/ { proxy_pass http://app; proxy_set_header X-Loc n-deep; }
    }
    location ~ ^/ex { return 200 "regex-ex\n"; }
    location ~ \.(gif|php)$ { return 200 "regex\n"; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var cases []diffCase
	for _, uri := range []string{"/ex", "/ex?q=1", "/ex/", "/ex/y", "/a", "/a/", "/a-b", "/a-bc", "/a/b/c", "/a/b/c/",
		"/a/b/c/d", "/a/b/c/de", "/a/b/c/d.php", "/static/x.php", "/static", "/n/x.gif", "/n/deep", "/n/deep/x.gif",
		"/n/deep/x", "/x.php", "/a/x.gif", "/A/", "/zzz"} {
		cases = append(cases, diffCase{name: uri, raw: "GET " + uri + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"})
	}
	runDiff(t, nginxAddr, wispAddr, cases)
}

// TestConfigTestBindsLikeNginx runs nginx -t and wisp's -t on the same
// configs: both bind the listen sockets, pass an address another socket
// holds, and fail with nginx's bind() message on any other error.
func TestConfigTestBindsLikeNginx(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Fatalf("real nginx is needed: %v", err)
	}
	dir := t.TempDir()
	held, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	defer held.Close()
	must(t, writeFile(filepath.Join(dir, "stale.sock"), ""))
	tests := []struct {
		name, listen string
		gone         string // a unix socket file the test must not leave behind
	}{
		{"port held by another socket", held.Addr().String(), ""},
		{"unix socket in a missing directory", "unix:" + dir + "/missing/s.sock", ""},
		{"address not on this host", "192.0.2.1:19250", ""},
		{"unix socket file left behind", "unix:" + dir + "/stale.sock", ""},
		{"new unix socket", "unix:" + dir + "/fresh.sock", dir + "/fresh.sock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(dir, "nginx.conf")
			must(t, writeFile(conf, "pid "+dir+"/nginx.pid;\nerror_log "+dir+"/error.log;\nevents {}\nhttp {\n access_log off;\n"+
				" server { listen "+tc.listen+"; location / { return 204; } }\n}\n"))
			cmd := exec.Command(nginxBin, "-t", "-p", dir+"/", "-c", conf)
			var nginxOut bytes.Buffer
			cmd.Stderr = &nginxOut
			nginxErr := cmd.Run()
			if tc.gone != "" {
				if _, err := os.Stat(tc.gone); !os.IsNotExist(err) {
					t.Fatalf("nginx left %s: %v", tc.gone, err)
				}
			}
			var wispOut bytes.Buffer
			wispErr := Test(context.Background(), Options{ConfFile: conf, Prefix: dir + "/", Name: "nginx", Stderr: &wispOut, Stdout: io.Discard}, false, false)
			if (nginxErr != nil) != (wispErr != nil) || nginxOut.String() != wispOut.String() {
				t.Errorf("nginx (%v):\n%s\nwisp (%v):\n%s", nginxErr, nginxOut.String(), wispErr, wispOut.String())
			}
			if tc.gone != "" {
				if _, err := os.Stat(tc.gone); !os.IsNotExist(err) {
					t.Errorf("wisp left %s: %v", tc.gone, err)
				}
			}
		})
	}
}

func TestServerSelectionByHostMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	site := `
server { listen LISTEN default_server; server_name default.test; return 200 "default $host\n"; }
server { listen LISTEN; server_name Example.COM; return 200 "example $host\n"; }
server { listen LISTEN; server_name trail.test.; return 200 "trail $host\n"; }
server { listen LISTEN; server_name [::1]; return 200 "v6 $host\n"; }
server { listen LISTEN; server_name ~^.+\.re\.test$; return 200 "re $host\n"; }
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var cases []diffCase
	for _, host := range []string{"EXAMPLE.com", "example.com.", "example.com.:8080", "example.com:80:90", "EXAMPLE.COM:",
		"[::1]", "[::1]:80", "[::1", "[::1].", "[::1]:80]", "[A::B].", "[a]b]", "example.com]x",
		"trail.test", "trail.test.", "X.RE.test", "x.re.test.", ".example.com", `a\b`,
		// nginx checks the whole value, port included, and drops a trailing
		// dot only if it is the value's last.
		"example.com.:8.0", "example.com.:80.", "ex:a.b.", "example.com:..", "example.com:80/x", "[::1]:a/b", "[::1]..",
		"example..com", "example.com..", "a/b", "ex\x7fample.com", "exa mple.com",
		strings.Repeat("long", 1000) + ".test"} {
		cases = append(cases, diffCase{name: "Host " + host[:min(len(host), 40)], raw: "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"})
	}
	// An absolute-form target names the server; its host has a stricter
	// grammar than the header's.
	for _, target := range []string{"http://Example.COM./", "http://example.com:8080/", "http://[::1]:80/", "http://EXAMPLE.com",
		"http://example.com:/", "http://example.com?x=1", "http://[v1.a_b~!$&'()*+,;=]/",
		"http://example.com.:80./", "http://exa_mple.com/", "http://a..b/", "http://example.com:80:90/", "http:///x",
		"http://[::1]x/", "http://[::1/", "http://ex%41mple.com/", "http://:80/"} {
		cases = append(cases, diffCase{name: "target " + target, raw: "GET " + target + " HTTP/1.1\r\nHost: default.test\r\nConnection: close\r\n\r\n"})
	}
	runDiff(t, nginxAddr, wispAddr, cases)
}

// TestRegexServerNameCapturesMatchNginx: a regex server_name's captures
// are $1..$9 until another regex match replaces them; a regex of the
// rewrite module drops them even when it misses.
func TestRegexServerNameCapturesMatchNginx(t *testing.T) {
	dir := t.TempDir()
	site := `
map $uri $m { ~\.m$ mapped; ~(\.k)$ kk; default none; }
server { listen LISTEN default_server; return 200 "default [$1]\n"; }
server {
    listen LISTEN;
    server_name ~^(\w+)\.(cap)\.test$;
    location / { return 200 "srv [$1] [$2]\n"; }
    location ~ \.nocap$ { return 200 "nocap [$1] [$2]\n"; }
    location ~ ^/(x)\.withcap$ { return 200 "withcap [$1] [$2]\n"; }
    location /if/ { if ($uri ~ \.x$) { return 200 "if [$1]\n"; } return 200 "if missed [$1]\n"; }
    location /string/ { if ($uri = /nothing) { } return 200 "string [$1]\n"; }
    location /rw/ { rewrite ^/rw/(zzz)$ /q; return 200 "rewrite missed [$1]\n"; }
    location /map/ { return 200 "$m [$1]\n"; }
}
server { listen LISTEN; server_name ~^nocap\.test$; return 200 "no captures [$1]\n"; }
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var cases []diffCase
	for _, uri := range []string{"/", "/a.nocap", "/x.withcap", "/if/a.x", "/if/a", "/string/a", "/rw/a", "/map/a", "/map/a.m", "/map/a.k"} {
		cases = append(cases, diffCase{name: uri, raw: "GET " + uri + " HTTP/1.1\r\nHost: Foo.cap.test\r\nConnection: close\r\n\r\n"})
	}
	for _, host := range []string{"nocap.test", "other.test"} {
		cases = append(cases, diffCase{name: host, raw: "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"})
	}
	runDiff(t, nginxAddr, wispAddr, cases)
}
