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
			must(t, os.Symlink(root, filepath.Join(dir, "www"))) // for relative root/alias
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
		{name: "path variables", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    add_header X-Doc $document_root always;
    add_header X-File $request_filename always;
    add_header X-Real $realpath_root always;
    location / {
    }
    location /al/ {
        alias OTHER/;
        add_header X-Doc $document_root always;
        add_header X-File $request_filename always;
    }
    location /alnos {
        alias OTHER;
        add_header X-Doc $document_root always;
        add_header X-File $request_filename always;
    }
    location ~ ^/rx/(.*)$ {
        alias OTHER/$1;
        add_header X-Doc $document_root always;
        add_header X-File $request_filename always;
    }
    location /vr/ {
        root DOCROOT/$arg_d;
        add_header X-Doc $document_root always;
        add_header X-File $request_filename always;
    }
}`, cases: []normCase{
			{name: "root", raw: g("/robots.txt")},
			{name: "root missing", raw: g("/nope?x=1")},
			{name: "alias", raw: g("/al/o.txt")},
			{name: "alias without slash", raw: g("/alnos/o.txt")},
			{name: "regex alias", raw: g("/rx/o.txt")},
			{name: "root with variable", raw: g("/vr/x?d=blog")},
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
			{name: "ae no space list", raw: g("/blog/post.html", "Accept-Encoding: deflate,gzip\r\n"), gunzip: true},
			{name: "ae gzip2", raw: g("/blog/post.html", "Accept-Encoding: gzip2\r\n")},
			{name: "ae xgzip", raw: g("/blog/post.html", "Accept-Encoding: xgzip\r\n")},
			{name: "ae space before q", raw: g("/blog/post.html", "Accept-Encoding: gzip ;q=0\r\n")},
			{name: "ae q=0 spaces", raw: g("/blog/post.html", "Accept-Encoding: gzip; q=0 \r\n")},
			{name: "ae q=0.", raw: g("/blog/post.html", "Accept-Encoding: gzip;q=0.\r\n")},
			{name: "ae q=1.001", raw: g("/blog/post.html", "Accept-Encoding: gzip;q=1.001\r\n")},
			{name: "ae q=0.0001", raw: g("/blog/post.html", "Accept-Encoding: gzip;q=0.0001\r\n")},
			{name: "ae Q upper", raw: g("/blog/post.html", "Accept-Encoding: gzip;Q=0\r\n")},
			{name: "ae other param", raw: g("/blog/post.html", "Accept-Encoding: gzip;level=1\r\n")},
			{name: "ae gzip then identity", raw: g("/blog/post.html", "Accept-Encoding: gzip, identity;q=0\r\n"), gunzip: true},
			{name: "ae two gzip", raw: g("/blog/post.html", "Accept-Encoding: gzip;q=0, gzip\r\n")},
			{name: "ae tab", raw: g("/blog/post.html", "Accept-Encoding: br,\tgzip\r\n")},
			{name: "vary on 304", raw: g("/blog/post.html", gz+"If-None-Match: "+etag+"\r\n")},
			{name: "vary on 206 without gzip", raw: g("/blog/post.html", "Range: bytes=0-3\r\n")},
			{name: "vary on 404 small", raw: g("/nope", "Accept-Encoding: identity\r\n")},
			{name: "vary on type not listed", raw: g("/img/logo.png", "Accept-Encoding: identity\r\n")},
			{name: "vary on head without gzip", raw: hhead("site.test", "/blog/post.html")},
			{name: "proxied head", raw: hhead("site.test", "/api/x", gz)},
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
			{name: "request line 8190", raw: "GET /" + strings.Repeat("u", 8190-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "request line 8191", raw: "GET /" + strings.Repeat("u", 8191-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "request line 8192", raw: "GET /" + strings.Repeat("u", 8192-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "header line 8190", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX-L: " + strings.Repeat("h", 8190-len("X-L: ")) + "\r\nConnection: close\r\n\r\n"},
			{name: "header line 8191", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX-L: " + strings.Repeat("h", 8191-len("X-L: ")) + "\r\nConnection: close\r\n\r\n"},
			{name: "header line 8192", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nX-L: " + strings.Repeat("h", 8192-len("X-L: ")) + "\r\nConnection: close\r\n\r\n"},
			{name: "cookie too large", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nCookie: " + strings.Repeat("c", 9000) + "\r\nConnection: close\r\n\r\n"},
			{name: "head just over 32k", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-Many: "+strings.Repeat("b", 8000)+"\r\n", 4) + "Connection: close\r\n\r\n"},
			{name: "five 5000-byte headers", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-Five: "+strings.Repeat("f", 5000)+"\r\n", 5) + "Connection: close\r\n\r\n"},
			{name: "four 5000-byte headers", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-Four: "+strings.Repeat("f", 5000)+"\r\n", 4) + "Connection: close\r\n\r\n"},
			{name: "long request line then four 7000-byte headers", raw: "GET /" + strings.Repeat("r", 2000) + " HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-Seven: "+strings.Repeat("s", 7000)+"\r\n", 4) + "Connection: close\r\n\r\n"},
			{name: "long request line then three 7000-byte headers", raw: "GET /" + strings.Repeat("r", 2000) + " HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-Seven: "+strings.Repeat("s", 7000)+"\r\n", 3) + "Connection: close\r\n\r\n"},
			{name: "many small headers past 1k", raw: "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n" + strings.Repeat("X-S: 0123456789012345678901234567890123456789\r\n", 500) + "Connection: close\r\n\r\n"},
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
	_, port, _ := net.SplitHostPort(addr)
	return strings.ReplaceAll(dateRE.ReplaceAllString(string(b), "Date: *"), ":"+port, ":PORT")
}

var dateRE = regexp.MustCompile(`Date: [^\r\n]*`)

func TestRawAnswersMatchNginx(t *testing.T) {
	root, _ := siteTree(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startEcho(t, sock, "echo")
	site := strings.NewReplacer("DOCROOT", root, "SOCK", sock).Replace(`
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location /p/ {
        proxy_pass http://unix:SOCK:;
    }
}`)
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	for _, tc := range []struct{ name, raw string }{
		{"two requests pipelined", "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\n\r\nGET /nope HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"http10 keep-alive then close", "GET /robots.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nope HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"head then get", "HEAD /robots.txt HTTP/1.1\r\nHost: site.test\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"404 then 301 then 200", "GET /nope HTTP/1.1\r\nHost: site.test\r\n\r\nGET /blog HTTP/1.1\r\nHost: site.test\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"range then multipart", "GET /robots.txt HTTP/1.1\r\nHost: site.test\r\nRange: bytes=0-1\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: site.test\r\nRange: bytes=0-1,3-4\r\nConnection: close\r\n\r\n"},
		{"post with body then get", "POST /robots.txt HTTP/1.1\r\nHost: site.test\r\nContent-Length: 5\r\n\r\nhelloGET /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"post 404 with body then get", "POST /nope HTTP/1.1\r\nHost: site.test\r\nContent-Length: 3\r\n\r\nabcGET /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"proxied post then get", "POST /p/x HTTP/1.1\r\nHost: site.test\r\nContent-Length: 3\r\n\r\nabcGET /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
		{"expect 100 proxied", "POST /p/x HTTP/1.1\r\nHost: site.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
		{"expect 100 proxied http10", "POST /p/x HTTP/1.0\r\nHost: site.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"},
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
log_format all '$request $status $bytes_sent';
server {
    listen LISTEN;
    server_name b.test;
    root ` + root + `;
    access_log ` + dir + `/` + who + `.log bytes;
    access_log ` + dir + `/` + who + `-all.log all;
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
	// $bytes_sent: the same, head included, for the uncompressed ones.
	n = readLogLines(t, filepath.Join(dir, "nginx-all.log"), len(reqs))
	w = readLogLines(t, filepath.Join(dir, "wisp-all.log"), len(reqs)+len(gzReqs))
	for _, line := range strings.SplitAfter(n, "\n") {
		if !strings.Contains(w, line) {
			t.Errorf("$bytes_sent: nginx's line %q is not in wisp's log:\n%s", line, w)
		}
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

func TestProxiedFiltersMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	lm := "Tue, 05 Mar 2024 10:20:30 GMT"
	runSiteDiffs(t, []siteDiff{
		{name: "filters over a backend", site: `
server {
    listen unix:BACK;
    root DOCROOT;
    location /dyn { add_header Last-Modified "` + lm + `"; add_header ETag '"abc"'; return 200 "dynamic body\n"; }
    location /ranged { add_header Accept-Ranges bytes; add_header Last-Modified "` + lm + `"; return 200 "0123456789\n"; }
    location /html { default_type text/html; return 200 "<p>html</p>\n"; }
    location /withcs { add_header Content-Type "text/html; charset=koi8-r"; return 200 "<p>cs</p>\n"; }
    location /r404 { return 404; }
    location /rel { return 302 /robots.txt; }
}
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location / {
        proxy_pass http://unix:BACK:;
    }
    location /f/ {
        proxy_pass http://unix:BACK:/;
        charset utf-8;
        server_tokens off;
        add_header X-F f;
        expires modified 1h;
    }
    location /ie/ {
        proxy_pass http://unix:BACK:/;
        proxy_intercept_errors on;
        error_page 404 /robots.txt;
    }
}`, cases: []normCase{
			{name: "ims on proxied", raw: g("/dyn", "If-Modified-Since: "+lm+"\r\n")},
			{name: "inm on proxied", raw: g("/dyn", "If-None-Match: \"abc\"\r\n")},
			{name: "if-match fails on proxied", raw: g("/dyn", "If-Match: \"zzz\"\r\n")},
			{name: "if-match star on return", raw: g("/dyn", "If-Match: *\r\n")},
			{name: "inm star on return", raw: g("/dyn", "If-None-Match: *\r\n")},
			{name: "inm star and ims on return", raw: g("/dyn", "If-None-Match: *\r\nIf-Modified-Since: "+lm+"\r\n")},
			{name: "inm star on return head", raw: hhead("site.test", "/html", "If-None-Match: *\r\n")},
			{name: "ius on proxied", raw: g("/dyn", "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n")},
			{name: "range on proxied", raw: g("/dyn", "Range: bytes=0-3\r\n")},
			{name: "range on proxied with accept-ranges", raw: g("/ranged", "Range: bytes=0-3\r\n")},
			{name: "multi range on proxied", raw: g("/ranged", "Range: bytes=0-1,4-5\r\n")},
			{name: "bad range on proxied", raw: g("/ranged", "Range: bytes=50-\r\n")},
			{name: "if-range on proxied", raw: g("/ranged", "Range: bytes=0-3\r\nIf-Range: "+lm+"\r\n")},
			{name: "head proxied", raw: hhead("site.test", "/dyn")},
			{name: "charset html proxied", raw: g("/f/html"), blank: []string{"Expires", "Cache-Control"}},
			{name: "upstream charset kept", raw: g("/f/withcs"), blank: []string{"Expires", "Cache-Control"}},
			{name: "expires modified proxied", raw: g("/f/dyn"), blank: []string{"Expires", "Cache-Control"}},
			{name: "proxied 404 tokens off", raw: g("/f/r404")},
			{name: "proxied relative redirect", raw: g("/f/rel")},
			{name: "intercepted 404", raw: g("/ie/r404")},
		}},
		{name: "redirect idioms", site: `
server {
    listen LISTEN;
    server_name site.test www.site.test;
    root DOCROOT;
    if ($host = www.site.test) {
        return 301 $scheme://site.test$request_uri;
    }
    location /old/ {
        rewrite ^/old/(.*)$ /blog/$1 permanent;
    }
    location /tmp/ {
        rewrite ^/tmp/(.*)$ /blog/$1 redirect;
    }
    location = /go {
        return 302 /blog/?from=go;
    }
    location /int/ {
        rewrite ^/int/(.*)$ /blog/$1 last;
    }
    location ~ ^/u/([a-z]+)$ {
        return 301 /blog/$1.html;
    }
    error_page 404 = @fallback;
    location @fallback {
        return 302 /;
    }
}`, cases: []normCase{
			{name: "www to bare", raw: hget("www.site.test", "/blog/post.html?x=1")},
			{name: "permanent", raw: g("/old/post.html")},
			{name: "permanent with args", raw: g("/old/post.html?a=b")},
			{name: "redirect", raw: g("/tmp/x")},
			{name: "return with args", raw: g("/go?y=2")},
			{name: "internal rewrite", raw: g("/int/post.html")},
			{name: "internal rewrite dir", raw: g("/int/")},
			{name: "named capture", raw: g("/u/post")},
			{name: "404 to named", raw: g("/missing")},
		}},
		{name: "index variants", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    location /a/ {
        alias DOCROOT/;
        index missing.html blog index.html;
    }
    location /b/ {
        alias DOCROOT/;
        index /robots.txt;
    }
    location /c/ {
        alias DOCROOT/;
        index $arg_i index.html;
    }
    location /d/ {
        alias DOCROOT/;
        index index.htm;
    }
    location = /robots.txt {
        add_header X-Robots yes;
    }
}`, cases: []normCase{
			{name: "dir as index skipped", raw: g("/a/")},
			{name: "absolute index", raw: g("/b/blog/")},
			{name: "variable index", raw: g("/c/?i=robots.txt")},
			{name: "variable index empty", raw: g("/c/")},
			{name: "no index file 403", raw: g("/d/")},
			{name: "no index file subdir", raw: g("/d/htm/")},
			{name: "missing dir with slash", raw: g("/d/nodir/")},
			{name: "file with slash", raw: g("/d/robots.txt/")},
		}},
	})
}

// Bad requests and refused ones are logged like any other, in the log of
// the server that answered.
func TestErrorAccessLogMatchesNginx(t *testing.T) {
	root, _ := siteTree(t)
	dir := t.TempDir()
	site := func(who string) string {
		return `
log_format all '$remote_addr "$request" $status $body_bytes_sent "$http_host" "$host" "$uri" "$args" "$http_user_agent"';
server {
    listen LISTEN default_server;
    server_name first.test;
    root ` + root + `;
    access_log ` + dir + `/` + who + `.log all;
    location /deny/ { deny all; }
    location /int/ { internal; }
}
server {
    listen LISTEN;
    server_name second.test;
    access_log ` + dir + `/` + who + `-second.log all;
    return 204;
}
`
	}
	nginx := startNginx(t, dir, site("nginx"))
	wisp, stop := startWisp(t, dir, site("wisp"))
	reqs := []string{
		"GET /robots.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET /robots.txt HTTP/1.1\r\nHost: a/b\r\nUser-Agent: after-host\r\nConnection: close\r\n\r\n",
		"GET /robots.txt HTTP/1.1\r\nUser-Agent: before-host\r\nHost: a..b\r\nConnection: close\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: second.test\r\nConnection: close\r\n\r\n",
		"GET /../x HTTP/1.1\r\nHost: second.test\r\nConnection: close\r\n\r\n",
		"FOO /robots.txt HTTP/1.1\r\nHost: second.test\r\nConnection: close\r\n\r\n",
		"GET /deny/x HTTP/1.1\r\nHost: first.test\r\nConnection: close\r\n\r\n",
		"GET /int/x?a=1 HTTP/1.1\r\nHost: first.test\r\nConnection: close\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: SECOND.test:99\r\nConnection: close\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: second.test\r\nX-Long: " + strings.Repeat("v", 9000) + "\r\nConnection: close\r\n\r\n",
		"GET /robots.txt HTTP/1.0\r\n\r\n",
	}
	for _, raw := range reqs {
		exchange(t, nginx, raw)
		exchange(t, wisp, raw)
	}
	stop()
	for _, name := range []string{"", "-second"} {
		// wisp's log is whole once it stopped; nginx's worker writes each
		// line after its response, so wait for as many lines there.
		w := readLogLines(t, filepath.Join(dir, "wisp"+name+".log"), 1)
		n := readLogLines(t, filepath.Join(dir, "nginx"+name+".log"), strings.Count(w, "\n"))
		if n != w {
			t.Errorf("%s log differs\nnginx:\n%s\nwisp:\n%s", name, n, w)
		}
	}
}

// disable_symlinks if_not_owner follows a link only to a file of the
// link's owner; from= leaves the start of the path unchecked.
func TestSymlinkPoliciesMatchNginx(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test changes a link's owner: run it as root (the differential suite's nginx runs as root too)")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	must(t, os.MkdirAll(root+"/real", 0o755))
	must(t, os.WriteFile(root+"/real/f.txt", []byte("real file\n"), 0o644))
	must(t, os.Symlink(root+"/real/f.txt", root+"/own.txt"))
	must(t, os.Symlink(root+"/real/f.txt", root+"/foreign.txt"))
	must(t, os.Lchown(root+"/foreign.txt", 65534, 65534))
	must(t, os.Symlink(root+"/real", root+"/dirlink"))
	must(t, os.Symlink(root, dir+"/wwwlink"))
	must(t, os.Chmod(dir, 0o755))
	site := `
server {
    listen LISTEN;
    server_name s.test;
    location /owner/ {
        alias ` + root + `/;
        disable_symlinks if_not_owner;
    }
    location /on/ {
        alias ` + root + `/;
        disable_symlinks on;
    }
    location /viafrom/ {
        alias ` + dir + `/wwwlink/;
        disable_symlinks on from=` + dir + `/wwwlink;
    }
    location /viadocroot/ {
        root ` + dir + `/wwwlink;
        disable_symlinks on from=$document_root;
    }
    location /nofrom/ {
        alias ` + dir + `/wwwlink/;
        disable_symlinks on;
    }
}`
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	g := func(p string) string { return hget("s.test", p) }
	runNormDiff(t, nginx, wisp, []normCase{
		{name: "own link followed", raw: g("/owner/own.txt")},
		{name: "foreign link refused", raw: g("/owner/foreign.txt")},
		{name: "own dir link", raw: g("/owner/dirlink/f.txt")},
		{name: "plain file", raw: g("/owner/real/f.txt")},
		{name: "on refuses own link", raw: g("/on/own.txt")},
		{name: "on dir link", raw: g("/on/dirlink/f.txt")},
		{name: "link in from part", raw: g("/viafrom/real/f.txt")},
		{name: "link after from part", raw: g("/viafrom/own.txt")},
		{name: "from document_root", raw: g("/viadocroot/real/f.txt")},
		{name: "link without from", raw: g("/nofrom/real/f.txt")},
		{name: "missing under from", raw: g("/viafrom/nope")},
	})
}

func TestHeadBufferPacking(t *testing.T) {
	line := func(n int) string { return "X: " + strings.Repeat("v", n-5) + "\r\n" } // n bytes with CRLF
	tests := []struct {
		name string
		head string
		want int
	}{
		{"small head", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"four lines of 5000 move into four buffers", "GET / HTTP/1.1\r\n" + strings.Repeat(line(5000), 4) + "\r\n", 0},
		{"a fifth needs a fifth buffer", "GET / HTTP/1.1\r\n" + strings.Repeat(line(5000), 5) + "\r\n", 494},
		{"small lines pack eight k each", "GET / HTTP/1.1\r\n" + strings.Repeat(line(100), 300) + "\r\n", 0},
		{"a line ending on a buffer's last byte fits", "GET / HTTP/1.1\r\n" + line(1024-16) + "\r\n", 0},
	}
	for _, tc := range tests {
		if got := headBufferStatus([]byte(tc.head)); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestErrorPagesAndIdiomsMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	runSiteDiffs(t, []siteDiff{
		{name: "static error pages", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    include /etc/nginx/mime.types;
    error_page 404 /blog/index.html;
    error_page 403 =200 /robots.txt;
    error_page 405 =404 /noext;
    location = / {
        index index.html;
    }
    location = /index.html {
        add_header X-Index yes;
    }
    location /deny/ {
        deny all;
    }
    location /gz/ {
        gzip on;
        alias DOCROOT/;
        error_page 404 /blog/post.html;
    }
    location /ims/ {
        alias DOCROOT/;
        error_page 404 /robots.txt;
    }
}`, cases: []normCase{
			{name: "404 to static page", raw: g("/missing")},
			{name: "404 to static page head", raw: hhead("site.test", "/missing")},
			{name: "403 to 200 page", raw: g("/deny/x")},
			{name: "405 to 404 page", raw: "DELETE /robots.txt HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"},
			{name: "exact root index", raw: g("/")},
			{name: "error page with range", raw: g("/missing", "Range: bytes=0-3\r\n")},
			{name: "error page with inm", raw: g("/missing", "If-None-Match: \"65e6f1ee-e\"\r\n")},
			{name: "error page with ims", raw: g("/ims/missing", "If-Modified-Since: Tue, 05 Mar 2024 10:20:30 GMT\r\n")},
			{name: "gzip error page static", raw: g("/gz/missing", "Accept-Encoding: gzip\r\n"), gunzip: true},
		}},
		{name: "error pages from files and upstreams", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    error_page 500 502 503 504 /50x.html;
    location = /50x.html {
        root OTHER;
        try_files /index.html =500;
    }
    location /down/ {
        proxy_pass http://unix:DOCROOT/nothing.sock:;
    }
    location /eq/ {
        error_page 404 = /robots.txt;
    }
    location /eqnamed/ {
        error_page 404 = @up;
    }
    location @up {
        proxy_pass http://unix:SOCK:;
    }
    location /code/ {
        return 503;
    }
}`, cases: []normCase{
			{name: "502 page from file", raw: g("/down/x")},
			{name: "503 page from file", raw: g("/code/x")},
			{name: "= takes the page's status", raw: g("/eq/missing")},
			{name: "= to named proxied", raw: g("/eqnamed/missing?a=1")},
			{name: "head 502 page", raw: hhead("site.test", "/down/x")},
		}},
		{name: "expires by content type", site: `
map $sent_http_content_type $expires {
    default    off;
    text/html  epoch;
    text/css   max;
    ~image/    1h;
}
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    include /etc/nginx/mime.types;
    expires $expires;
    location /p/ {
        proxy_pass http://unix:BACK:/;
    }
    location = /ret.html {
        return 200 "html text";
    }
}
server {
    listen unix:BACK;
    location /html { default_type text/html; return 200 "<p>x</p>"; }
    location /text { return 200 "x"; }
}`, cases: []normCase{
			{name: "html epoch", raw: g("/index.html")},
			{name: "css max", raw: g("/assets/css/site.css")},
			{name: "png 1h", raw: g("/img/logo.png"), blank: []string{"Expires"}},
			{name: "txt off", raw: g("/robots.txt")},
			{name: "404", raw: g("/nope")},
			{name: "redirect page html", raw: g("/blog")},
			{name: "proxied html", raw: g("/p/html")},
			{name: "proxied text", raw: g("/p/text")},
			{name: "return html", raw: g("/ret.html")},
		}},
	})
}

func TestCommonSiteSnippetsMatchNginx(t *testing.T) {
	g := func(path string, extra ...string) string { return hget("site.test", path, extra...) }
	runSiteDiffs(t, []siteDiff{
		{name: "hidden files and asset rules", site: `
server {
    listen LISTEN;
    server_name site.test;
    root DOCROOT;
    index index.html index.htm;
    include /etc/nginx/mime.types;
    location ~ /\.well-known {
        allow all;
    }
    location ~ /\. {
        deny all;
        access_log off;
        log_not_found off;
    }
    location ~* \.(jpg|jpeg|gif|png|css|js|ico|xml)$ {
        access_log off;
        log_not_found off;
        expires 360d;
    }
    location / {
        if (!-e $request_filename) {
            rewrite ^ /index.html last;
        }
    }
    location /f/ {
        if (-f $request_filename) {
            return 299;
        }
        if (-d $request_filename) {
            return 298;
        }
    }
}`, cases: []normCase{
			{name: "dotfile denied", raw: g("/.git/config")},
			{name: "dot htaccess", raw: g("/.htaccess")},
			{name: "well-known allowed but missing", raw: g("/.well-known/x")},
			{name: "asset expires", raw: g("/assets/app.js"), blank: []string{"Expires"}},
			{name: "missing asset", raw: g("/x.png"), blank: []string{"Expires"}},
			{name: "xml expires", raw: g("/feed.xml"), blank: []string{"Expires"}},
			{name: "missing page falls to index", raw: g("/app/route")},
			{name: "existing page", raw: g("/robots.txt")},
			{name: "dir", raw: g("/blog/")},
			{name: "if -f", raw: g("/f/")},
		}},
		{name: "relative root", site: `
server {
    listen LISTEN;
    server_name site.test;
    root www;
    location /rel/ {
        alias www/blog/;
    }
}`, cases: []normCase{
			{name: "relative root file", raw: g("/robots.txt")},
			{name: "relative alias", raw: g("/rel/index.html")},
		}},
	})
}
