package proxy

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

// Differential cases for the response modules (static files, headers,
// access, gzip) against real nginx, on one tree of files both serve.

// staticTree writes the files both servers serve and returns the root.
func staticTree(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "www")
	outside = filepath.Join(dir, "outside")
	for _, d := range []string{root, outside, root + "/sub", root + "/empty", root + "/alias-src", root + "/deep/er"} {
		must(t, os.MkdirAll(d, 0o755))
	}
	files := map[string]string{
		"index.html":            "<h1>home</h1>\n",
		"a.txt":                 "0123456789abcdefghijklmnopqrstuvwxyz\n",
		"style.css":             "body { color: red; }\n",
		"data.unknownext":       "??\n",
		"UPPER.HTML":            "<p>upper</p>\n",
		"sub/index.html":        "<h1>sub</h1>\n",
		"sub/page.html":         strings.Repeat("<p>gzip me, I am long enough to be compressed.</p>\n", 40),
		"alias-src/file.txt":    "from alias\n",
		"deep/er/x.html":        "deep\n",
		"fallback.html":         "fallback\n",
		"../outside/secret.txt": "secret\n",
	}
	mtime := time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)
	for name, body := range files {
		p := filepath.Join(root, name)
		must(t, os.WriteFile(p, []byte(body), 0o644))
		must(t, os.Chtimes(p, mtime, mtime))
	}
	must(t, os.Symlink(outside, filepath.Join(root, "link-out")))
	must(t, os.Symlink(filepath.Join(root, "a.txt"), filepath.Join(root, "link-in.txt")))
	// Both nginx (running as this user) and wisp must be able to read it.
	must(t, os.Chmod(dir, 0o755))
	return root, outside
}

// normCase is a request with the headers whose values legitimately differ
// per run blanked (Expires relative to now).
type normCase struct {
	name  string
	raw   string
	blank []string // header names whose value is replaced by *
	// gunzip compares the decompressed body of a gzip answer.
	gunzip bool
}

var boundaryRE = regexp.MustCompile(`[0-9]{20}`)

func runNormDiff(t *testing.T, nginxAddr, wispAddr string, cases []normCase) {
	t.Helper()
	norm := func(r result, tc normCase) result {
		var hs []string
		for _, h := range r.headers {
			name, _, _ := strings.Cut(h, ":")
			for _, b := range tc.blank {
				if strings.EqualFold(name, b) {
					h = name + ": *"
				}
			}
			hs = append(hs, boundaryRE.ReplaceAllString(h, "BOUNDARY"))
		}
		r.headers = hs
		if tc.gunzip {
			zr, err := gzip.NewReader(strings.NewReader(r.body))
			if err == nil {
				b, err := io.ReadAll(zr)
				if err == nil {
					r.body = "gunzipped:" + string(b)
				}
			}
		}
		r.body = boundaryRE.ReplaceAllString(r.body, "BOUNDARY")
		return r
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := norm(exchange(t, nginxAddr, tc.raw), tc)
			w := norm(exchange(t, wispAddr, tc.raw), tc)
			if n.status != w.status {
				t.Errorf("status: nginx %d, wisp %d", n.status, w.status)
			}
			if n.body != w.body {
				t.Errorf("body differs\nnginx:\n%q\nwisp:\n%q", n.body, w.body)
			}
			if strings.Join(n.headers, "\n") != strings.Join(w.headers, "\n") {
				t.Errorf("response headers differ\nnginx:\n%s\nwisp:\n%s", strings.Join(n.headers, "\n"), strings.Join(w.headers, "\n"))
			}
		})
	}
}

func sget(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: s.test\r\n" + strings.Join(extra, "") + "Connection: close\r\n\r\n"
}

func TestStaticFilesMatchNginx(t *testing.T) {
	root, _ := staticTree(t)
	fi, err := os.Stat(filepath.Join(root, "a.txt"))
	must(t, err)
	etag := fmt.Sprintf(`"%x-%x"`, fi.ModTime().Unix(), fi.Size())
	lastMod := fi.ModTime().UTC().Format(httpTimeLayout)
	site := `
server {
    listen LISTEN;
    server_name s.test;
    root ` + root + `;
    index index.html;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    location / {
        try_files $uri $uri/ =404;
    }
    location /alias/ {
        alias ` + root + `/alias-src/;
    }
    location /fb/ {
        try_files $uri /fallback.html;
    }
    location /named/ {
        try_files $uri @gone;
    }
    location @gone {
        return 410;
    }
    location /hdr/ {
        alias ` + root + `/;
        add_header X-Plain plain;
        add_header X-Always always always;
        expires 1h;
        charset utf-8;
    }
    location /epoch/ {
        alias ` + root + `/;
        expires epoch;
    }
    location /max/ {
        alias ` + root + `/;
        expires max;
        server_tokens off;
    }
    location /deny/ {
        alias ` + root + `/;
        deny all;
    }
    location /allow/ {
        alias ` + root + `/;
        allow 10.0.0.0/8;
        allow 127.0.0.1;
        deny all;
    }
    location /gz/ {
        alias ` + root + `/;
        gzip on;
        gzip_vary on;
        gzip_types text/plain;
    }
    location /nosym/ {
        alias ` + root + `/;
        disable_symlinks on;
    }
    location /plain/ {
        alias ` + root + `/;
    }
}
`
	dir := t.TempDir()
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	ranges := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 300), ",")
	cases := []normCase{
		{name: "file", raw: sget("/a.txt")},
		{name: "head", raw: "HEAD /a.txt HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n"},
		{name: "http10 keep-alive", raw: "GET /a.txt HTTP/1.0\r\n\r\n"},
		{name: "index", raw: sget("/")},
		{name: "subdir index", raw: sget("/sub/")},
		{name: "mime css", raw: sget("/style.css")},
		{name: "default_type", raw: sget("/data.unknownext")},
		{name: "uppercase extension", raw: sget("/UPPER.HTML")},
		{name: "missing", raw: sget("/nope.txt")},
		{name: "dir without slash", raw: sget("/plain/sub")},
		{name: "dir without slash keeps args", raw: sget("/plain/sub?x=1&y=2")},
		{name: "dir without index", raw: sget("/empty/")},
		{name: "try_files dir", raw: sget("/sub")},
		{name: "dotdot", raw: sget("/../etc/passwd")},
		{name: "encoded dotdot", raw: sget("/%2e%2e/%2e%2e/etc/passwd")},
		{name: "dotdot inside", raw: sget("/sub/../a.txt")},
		{name: "encoded slash", raw: sget("/sub%2Findex.html")},
		{name: "encoded nul", raw: sget("/a%00.txt")},
		{name: "encoded newline", raw: sget("/a%0a.txt")},
		{name: "backslash", raw: sget("/sub\\..\\a.txt")},
		{name: "symlink followed by default", raw: sget("/link-out/secret.txt")},
		{name: "symlink refused", raw: sget("/nosym/link-out/secret.txt")},
		{name: "symlink inside refused", raw: sget("/nosym/link-in.txt")},
		{name: "no symlink fine", raw: sget("/nosym/a.txt")},
		{name: "post", raw: "POST /a.txt HTTP/1.1\r\nHost: s.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{name: "delete", raw: "DELETE /a.txt HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n"},
		{name: "post missing", raw: "POST /plain/nope HTTP/1.1\r\nHost: s.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{name: "if-none-match", raw: sget("/a.txt", "If-None-Match: "+etag+"\r\n")},
		{name: "if-none-match list", raw: sget("/a.txt", "If-None-Match: \"x\", W/"+etag+"\r\n")},
		{name: "if-none-match other", raw: sget("/a.txt", "If-None-Match: \"x\"\r\n")},
		{name: "if-modified-since exact", raw: sget("/a.txt", "If-Modified-Since: "+lastMod+"\r\n")},
		{name: "if-modified-since later", raw: sget("/a.txt", "If-Modified-Since: Fri, 01 Jan 2038 00:00:00 GMT\r\n")},
		{name: "if-modified-since garbage", raw: sget("/a.txt", "If-Modified-Since: yesterday\r\n")},
		{name: "if-match fails", raw: sget("/a.txt", "If-Match: \"nope\"\r\n")},
		{name: "if-unmodified-since old", raw: sget("/a.txt", "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n")},
		{name: "range first bytes", raw: sget("/a.txt", "Range: bytes=0-4\r\n")},
		{name: "range suffix", raw: sget("/a.txt", "Range: bytes=-3\r\n")},
		{name: "range open end", raw: sget("/a.txt", "Range: bytes=30-\r\n")},
		{name: "range past end", raw: sget("/a.txt", "Range: bytes=10-1000\r\n")},
		{name: "range suffix longer than file", raw: sget("/a.txt", "Range: bytes=-500\r\n")},
		{name: "ranges adding up past the file", raw: sget("/a.txt", "Range: bytes=0-30,10-36\r\n")},
		{name: "range unsatisfiable", raw: sget("/a.txt", "Range: bytes=1000-\r\n")},
		{name: "range malformed", raw: sget("/a.txt", "Range: bytes=x-y\r\n")},
		{name: "range other unit", raw: sget("/a.txt", "Range: items=0-1\r\n")},
		{name: "multi range", raw: sget("/a.txt", "Range: bytes=0-1,5-7\r\n")},
		{name: "huge range list", raw: sget("/a.txt", "Range: "+ranges+"\r\n")},
		{name: "if-range matches", raw: sget("/a.txt", "Range: bytes=0-1\r\nIf-Range: "+etag+"\r\n")},
		{name: "if-range stale", raw: sget("/a.txt", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n")},
		{name: "range on 304", raw: sget("/a.txt", "Range: bytes=0-1\r\nIf-None-Match: "+etag+"\r\n")},
		{name: "alias", raw: sget("/alias/file.txt")},
		{name: "alias missing", raw: sget("/alias/none.txt")},
		{name: "try_files fallback uri", raw: sget("/fb/nothing?q=1")},
		{name: "try_files named", raw: sget("/named/nothing")},
		{name: "add_header expires charset", raw: sget("/hdr/a.txt"), blank: []string{"Expires"}},
		{name: "add_header on 404 only always", raw: sget("/hdr/nope"), blank: []string{"Expires"}},
		{name: "add_header on redirect", raw: sget("/hdr/sub"), blank: []string{"Expires"}},
		{name: "add_header on 304", raw: sget("/hdr/a.txt", "If-None-Match: "+etag+"\r\n"), blank: []string{"Expires"}},
		{name: "expires epoch", raw: sget("/epoch/a.txt")},
		{name: "expires max server_tokens off", raw: sget("/max/a.txt")},
		{name: "server_tokens off error page", raw: sget("/max/nope")},
		{name: "deny all", raw: sget("/deny/a.txt")},
		{name: "allow loopback", raw: sget("/allow/a.txt")},
		{name: "gzip", raw: sget("/gz/sub/page.html", "Accept-Encoding: gzip, deflate\r\n"), gunzip: true},
		{name: "gzip type", raw: sget("/gz/a.txt", "Accept-Encoding: gzip\r\n"), gunzip: true},
		{name: "gzip not accepted", raw: sget("/gz/sub/page.html")},
		{name: "gzip q=0", raw: sget("/gz/sub/page.html", "Accept-Encoding: gzip;q=0\r\n")},
		{name: "gzip head", raw: "HEAD /gz/sub/page.html HTTP/1.1\r\nHost: s.test\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"},
		{name: "gzip via proxied off", raw: sget("/gz/sub/page.html", "Accept-Encoding: gzip\r\nVia: 1.1 p\r\n")},
		{name: "gzip http10", raw: "GET /gz/sub/page.html HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n"},
		{name: "gzip css not in types", raw: sget("/gz/style.css", "Accept-Encoding: gzip\r\n")},
		{name: "gzip too short", raw: sget("/gz/index.html", "Accept-Encoding: gzip\r\n")},
		{name: "gzip 404 page", raw: sget("/gz/nope", "Accept-Encoding: gzip\r\n"), gunzip: true},
	}
	runNormDiff(t, nginx, wisp, cases)
}

func TestStaticHelpers(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"etag exact", etagMatch([]byte(`"a-1"`), []byte(`"a-1"`), false), true},
		{"etag weak refused for If-Match", etagMatch([]byte(`"a-1"`), []byte(`W/"a-1"`), false), false},
		{"etag weak allowed for If-None-Match", etagMatch([]byte(`"a-1"`), []byte(`W/"a-1"`), true), true},
		{"etag star", etagMatch([]byte(`"a-1"`), []byte(`*`), false), true},
		{"etag in list", etagMatch([]byte(`"a-1"`), []byte(`"b", "a-1"`), false), true},
		{"star matches no etag", etagMatch(nil, []byte(`*`), false), true},
		{"etag absent", etagMatch(nil, []byte(`"a-1"`), false), false},
		{"gzip token", acceptsGzip([]byte("deflate, gzip")), true},
		{"gzip q zero", acceptsGzip([]byte("gzip;q=0")), false},
		{"gzip q half", acceptsGzip([]byte("gzip;q=0.5")), true},
		{"no gzip", acceptsGzip([]byte("br, deflate")), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestOpenPathRefusesSymlinks(t *testing.T) {
	root, _ := staticTree(t)
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"plain file", root + "/a.txt", nil},
		// A link in the middle fails as "not a directory": nginx's 404.
		{"link to outside dir", root + "/link-out/secret.txt", syscall.ENOTDIR},
		{"link to inside file", root + "/link-in.txt", errSymlink},
	}
	for _, tc := range tests {
		f, err := openPath(tc.path, symlinkCheck{mode: symlinksNever})
		if f != nil {
			f.Close()
		}
		if err != tc.wantErr {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

// Debian's stock nginx.conf (with sites-enabled/default) loads as it is
// and serves /var/www/html.
func TestDebianStockConfigServesDefaultSite(t *testing.T) {
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: "/etc/nginx/nginx.conf"})
	if err != nil {
		t.Fatalf("loading Debian's nginx.conf: %v", err)
	}
	cfg, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
	if err != nil {
		t.Fatalf("compiling Debian's nginx.conf: %v", err)
	}
	t.Cleanup(cfg.CloseLogs)
	want, err := os.ReadFile("/var/www/html/index.nginx-debian.html")
	if err != nil {
		t.Fatalf("Debian's default page is missing (apt-get install nginx): %v", err)
	}
	addr, _ := serveConfig(t, cfg)
	r := exchange(t, addr, sget("/"))
	if r.status != 200 || r.body != string(want) {
		t.Errorf("GET /: status %d, body %q; want 200 and the default page", r.status, r.body)
	}
	if r := exchange(t, addr, sget("/nope")); r.status != 404 {
		t.Errorf("GET /nope: status %d, want 404", r.status)
	}
}

// The access log lines of the same requests agree with nginx's, the
// time and the request time aside.
func TestAccessLogMatchesNginx(t *testing.T) {
	root, _ := staticTree(t)
	dir := t.TempDir()
	site := func(who string) string {
		return `
log_format custom escape=default '$remote_addr|$request|$status|$body_bytes_sent|$http_referer|$http_x_odd|$remote_user|$uri|$args';
server {
    listen LISTEN;
    server_name s.test;
    root ` + root + `;
    access_log ` + dir + `/` + who + `-combined.log;
    access_log ` + dir + `/` + who + `-custom.log custom;
    location /quiet/ {
        access_log off;
    }
}
`
	}
	nginx := startNginx(t, dir, site("nginx"))
	wisp, stop := startWisp(t, dir, site("wisp"))
	reqs := []string{
		sget("/a.txt"),
		sget("/a.txt?x=1", "Referer: http://r.test/\r\nUser-Agent: curl/8 \"quoted\" \x01\r\n"),
		sget("/nope", "Authorization: Basic dXNlcjpwYXNz\r\nX-Odd: caf\xc3\xa9\\\r\n"),
		sget("/quiet/a.txt"),
		"HEAD /index.html HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n",
		sget("/a.txt", "Range: bytes=0-3\r\n"),
		sget("/sub"),
	}
	for _, raw := range reqs {
		exchange(t, nginx, raw)
		exchange(t, wisp, raw)
	}
	stop()
	timeRE := regexp.MustCompile(`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`)
	for _, name := range []string{"combined", "custom"} {
		n, err := os.ReadFile(filepath.Join(dir, "nginx-"+name+".log"))
		must(t, err)
		// nginx writes its line after the response; give it a moment by
		// reading until the count matches.
		for i := 0; i < 100 && strings.Count(string(n), "\n") < 6; i++ {
			time.Sleep(10 * time.Millisecond)
			n, _ = os.ReadFile(filepath.Join(dir, "nginx-"+name+".log"))
		}
		w, err := os.ReadFile(filepath.Join(dir, "wisp-"+name+".log"))
		must(t, err)
		// Each server writes a line after its response has gone out, so a
		// client that moved on to its next request can see the lines land
		// out of order: compare them as sorted sets of lines.
		ns := sortedLines(timeRE.ReplaceAllString(string(n), "[TIME]"))
		ws := sortedLines(timeRE.ReplaceAllString(string(w), "[TIME]"))
		if ns != ws {
			t.Errorf("%s log differs\nnginx:\n%s\nwisp:\n%s", name, ns, ws)
		}
	}
}

// add_header, expires, charset, server_tokens and allow/deny apply to
// proxied responses too.
func TestHeaderFiltersOnProxiedMatchNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startEcho(t, sock, "echo")
	sockC := filepath.Join(dir, "chunked.sock")
	startEcho(t, sockC, "chunked")
	site := `
server {
    listen LISTEN;
    server_name p.test;
    location / {
        proxy_pass http://unix:` + sock + `:;
        add_header X-Added yes;
        add_header X-Always yes always;
        expires 2h;
        charset utf-8;
        server_tokens off;
    }
    location /denied/ {
        proxy_pass http://unix:` + sock + `:;
        deny 127.0.0.0/8;
    }
    location /gz/ {
        proxy_pass http://unix:SOCK:;
        gzip on;
        gzip_types text/plain;
        gzip_vary on;
        gzip_min_length 10;
    }
    location /gz-chunked/ {
        proxy_pass http://unix:SOCKC:;
        gzip on;
        gzip_types text/plain;
    }
    location /deny-other/ {
        proxy_pass http://unix:` + sock + `:;
        deny 10.1.2.3;
    }
}
`
	site = strings.ReplaceAll(strings.ReplaceAll(site, "SOCKC", sockC), "SOCK", sock)
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	req := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: p.test\r\nConnection: close\r\n\r\n"
	}
	runNormDiff(t, nginx, wisp, []normCase{
		{name: "filters on proxied", raw: req("/x"), blank: []string{"Expires"}},
		{name: "deny cidr", raw: req("/denied/x")},
		{name: "deny other address", raw: req("/deny-other/x")},
		{name: "gzip proxied", raw: "GET /gz/x HTTP/1.1\r\nHost: p.test\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n", gunzip: true},
		{name: "gzip proxied not accepted", raw: req("/gz/x")},
		{name: "gzip proxied http10", raw: "GET /gz/x HTTP/1.0\r\nHost: p.test\r\nAccept-Encoding: gzip\r\n\r\n"},
		{name: "gzip proxied chunked upstream", raw: "GET /gz-chunked/x HTTP/1.1\r\nHost: p.test\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n", gunzip: true},
		{name: "gzip proxied head", raw: "HEAD /gz/x HTTP/1.1\r\nHost: p.test\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"},
	})
}

// Ghost-CLI's site.conf serves /.well-known from its nginx-root for
// certificate challenges while everything else is proxied.
func TestGhostCLIWellKnownMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "nginx-root")
	must(t, os.MkdirAll(filepath.Join(root, ".well-known/acme-challenge"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, ".well-known/acme-challenge/tok"), []byte("challenge-token\n"), 0o644))
	must(t, os.Chmod(dir, 0o755))
	sock := filepath.Join(dir, "ghost.sock")
	startEcho(t, sock, "echo")
	site := `
server {
    listen LISTEN;
    server_name example.com;
    root ` + root + `; # Used for acme.sh SSL verification (https://acme.sh)

    location / {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        proxy_pass http://unix:` + sock + `:;
    }

    location ~ /.well-known {
        allow all;
    }

    client_max_body_size 50m;
}
`
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	req := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
	}
	runNormDiff(t, nginx, wisp, []normCase{
		{name: "challenge file", raw: req("/.well-known/acme-challenge/tok")},
		{name: "missing challenge", raw: req("/.well-known/acme-challenge/nope")},
		{name: "well-known dir", raw: req("/.well-known/acme-challenge")},
		{name: "proxied", raw: req("/blog/")},
	})
}

// Proxied requests log the upstream's address and status as nginx does.
func TestAccessLogUpstreamVarsMatchNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "up.sock")
	startEcho(t, sock, "echo")
	site := func(who string) string {
		return `
log_format up '$status $body_bytes_sent $request_length $upstream_addr $upstream_status "$request"';
server {
    listen LISTEN;
    server_name u.test;
    access_log ` + dir + `/` + who + `.log up;
    location / {
        proxy_pass http://unix:` + sock + `:;
    }
    location /local/ {
        return 204;
    }
}
`
	}
	nginx := startNginx(t, dir, site("nginx"))
	wisp, stop := startWisp(t, dir, site("wisp"))
	reqs := []string{
		"GET /a?b=c HTTP/1.1\r\nHost: u.test\r\nConnection: close\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: u.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"GET /local/x HTTP/1.1\r\nHost: u.test\r\nConnection: close\r\n\r\n",
	}
	for _, raw := range reqs {
		exchange(t, nginx, raw)
		exchange(t, wisp, raw)
	}
	stop()
	var n []byte
	for i := 0; i < 100; i++ {
		n, _ = os.ReadFile(filepath.Join(dir, "nginx.log"))
		if strings.Count(string(n), "\n") >= len(reqs) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w, err := os.ReadFile(filepath.Join(dir, "wisp.log"))
	must(t, err)
	// A line is written once its response is out, so the next request
	// (a new connection) may log first: compare the lines, not their order.
	if sortedLines(string(n)) != sortedLines(string(w)) {
		t.Errorf("log differs\nnginx:\n%s\nwisp:\n%s", n, w)
	}
}

// TestUpstreamVarsListEveryTryAsNginx: $upstream_addr and
// $upstream_status list every try, ", " between them, in the access log
// and already in add_header; a group with no live peer is named by its
// name; $upstream_response_time is "-" for the try still answering.
func TestUpstreamVarsListEveryTryAsNginx(t *testing.T) {
	dir := t.TempDir()
	s := peerSet(t, dir, "ok=ok", "e500=500", "dead=dead", "dead2=dead")
	site := func(who string) string {
		return `
log_format tries '$status $upstream_addr|$upstream_status "$request"';
upstream retry { server ` + s["dead"] + `; server ` + s["ok"] + `; }
upstream next500 { server ` + s["e500"] + `; server ` + s["ok"] + `; }
upstream none { server ` + s["dead"] + `; server ` + s["dead2"] + `; }
server {
    listen LISTEN;
    access_log ` + dir + `/` + who + `-tries.log tries;
    add_header X-A $upstream_addr always;
    add_header X-S $upstream_status always;
    add_header X-T "[$upstream_response_time]" always;
    location /retry { proxy_pass http://retry; }
    location /next500 { proxy_pass http://next500; proxy_next_upstream error http_500; }
    location /none { proxy_pass http://none; }
    location /down { proxy_pass http://` + s["dead"] + `; }
    location /ok { proxy_pass http://` + s["ok"] + `; }
    location /local { return 200 "local\n"; }
}
`
	}
	nginx := startNginx(t, dir, site("nginx"))
	wisp, stop := startWisp(t, dir, site("wisp"))
	var cases []diffCase
	for _, path := range []string{"/retry", "/retry", "/next500", "/none", "/none", "/down", "/ok", "/local"} {
		cases = append(cases, diffCase{name: path, raw: getWith(path, "")})
	}
	// The times vary: each proxy's is checked for its shape, and masked.
	times := regexp.MustCompile(`X-T: \[[0-9., -]*\]`)
	shape := regexp.MustCompile(`^X-T: \[((\d+\.\d{3}|-)(, (\d+\.\d{3}|-))*)?\]$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchange(t, nginx, tc.raw), exchange(t, wisp, tc.raw)
			var hs [2]string
			for i, r := range []result{n, w} {
				for _, h := range r.headers {
					if strings.HasPrefix(h, "X-T: ") && !shape.MatchString(h) {
						t.Errorf("%s: %q", []string{"nginx", "wisp"}[i], h)
					}
				}
				hs[i] = times.ReplaceAllString(strings.Join(r.headers, "\n"), "X-T: [...]")
			}
			if n.status != w.status || hs[0] != hs[1] {
				t.Errorf("nginx: %d\n%s\nwisp: %d\n%s", n.status, hs[0], w.status, hs[1])
			}
			// The try still answering has no time yet.
			for i, r := range []result{n, w} {
				for _, h := range r.headers {
					if strings.HasPrefix(h, "X-T: ") && tc.name == "/ok" && h != "X-T: [-]" {
						t.Errorf("%s: %q, want [-]", []string{"nginx", "wisp"}[i], h)
					}
				}
			}
		})
	}
	stop()
	n := readLogLines(t, filepath.Join(dir, "nginx-tries.log"), len(cases))
	w := readLogLines(t, filepath.Join(dir, "wisp-tries.log"), len(cases))
	if n != w {
		t.Errorf("access log differs\nnginx:\n%s\nwisp:\n%s", n, w)
	}
}

func sortedLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "")
}
