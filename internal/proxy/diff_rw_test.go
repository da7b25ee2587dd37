package proxy

// Differential hunt over the rewrite module, map, error_page, named
// locations and proxy_pass URI rules: configs of the kind blog owners
// write, each run through real nginx and wisp with a dozen requests.
// Every row that once differed stays as a regression row.

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"wisp/internal/ngxconf"
)

// escapedInputs are request paths with escapes, pluses and odd bytes that
// redirects and proxy_pass must carry as nginx does.
var escapedInputs = []struct{ name, path string }{
	{"plain", "/old/a/b?x=1"},
	{"space escape", "/old/a%20b"},
	{"plus", "/old/a+b?y=a+b"},
	{"escaped slash", "/old/a%2Fb"},
	{"escaped question mark", "/old/a%3Fb?q=1"},
	{"escaped hash", "/old/a%23b"},
	{"escaped percent", "/old/100%25"},
	{"escaped ampersand and equals", "/old/a%26b%3Dc"},
	{"utf-8 escaped", "/old/caf%C3%A9"},
	{"utf-8 raw", "/old/caf\xc3\xa9"},
	{"escaped letters", "/old/%61%62c"},
	{"double slash", "/old//a//b"},
	{"dot segments", "/x/../old/./a"},
	{"escaped dot segments", "/old/a/%2e%2e/b"},
	{"quote and angle brackets", "/old/a%22b%3Cc%3E"},
	{"escaped semicolon and comma", "/old/a%3Bb%2Cc"},
	{"escaped tilde and star", "/old/a%7Eb%2Ac"},
	{"escaped control byte", "/old/a%01b"},
	{"escaped apostrophe and brackets", "/old/a%27b%5Bc%5D"},
}

// escapedCases runs every input under /PREFIX/. A return sends its
// captures unescaped, so a control byte would make a header neither side
// can parse: those prefixes skip it.
func escapedCases(prefix string, unescaped bool) []diffCase {
	var cs []diffCase
	for _, in := range escapedInputs {
		if unescaped && in.name == "escaped control byte" {
			continue
		}
		cs = append(cs, diffCase{name: prefix + " " + in.name, raw: get(prefixPath(prefix, in.path))})
	}
	return cs
}

// prefixPath swaps the leading /old/ of an input for /PREFIX/.
func prefixPath(prefix, path string) string {
	const old = "/old/"
	for i := 0; i+len(old) <= len(path); i++ {
		if path[i:i+len(old)] == old {
			return path[:i] + "/" + prefix + "/" + path[i+len(old):]
		}
	}
	return path
}

func TestRedirectCapturesEscapeAsNginx(t *testing.T) {
	var cases []diffCase
	for _, p := range []string{"old", "perm", "ext", "ret", "retq", "retcap", "rwargs", "last", "brk", "rq", "loc", "setv", "named"} {
		cases = append(cases, escapedCases(p, strings.HasPrefix(p, "ret"))...)
	}
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    rewrite ^/old/(.*)$ /new/$1 redirect;
    rewrite ^/perm/(.*)$ /new/$1 permanent;
    rewrite ^/ext/(.*)$ https://example.com/$1;
    location /ret/ {
        rewrite ^/ret/(.*)$ /x;
        return 301 https://example.com/$1;
    }
    location ~ ^/retq/(.*)$ { return 301 https://example.com/q?u=$1; }
    location ~ ^/retcap/(?<rest>.*)$ { return 302 /new/$rest$is_args$args; }
    location /rwargs/ { rewrite ^/rwargs/(.*)$ /new?path=$1 redirect; }
    location /last/ { rewrite ^/last/(.*)$ /new/$1 last; }
    location /brk/ {
        rewrite ^/brk/(.*)$ /b/$1 break;
        proxy_pass http://unix:SOCK:/up/;
    }
    location /rq/ { rewrite ^/rq/(.*)$ /new/$1?k=$1 last; }
    location ~ ^/loc/(.*)$ { proxy_pass http://unix:SOCK:/l/$1; }
    location /setv/ {
        if ($uri ~ ^/setv/(.*)$) { set $rest $1; }
        return 200 "rest=$rest uri=$uri ru=$request_uri";
    }
    location /named/ {
        try_files /nonexistent @n;
    }
    location @n { rewrite ^/named/(.*)$ /new/$1?n=$1 redirect; }
    location /new/ { proxy_pass http://unix:SOCK:/backend/; }
    location = /new { proxy_pass http://unix:SOCK; }
}
`, cases)
}

// req builds a raw request with its method, host and extra header lines.
func req(method, host, path string, headers ...string) string {
	h := ""
	for _, x := range headers {
		h += x + "\r\n"
	}
	if method == "POST" || method == "PUT" {
		h += "Content-Length: 0\r\n"
	}
	return method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + h + "Connection: close\r\n\r\n"
}

func TestCanonicalHostRedirectsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name www.blog.test;
    return 301 https://blog.test$request_uri;
}
server {
    listen LISTEN;
    server_name old.blog.test;
    rewrite ^ https://blog.test$request_uri? permanent;
}
server {
    listen LISTEN;
    server_name legacy.blog.test;
    rewrite ^(.*)$ https://blog.test$1 permanent;
}
server {
    listen LISTEN;
    server_name blog.test alias.blog.test;
    if ($host != "blog.test") { return 301 $scheme://blog.test$request_uri; }
    if ($http_x_forwarded_proto = "http") { return 301 https://$host$request_uri; }
    location / { proxy_pass http://unix:SOCK; }
    location = /feed { return 301 /rss/; }
    location = /rss { return 302 $scheme://$host/rss/$is_args$args; }
    location /tag { rewrite ^/tag/(.+?)/?$ /tags/$1/ permanent; }
    location /amp/ { rewrite ^/amp/(.*)/?$ /$1 permanent; }
    location ~ "^/(\d{4})/(\d{2})/(.+)$" { return 301 /$3; }
    location ~* \.(php|asp|aspx)$ { return 410; }
    location ~* ^/wp- { return 403; }
}
`, []diffCase{
		{name: "www to apex keeps path and args", raw: req("GET", "www.blog.test", "/a/b?x=1&y=%20")},
		{name: "www to apex, escaped path", raw: req("GET", "www.blog.test", "/caf%C3%A9/%2F?q")},
		{name: "rewrite to apex with ? keeps escapes untouched up to ?", raw: req("GET", "old.blog.test", "/a%2Fb%20c?z=%2F")},
		{name: "rewrite to apex, %3F in path", raw: req("GET", "old.blog.test", "/a%3Fb/c%2F?z=1")},
		{name: "rewrite with capture to apex", raw: req("GET", "legacy.blog.test", "/p/caf%C3%A9+x?u=1")},
		{name: "rewrite with capture to apex, plain", raw: req("GET", "legacy.blog.test", "/p/q")},
		{name: "alias host to canonical", raw: req("GET", "alias.blog.test", "/x?y")},
		{name: "forwarded http to https", raw: req("GET", "blog.test", "/x?y", "X-Forwarded-Proto: http")},
		{name: "canonical host proxied", raw: req("GET", "blog.test", "/post/?a=b")},
		{name: "canonical host with port in Host", raw: req("GET", "blog.test:8080", "/post/")},
		{name: "uppercase Host", raw: req("GET", "BLOG.test", "/post/")},
		{name: "relative return made absolute", raw: req("GET", "blog.test", "/feed?x=1")},
		{name: "scheme and is_args", raw: req("GET", "blog.test", "/rss?x=1")},
		{name: "scheme and is_args without args", raw: req("GET", "blog.test", "/rss")},
		{name: "lazy capture and optional slash", raw: req("GET", "blog.test", "/tag/go/")},
		{name: "lazy capture without slash", raw: req("GET", "blog.test", "/tag/go")},
		{name: "amp suffix", raw: req("GET", "blog.test", "/amp/my-post/")},
		{name: "date permalink", raw: req("GET", "blog.test", "/2024/05/my-post/?utm=1")},
		{name: "php probe gone, caseless", raw: req("GET", "blog.test", "/xmlrpc.PHP")},
		{name: "wp probe forbidden", raw: req("GET", "blog.test", "/WP-login")},
		{name: "HEAD of a redirect", raw: "HEAD /feed HTTP/1.1\r\nHost: blog.test\r\nConnection: close\r\n\r\n"},
		{name: "HTTP/1.0 without Host", raw: "GET /feed HTTP/1.0\r\n\r\n"},
		{name: "absolute-form target", raw: "GET http://www.blog.test/abs?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"},
	})
}

func TestRewriteLoopsAndFlagsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    location / { proxy_pass http://unix:SOCK; }
    location /a/ { rewrite ^/a/(.*)$ /b/$1 last; }
    location /b/ { rewrite ^/b/(.*)$ /a/$1 last; }
    location /n/ { rewrite ^/n/(\d)(.*)$ /n/$2 last; return 200 "done $uri"; }
    location /chain/ {
        rewrite ^/chain/1$ /chain/2;
        rewrite ^/chain/2$ /chain/3;
        rewrite ^/chain/3$ /chain/4 last;
        return 200 "not reached";
    }
    location = /chain/4 { return 200 "chain end $uri $args"; }
    location /nolast/ {
        rewrite ^/nolast/(.*)$ /other/$1;
        return 200 "after rewrite $uri";
    }
    location /other/ { return 200 "other $uri"; }
    location /ifbrk/ {
        if ($arg_stop) {
            rewrite ^ /stopped break;
        }
        rewrite ^ /other/fallthrough last;
    }
    location = /stopped { return 200 "never"; }
    location /brkproxy/ {
        if ($arg_x) { rewrite ^/brkproxy/(.*)$ /fromif/$1 break; }
        proxy_pass http://unix:SOCK:/up/;
    }
    location /empty/ { rewrite ^/empty/(.*)$ $1 last; }
    location /args/ {
        rewrite ^/args/a$ /other/a?n=1 last;
        rewrite ^/args/b$ /other/b?n=1? last;
        rewrite ^/args/c$ /other/c?$arg_none last;
        rewrite ^/args/d$ /other/d? last;
        rewrite ^/args/e$ /other/e?n=1 redirect;
        rewrite ^/args/f$ /other/f?$arg_none redirect;
        rewrite ^/args/g$ /other/g? redirect;
        rewrite ^/args/h$ /other/h?? redirect;
    }
    location /srvlast/ { return 200 "srv $uri"; }
}
server {
    listen LISTEN;
    server_name srv.test;
    rewrite ^/x/(.*)$ /srvlast/$1 last;
    rewrite ^/srvlast/(.*)$ /twice/$1;
    location / { return 200 "uri=$uri args=$args"; }
}
`, []diffCase{
		{name: "ping-pong last hits the cycle limit", raw: get("/a/x")},
		{name: "nine changes are fine", raw: get("/n/123456789x")},
		{name: "ten changes are fine", raw: get("/n/1234567890x")},
		{name: "eleven changes are a cycle", raw: get("/n/12345678901x")},
		{name: "rewrites without flag chain, last ends", raw: get("/chain/1?q=1")},
		{name: "rewrite without flag then return in the same location", raw: get("/nolast/z")},
		{name: "break inside if", raw: get("/ifbrk/?stop=1")},
		{name: "if not taken falls through", raw: get("/ifbrk/")},
		{name: "rewrite break inside if keeps proxy_pass", raw: get("/brkproxy/p?x=1")},
		{name: "rewrite break inside if not taken", raw: get("/brkproxy/p")},
		{name: "empty rewritten URI", raw: get("/empty/")},
		{name: "new args and old", raw: get("/args/a?o=1")},
		{name: "trailing ? after new args", raw: get("/args/b?o=1")},
		{name: "empty new args keep old after &", raw: get("/args/c?o=1")},
		{name: "trailing ? drops", raw: get("/args/d?o=1")},
		{name: "redirect new args and old", raw: get("/args/e?o=1")},
		{name: "redirect empty new args", raw: get("/args/f?o=1")},
		{name: "redirect trailing ?", raw: get("/args/g?o=1")},
		{name: "redirect double ?", raw: get("/args/h?o=1")},
		{name: "redirect empty new args without old", raw: get("/args/f")},
		{name: "server-level last does not rerun server rewrites", raw: req("GET", "srv.test", "/x/y?k=v")},
	})
}

func TestIfSetAndVariablesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    root /tmp;
    location / { proxy_pass http://unix:SOCK; }
    location /m/ {
        if ($request_method = POST) { return 405 "no posts"; }
        if ($request_method !~ ^(GET|HEAD)$) { return 444; }
        return 200 "ok $request_method";
    }
    location /ua/ {
        if ($http_user_agent ~* (bot|spider|crawl)) { return 403 "bot: $1"; }
        if ($http_user_agent ~ "^Mozilla/(\d+)") { set $mv $1; }
        if ($http_user_agent = "") { return 400 "empty ua"; }
        return 200 "mv=$mv";
    }
    location /files/ {
        if (-f $request_filename) { return 200 "file $request_filename"; }
        if (-d $request_filename) { return 200 "dir $request_filename"; }
        if (!-e $request_filename) { return 200 "none $request_filename $document_root"; }
        return 200 "other";
    }
    location /cat/ {
        set $a "x";
        set $b "${a}y";
        set $c "$a-$b-$uri";
        set $a "z";
        set $empty "";
        return 200 "a=$a b=$b c=$c e=[$empty]";
    }
    location /cap/ {
        if ($uri ~ ^/cap/(?<first>[^/]+)/(?<second>.*)$) { }
        if ($arg_x ~ (\d+)) { }
        return 200 "first=$first second=$second one=$1";
    }
    location ~ ^/lc/(?<slug>[a-z-]+)/?$ {
        return 200 "slug=$slug uri=$uri";
    }
    location /args/ {
        if ($args ~ (^|&)utm_[^&]*) { set $args ""; }
        if ($arg_page = "") { set $page 1; }
        if ($arg_page) { set $page $arg_page; }
        return 200 "page=$page args=$args is=$is_args q=$query_string";
    }
    location /argsproxy/ {
        if ($args ~ (^|&)utm_) { set $args ""; }
        proxy_pass http://unix:SOCK;
    }
    location /argsedit/ {
        set $args "$args&added=1";
        proxy_pass http://unix:SOCK;
    }
    location /http/ {
        return 200 "h=$http_x_custom_header hu=$http_X_CUSTOM_HEADER c=$cookie_session a=$arg_A ct=$content_type cl=$content_length";
    }
    location /nested/ {
        set $flag "";
        if ($arg_a) { set $flag "${flag}A"; }
        if ($arg_b) { set $flag "${flag}B"; }
        if ($flag = "AB") { return 200 "both"; }
        return 200 "flag=$flag";
    }
    location /q/ {
        if ($arg_u ~* "^https?://(.+)$") { return 302 https://$1; }
        return 200 "none";
    }
}
`, []diffCase{
		{name: "POST refused with text", raw: req("POST", "flow.test", "/m/")},
		{name: "GET allowed", raw: req("GET", "flow.test", "/m/")},
		{name: "HEAD allowed", raw: req("HEAD", "flow.test", "/m/")},
		{name: "bot caseless capture", raw: get("/ua/", "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1)")},
		{name: "browser version capture", raw: get("/ua/", "User-Agent: Mozilla/5.0 (X11)")},
		{name: "no user agent", raw: get("/ua/")},
		{name: "request_filename of a file", raw: get("/files/../files/x")},
		{name: "request_filename missing", raw: get("/files/nope.txt")},
		{name: "set concatenations", raw: get("/cat/p?q")},
		{name: "named captures from if", raw: get("/cap/one/two/three?x=42")},
		{name: "named captures from if, escaped", raw: get("/cap/o%20ne/t+wo?x=a7")},
		{name: "named capture from location", raw: get("/lc/my-post/")},
		{name: "named capture no match", raw: get("/lc/My-Post/")},
		{name: "utm args cleared", raw: get("/args/?utm_source=x&page=2")},
		{name: "page arg", raw: get("/args/?page=3")},
		{name: "page default", raw: get("/args/")},
		{name: "utm args cleared before proxy", raw: get("/argsproxy/p?utm_x=1&a=2")},
		{name: "args kept before proxy", raw: get("/argsproxy/p?a=2")},
		{name: "args edited before proxy", raw: get("/argsedit/p?a=2")},
		{name: "header, cookie, arg variables", raw: get("/http/?a=1&A=2", "X-Custom-Header: v1", "Cookie: session=s1; other=2", "Content-Type: text/x")},
		{name: "nested ifs with concatenation", raw: get("/nested/?a=1&b=1")},
		{name: "nested ifs, one flag", raw: get("/nested/?b=1")},
		{name: "capture into a redirect from return", raw: get("/q/?u=http://example.com/a%20b")},
	})
}

func TestMapCachingMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
map $v $cached { default "first map, replaced"; }
map $v $cached { default "c-$v"; }
map $v $vol { volatile; default "v-$v"; }
map $cached $ofmap { ~^c-(?<tail>.*)$ "of-$tail"; default "none"; }
map $request_id $rid { default $request_id; }
map $uri $byuri { /a "A"; ~^/b/(.*)$ "B-$1"; default "D"; }
map $http_x_mode $mode {
    default   "normal";
    "debug"   "dbg";
    ~^t(.*)$  "t:$1";
}
server {
    listen LISTEN;
    server_name flow.test;
    location /cache/ {
        set $v "one";
        set $x "$cached|$vol";
        set $v "two";
        return 200 "$x $cached $vol $ofmap";
    }
    location /rid/ {
        set $first $rid;
        if ($first = $request_id) { return 200 "same"; }
        return 200 "differs";
    }
    location /uri/ {
        set $before $byuri;
        rewrite ^/uri/(.*)$ /b/$1;
        return 200 "before=$before after=$byuri";
    }
    location /hdr/ {
        proxy_set_header X-Mode $mode;
        add_header X-Mode $mode;
        proxy_pass http://unix:SOCK;
    }
    location /pre/ {
        set $x $byuri;
        error_page 404 = /b/y;
        return 404;
    }
    location /b/ { return 200 "after redirect $byuri"; }
    location /empty/ {
        set $v "";
        return 200 "[$cached]";
    }
    location /setmap/ {
        set $v "src";
        set $cached "by set";
        set $vol "by set";
        return 200 "$cached $vol";
    }
    location /setheader/ {
        set $http_x_mode "by set";
        return 200 "$http_x_mode $mode";
    }
}
`, []diffCase{
		{name: "a map is evaluated once per request unless volatile", raw: get("/cache/")},
		{name: "map over a request_id", raw: get("/rid/")},
		{name: "map cached before a rewrite", raw: get("/uri/x")},
		{name: "map in proxy_set_header and add_header", raw: get("/hdr/", "X-Mode: debug")},
		{name: "map regex capture in a header", raw: get("/hdr/", "X-Mode: trace")},
		{name: "map default in a header", raw: get("/hdr/")},
		{name: "map of an empty value", raw: get("/empty/")},
		{name: "set on map variables", raw: get("/setmap/")},
		{name: "set on a header variable replaces it", raw: get("/setheader/", "X-Mode: debug")},
		{name: "map value kept across an internal redirect", raw: get("/pre/")},
		{name: "map first used after an internal redirect", raw: get("/b/z")},
	})
}

func TestErrorPagesOfABlogMatchNginx(t *testing.T) {
	dir := t.TempDir()
	root := dir + "/www"
	for path, body := range map[string]string{
		"/404.html": "<p>not here</p>\n", "/50x.html": "<p>down</p>\n", "/index.html": "<p>home</p>\n",
		"/maint/index.html": "<p>maintenance</p>\n",
	} {
		must(t, mkdirWrite(root+path, body))
	}
	runFlowDiff(t, `
upstream ghost { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test;
    root `+root+`;
    error_page 404 /404.html;
    error_page 500 502 503 504 /50x.html;
    location = /404.html { internal; }
    location = /50x.html { }
    location / {
        proxy_intercept_errors on;
        proxy_pass http://ghost;
    }
    location /raw/ { proxy_pass http://ghost; }
    location /down/ { proxy_pass http://unix:MISSING; }
    location /fallback/ {
        error_page 404 = @ghost;
        try_files $uri $uri/ =404;
    }
    location @ghost {
        proxy_set_header X-Site named;
        proxy_pass http://ghost;
    }
    location /eq200/ {
        error_page 404 =200 /index.html;
        return 404;
    }
    location /eqnamed/ {
        error_page 403 =404 @ghost;
        return 403;
    }
    location /gone/ {
        error_page 410 https://blog.example/gone?from=$uri;
        return 410;
    }
    location /moved/ {
        error_page 404 =301 https://blog.example$request_uri;
        return 404;
    }
    location /loop/ {
        recursive_error_pages on;
        error_page 404 /loop/again;
        return 404;
    }
    location /maint/ {
        if (-f $document_root/maint/index.html) { return 503; }
        proxy_pass http://ghost;
    }
    location /eqonly/ {
        error_page 404 = /50x.html;
        return 404;
    }
    location /args/ {
        error_page 404 /e?code=404&u=$uri;
        return 404;
    }
    location = /e { return 200 "e $args $request_uri $uri"; }
    location /text/ {
        error_page 404 = /e;
        return 404 "custom text";
    }
}
`, []diffCase{
		{name: "intercepted upstream 404 gets the custom page", raw: get("/missing", "X-Want-Status: 404")},
		{name: "intercepted upstream 502 gets 50x", raw: get("/x", "X-Want-Status: 502")},
		{name: "intercepted upstream 500 gets 50x", raw: get("/x", "X-Want-Status: 500")},
		{name: "upstream 200 passes", raw: get("/x")},
		{name: "upstream 404 without intercept", raw: get("/raw/x", "X-Want-Status: 404")},
		{name: "upstream down gets 50x", raw: get("/down/")},
		{name: "internal page not reachable directly", raw: get("/404.html")},
		{name: "50x page reachable directly", raw: get("/50x.html")},
		{name: "try_files =404 to a named location", raw: get("/fallback/none?x=1")},
		{name: "=200 to a static page", raw: get("/eq200/p")},
		{name: "=404 to a named location", raw: get("/eqnamed/p")},
		{name: "error_page to a URL with a variable", raw: get("/gone/p")},
		{name: "=301 to a URL with request_uri", raw: get("/moved/p?q=1")},
		{name: "recursive error pages end in a cycle or 404", raw: get("/loop/x")},
		{name: "maintenance switch by file", raw: get("/maint/x")},
		{name: "= to a static page takes its 200", raw: get("/eqonly/x")},
		{name: "error_page URI with args", raw: get("/args/p?orig=1")},
		{name: "return with text and error_page", raw: get("/text/p")},
		{name: "HEAD to the custom 404", raw: "HEAD /missing HTTP/1.1\r\nHost: flow.test\r\nX-Want-Status: 404\r\nConnection: close\r\n\r\n"},
		{name: "POST to the intercepted 502", raw: "POST /x HTTP/1.1\r\nHost: flow.test\r\nX-Want-Status: 502\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
	})
}

func mkdirWrite(path, body string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

func TestProxyPassURIRulesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
upstream app { server unix:SOCK; }
server {
    listen LISTEN;
    server_name flow.test;
    location /blog/ { proxy_pass http://app/; }
    location /noslash { proxy_pass http://app/; }
    location /sub/ { proxy_pass http://app/base/; }
    location /bare/ { proxy_pass http://app; }
    location = /exact { proxy_pass http://app/target; }
    location /ru/ { proxy_pass http://app/base$request_uri; }
    location /urivar/ { proxy_pass http://app/v$uri$is_args$args; }
    location ~ ^/rx/(.*)$ { proxy_pass http://app; }
    location ~ ^/rxcap/(.*)$ { proxy_pass http://app/c/$1$is_args$args; }
    location /rwb/ {
        rewrite ^/rwb/(.*)$ /changed/$1 break;
        proxy_pass http://app/base/;
    }
    location /rwl/ {
        rewrite ^/rwl/(.*)$ /sub/$1 last;
    }
    location /rwnone/ {
        rewrite ^/rwnone/(.*)$ /rwnone/x-$1;
        proxy_pass http://app/n/;
    }
    location /setvar/ {
        set $target "/t";
        proxy_pass http://app$target;
    }
    location /argsset/ {
        set $args "a=1";
        proxy_pass http://app/as/;
    }
    location ^~ /static/ { proxy_pass http://app/s/; }
}
`, []diffCase{
		{name: "prefix replaced by /", raw: get("/blog/post/?a=1")},
		{name: "prefix without slash replaced", raw: get("/noslash/x")},
		{name: "prefix without slash, nothing after", raw: get("/noslash")},
		{name: "prefix replaced by a base", raw: get("/sub/a/b?x=%20")},
		{name: "escaped URI re-escaped after replacement", raw: get("/sub/a%20b/%2F/c%3F?x=1")},
		{name: "escapes the 1.22 URI table covers", raw: get("/sub/a%22b%3Cc%3E%5Cd%5Ee%60f%7Bg%7Ch%7Di")},
		{name: "unicode after replacement", raw: get("/sub/caf%C3%A9")},
		{name: "raw unicode after replacement", raw: get("/sub/caf\xc3\xa9")},
		{name: "double slash merged", raw: get("/sub//a//b")},
		{name: "dot segments resolved", raw: get("/sub/a/../b/./c")},
		{name: "dot segments through the prefix", raw: get("/x/../sub/y")},
		{name: "no URI part sends the raw request URI", raw: get("/bare/a%20b//c/../d?x=%41")},
		{name: "exact location with URI", raw: get("/exact?q=1")},
		{name: "request_uri in the URI part", raw: get("/ru/a%20b?c=d")},
		{name: "uri variable in the URI part", raw: get("/urivar/a%20b?c=d")},
		{name: "regex location without URI", raw: get("/rx/a%20b?c")},
		{name: "regex location with capture", raw: get("/rxcap/a%20b?c")},
		{name: "regex location with plain capture", raw: get("/rxcap/ab?c")},
		{name: "rewrite break ignores the URI part", raw: get("/rwb/a%20b?k=v")},
		{name: "rewrite last into another proxy location", raw: get("/rwl/z%20y?k=v")},
		{name: "rewrite without flag keeps the URI part", raw: get("/rwnone/q?k=v")},
		{name: "set variable as URI", raw: get("/setvar/p?k=v")},
		{name: "set args then replace prefix", raw: get("/argsset/p?k=v")},
		{name: "caret-tilde prefix", raw: get("/static/app.css?v=3")},
		{name: "HTTP/1.0 request", raw: "GET /blog/x HTTP/1.0\r\nHost: flow.test\r\n\r\n"},
	})
}

func TestOddRequestTargetsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    location / { return 200 "uri=$uri ru=$request_uri args=$args"; }
    location /p/ { proxy_pass http://unix:SOCK:/q/; }
    location = /exact { return 200 "exact"; }
    location ~ \.html$ { return 200 "html $uri"; }
}
`, []diffCase{
		{name: "dot dot above root", raw: get("/../x")},
		{name: "dot dot inside", raw: get("/a/b/../../c")},
		{name: "escaped dot dot", raw: get("/a/%2e%2e/c")},
		{name: "escaped slash", raw: get("/a%2Fb")},
		{name: "escaped slash and dots", raw: get("/a%2F..%2Fb")},
		{name: "double slashes", raw: get("//a///b")},
		{name: "trailing dot segment", raw: get("/a/.")},
		{name: "trailing dot dot", raw: get("/a/b/..")},
		{name: "unicode raw", raw: get("/\xe6\x97\xa5\xe6\x9c\xac")},
		{name: "unicode escaped", raw: get("/%E6%97%A5%E6%9C%AC")},
		{name: "plus stays", raw: get("/a+b?c+d")},
		{name: "exact with trailing slash", raw: get("/exact/")},
		{name: "exact with args", raw: get("/exact?")},
		{name: "regex on escaped suffix", raw: get("/x%2Ehtml")},
		{name: "proxy dot dot", raw: get("/p/a/../b")},
		{name: "proxy escaped dot dot", raw: get("/p/%2e%2e/b")},
		{name: "proxy escaped slash", raw: get("/p/a%2Fb")},
		{name: "escaped percent", raw: get("/a%25b")},
		{name: "semicolon path", raw: get("/a;b=c/d")},
		{name: "hash escaped", raw: get("/a%23b")},
		{name: "empty query", raw: get("/a?")},
		{name: "question mark in query", raw: get("/a?b?c")},
		{name: "bad escape", raw: get("/a%zz")},
		{name: "bad escape, second digit", raw: get("/a%4g")},
		{name: "escape cut short", raw: get("/a%4")},
		{name: "lone percent at the end", raw: get("/a%")},
		{name: "bad escape in the query is fine", raw: get("/a?b=%zz")},
		{name: "encoded NUL", raw: get("/a%00b")},
		{name: "backslash", raw: get("/a\\b")},
	})
}

func TestRedirectURLSettingsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
upstream shape { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test canonical.test;
    location /rel/ {
        absolute_redirect off;
        location /rel/in/ { return 301 /rel/target; }
        rewrite ^/rel/rw/(.*)$ /new/$1 permanent;
        return 302 /rel/x?y=1;
    }
    location /rel/dir/ { absolute_redirect off; proxy_pass http://shape/; }
    location /name/ {
        server_name_in_redirect on;
        return 301 /name/x;
    }
    location /noport/ {
        port_in_redirect off;
        return 301 /noport/x;
    }
    location /both/ {
        server_name_in_redirect on;
        port_in_redirect off;
        rewrite ^ /both/z redirect;
    }
    location /up/ {
        absolute_redirect off;
        proxy_pass http://shape/;
    }
    location /plain/ { return 301 /plain/x; }
    location /err/ {
        absolute_redirect off;
        error_page 404 =301 /plain/from-error;
        return 404;
    }
}
server {
    listen LISTEN;
    server_name other.test;
    absolute_redirect off;
    location / { return 301 /srv-level; }
    location /on/ { absolute_redirect on; return 301 /on-again; }
}
`, []diffCase{
		{name: "absolute_redirect off keeps return relative", raw: get("/rel/")},
		{name: "inherited by a nested location", raw: get("/rel/in/")},
		{name: "rewrite redirect stays relative", raw: get("/rel/rw/a%20b?q=1")},
		{name: "trailing-slash redirect stays relative", raw: get("/rel/dir")},
		{name: "server_name_in_redirect uses the first name", raw: req("GET", "canonical.test", "/name/")},
		{name: "port_in_redirect off", raw: get("/noport/")},
		{name: "both settings", raw: req("GET", "canonical.test", "/both/")},
		{name: "upstream's relative Location stays relative", raw: get("/up/", "X-Want-Status: 302", "X-Want-Location: /login")},
		{name: "upstream's proxied Location mapped and relative", raw: get("/up/", "X-Want-Status: 302", "X-Want-Location: http://shape/next")},
		{name: "HTTP/1.0 without Host uses the local address", raw: "GET /plain/ HTTP/1.0\r\n\r\n"},
		{name: "error_page redirect", raw: get("/err/")},
		{name: "server level setting", raw: req("GET", "other.test", "/x")},
		{name: "location turns it back on", raw: req("GET", "other.test", "/on/")},
	})
}

func TestServerNameCapturesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name ~^www\.(?<domain>.+)$;
    return 301 https://$domain$request_uri;
}
server {
    listen LISTEN;
    server_name ~^(\w+)\.blogs\.test$;
    location / { return 200 "blog $1 $uri"; }
    location ~ ^/p/(\d+)$ { return 200 "post $1"; }
    location /keep/ { proxy_pass http://unix:SOCK:/$1/; }
}
server {
    listen LISTEN default_server;
    server_name flow.test;
    location / { return 200 "default"; }
}
`, []diffCase{
		{name: "named capture from server_name", raw: req("GET", "www.example.test", "/a?b=1")},
		{name: "numbered capture from server_name", raw: req("GET", "alice.blogs.test", "/x")},
		{name: "location regex replaces server captures", raw: req("GET", "alice.blogs.test", "/p/42")},
		{name: "server capture in proxy_pass", raw: req("GET", "bob.blogs.test", "/keep/z")},
		{name: "no regex server", raw: req("GET", "flow.test", "/")},
	})
}

func TestBlogRewriteRecipesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
map $http_accept_language $lang {
    default en;
    ~^de    de;
    ~^fr    fr;
}
map $uri $legacy {
    /about-us      /about/;
    /contact.html  /contact/;
    ~^/category/(?<cat>[^/]+)/?$  /tag/$cat/;
}
upstream ghost { server unix:SOCK; }
server {
    listen LISTEN;
    server_name flow.test;
    if ($legacy) { return 301 $legacy; }
    rewrite ^/index\.php/(.*)$ /$1 permanent;
    location = / {
        if ($arg_lang) { rewrite ^ /$arg_lang/? redirect; }
        rewrite ^ /$lang/ redirect;
    }
    location ~ ^/(en|de|fr)/$ { return 200 "home $1"; }
    location / {
        if ($request_uri ~ "^(.*)/index\.html$") { return 301 $1/; }
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_pass http://ghost;
    }
    location ~ ^/(.+)/$ {
        if ($arg_strip) { rewrite ^/(.*)/$ /$1 permanent; }
        proxy_pass http://ghost;
    }
    location ~ /\. { return 404; }
    location /search {
        rewrite ^/search$ /s?q=$arg_q? last;
        rewrite ^/search/(.+)$ /s?q=$1 last;
    }
    location = /s { return 200 "search $args uri=$uri ru=$request_uri is=$is_args"; }
    location /r/ {
        return 301 $scheme://$host$uri;
    }
    location /skip/ {
        set $skip 0;
        if ($http_cookie ~* "ghost-admin-api-session") { set $skip 1; }
        if ($request_method = POST) { set $skip 1; }
        add_header X-Skip $skip always;
        return 200 "skip=$skip";
    }
    location @notfound { return 404 "named not found $uri"; }
    location /nf/ {
        error_page 404 @notfound;
        return 404;
    }
    location /pages/ {
        rewrite ^/pages/(.*)\.html$ /$1/ permanent;
        rewrite ^/pages/(.*)$ /$1 last;
    }
}
`, []diffCase{
		{name: "legacy map exact", raw: get("/about-us")},
		{name: "legacy map regex with named capture", raw: get("/category/news")},
		{name: "legacy map no match", raw: get("/post/")},
		{name: "index.php prefix removed", raw: get("/index.php/a/b?x=1")},
		{name: "language from Accept-Language", raw: get("/", "Accept-Language: de-DE,de;q=0.9")},
		{name: "language default", raw: get("/")},
		{name: "language from arg drops args", raw: get("/?lang=fr&x=1")},
		{name: "language home", raw: get("/de/")},
		{name: "index.html stripped from request_uri", raw: get("/a/b/index.html")},
		{name: "index.html stripped, escaped", raw: get("/a%20b/index.html?x")},
		{name: "trailing slash proxied", raw: get("/post/slug/?x=1")},
		{name: "trailing slash stripped on demand", raw: get("/post/slug/?strip=1")},
		{name: "dot files hidden", raw: get("/.git/config")},
		{name: "dot files hidden, escaped", raw: get("/%2Egit/config")},
		{name: "search with arg", raw: get("/search?q=a+b&page=2")},
		{name: "search with escaped arg", raw: get("/search?q=caf%C3%A9")},
		{name: "search path form", raw: get("/search/a%20b?p=1")},
		{name: "search path form with plus", raw: get("/search/a+b")},
		{name: "redirect with $uri decoded", raw: get("/r/a%20b?x")},
		{name: "redirect with $uri, unicode", raw: get("/r/caf%C3%A9")},
		{name: "skip cookie", raw: get("/skip/", "Cookie: ghost-admin-api-session=abc")},
		{name: "skip POST", raw: req("POST", "flow.test", "/skip/")},
		{name: "skip none", raw: get("/skip/")},
		{name: "named location with return text", raw: get("/nf/x")},
		{name: "pages html", raw: get("/pages/about.html?x=1")},
		{name: "pages other", raw: get("/pages/about")},
	})
}

// TestBadRewriteConfigsFailAsNginx gives the same broken server blocks to
// "nginx -t" and to wisp's compiler and wants the same message and line.
func TestBadRewriteConfigsFailAsNginx(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Fatalf("real nginx is needed: %v", err)
	}
	emerg := regexp.MustCompile(`\[emerg\] \d+#\d+: (.*)\n`)
	for i, body := range []string{
		`location ~ ^/a { proxy_pass http://127.0.0.1:1/x; }`,
		`location @n { proxy_pass http://127.0.0.1:1/x; }`,
		`location / { if ($arg_x) { proxy_pass http://127.0.0.1:1/x; } }`,
		`location / { rewrite ^ /x foo; }`,
		`location / { rewrite ^/(a /x; }`,
		`location / { rewrite ")" /x; }`,
		`location / { rewrite "*a" /x; }`,
		`location / { rewrite "[a" /x; }`,
		`location ~ "a(" { }`,
		`location / { if ($uri ~* "a(") { } }`,
		`location / { rewrite; }`,
		`location / { return; }`,
		`location / { return abc; }`,
		`location / { return 1000; }`,
		`location / { return 301 a b; }`,
		`location / { set $a; }`,
		`location / { set a b; }`,
		`location / { set $uri b; }`,
		`location / { if ($a = ) { } }`,
		`location / { if (a = b) { return 200; } }`,
		`location / { if (-q /x) { return 200; } }`,
		`location / { break x; }`,
		`location / { error_page 404; }`,
		`location / { error_page 200 /x; }`,
		`location / { error_page 404 =abc /x; }`,
		`location / { error_page 499 /x; }`,
		`location / { internal x; }`,
		`location / { absolute_redirect maybe; }`,
		`location / { port_in_redirect; }`,
		`location / { set $a "${b"; }`,
		`location / { return 200 "$m"; }`,
	} {
		// The name stays plain: nginx's -g takes the temporary path.
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "nginx.conf")
			site := "events {}\nhttp {\nmap $uri $m { default x; }\nserver {\nlisten 127.0.0.1:19399;\n" + body + "\n}\n}\n"
			must(t, os.WriteFile(conf, []byte(site), 0o644))
			out, _ := exec.Command(nginxBin, "-t", "-p", dir+"/", "-c", conf, "-g", "pid "+dir+"/n.pid; error_log stderr;").CombinedOutput()
			want := ""
			if m := emerg.FindSubmatch(out); m != nil {
				want = string(m[1])
			}
			got := ""
			src, err := ngxconf.Load(ngxconf.Options{ConfFile: conf})
			if err == nil {
				_, err = Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
			}
			if err != nil {
				got = err.Error()
			}
			if got != want {
				t.Errorf("%s\nnginx: %s\nwisp:  %s", body, want, got)
			}
		})
	}
}

func TestNamedLocationsAndInheritanceMatchNginx(t *testing.T) {
	runFlowDiff(t, `
upstream app { server unix:SOCK; }
server {
    listen LISTEN;
    server_name flow.test;
    error_page 404 /srv404;
    error_page 403 = @denied;
    set $site "blog";
    if ($http_x_maint) { set $site "maint"; }
    location = /srv404 { return 404 "server page $site $uri"; }
    location @denied { return 403 "denied $request_method $uri"; }
    location /own/ {
        error_page 500 /srv404;
        return 404;
    }
    location /inherit/ { return 404; }
    location /deny/ { return 403; }
    location /post/ {
        error_page 404 = @app;
        return 404;
    }
    location /posturi/ {
        error_page 404 /app/;
        return 404;
    }
    location /app/ { proxy_pass http://app; }
    location @app { proxy_pass http://app; }
    location /intercept/ {
        proxy_intercept_errors on;
        error_page 502 /app/from-intercept;
        proxy_pass http://unix:SHAPE;
    }
    location /static/ {
        root /nonexistent;
        error_page 404 /app/from-static;
    }
    location @rw {
        rewrite ^/named/(.*)$ /app/$1 last;
        return 200 "no";
    }
    location /named/ {
        error_page 418 = @rw;
        return 418;
    }
    location /norw/ {
        proxy_pass http://app;
    }
    location /rwlastnouri/ {
        rewrite ^/rwlastnouri/(.*)$ /norw/$1?k=$1 last;
    }
    location /rwbreaknouri/ {
        rewrite ^/rwbreaknouri/(.*)$ /other/$1 break;
        proxy_pass http://app;
    }
    location /hdr/ {
        rewrite ^/hdr/(.*)$ /app/$1 break;
        proxy_set_header X-URI $uri;
        proxy_set_header X-Request-URI $request_uri;
        proxy_set_header X-Args $args;
        proxy_set_header X-Site $site;
        proxy_pass http://app;
    }
}
`, []diffCase{
		{name: "location error_page replaces the server's", raw: get("/own/x")},
		{name: "server error_page inherited", raw: get("/inherit/x")},
		{name: "server set variable", raw: get("/inherit/x", "X-Maint: 1")},
		{name: "error_page to a named location with its status", raw: get("/deny/x")},
		{name: "POST to a named location keeps the method", raw: "POST /post/x HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{name: "POST to a URI becomes GET", raw: "POST /posturi/x HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{name: "named location with rewrite last", raw: get("/named/a%20b?q=1")},
		{name: "GET intercepted upstream error to a URI", raw: get("/intercept/x", "X-Want-Status: 502")},
		// The buffered body goes again along the error_page redirect.
		{name: "POST intercepted upstream error to a URI", raw: "POST /intercept/x HTTP/1.1\r\nHost: flow.test\r\nX-Want-Status: 502\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{name: "POST static 404 to a URI", raw: "POST /static/x HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{name: "chunked POST to a URI", raw: "POST /posturi/x HTTP/1.1\r\nHost: flow.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{name: "rewrite last into a location without URI", raw: get("/rwlastnouri/a%20b+c?o=1")},
		{name: "rewrite break without URI", raw: get("/rwbreaknouri/a%20b?o=1")},
		{name: "variables after a rewrite break", raw: get("/hdr/x%20y?o=1")},
	})
}

// countingDNS is startDNS that counts the queries it answers.
func countingDNS(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	must(t, err)
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			k, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			n.Add(1)
			if reply := dnsReply(buf[:k]); reply != nil {
				pc.WriteTo(reply, addr)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String(), &n
}

func TestResolverKeepsAnswersForValid(t *testing.T) {
	dns, queries := countingDNS(t)
	port := strconv.Itoa(startHTTPBackend(t, "", ""))
	dir := t.TempDir()
	addr, _ := startWisp(t, dir, `
server {
    listen LISTEN;
    server_name flow.test;
    location /cached/ {
        resolver `+dns+` valid=300s;
        proxy_pass http://$http_x_backend:`+port+`;
    }
    location /uncached/ {
        resolver `+dns+`;
        proxy_pass http://$http_x_backend:`+port+`;
    }
}
`)
	send := func(path, host string) {
		t.Helper()
		if r := exchange(t, addr, get(path, "X-Backend: "+host)); r.status != 200 {
			t.Fatalf("%s: status %d", path, r.status)
		}
	}
	send("/cached/a", "one.test")
	first := queries.Load()
	if first == 0 {
		t.Fatal("no DNS query for the first request")
	}
	send("/cached/b", "one.test")
	send("/cached/c", "ONE.test")
	if got := queries.Load(); got != first {
		t.Errorf("valid=300s: %d queries after three requests for one host, want %d", got, first)
	}
	send("/cached/d", "two.test")
	if queries.Load() == first {
		t.Error("another host was answered from the cache")
	}
	before := queries.Load()
	send("/uncached/a", "one.test")
	send("/uncached/b", "one.test")
	if queries.Load()-before != 2*first {
		t.Errorf("without valid=: %d queries for two requests, want %d", queries.Load()-before, 2*first)
	}
}

func TestErrorPageStatusesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
upstream shape { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test;
    location @up { proxy_pass http://shape; }
    location @upi {
        proxy_intercept_errors on;
        proxy_pass http://shape;
    }
    location /eq200/ {
        error_page 404 =200 @up;
        return 404;
    }
    location /eq/ {
        error_page 404 = @up;
        return 404;
    }
    location /keep/ {
        error_page 404 @up;
        return 404;
    }
    location /eqi/ {
        error_page 404 = @upi;
        return 404;
    }
    location /srvstatus/ {
        error_page 404 = /status;
        return 404;
    }
    location = /status { return 200 "status=$status uri=$uri"; }
    location /keepstatus/ {
        error_page 404 /status;
        return 404;
    }
    location /redirstatus/ { return 302 "/s?status=$status"; }
    location /textstatus/ { return 404 "status=$status"; }
    location /eq302/ {
        error_page 404 =302 /other;
        return 404;
    }
    location /redirtext/ {
        error_page 404 =301 "https://x.test/$uri?a=$arg_a";
        return 404;
    }
    location /intercept/ {
        proxy_intercept_errors on;
        error_page 500 502 503 504 =200 /status;
        error_page 301 302 = @up;
        proxy_pass http://shape;
    }
}
`, []diffCase{
		{name: "=200 over a named location's 503", raw: get("/eq200/x", "X-Want-Status: 503")},
		{name: "=200 over a named location's 200", raw: get("/eq200/x")},
		{name: "= takes the named location's 503", raw: get("/eq/x", "X-Want-Status: 503")},
		{name: "= takes the named location's 201", raw: get("/eq/x", "X-Want-Status: 201")},
		{name: "no = keeps 404 over the upstream's 200", raw: get("/keep/x")},
		{name: "no = keeps 404 over the upstream's 500", raw: get("/keep/x", "X-Want-Status: 500")},
		{name: "= to an intercepting location without error_page", raw: get("/eqi/x", "X-Want-Status: 500")},
		{name: "= to a return", raw: get("/srvstatus/x")},
		{name: "error_page status in a return text", raw: get("/keepstatus/x")},
		{name: "status in a redirect URL", raw: get("/redirstatus/x")},
		{name: "status in an error text", raw: get("/textstatus/x")},
		{name: "=302 to a URI is an internal redirect with 302", raw: get("/eq302/x")},
		{name: "=301 to a URL with variables", raw: get("/redirtext/x?a=1")},
		{name: "intercepted 502 to =200", raw: get("/intercept/x", "X-Want-Status: 502")},
		{name: "intercepted 302 to a named location", raw: get("/intercept/x", "X-Want-Status: 302", "X-Want-Location: /y")},
		{name: "intercepted 404 without error_page passes", raw: get("/intercept/x", "X-Want-Status: 404")},
	})
}

func TestReturnTextTypesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    charset utf-8;
    location /plain/ { return 200 "plain"; }
    location /html/ { default_type text/html; return 200 "<p>hi</p>"; }
    location /json/ { default_type application/json; return 200 '{"ok":true}'; }
    location /nocharset/ { charset off; return 200 "x"; }
    location /robots.txt { return 200 "User-agent: *\nDisallow: /ghost/\n"; }
    location = /health { access_log off; add_header Cache-Control "no-store"; return 200 "ok\n"; }
    location /err/ { return 503 "maintenance $uri"; }
    location /created/ { return 201 "made"; }
    location /empty/ { return 200 ""; }
    location /nocontent/ { return 204 "ignored?"; }
    location /notmod/ { return 304; }
    location /redir/ { return 307 /other$request_uri; }
    location /redir308/ { return 308 https://x.test$uri; }
    location /redir303/ { return 303 other; }
}
`, []diffCase{
		{name: "plain text with charset", raw: get("/plain/")},
		{name: "plain text, html extension", raw: get("/plain/x.html")},
		{name: "plain text, json extension", raw: get("/plain/x.json")},
		{name: "html default type", raw: get("/html/")},
		{name: "json default type gets no charset", raw: get("/json/")},
		{name: "charset off", raw: get("/nocharset/")},
		{name: "robots.txt text", raw: get("/robots.txt")},
		{name: "health with add_header", raw: get("/health")},
		{name: "error code with text", raw: get("/err/x")},
		{name: "201 with text", raw: get("/created/")},
		{name: "empty text", raw: get("/empty/")},
		{name: "204 with text", raw: get("/nocontent/")},
		{name: "304 without text", raw: get("/notmod/")},
		{name: "307 relative", raw: get("/redir/a?b")},
		{name: "308 absolute", raw: get("/redir308/a%20b")},
		{name: "303 without a slash", raw: get("/redir303/")},
		{name: "HEAD of a text", raw: "HEAD /plain/ HTTP/1.1\r\nHost: flow.test\r\nConnection: close\r\n\r\n"},
		{name: "HTTP/1.0 text", raw: "GET /plain/ HTTP/1.0\r\n\r\n"},
	})
}

func TestMapEdgesMatchNginx(t *testing.T) {
	runFlowDiff(t, `
map $http_host $hostkey {
    hostnames;
    default        "d";
    blog.test      "exact";
    .sub.test      "dot";
    "*.wild.test"  "star";
}
map $arg_k $nodefault {
    a  "A";
}
map $http_x_v $quoted {
    "two words"   "matched two";
    "~^x\d+$"     "digits";
    ~*^CASE       "caseless";
    "\~tilde"     "literal tilde";
    ""            "empty";
    default       "other";
}
map "$request_method $arg_t" $combo {
    "GET a"    "get-a";
    "~^POST"   "post";
    default    "none";
}
map $uri $first {
    ~^/m/(?<one>\w+)/(\w+)$  "$one:$2";
    default                  "-";
}
map $first $second {
    ~^(.+):(.+)$  "$2/$1";
    default       "no";
}
server {
    listen LISTEN;
    server_name flow.test *.sub.test sub.test x.wild.test blog.test;
    location / {
        return 200 "host=$hostkey nd=[$nodefault] q=$quoted c=$combo";
    }
    location /m/ {
        return 200 "first=$first second=$second one=$one";
    }
}
`, []diffCase{
		{name: "hostnames with port in Host", raw: req("GET", "blog.test:8080", "/")},
		{name: "hostnames exact", raw: req("GET", "blog.test", "/")},
		{name: "hostnames dot form bare", raw: req("GET", "sub.test", "/")},
		{name: "hostnames dot form deep", raw: req("GET", "a.b.sub.test", "/")},
		{name: "hostnames quoted star", raw: req("GET", "x.wild.test", "/")},
		{name: "no default is empty", raw: get("/?k=b")},
		{name: "no default matched", raw: get("/?k=a")},
		{name: "quoted key with a space", raw: get("/", "X-V: two words")},
		{name: "quoted regex", raw: get("/", "X-V: x42")},
		{name: "caseless regex", raw: get("/", "X-V: case-y")},
		{name: "escaped tilde is literal", raw: get("/", "X-V: ~tilde")},
		{name: "empty key", raw: get("/")},
		{name: "combined source", raw: get("/?t=a")},
		{name: "combined source POST", raw: req("POST", "flow.test", "/?t=b")},
		{name: "map of a map with captures", raw: get("/m/abc/def")},
		{name: "map of a map no match", raw: get("/m/x")},
	})
}

func TestMergeSlashesMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN default_server;
    server_name keep.test;
    merge_slashes off;
    location / { return 200 "keep uri=$uri"; }
    location /a/ { proxy_pass http://unix:SOCK:/up/; }
    location ~ ^/r(/.*)$ { return 200 "cap=$1"; }
}
server {
    listen LISTEN;
    server_name merge.test;
    merge_slashes on;
    location / { return 200 "merge uri=$uri"; }
}
`, []diffCase{
		{name: "slashes kept", raw: req("GET", "keep.test", "//x//y/")},
		{name: "dot segments still resolved", raw: req("GET", "keep.test", "/x//./y/../z")},
		{name: "dot dot over an empty segment", raw: req("GET", "keep.test", "/x//../y")},
		{name: "escaped slashes kept", raw: req("GET", "keep.test", "/x%2F%2Fy")},
		{name: "proxy_pass URI with kept slashes", raw: req("GET", "keep.test", "/a//b?c")},
		{name: "regex capture with kept slashes", raw: req("GET", "keep.test", "/r//s")},
		{name: "the default server decides for other names", raw: req("GET", "merge.test", "//x//y")},
	})
}

func TestIfBlocksAsLocationsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
upstream app { server unix:SOCK; }
upstream shape { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test;
    error_page 404 /nf;
    location = /nf { return 404 "server nf $uri"; }
    location /a/ {
        proxy_intercept_errors on;
        if ($arg_alt) {
            error_page 404 = /alt-nf;
            proxy_pass http://shape;
        }
        proxy_pass http://app;
    }
    location = /alt-nf { return 200 "alt nf $args"; }
    location /b/ {
        set $x "b";
        if ($arg_y) {
            set $x "${x}y";
            add_header X-Y $x;
        }
        if ($arg_z) {
            rewrite ^/b/(.*)$ /c/$1 last;
        }
        add_header X-B $x;
        return 200 "x=$x";
    }
    location /c/ { return 200 "c $uri $args"; }
    location /d/ {
        if ($request_method = POST) {
            return 405;
        }
        error_page 405 = @post;
        proxy_pass http://app;
    }
    location @post { return 200 "post handled"; }
    location ~ ^/e/(\d+)$ {
        if ($arg_v) { return 200 "e $1 $arg_v"; }
        proxy_pass http://app;
    }
}
`, []diffCase{
		{name: "if block with its own error_page and proxy", raw: get("/a/x?alt=1", "X-Want-Status: 404")},
		{name: "if block not taken proxies", raw: get("/a/x")},
		{name: "if block with add_header replaces the outer", raw: get("/b/?y=1")},
		{name: "if block not taken keeps outer headers", raw: get("/b/")},
		{name: "rewrite last from an if", raw: get("/b/q?z=1")},
		{name: "return from an if meets the location's error_page", raw: "POST /d/ HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{name: "GET past the if", raw: get("/d/x")},
		{name: "regex location captures in an if", raw: get("/e/42?v=7")},
		{name: "regex location without the if", raw: get("/e/42")},
	})
}

func TestMaintenanceModeRecipeMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	must(t, mkdirWrite(dir+"/www/maintenance.html", "<p>back soon</p>\n"))
	must(t, mkdirWrite(dir+"/www/flag.on", "on\n"))
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    root `+dir+`/www;
    set $maintenance off;
    if (-f $document_root/flag.on) { set $maintenance on; }
    if ($http_x_admin = "yes") { set $maintenance off; }
    if ($uri ~* \.(css|js|png)$) { set $maintenance off; }
    if ($maintenance = on) { return 503; }
    error_page 503 @maintenance;
    location @maintenance {
        rewrite ^(.*)$ /maintenance.html break;
    }
    location / { proxy_pass http://unix:SOCK; }
}
`, []diffCase{
		{name: "maintenance page with 503", raw: get("/post/")},
		{name: "admin passes", raw: get("/post/", "X-Admin: yes")},
		{name: "assets pass", raw: get("/app.CSS")},
		{name: "HEAD in maintenance", raw: "HEAD / HTTP/1.1\r\nHost: flow.test\r\nConnection: close\r\n\r\n"},
	})
}

func TestTryFilesFallbacksMatchNginx(t *testing.T) {
	dir := t.TempDir()
	must(t, mkdirWrite(dir+"/www/exists.html", "<p>file</p>\n"))
	must(t, mkdirWrite(dir+"/www/dir/index.html", "<p>dir index</p>\n"))
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    root `+dir+`/www;
    location / { try_files $uri $uri/ /index.php?$args; }
    location = /index.php { proxy_pass http://unix:SOCK; }
    location /q/ { try_files $uri /index.php?q=$uri&$args; }
    location /n/ { try_files $uri @app; }
    location @app { proxy_pass http://unix:SOCK; }
}
`, []diffCase{
		{name: "existing file", raw: get("/exists.html?x=1")},
		{name: "directory with index", raw: get("/dir/")},
		{name: "directory without slash", raw: get("/dir")},
		{name: "fallback with args", raw: get("/missing/page?a=1&b=2")},
		{name: "fallback escaped", raw: get("/missing/a%20b?c=%20")},
		{name: "fallback with the URI in args", raw: get("/q/a%20b+c?x=1")},
		{name: "named fallback keeps the request URI", raw: get("/n/a%20b?x=1")},
	})
}

func TestArgsDrivenRedirectsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    location = /index.php {
        if ($args ~ "^p=(\d+)") { rewrite ^ /post/$1? permanent; }
        if ($arg_s) { rewrite ^ /search/$arg_s? redirect; }
        if ($args ~ "tag=([^&]+)") { rewrite ^ /tag/$1/? permanent; }
        return 404;
    }
    location /old {
        if ($args ~ "(?<k>[a-z]+)=(?<v>[^&]*)") { return 301 /new/$k/$v; }
        rewrite ^/old(.*)$ /new$1?from=old permanent;
    }
    location /set/ {
        set $args "a=1&b=%20";
        rewrite ^/set/(.*)$ /new/$1 redirect;
    }
    location /isargs/ {
        rewrite ^/isargs/(.*)$ /new/$1$is_args$args? redirect;
    }
}
`, []diffCase{
		{name: "post id from args", raw: get("/index.php?p=42&x=1")},
		{name: "search arg", raw: get("/index.php?s=caf%C3%A9+au+lait")},
		{name: "tag capture from args", raw: get("/index.php?tag=a%20b")},
		{name: "nothing matches", raw: get("/index.php?q=1")},
		{name: "named captures from args in return", raw: get("/old?key=v%20al")},
		{name: "old path with escapes to new with args", raw: get("/old/a%20b")},
		{name: "old path with plus", raw: get("/old/a+b?")},
		{name: "set args before a redirect", raw: get("/set/x?orig=1")},
		{name: "is_args and args with trailing ?", raw: get("/isargs/x%20y?k=a%26b")},
		{name: "is_args without args", raw: get("/isargs/x")},
	})
}

// TestCaptureLifetimeMatchesNginx: every regex match replaces $1..$9 (one
// without groups leaves none), and a rewrite or if regex that fails to
// match drops them; a failed location or map regex keeps them.
func TestCaptureLifetimeMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
map $uri $m { ~^/o/ "mapped"; default "no"; }
map $uri $m2 { ~^/nomatch/ "mapped"; default "no"; }
server {
    listen LISTEN;
    server_name flow.test;
    location ~ ^/a/(\d+)$ { if ($uri ~ "^/a/") { return 200 "a=[$1]"; } }
    location ~ ^/f/(\d+)$ { rewrite ^/zzz(.*) /x; return 200 "f=[$1]"; }
    location ~ ^/g/(\d+)$ { if ($uri ~ "^/zzz(.*)") { } return 200 "g=[$1]"; }
    location ~ ^/h/(\d+)$ { if ($uri = "x") { } return 200 "h=[$1]"; }
    location ~ ^/j/(\d+)$ { set $z $m2; return 200 "j=[$1] $z"; }
    location ~ ^/o/(\d+)$ { set $z $m; return 200 "o=[$1] $z"; }
    location ~ ^/p/(\d+)$ { if ($uri !~ "^/zzz(.)") { return 200 "p=[$1]"; } }
    location ~ ^/q/(\d+)$ { if ($uri !~ "^/q/(\d)") { } return 200 "q=[$1]"; }
    location ~ ^/s/ { return 200 "s=[$1]"; }
    location /t/ {
        if ($args ~ "^p=(\d+)") { rewrite ^ /post/$1? permanent; }
        return 200 "t";
    }
    location ~ ^/u/(\d+)$ { error_page 404 = @n; return 404; }
    location @n { return 200 "n=[$1]"; }
    location ~ ^/v/(\d+)$ { error_page 404 /w; return 404; }
    location = /w { return 200 "w=[$1]"; }
    location ~ ^/x/(\d+)$ { try_files /nonexistent @n; }
    location ~ ^/y/(\d+)$ { rewrite ^ /w last; }
}
server {
    listen LISTEN;
    server_name ~^(\w+)\.caps\.test$;
    location ~ ^/zz(.)$ { return 200 "zz"; }
    location /rw/ { rewrite ^/zzz /x; return 200 "rw=[$1]"; }
    location / { return 200 "root=[$1]"; }
}
`, []diffCase{
		{name: "a group-less if regex clears", raw: get("/a/42")},
		{name: "a failed rewrite clears", raw: get("/f/42")},
		{name: "a failed if regex clears", raw: get("/g/42")},
		{name: "a string compare keeps", raw: get("/h/42")},
		{name: "a failed map regex keeps", raw: get("/j/42")},
		{name: "a group-less map regex clears", raw: get("/o/42")},
		{name: "a negated if that fails to match clears", raw: get("/p/42")},
		{name: "a negated if that matches sets", raw: get("/q/42")},
		{name: "a group-less location regex leaves none", raw: get("/s/42")},
		{name: "a rewrite without groups replaces if captures", raw: get("/t/?p=42")},
		{name: "error_page to a named location keeps captures", raw: get("/u/42")},
		{name: "error_page to a URI keeps captures", raw: get("/v/42")},
		{name: "try_files to a named location keeps captures", raw: get("/x/42")},
		{name: "rewrite last replaces captures", raw: get("/y/42")},
		{name: "a failed location regex keeps server captures", raw: req("GET", "foo.caps.test", "/y")},
		{name: "a failed rewrite clears server captures", raw: req("GET", "foo.caps.test", "/rw/")},
	})
}
