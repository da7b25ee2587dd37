package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The differential hunt over the static surface: realistic site configs,
// each run through real nginx and wisp with a dozen requests. Every row
// once differed or guards a behaviour that is easy to break.

// siteTree writes a small web site both servers serve; it returns the
// root (DOCROOT in configs) and a directory beside it.
func siteTree(t *testing.T) (root, other string) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "www")
	other = filepath.Join(dir, "other")
	for _, d := range []string{root, other, root + "/blog", root + "/noindex", root + "/htm", root + "/assets/css", root + "/img", other + "/pics"} {
		must(t, os.MkdirAll(d, 0o755))
	}
	files := map[string]string{
		"index.html":          "<h1>home</h1>\n",
		"blog/index.html":     "<h1>blog</h1>\n",
		"blog/post.html":      strings.Repeat("<p>a post long enough to be worth compressing.</p>\n", 30),
		"htm/index.htm":       "<h1>htm</h1>\n",
		"noindex/file.txt":    "file in a directory without index\n",
		"assets/app.js":       strings.Repeat("console.log('hello');\n", 40),
		"assets/css/site.css": strings.Repeat("body { margin: 0; }\n", 40),
		"img/logo.png":        "\x89PNG\r\n\x1a\nnot really a png\n",
		"robots.txt":          "User-agent: *\nDisallow:\n",
		"with space.txt":      "space\n",
		"caf\u00e9.txt":       "unicode\n",
		"pct%41.txt":          "percent\n",
		"data.json":           "{\"a\": 1}\n",
		"feed.xml":            "<rss/>\n",
		"noext":               "no extension\n",
		"doc.md":              "# markdown\n",
		"../other/pics/p.png": "pic\n",
		"../other/o.txt":      "other\n",
		"../other/index.html": "<h1>other</h1>\n",
	}
	mtime := time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)
	for name, body := range files {
		p := filepath.Join(root, name)
		must(t, os.WriteFile(p, []byte(body), 0o644))
		must(t, os.Chtimes(p, mtime, mtime))
	}
	must(t, os.Symlink(filepath.Join(root, "robots.txt"), filepath.Join(root, "link.txt")))
	must(t, os.Chmod(dir, 0o755))
	return root, other
}

// siteDiff is one config and the requests run through both servers.
type siteDiff struct {
	name  string
	site  string // DOCROOT, OTHER and SOCK are substituted
	cases []normCase
}

func runSiteDiffs(t *testing.T, diffs []siteDiff) {
	root, other := siteTree(t)
	for _, sd := range diffs {
		t.Run(sd.name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "echo.sock")
			site := strings.NewReplacer("DOCROOT", root, "OTHER", other, "SOCK", sock).Replace(sd.site)
			if strings.Contains(sd.site, "SOCK") {
				startEcho(t, sock, "echo")
			}
			nginx := startNginx(t, dir, site)
			wisp, _ := startWisp(t, dir, site)
			runNormDiff(t, nginx, wisp, sd.cases)
		})
	}
}

func hget(host, path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(extra, "") + "Connection: close\r\n\r\n"
}

func hhead(host, path string, extra ...string) string {
	return "HEAD " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(extra, "") + "Connection: close\r\n\r\n"
}

func TestStaticSitesMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	runSiteDiffs(t, []siteDiff{
		{name: "spa fallback", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    index index.html index.htm;
    include /etc/nginx/mime.types;
    location / {
        try_files $uri $uri/ /index.html;
    }
}`, cases: []normCase{
			{name: "root", raw: g("/")},
			{name: "file", raw: g("/robots.txt")},
			{name: "deep route", raw: g("/app/route/1")},
			{name: "dir with index", raw: g("/blog/")},
			{name: "dir without slash", raw: g("/blog")},
			{name: "dir index.htm", raw: g("/htm/")},
			{name: "dir index.htm no slash", raw: g("/htm")},
			{name: "dir without index", raw: g("/noindex/")},
			{name: "dir without index no slash", raw: g("/noindex")},
			{name: "css type", raw: g("/assets/css/site.css")},
			{name: "js type", raw: g("/assets/app.js")},
			{name: "png type", raw: g("/img/logo.png")},
			{name: "json", raw: g("/data.json")},
			{name: "no extension", raw: g("/noext")},
			{name: "space escaped", raw: g("/with%20space.txt")},
			{name: "unicode escaped", raw: g("/caf%C3%A9.txt")},
			{name: "unicode raw", raw: g("/caf\xc3\xa9.txt")},
			{name: "percent in name", raw: g("/pct%2541.txt")},
			{name: "percent decoded wrong", raw: g("/pct%41.txt")},
			{name: "query", raw: g("/robots.txt?a=b")},
			{name: "head", raw: hhead("site.test", "/robots.txt")},
			{name: "missing with args", raw: g("/missing?x=1")},
		}},
		{name: "strict 404", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    index index.html index.htm;
    location / {
        try_files $uri $uri/ =404;
    }
    location /blog/ {
        try_files $uri $uri.html $uri/ =404;
    }
}`, cases: []normCase{
			{name: "root", raw: g("/")},
			{name: "missing", raw: g("/missing")},
			{name: "dir without slash", raw: g("/noindex")},
			{name: "dir without index", raw: g("/noindex/")},
			{name: "extensionless html", raw: g("/blog/post")},
			{name: "blog dir", raw: g("/blog/")},
			{name: "encoded dotdot", raw: g("/blog/%2e%2e/robots.txt")},
			{name: "dotdot above root", raw: g("/../../etc/passwd")},
			{name: "double slash", raw: g("//robots.txt")},
			{name: "dot segment", raw: g("/./robots.txt")},
			{name: "symlink", raw: g("/link.txt")},
			{name: "post", raw: "POST /robots.txt HTTP/1.1\r\nHost: site.test\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
			{name: "put dir", raw: "PUT /blog/ HTTP/1.1\r\nHost: site.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
			{name: "options", raw: "OPTIONS /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		}},
		{name: "try_files named backend", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location / {
        try_files $uri @backend;
    }
    location @backend {
        proxy_pass http://unix:SOCK:;
        add_header X-Backend yes;
    }
}`, cases: []normCase{
			{name: "file", raw: g("/robots.txt")},
			{name: "to backend", raw: g("/api/x?y=1")},
			{name: "dir goes to backend", raw: g("/blog")},
			{name: "root dir", raw: g("/")},
			{name: "post to backend", raw: "POST /api HTTP/1.1\r\nHost: site.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"},
		}},
		{name: "alias forms", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location /o/ {
        alias OTHER/;
    }
    location /nos {
        alias OTHER;
    }
    location ~ ^/pics/(.+\.png)$ {
        alias OTHER/pics/$1;
    }
    location ~ ^/rx/(.*)$ {
        alias OTHER/$1;
    }
    location /o2/ {
        alias OTHER/;
        index index.html;
        try_files $uri $uri/ =404;
    }
}`, cases: []normCase{
			{name: "prefix alias file", raw: g("/o/o.txt")},
			{name: "prefix alias index", raw: g("/o/")},
			{name: "prefix alias dir without slash", raw: g("/o/pics")},
			{name: "prefix alias missing", raw: g("/o/nope")},
			{name: "alias without slash", raw: g("/nos/o.txt")},
			{name: "alias without slash glued", raw: g("/noso.txt")},
			{name: "alias without slash dir", raw: g("/nos")},
			{name: "regex alias capture", raw: g("/pics/p.png")},
			{name: "regex alias missing", raw: g("/pics/q.png")},
			{name: "regex alias any", raw: g("/rx/o.txt")},
			{name: "regex alias dir", raw: g("/rx/pics")},
			{name: "regex alias dir slash", raw: g("/rx/pics/")},
			{name: "alias try_files", raw: g("/o2/o.txt")},
			{name: "alias try_files index", raw: g("/o2/")},
			{name: "alias try_files missing", raw: g("/o2/none")},
			{name: "alias try_files dir", raw: g("/o2/pics")},
		}},
		{name: "redirects absolute and port", site: `
server {
    listen LISTEN;
    server_name site.test www.site.test;
    root DOCROOT;
    location /rel/ {
        alias DOCROOT/;
        absolute_redirect off;
    }
    location /noport/ {
        alias DOCROOT/;
        port_in_redirect off;
    }
    location /sni/ {
        alias DOCROOT/;
        server_name_in_redirect on;
    }
}`, cases: []normCase{
			{name: "default", raw: g("/blog")},
			{name: "other host", raw: hget("www.site.test", "/blog")},
			{name: "unknown host", raw: hget("unknown.test", "/blog")},
			{name: "host with port", raw: hget("site.test:8080", "/blog")},
			{name: "relative", raw: g("/rel/blog")},
			{name: "no port", raw: g("/noport/blog")},
			{name: "server_name_in_redirect", raw: hget("www.site.test", "/sni/blog")},
			{name: "http10 no host", raw: "GET /blog HTTP/1.0\r\n\r\n"},
			{name: "args kept", raw: g("/blog?a=1")},
			{name: "escaped name", raw: g("/with%20space.txt/")},
		}},
	})
}

func TestHeaderModulesMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	exp := []string{"Expires"}
	runSiteDiffs(t, []siteDiff{
		{name: "asset caching", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    include /etc/nginx/mime.types;
    add_header X-Server srv;
    location / {
        try_files $uri $uri/ =404;
    }
    location ~* \.(css|js|png)$ {
        expires 30d;
        add_header Cache-Control public;
    }
    location /max/ {
        alias DOCROOT/;
        expires max;
    }
    location /epoch/ {
        alias DOCROOT/;
        expires epoch;
    }
    location /neg/ {
        alias DOCROOT/;
        expires -1;
    }
    location /off/ {
        alias DOCROOT/;
        expires off;
    }
    location /modified/ {
        alias DOCROOT/;
        expires modified 1d;
    }
    location /daily/ {
        alias DOCROOT/;
        expires @15h;
    }
    location /zero/ {
        alias DOCROOT/;
        expires 0;
    }
}`, cases: []normCase{
			{name: "server add_header", raw: g("/robots.txt")},
			{name: "server add_header not on 404", raw: g("/nope")},
			{name: "css expires", raw: g("/assets/css/site.css"), blank: exp},
			{name: "png expires", raw: g("/img/logo.png"), blank: exp},
			{name: "uppercase ext", raw: g("/img/logo.PNG"), blank: exp},
			{name: "css 404", raw: g("/x.css"), blank: exp},
			{name: "css 304", raw: g("/assets/app.js", "If-Modified-Since: Tue, 05 Mar 2024 10:20:30 GMT\r\n"), blank: exp},
			{name: "css range", raw: g("/assets/app.js", "Range: bytes=0-9\r\n"), blank: exp},
			{name: "max", raw: g("/max/robots.txt")},
			{name: "epoch", raw: g("/epoch/robots.txt")},
			{name: "negative", raw: g("/neg/robots.txt"), blank: exp},
			{name: "off", raw: g("/off/robots.txt")},
			{name: "modified", raw: g("/modified/robots.txt")},
			{name: "daily", raw: g("/daily/robots.txt"), blank: []string{"Expires", "Cache-Control"}},
			{name: "zero", raw: g("/zero/robots.txt"), blank: exp},
			{name: "max on redirect", raw: g("/max/blog")},
			{name: "max on 404", raw: g("/max/nope")},
		}},
		{name: "add_header inheritance", site: `
add_header X-Http http;
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    add_header X-Srv srv;
    add_header X-Srv-Always srv always;
    location / {
    }
    location /own/ {
        alias DOCROOT/;
        add_header X-Own own;
    }
    location /always/ {
        alias DOCROOT/;
        add_header X-Always a always;
        add_header X-Var "$uri|$args|$status" always;
        add_header X-Empty "$arg_none";
    }
    location /nested/ {
        alias DOCROOT/;
        add_header X-Outer outer;
        location /nested/inner/ {
            alias DOCROOT/;
        }
        location /nested/own/ {
            alias DOCROOT/;
            add_header X-Inner inner;
        }
    }
    location /exp/ {
        alias DOCROOT/;
        expires 1h;
        add_header X-N "n $status";
        add_header X-A "a $status" always;
    }
    location = /teapot {
        add_header X-Return r;
        return 418;
    }
    location = /ret200 {
        add_header X-Return r;
        return 200 "hello\n";
    }
    location = /redir {
        add_header X-Return r;
        return 302 /robots.txt;
    }
}`, cases: []normCase{
			{name: "server level", raw: g("/robots.txt")},
			{name: "server level 404", raw: g("/nope")},
			{name: "own replaces", raw: g("/own/robots.txt")},
			{name: "always 200", raw: g("/always/robots.txt?a=b")},
			{name: "always 404", raw: g("/always/nope")},
			{name: "always 304", raw: g("/always/robots.txt", "If-Modified-Since: Tue, 05 Mar 2024 10:20:30 GMT\r\n")},
			{name: "always 206", raw: g("/always/robots.txt", "Range: bytes=1-3\r\n")},
			{name: "always 416", raw: g("/always/robots.txt", "Range: bytes=500-\r\n")},
			{name: "always 412", raw: g("/always/robots.txt", "If-Match: \"x\"\r\n")},
			{name: "always 301", raw: g("/always/blog")},
			{name: "always 403", raw: g("/always/noindex/")},
			{name: "expires and both kinds on 416", raw: g("/exp/robots.txt", "Range: bytes=500-\r\n"), blank: exp},
			{name: "expires and both kinds on 206", raw: g("/exp/robots.txt", "Range: bytes=1-2\r\n"), blank: exp},
			{name: "expires and both kinds on multipart", raw: g("/exp/robots.txt", "Range: bytes=1-2,4-5\r\n"), blank: exp},
			{name: "expires and both kinds on 412", raw: g("/exp/robots.txt", "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n"), blank: exp},
			{name: "nested inherits outer", raw: g("/nested/inner/robots.txt")},
			{name: "nested own", raw: g("/nested/own/robots.txt")},
			{name: "return 418", raw: g("/teapot")},
			{name: "return 200", raw: g("/ret200")},
			{name: "return 302", raw: g("/redir")},
			{name: "head", raw: hhead("site.test", "/own/robots.txt")},
		}},
		{name: "types and charset", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    charset utf-8;
    location /t/ {
        alias DOCROOT/;
        types {
            text/markdown md;
            application/x-custom json;
        }
        default_type text/x-default;
    }
    location /ct/ {
        alias DOCROOT/;
        charset_types text/css application/json;
    }
    location /koi/ {
        alias DOCROOT/;
        charset koi8-r;
    }
    location /nocs/ {
        alias DOCROOT/;
        charset off;
    }
    location = /ret {
        return 200 "text";
    }
    location /empty-types/ {
        alias DOCROOT/;
        types { }
    }
}`, cases: []normCase{
			{name: "html charset", raw: g("/index.html")},
			{name: "txt charset", raw: g("/robots.txt")},
			{name: "css no charset", raw: g("/assets/css/site.css")},
			{name: "js charset", raw: g("/assets/app.js")},
			{name: "json no charset", raw: g("/data.json")},
			{name: "xml charset", raw: g("/feed.xml")},
			{name: "default type", raw: g("/noext")},
			{name: "md default", raw: g("/doc.md")},
			{name: "types md", raw: g("/t/doc.md")},
			{name: "types override json", raw: g("/t/data.json")},
			{name: "types others gone", raw: g("/t/index.html")},
			{name: "charset_types css", raw: g("/ct/assets/css/site.css")},
			{name: "charset_types json", raw: g("/ct/data.json")},
			{name: "charset_types html still", raw: g("/ct/index.html")},
			{name: "charset_types txt dropped", raw: g("/ct/robots.txt")},
			{name: "same charset", raw: g("/koi/robots.txt")},
			{name: "charset off", raw: g("/nocs/robots.txt")},
			{name: "return text", raw: g("/ret")},
			{name: "404 charset", raw: g("/nope")},
			{name: "301 no charset", raw: g("/blog")},
			{name: "empty types", raw: g("/empty-types/index.html")},
		}},
	})
}
