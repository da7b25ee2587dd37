package proxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
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
			// BACK is a socket each server listens on itself, for a
			// backend server block the front one proxies to.
			back := func(who string) string { return strings.ReplaceAll(site, "BACK", filepath.Join(dir, who+"-back.sock")) }
			nginx := startNginx(t, dir, back("nginx"))
			wisp, _ := startWisp(t, dir, back("wisp"))
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

func TestGzipAndConditionalsMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	gz := "Accept-Encoding: gzip, deflate, br\r\n"
	etag := `"65e6f1ee-5fa"` // blog/post.html: mtime 2024-03-05T10:20:30Z, 1530 bytes
	lm := "Tue, 05 Mar 2024 10:20:30 GMT"
	runSiteDiffs(t, []siteDiff{
		{name: "gzip site", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    include /etc/nginx/mime.types;
    gzip on;
    gzip_types text/plain text/css application/javascript application/json;
    gzip_min_length 256;
    gzip_vary on;
    gzip_comp_level 6;
    gzip_proxied expired no-cache no-store private auth;
    location /api/ {
        proxy_pass http://unix:SOCK:;
    }
    location /lvl9/ {
        alias DOCROOT/;
        gzip_comp_level 9;
        gzip_proxied any;
    }
    location /off/ {
        alias DOCROOT/;
        gzip off;
    }
    location /v10/ {
        alias DOCROOT/;
        gzip_http_version 1.0;
    }
    location /star/ {
        alias DOCROOT/;
        gzip_types *;
        gzip_min_length 1;
    }
}`, cases: []normCase{
			{name: "html", raw: g("/blog/post.html", gz), gunzip: true},
			{name: "css", raw: g("/assets/css/site.css", gz), gunzip: true},
			{name: "js", raw: g("/assets/app.js", gz), gunzip: true},
			{name: "short below min length", raw: g("/robots.txt", gz)},
			{name: "png not in types", raw: g("/img/logo.png", gz)},
			{name: "no accept-encoding", raw: g("/blog/post.html")},
			{name: "identity only", raw: g("/blog/post.html", "Accept-Encoding: identity\r\n")},
			{name: "uppercase GZIP", raw: g("/blog/post.html", "Accept-Encoding: GZIP\r\n"), gunzip: true},
			{name: "x-gzip", raw: g("/blog/post.html", "Accept-Encoding: x-gzip\r\n"), gunzip: true},
			{name: "star", raw: g("/blog/post.html", "Accept-Encoding: *\r\n")},
			{name: "gzip q=0.000", raw: g("/blog/post.html", "Accept-Encoding: gzip;q=0.000\r\n")},
			{name: "gzip q=0.001", raw: g("/blog/post.html", "Accept-Encoding: gzip; q=0.001\r\n"), gunzip: true},
			{name: "gzip q=1.0", raw: g("/blog/post.html", "Accept-Encoding: deflate;q=1.0, gzip;q=1.0\r\n"), gunzip: true},
			{name: "head", raw: hhead("site.test", "/blog/post.html", gz)},
			{name: "range with gzip", raw: g("/blog/post.html", gz+"Range: bytes=0-9\r\n"), gunzip: true},
			{name: "range without gzip", raw: g("/blog/post.html", "Range: bytes=0-9\r\n")},
			{name: "if-none-match strong with gzip", raw: g("/blog/post.html", gz+"If-None-Match: "+etag+"\r\n")},
			{name: "if-none-match weak with gzip", raw: g("/blog/post.html", gz+"If-None-Match: W/"+etag+"\r\n")},
			{name: "ims with gzip", raw: g("/blog/post.html", gz+"If-Modified-Since: "+lm+"\r\n")},
			{name: "via proxied expired", raw: g("/blog/post.html", gz+"Via: 1.1 cdn\r\n"), gunzip: true},
			{name: "via proxied auth", raw: g("/blog/post.html", gz+"Via: 1.1 cdn\r\nAuthorization: Bearer x\r\n"), gunzip: true},
			{name: "via proxied any", raw: g("/lvl9/blog/post.html", gz+"Via: 1.1 cdn\r\n"), gunzip: true},
			{name: "level 9", raw: g("/lvl9/blog/post.html", gz), gunzip: true},
			{name: "off", raw: g("/off/blog/post.html", gz)},
			{name: "http10 default", raw: "GET /blog/post.html HTTP/1.0\r\nHost: site.test\r\n" + gz + "\r\n"},
			{name: "http10 allowed", raw: "GET /v10/blog/post.html HTTP/1.0\r\nHost: site.test\r\n" + gz + "\r\n", gunzip: true},
			{name: "star types png", raw: g("/star/img/logo.png", gz), gunzip: true},
			{name: "404 page", raw: g("/nope", gz), gunzip: true},
			{name: "redirect page", raw: g("/blog", gz), gunzip: true},
			{name: "proxied", raw: g("/api/x", gz), gunzip: true},
			{name: "msie6", raw: g("/blog/post.html", gz+"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n"), gunzip: true},
		}},
		{name: "conditionals and ranges", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location /noetag/ {
        alias DOCROOT/;
        etag off;
    }
    location /before/ {
        alias DOCROOT/;
        if_modified_since before;
    }
    location /imsoff/ {
        alias DOCROOT/;
        if_modified_since off;
    }
    location /mr1/ {
        alias DOCROOT/;
        max_ranges 1;
    }
    location /mr0/ {
        alias DOCROOT/;
        max_ranges 0;
    }
}`, cases: []normCase{
			{name: "inm match", raw: g("/blog/post.html", "If-None-Match: "+etag+"\r\n")},
			{name: "inm star", raw: g("/blog/post.html", "If-None-Match: *\r\n")},
			{name: "inm mismatch ims match", raw: g("/blog/post.html", "If-None-Match: \"x\"\r\nIf-Modified-Since: "+lm+"\r\n")},
			{name: "inm match ims old", raw: g("/blog/post.html", "If-None-Match: "+etag+"\r\nIf-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n")},
			{name: "ims rfc850", raw: g("/blog/post.html", "If-Modified-Since: Tuesday, 05-Mar-24 10:20:30 GMT\r\n")},
			{name: "ims asctime", raw: g("/blog/post.html", "If-Modified-Since: Tue Mar  5 10:20:30 2024\r\n")},
			{name: "ims with length attr", raw: g("/blog/post.html", "If-Modified-Since: "+lm+"; length=1560\r\n")},
			{name: "ims later exact mode", raw: g("/blog/post.html", "If-Modified-Since: Wed, 06 Mar 2024 10:20:30 GMT\r\n")},
			{name: "ims later before mode", raw: g("/before/blog/post.html", "If-Modified-Since: Wed, 06 Mar 2024 10:20:30 GMT\r\n")},
			{name: "ims off", raw: g("/imsoff/blog/post.html", "If-Modified-Since: "+lm+"\r\n")},
			{name: "ims off inm", raw: g("/imsoff/blog/post.html", "If-None-Match: "+etag+"\r\n")},
			{name: "if-match star", raw: g("/blog/post.html", "If-Match: *\r\n")},
			{name: "if-match ok", raw: g("/blog/post.html", "If-Match: "+etag+"\r\n")},
			{name: "if-match weak", raw: g("/blog/post.html", "If-Match: W/"+etag+"\r\n")},
			{name: "ius equal", raw: g("/blog/post.html", "If-Unmodified-Since: "+lm+"\r\n")},
			{name: "ius garbage", raw: g("/blog/post.html", "If-Unmodified-Since: garbage\r\n")},
			{name: "ius and inm", raw: g("/blog/post.html", "If-Unmodified-Since: "+lm+"\r\nIf-None-Match: "+etag+"\r\n")},
			{name: "no etag inm", raw: g("/noetag/blog/post.html", "If-None-Match: "+etag+"\r\n")},
			{name: "no etag ims", raw: g("/noetag/blog/post.html", "If-Modified-Since: "+lm+"\r\n")},
			{name: "no etag if-match star", raw: g("/noetag/blog/post.html", "If-Match: *\r\n")},
			{name: "range spaces", raw: g("/blog/post.html", "Range: bytes= 0 - 3 , 5 - 6\r\n")},
			{name: "range uppercase unit", raw: g("/blog/post.html", "Range: BYTES=0-3\r\n")},
			{name: "range overlap", raw: g("/blog/post.html", "Range: bytes=0-10,5-15\r\n")},
			{name: "range zero length suffix", raw: g("/blog/post.html", "Range: bytes=-0\r\n")},
			{name: "range start after end", raw: g("/blog/post.html", "Range: bytes=10-5\r\n")},
			{name: "range trailing comma", raw: g("/blog/post.html", "Range: bytes=0-1,\r\n")},
			{name: "range one unsatisfiable of two", raw: g("/blog/post.html", "Range: bytes=0-1,5000-6000\r\n")},
			{name: "if-range date", raw: g("/blog/post.html", "Range: bytes=0-1\r\nIf-Range: "+lm+"\r\n")},
			{name: "if-range old date", raw: g("/blog/post.html", "Range: bytes=0-1\r\nIf-Range: Mon, 01 Jan 2001 00:00:00 GMT\r\n")},
			{name: "if-range weak etag", raw: g("/blog/post.html", "Range: bytes=0-1\r\nIf-Range: W/"+etag+"\r\n")},
			{name: "max_ranges 1 multi", raw: g("/mr1/blog/post.html", "Range: bytes=0-1,4-5\r\n")},
			{name: "max_ranges 1 single", raw: g("/mr1/blog/post.html", "Range: bytes=4-5\r\n")},
			{name: "max_ranges 0", raw: g("/mr0/blog/post.html", "Range: bytes=4-5\r\n")},
			{name: "head range", raw: hhead("site.test", "/blog/post.html", "Range: bytes=0-3\r\n")},
			{name: "range on 404", raw: g("/nope", "Range: bytes=0-3\r\n")},
			{name: "range on empty-ish file", raw: g("/robots.txt", "Range: bytes=0-\r\n")},
		}},
	})
}

func TestGzipProxiedMatchesNginx(t *testing.T) {
	g := func(path string, extra ...string) string {
		return hget("site.test", path, append([]string{"Accept-Encoding: gzip\r\nVia: 1.1 cdn\r\n"}, extra...)...)
	}
	body := strings.Repeat("proxied body long enough to compress. ", 20)
	runSiteDiffs(t, []siteDiff{
		{name: "gzip_proxied kinds", site: `
server {
    listen unix:BACK;
    location /past { add_header Expires "Thu, 01 Jan 1970 00:00:01 GMT"; return 200 "` + body + `"; }
    location /future { add_header Expires "Thu, 31 Dec 2037 23:55:55 GMT"; return 200 "` + body + `"; }
    location /badexp { add_header Expires "soon"; return 200 "` + body + `"; }
    location /nocache { add_header Cache-Control "no-cache"; return 200 "` + body + `"; }
    location /nostore { add_header Cache-Control "public, no-store"; return 200 "` + body + `"; }
    location /private { add_header Cache-Control "private=x"; return 200 "` + body + `"; }
    location /private2 { add_header Cache-Control "max-age=0,  private"; return 200 "` + body + `"; }
    location /public { add_header Cache-Control "public"; return 200 "` + body + `"; }
    location /lm { add_header Last-Modified "Tue, 05 Mar 2024 10:20:30 GMT"; return 200 "` + body + `"; }
    location /etag { add_header ETag '"x"'; return 200 "` + body + `"; }
    location / { return 200 "` + body + `"; }
}
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    gzip on;
    gzip_types text/plain;
    location /expired/ {
        proxy_pass http://unix:BACK:/;
        gzip_proxied expired;
    }
    location /cc/ {
        proxy_pass http://unix:BACK:/;
        gzip_proxied no-cache no-store private;
    }
    location /nolm/ {
        proxy_pass http://unix:BACK:/;
        gzip_proxied no_last_modified no_etag;
    }
    location /expires-directive/ {
        proxy_pass http://unix:BACK:/;
        gzip_proxied expired;
        expires -1h;
    }
    location /static-expired/ {
        alias DOCROOT/;
        gzip_proxied expired;
        expires epoch;
    }
    location /static-fresh/ {
        alias DOCROOT/;
        gzip_proxied expired;
        expires 1h;
    }
    location /static-nolm/ {
        alias DOCROOT/;
        gzip_proxied no_last_modified;
    }
}`, cases: []normCase{
			{name: "expired past", raw: g("/expired/past"), gunzip: true},
			{name: "expired future", raw: g("/expired/future")},
			{name: "expired unparsable", raw: g("/expired/badexp")},
			{name: "expired without Expires", raw: g("/expired/plain"), gunzip: true},
			{name: "expired with Cache-Control", raw: g("/expired/public")},
			{name: "expired with Last-Modified", raw: g("/expired/lm"), gunzip: true},
			{name: "no-cache", raw: g("/cc/nocache"), gunzip: true},
			{name: "no-store in list", raw: g("/cc/nostore"), gunzip: true},
			{name: "private with value", raw: g("/cc/private"), gunzip: true},
			{name: "private after spaces", raw: g("/cc/private2"), gunzip: true},
			{name: "public", raw: g("/cc/public")},
			{name: "cc flags but Expires", raw: g("/cc/past")},
			{name: "no_last_modified with Last-Modified", raw: g("/nolm/lm")},
			{name: "no_etag with ETag", raw: g("/nolm/etag")},
			{name: "no_last_modified plain", raw: g("/nolm/plain"), gunzip: true},
			{name: "expires directive replaces upstream", raw: g("/expires-directive/future"), gunzip: true, blank: []string{"Expires"}},
			{name: "static expired", raw: g("/static-expired/blog/post.html"), gunzip: true},
			{name: "static fresh", raw: g("/static-fresh/blog/post.html"), blank: []string{"Expires"}},
			{name: "static with Last-Modified", raw: g("/static-nolm/blog/post.html"), gunzip: true},
		}},
	})
}

func TestAccessAndErrorsMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	runSiteDiffs(t, []siteDiff{
		{name: "access internal error_page", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    server_tokens off;
    error_page 404 /404.html;
    location = /404.html {
        internal;
        return 404 "custom not found\n";
    }
    location /admin/ {
        alias DOCROOT/;
        allow 127.0.0.1;
        deny all;
    }
    location /lan/ {
        alias DOCROOT/;
        allow 10.0.0.0/8;
        allow 192.168.0.0/16;
        allow ::1;
        deny all;
    }
    location /v6only/ {
        alias DOCROOT/;
        allow 2001:db8::/32;
        deny all;
    }
    location /denyfirst/ {
        alias DOCROOT/;
        deny 127.0.0.0/8;
        allow all;
    }
    location /private/ {
        internal;
        alias DOCROOT/;
    }
    location /quiet/ {
        alias DOCROOT/;
        log_not_found off;
        error_page 404 =200 /robots.txt;
    }
    location /forbid/ {
        alias DOCROOT/;
        error_page 403 /404.html;
        deny all;
    }
    location /nested/ {
        alias DOCROOT/;
        deny all;
        location /nested/open/ {
            alias DOCROOT/;
            allow all;
        }
        location /nested/inherit/ {
            alias DOCROOT/;
        }
    }
}`, cases: []normCase{
			{name: "allowed loopback", raw: g("/admin/robots.txt")},
			{name: "lan denied", raw: g("/lan/robots.txt")},
			{name: "v6 rules and v4 client", raw: g("/v6only/robots.txt")},
			{name: "deny first", raw: g("/denyfirst/robots.txt")},
			{name: "internal from outside", raw: g("/private/robots.txt")},
			{name: "internal error page", raw: g("/404.html")},
			{name: "404 uses error page", raw: g("/missing")},
			{name: "error page with code", raw: g("/quiet/missing")},
			{name: "403 to error page", raw: g("/forbid/robots.txt")},
			{name: "nested open", raw: g("/nested/open/robots.txt")},
			{name: "nested inherits deny", raw: g("/nested/inherit/robots.txt")},
			{name: "server_tokens off 404", raw: g("/admin/missing")},
			{name: "head denied", raw: hhead("site.test", "/lan/robots.txt")},
		}},
		{name: "no error_page, plain errors", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location /up/ {
        proxy_pass http://unix:DOCROOT/no-such.sock:;
    }
    location /sym/ {
        alias DOCROOT/;
        disable_symlinks on;
    }
}`, cases: []normCase{
			{name: "502", raw: g("/up/x")},
			{name: "symlink refused", raw: g("/sym/link.txt")},
			{name: "405 for put", raw: "PUT /robots.txt HTTP/1.1\r\nHost: site.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
			{name: "msie padding", raw: g("/missing", "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0)\r\n")},
			{name: "keep-alive 404", raw: "GET /missing HTTP/1.1\r\nHost: site.test\r\n\r\n"},
		}},
	})
}

func TestBadRequestsMatchNginx(t *testing.T) {
	long := strings.Repeat("a", 9000)
	runSiteDiffs(t, []siteDiff{
		{name: "bad requests", site: `
server {
    listen LISTEN default_server;
    server_name site.test;
    root DOCROOT;
    location /p/ {
        proxy_pass http://unix:SOCK:;
    }
}
server {
    listen LISTEN;
    server_name other.test;
    return 200 "other\n";
}`, cases: []normCase{
			{name: "http11 without host", raw: "GET /robots.txt HTTP/1.1\r\nConnection: close\r\n\r\n"},
			{name: "http10 without host", raw: "GET /robots.txt HTTP/1.0\r\n\r\n"},
			{name: "empty host", raw: "GET /robots.txt HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n"},
			{name: "host with slash", raw: "GET /robots.txt HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n"},
			{name: "host with dotdot", raw: "GET /robots.txt HTTP/1.1\r\nHost: a..b\r\nConnection: close\r\n\r\n"},
			{name: "host with space", raw: "GET /robots.txt HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"},
			{name: "host uppercase and port", raw: "GET /robots.txt HTTP/1.1\r\nHost: OTHER.test:81\r\nConnection: close\r\n\r\n"},
			{name: "host trailing dot", raw: "GET /robots.txt HTTP/1.1\r\nHost: other.test.\r\nConnection: close\r\n\r\n"},
			{name: "host ipv6", raw: "GET /robots.txt HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n"},
			{name: "host bad ipv6", raw: "GET /robots.txt HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n"},
			{name: "duplicate host", raw: "GET /robots.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"},
			{name: "absolute form", raw: "GET http://other.test/x HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "absolute form https", raw: "GET https://other.test:8443/x?y HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "absolute form bad scheme", raw: "GET ftp://other.test/x HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "lowercase method", raw: "get /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "unknown method", raw: "FOO /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "method with digit", raw: "G3T /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "http2 version", raw: "GET /robots.txt HTTP/2.0\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "http 1.2", raw: "GET /robots.txt HTTP/1.2\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "version garbage", raw: "GET /robots.txt HTTX/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "uri without slash", raw: "GET robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "uri with space", raw: "GET /with space.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "bad percent", raw: "GET /%zz HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "header without colon", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nBogus\r\nConnection: close\r\n\r\n"},
			{name: "header name with space", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX Y: z\r\nConnection: close\r\n\r\n"},
			{name: "header without colon proxied", raw: "GET /p/x HTTP/1.1\r\nHost: site.test\r\nBogus\r\nX-After: 1\r\nConnection: close\r\n\r\n"},
			{name: "absolute form proxied", raw: "GET foo://site.test/p/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n"},
			{name: "fragment proxied", raw: "GET /p/x%41#frag HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "header with underscore", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX_Y: z\r\nConnection: close\r\n\r\n"},
			{name: "long header line", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX-Long: " + long + "\r\nConnection: close\r\n\r\n"},
			{name: "long uri", raw: "GET /" + long + " HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "many headers", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-Many: "+strings.Repeat("b", 1000)+"\r\n", 40) + "Connection: close\r\n\r\n"},
			{name: "expect 100-continue", raw: "PUT /robots.txt HTTP/1.1\r\nHost: site.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
			{name: "expect other", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nExpect: something\r\nConnection: close\r\n\r\n"},
			{name: "content-length and chunked", raw: "POST /robots.txt HTTP/1.1\r\nHost: site.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
			{name: "bad content-length", raw: "POST /robots.txt HTTP/1.1\r\nHost: site.test\r\nContent-Length: x\r\nConnection: close\r\n\r\n"},
			{name: "unknown transfer-encoding", raw: "POST /robots.txt HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n"},
			{name: "http10 chunked", raw: "POST /robots.txt HTTP/1.0\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
			{name: "bare LF", raw: "GET /robots.txt HTTP/1.1\nHost: site.test\nConnection: close\n\n"},
			{name: "nul in header", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n"},
			{name: "percent at end", raw: "GET /robots.txt% HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "percent one digit", raw: "GET /robots.txt%4 HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "bad percent in args", raw: "GET /robots.txt?a=%zz HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "fragment then args", raw: "GET /robots.txt#f?a=1 HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "args then fragment", raw: "GET /robots.txt?a=1#f HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "encoded hash", raw: "GET /robots%23.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "fragment in uri", raw: "GET /robots.txt#frag HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		}},
	})
}

// exchangeRaw sends raw and returns all the server wrote until it closed,
// Date blanked: for answers that are not one HTTP/1.x response.
func exchangeRaw(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(c, raw)
	must(t, err)
	b, _ := io.ReadAll(c)
	return dateRE.ReplaceAllString(string(b), "Date: *")
}

var dateRE = regexp.MustCompile(`Date: [^\r\n]*`)

func TestRawAnswersMatchNginx(t *testing.T) {
	root, _ := siteTree(t)
	dir := t.TempDir()
	site := strings.ReplaceAll(`
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
}`, "DOCROOT", root)
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	for _, tc := range []struct{ name, raw string }{
		{"two requests pipelined", "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n\r\nGET /nope HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"expect 100 then body", "POST /robots.txt HTTP/1.1\r\nHost: site.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchangeRaw(t, nginx, tc.raw), exchangeRaw(t, wisp, tc.raw)
			if n != w {
				t.Errorf("answers differ\nnginx:\n%q\nwisp:\n%q", n, w)
			}
		})
	}
}

// readLogLines waits a bounded while for n lines (nginx writes its line
// after the response has gone out) and returns them sorted.
func readLogLines(t *testing.T, path string, n int) string {
	t.Helper()
	var b []byte
	for i := 0; i < 200; i++ {
		b, _ = os.ReadFile(path)
		if strings.Count(string(b), "\n") >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sortedLines(logTimeRE.ReplaceAllString(string(b), "[TIME]"))
}

var logTimeRE = regexp.MustCompile(`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`)

// $body_bytes_sent counts what went to the client after the head: chunk
// framing included, compressed bytes for a gzipped body.
func TestBodyBytesSentMatchesNginx(t *testing.T) {
	root, _ := siteTree(t)
	dir := t.TempDir()
	sockC := filepath.Join(dir, "chunked.sock")
	startEcho(t, sockC, "chunked")
	sockK := filepath.Join(dir, "close.sock")
	startEcho(t, sockK, "close")
	sockE := filepath.Join(dir, "echo.sock")
	startEcho(t, sockE, "echo")
	site := func(who string) string {
		return `
log_format bytes '$request $status $body_bytes_sent';
server {
    listen LISTEN;
    server_name b.test;
    root ` + root + `;
    access_log ` + dir + `/` + who + `.log bytes;
    location /chunked/ { proxy_pass http://unix:` + sockC + `:; }
    location /close/ { proxy_pass http://unix:` + sockK + `:; }
    location /gz/ {
        proxy_pass http://unix:` + sockE + `:;
        gzip on;
        gzip_types text/plain;
        gzip_min_length 1;
    }
    location /gzchunked/ {
        proxy_pass http://unix:` + sockC + `:;
        gzip on;
        gzip_types text/plain;
    }
    location /static/ {
        alias ` + root + `/;
        gzip on;
    }
}
`
	}
	nginx := startNginx(t, dir, site("nginx"))
	wisp, stop := startWisp(t, dir, site("wisp"))
	gz := "Accept-Encoding: gzip\r\n"
	reqs := []string{
		hget("b.test", "/chunked/a"),
		"GET /chunked/b HTTP/1.0\r\nHost: b.test\r\n\r\n",
		hget("b.test", "/close/c"),
		"GET /close/d HTTP/1.0\r\nHost: b.test\r\n\r\n",
		"GET /gz/f HTTP/1.0\r\nHost: b.test\r\n" + gz + "\r\n",
		hhead("b.test", "/static/blog/post.html", gz),
		hget("b.test", "/static/blog/post.html", "Range: bytes=0-9,20-29\r\n"),
	}
	for _, raw := range reqs {
		exchange(t, nginx, raw)
		exchange(t, wisp, raw)
	}
	// Go's deflate and zlib make different bytes, so a compressed body's
	// count is checked against what wisp itself sent.
	gzReqs := []string{
		hget("b.test", "/gz/e", gz),
		hget("b.test", "/gzchunked/g", gz),
		hget("b.test", "/static/blog/post.html?gz", gz),
		hget("b.test", "/static/nope", gz),
	}
	var want []string
	for _, raw := range gzReqs {
		out := exchangeRaw(t, wisp, raw)
		_, body, _ := strings.Cut(out, "\r\n\r\n")
		line, _, _ := strings.Cut(raw, "\r\n")
		status := strings.Fields(out)[1]
		want = append(want, fmt.Sprintf("%s %s %d\n", line, status, len(body)))
	}
	stop()
	n := readLogLines(t, filepath.Join(dir, "nginx.log"), len(reqs))
	w := readLogLines(t, filepath.Join(dir, "wisp.log"), len(reqs)+len(gzReqs))
	if want := sortedLines(n + strings.Join(want, "")); w != want {
		t.Errorf("logs differ\nwant (nginx's lines and the gzip bodies' sizes):\n%s\nwisp:\n%s", want, w)
	}
}

// Without any access_log, requests go to logs/access.log under the
// prefix in the combined format, as nginx's built-in default; "access_log
// off" and an access_log at any level above replace it.
func TestDefaultAccessLog(t *testing.T) {
	root, _ := siteTree(t)
	dir := t.TempDir()
	nginxLog := filepath.Join(dir, "nginx-combined.log")
	// nginx (Debian's build) writes its default to /var/log/nginx, so it
	// is given the path; wisp gets no access_log at all.
	nginxSite := `
server {
    listen LISTEN;
    server_name d.test;
    root ` + root + `;
    access_log ` + nginxLog + `;
    location /quiet/ { access_log off; }
}`
	wispSite := `
server {
    listen LISTEN;
    server_name d.test;
    root ` + root + `;
    location /quiet/ { access_log off; }
}`
	nginx := startNginx(t, dir, nginxSite)
	wdir := t.TempDir()
	wisp, stop := startWisp(t, wdir, wispSite)
	reqs := []string{
		hget("d.test", "/robots.txt", "User-Agent: probe/1\r\nReferer: http://r.test/\r\n"),
		hget("d.test", "/nope"),
		hget("d.test", "/quiet/robots.txt"),
		hget("d.test", "/blog"),
	}
	for _, raw := range reqs {
		exchange(t, nginx, raw)
		exchange(t, wisp, raw)
	}
	stop()
	n := readLogLines(t, nginxLog, 3)
	w := readLogLines(t, filepath.Join(wdir, "logs", "access.log"), 3)
	if n != w {
		t.Errorf("default log differs from nginx's combined log\nnginx:\n%s\nwisp:\n%s", n, w)
	}

	for _, tc := range []struct{ name, site string }{
		{"http level off", "access_log off;\nserver {\n listen LISTEN;\n}\n"},
		{"http level file", "access_log " + filepath.Join(dir, "x.log") + ";\nserver {\n listen LISTEN;\n}\n"},
		{"every server its own", "server {\n listen LISTEN;\n access_log off;\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			_, stop := startWisp(t, d, tc.site)
			stop()
			if _, err := os.Stat(filepath.Join(d, "logs")); !os.IsNotExist(err) {
				t.Errorf("logs/ was made though no level uses the default log (stat: %v)", err)
			}
		})
	}
}
