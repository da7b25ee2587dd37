package proxy

// Differential cases for the request flow: the rewrite module, map,
// named locations, error_page, proxy response handling and proxy_pass
// with variables, each compared with real nginx.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"wisp/internal/ngxconf"
)

// startShapeBackend answers as the request asks through headers the proxy
// forwards: X-Want-Status sets the status, X-Want-Location a Location,
// X-Want-Header one more "Name: value" header. The body names the URI.
func startShapeBackend(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Chmod(path, 0o666))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc := r.Header.Get("X-Want-Location"); loc != "" {
			w.Header().Set("Location", loc)
		}
		if h := r.Header.Get("X-Want-Header"); h != "" {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Set(k, strings.TrimSpace(v))
		}
		w.Header().Set("Content-Type", "text/plain")
		status := 200
		fmt.Sscan(r.Header.Get("X-Want-Status"), &status)
		w.WriteHeader(status)
		fmt.Fprintf(w, "%s %s host=%s xs=%s\n", r.Method, r.RequestURI, r.Host, r.Header.Get("X-Site"))
	})}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
}

// flowSite fills SOCK and MISSING in a site template.
func flowSite(dir, tmpl string) string {
	r := strings.NewReplacer("SOCK", filepath.Join(dir, "echo.sock"), "SHAPE", filepath.Join(dir, "shape.sock"),
		"MISSING", filepath.Join(dir, "missing.sock"))
	return r.Replace(tmpl)
}

func runFlowDiff(t *testing.T, tmpl string, cases []diffCase) {
	t.Helper()
	dir := t.TempDir()
	startEcho(t, filepath.Join(dir, "echo.sock"), "echo")
	startShapeBackend(t, filepath.Join(dir, "shape.sock"))
	site := flowSite(dir, tmpl)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, cases)
}

func get(path string, headers ...string) string {
	h := ""
	for _, x := range headers {
		h += x + "\r\n"
	}
	return "GET " + path + " HTTP/1.1\r\nHost: flow.test\r\n" + h + "Connection: close\r\n\r\n"
}

func TestRewriteModuleMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    if ($http_x_block = "yes") { return 403; }
    rewrite ^/old/(.*)$ /new/$1 permanent;
    rewrite ^/ext/(.*)$ http://example.com/$1 redirect;
    rewrite ^/srv/(.*)$ /new/$1;
    location / { proxy_pass http://unix:SOCK; }
    location /new/ { proxy_pass http://unix:SOCK:/backend/; }
    location /r/ {
        rewrite ^/r/(\w+)/(\d+)$ /new/$1?id=$2 last;
        rewrite ^/r/keep/(.*)$ /new/$1 last;
        rewrite ^/r/drop/(.*)$ /new/$1? last;
        return 404;
    }
    location /b/ {
        rewrite ^/b/(.*)$ /c/$1 break;
        proxy_pass http://unix:SOCK:/x/;
    }
    location = /text { return 200 "hello $host $uri $args"; }
    location = /nocode { return 204; }
    location = /url { return https://example.org$request_uri; }
    location = /rel { return 301 /target?a=1; }
    location = /err { return 503; }
    location = /close { return 444; }
    location = /bare200 { return 200; }
    location = /bare302 { return 302; }
    location = /teapot { return 418; }
    location = /teapottext { return 418 "short and stout"; }
    location /dt/ { default_type application/json; return 200 "{}"; }
    location = /odd { return 299 "odd"; }
    location /set/ {
        set $who "$host-$request_method";
        set $both "$who/$who";
        return 200 $both;
    }
    location /if/ {
        if ($request_method = POST) { return 405; }
        if ($http_user_agent ~* "(bot|crawler)") { return 403 "bot $1"; }
        if ($http_x_v) { return 200 "flag"; }
        if ($http_x_v != "") { return 200 "never"; }
        if (-d /tmp) { set $d dir; }
        if (!-f /nonexistent) { return 200 "nofile $d"; }
        proxy_pass http://unix:SOCK;
    }
    location /loop/ { rewrite ^ /loop/x last; }
    location /brk/ {
        set $a 1;
        break;
        return 404;
    }
    location ~ ^/re/(\d+)/(\w+)$ { return 200 "re $2 $1 $10"; }
    location /vars/ { return 200 "a=$arg_Foo b=$arg_b c=$cookie_sid d=$cookie_Other h=$https."; }
    location /setargs/ {
        set $args "x=1&$args";
        proxy_pass http://unix:SOCK;
    }
    location /cors/ {
        if ($request_method = OPTIONS) {
            add_header Access-Control-Allow-Origin "*";
            add_header Access-Control-Max-Age 1728000;
            return 204;
        }
        if ($http_x_alt) {
            proxy_pass http://unix:SHAPE;
            add_header X-Inner 1;
        }
        if ($http_x_inherit) {
            add_header X-Inherit 1;
        }
        add_header X-Outer 1;
        proxy_pass http://unix:SOCK;
    }
    location /setargs2/ {
        set $args "x=2";
        rewrite ^/setargs2/(.*)$ /new/$1 last;
    }
}
`, []diffCase{
		{name: "server if returns", raw: get("/anything", "X-Block: yes")},
		{name: "server rewrite permanent keeps args", raw: get("/old/a/b?x=1")},
		{name: "redirect capture with a plus", raw: get("/old/a+b")},
		{name: "a ? from a capture stays in the path", raw: get("/r/keep/a%3Fb?orig=1")},
		{name: "server rewrite to URL is a redirect", raw: get("/ext/p?q=2")},
		{name: "server rewrite without flag then location lookup", raw: get("/srv/z?k=v"),
			want: "GET /backend/z?k=v HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"},
		{name: "rewrite last with new args", raw: get("/r/abc/12?orig=1")},
		{name: "rewrite last keeps args", raw: get("/r/keep/x%20y?orig=1")},
		{name: "rewrite last trailing ? drops args", raw: get("/r/drop/x?orig=1")},
		{name: "no rewrite matches, return 404", raw: get("/r/")},
		{name: "rewrite break ignores proxy_pass URI", raw: get("/b/d/e?z=1")},
		{name: "return text with variables", raw: get("/text?a=b")},
		{name: "return text takes default_type", raw: get("/dt/x")},
		{name: "return text takes the URI's type", raw: get("/dt/x.html")},
		{name: "return text, HEAD", raw: "HEAD /text HTTP/1.1\r\nHost: flow.test\r\nConnection: close\r\n\r\n"},
		{name: "return 204", raw: get("/nocode")},
		{name: "return URL is 302", raw: get("/url?u=1")},
		{name: "return 301 relative made absolute", raw: get("/rel")},
		{name: "return error code gives nginx's page", raw: get("/err")},
		{name: "return 200 without text", raw: get("/bare200")},
		{name: "return 302 without URL", raw: get("/bare302")},
		{name: "return an unknown error code", raw: get("/teapot")},
		{name: "return an unknown code with text", raw: get("/teapottext")},
		{name: "return a code nginx has no reason for", raw: get("/odd")},
		{name: "set variables", raw: get("/set/")},
		{name: "if method", raw: "POST /if/ HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{name: "if caseless regex with capture", raw: get("/if/", "User-Agent: GoogleBOT/2")},
		{name: "if bare variable", raw: get("/if/", "X-V: 1")},
		{name: "if bare variable 0 is false", raw: get("/if/", "X-V: 0")},
		{name: "if file tests", raw: get("/if/")},
		{name: "rewrite cycle is 500", raw: get("/loop/a")},
		{name: "break stops rewrite directives", raw: get("/brk/")},
		{name: "regex location captures", raw: get("/re/42/ab")},
		{name: "arg and cookie variables", raw: get("/vars/?foo=1&b&b=2&bb=3", "Cookie: a=1; SID=xyz", "Cookie: other=o")},
		{name: "set $args without a rewrite", raw: get("/setargs/p?q=1")},
		{name: "set $args then rewrite", raw: get("/setargs2/p?q=1")},
		{name: "if block with add_header and return", raw: "OPTIONS /cors/ HTTP/1.1\r\nHost: flow.test\r\nConnection: close\r\n\r\n"},
		{name: "if block not taken", raw: get("/cors/x")},
		{name: "if block with its own proxy_pass and add_header", raw: get("/cors/y", "X-Alt: 1")},
		{name: "if block inherits proxy_pass", raw: get("/cors/z", "X-Inherit: 1")},
	})
}

func TestReturn444ClosesTheConnection(t *testing.T) {
	dir := t.TempDir()
	addr, _ := startWisp(t, dir, "server {\n listen LISTEN;\n location / { return 444; }\n}\n")
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	_, err = c.Write([]byte(get("/")))
	must(t, err)
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatalf("got a response %q, want the connection closed", line)
	}
}

func TestMapMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
map $http_x_host $site {
    hostnames;
    default          other;
    example.com      exact;
    *.example.org    org;
    .example.net     net;
    www.example.*    www;
    ~^api(\d+)\.     api-$1;
    \default         escaped;
}
map "$request_method:$uri" $route {
    default       none;
    GET:/m/a      get-a;
    ~*^post:/m/   post-m;
}
map $route $chained {
    default "via-$route";
}
server {
    listen LISTEN;
    server_name flow.test;
    location / {
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header X-Site $site;
        proxy_set_header X-Route $route;
        proxy_set_header X-Chained $chained;
        proxy_pass http://unix:SOCK;
    }
}
`, []diffCase{
		{name: "no upgrade header closes", raw: get("/m/a")},
		{name: "upgrade header", raw: get("/m/b", "Upgrade: websocket")},
		{name: "hostname exact, case-insensitive, trailing dot", raw: get("/", "X-Host: Example.COM.")},
		{name: "leading wildcard", raw: get("/", "X-Host: a.b.example.org")},
		{name: "dot form matches the bare name", raw: get("/", "X-Host: example.net")},
		{name: "trailing wildcard", raw: get("/", "X-Host: www.example.co.uk")},
		{name: "regex with capture", raw: get("/", "X-Host: api7.example.io")},
		{name: "escaped parameter name as key", raw: get("/", "X-Host: default")},
		{name: "default", raw: get("/", "X-Host: nothing.here")},
		{name: "composite source caseless regex", raw: "POST /m/x HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
	})
}

func TestErrorPageAndNamedLocationsMatchNginx(t *testing.T) {
	runFlowDiff(t, `
upstream shape { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test;
    error_page 404 /404.html;
    location / { proxy_pass http://shape; }
    location /missing/ { return 404; }
    location /named/ {
        error_page 404 = @fallback;
        return 404;
    }
    location /eq/ {
        error_page 404 =200 /ok;
        return 404;
    }
    location = /ok { return 200 "ok page"; }
    location /ext/ {
        error_page 403 http://example.com/forbidden;
        return 403;
    }
    location /ext301/ {
        error_page 403 =301 http://example.com/f;
        return 403;
    }
    location /nonrec/ {
        error_page 404 /missing/x;
        return 404;
    }
    location /rec/ {
        recursive_error_pages on;
        error_page 404 /named/again;
        return 404;
    }
    location /intercept/ {
        proxy_intercept_errors on;
        error_page 404 500 = @fallback;
        error_page 502 /ok;
        proxy_pass http://shape;
    }
    location /nointercept/ {
        error_page 404 = @fallback;
        proxy_pass http://shape;
    }
    location /down/ {
        error_page 502 =503 @fallback;
        proxy_pass http://unix:MISSING;
    }
    location @fallback { proxy_pass http://shape; }
}
`, []diffCase{
		{name: "error_page to a URI keeps the status", raw: get("/missing/a?x=1")},
		{name: "error_page = takes the named location's status", raw: get("/named/a")},
		{name: "error_page =200 to a return", raw: get("/eq/a")},
		{name: "error_page to a URL is 302", raw: get("/ext/")},
		{name: "error_page =301 to a URL", raw: get("/ext301/")},
		{name: "no recursion by default", raw: get("/nonrec/")},
		{name: "recursive_error_pages on", raw: get("/rec/")},
		{name: "intercepted upstream 404 goes to the named location", raw: get("/intercept/a", "X-Want-Status: 404")},
		{name: "upstream 404 without interception is relayed", raw: get("/nointercept/a", "X-Want-Status: 404")},
		{name: "intercept passes codes without error_page", raw: get("/intercept/b", "X-Want-Status: 403")},
		{name: "upstream down goes to the named location with =503", raw: get("/down/")},
		{name: "POST becomes GET on an error_page redirect", raw: "POST /missing/p HTTP/1.1\r\nHost: flow.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{name: "HEAD stays HEAD", raw: "HEAD /missing/h HTTP/1.1\r\nHost: flow.test\r\nConnection: close\r\n\r\n"},
	})
}

func TestProxyResponseHandlingMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
upstream shape { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test;
    location / { proxy_pass http://shape; }
    location /one/ { proxy_pass http://shape/two/; }
    location /off/ {
        proxy_redirect off;
        proxy_pass http://shape;
    }
    location /explicit/ {
        proxy_redirect http://shape/x/ /y/;
        proxy_redirect http://other/ http://$host/other/;
        proxy_redirect ~^http://re\.test/(\w+)/(.*)$ /re/$2/$1;
        proxy_pass http://shape;
    }
    location /hide/ {
        proxy_hide_header X-Secret;
        proxy_pass_header X-Pad;
        proxy_pass_header Server;
        proxy_pass http://shape;
    }
    location /buf/ {
        proxy_buffering off;
        proxy_pass http://shape;
    }
}
`, []diffCase{
		{name: "default redirect without URI", raw: get("/a", "X-Want-Status: 302", "X-Want-Location: http://shape/login?x=1")},
		{name: "default redirect with URI", raw: get("/one/a", "X-Want-Status: 301", "X-Want-Location: http://shape/two/b")},
		{name: "relative Location unchanged", raw: get("/a", "X-Want-Status: 302", "X-Want-Location: /rel")},
		{name: "other host unchanged", raw: get("/a", "X-Want-Status: 302", "X-Want-Location: http://elsewhere/x")},
		{name: "proxy_redirect off", raw: get("/off/", "X-Want-Status: 302", "X-Want-Location: http://shape/login")},
		{name: "explicit prefix", raw: get("/explicit/", "X-Want-Status: 302", "X-Want-Location: http://shape/x/z?q")},
		{name: "explicit with variables", raw: get("/explicit/", "X-Want-Status: 302", "X-Want-Location: http://other/p")},
		{name: "explicit regex", raw: get("/explicit/", "X-Want-Status: 302", "X-Want-Location: http://re.test/abc/def")},
		{name: "explicit, no rule matches", raw: get("/explicit/", "X-Want-Status: 302", "X-Want-Location: http://shape/login")},
		{name: "hide header", raw: get("/hide/", "X-Want-Header: X-Secret: s")},
		{name: "pass header", raw: get("/hide/", "X-Want-Header: X-Pad: p")},
		{name: "X-Pad hidden by default", raw: get("/", "X-Want-Header: X-Pad: p")},
		{name: "pass Server header", raw: get("/hide/", "X-Want-Header: Server: upstream/1")},
		{name: "Server hidden by default", raw: get("/", "X-Want-Header: Server: upstream/1")},
		{name: "proxy_buffering off", raw: get("/buf/")},
	})
}

func TestProxyPassWithVariablesMatchesNginx(t *testing.T) {
	runFlowDiff(t, `
upstream shape { server unix:SHAPE; }
server {
    listen LISTEN;
    server_name flow.test;
    location /group/ {
        set $up shape;
        proxy_pass http://$up;
    }
    location /groupuri/ {
        set $up shape;
        proxy_pass http://$up/fixed$is_args$args;
    }
    location /unix/ {
        proxy_pass http://unix:SOCK:$request_uri;
    }
    location /noresolver/ {
        proxy_pass http://$http_x_target;
    }
    location ~ ^/cap/(\w+)$ {
        proxy_pass http://shape/c/$1;
    }
}
`, []diffCase{
		{name: "upstream group by variable", raw: get("/group/a?b=1")},
		{name: "variable URL with URI is sent as is", raw: get("/groupuri/a?b=1")},
		{name: "unix socket with variable URI", raw: get("/unix/x?y=1")},
		{name: "host without resolver is 502", raw: get("/noresolver/", "X-Target: nowhere.invalid")},
		{name: "regex captures in proxy_pass", raw: get("/cap/abc?q=1")},
	})
}

// startHTTPBackend serves a shape-style handler on loopback TCP, over TLS
// when cert is set; the body also lists the headers received (sorted)
// and the SNI name.
func startHTTPBackend(t *testing.T, certPath, keyPath string) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	if certPath != "" {
		pair, err := tls.LoadX509KeyPair(certPath, keyPath)
		must(t, err)
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}})
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc := r.Header.Get("X-Want-Location"); loc != "" {
			w.Header().Set("Location", loc)
		}
		w.Header().Set("Content-Type", "text/plain")
		status := 200
		fmt.Sscan(r.Header.Get("X-Want-Status"), &status)
		w.WriteHeader(status)
		var names []string
		for k, v := range r.Header {
			names = append(names, k+": "+strings.Join(v, ","))
		}
		sort.Strings(names)
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		fmt.Fprintf(w, "%s %s %s host=%s sni=%s\n%s\n", r.Method, r.RequestURI, r.Proto, r.Host, sni, strings.Join(names, "\n"))
	})}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

// ghostSiteConf is Ghost-CLI's nginx.conf template (ghost-compat.md §8.1)
// as Ghost-CLI renders it for a root install.
func ghostSiteConf(url, webroot string, port int) string {
	ap := `        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        add_header X-Content-Type-Options $header_content_type_options;
        proxy_ssl_server_name on;
        resolver 1.1.1.1 8.8.8.8 valid=300s;
        resolver_timeout 5s;
        set $activitypub_upstream https://ap.ghost.org;
        proxy_pass $activitypub_upstream;
`
	return `map $status $header_content_type_options {
    204 "";
    default "nosniff";
}

server {
    listen 80;
    listen [::]:80;

    server_name ` + url + `;
    root ` + webroot + `; # Used for acme.sh SSL verification (https://acme.sh)

    location ~ /.ghost/activitypub/* {
` + ap + `    }

    location ~ /.well-known/(webfinger|nodeinfo) {
` + ap + `    }

    location / {
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        proxy_pass http://127.0.0.1:` + strconv.Itoa(port) + `;

        add_header X-Content-Type-Options $header_content_type_options;
    }

    location ~ /.well-known {
        allow all;
    }

    client_max_body_size 50m;
}
`
}

func TestGhostCLISiteLoadsAsItIs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "example.com.conf")
	must(t, os.WriteFile(path, []byte(ghostSiteConf("example.com", "/var/www/ghost/system/nginx-root", 2368)), 0o644))
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
	must(t, err)
	if _, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix}); err != nil {
		t.Fatalf("Ghost-CLI's site.conf does not compile: %v", err)
	}
}

func TestGhostCLISiteMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	port := startHTTPBackend(t, "", "")
	webroot := filepath.Join(dir, "nginx-root")
	must(t, os.MkdirAll(filepath.Join(webroot, ".well-known", "acme-challenge"), 0o755))
	must(t, os.WriteFile(filepath.Join(webroot, ".well-known", "acme-challenge", "tok"), []byte("challenge\n"), 0o644))
	site := ghostSiteConf("flow.test", webroot, port)
	// Only the listen lines change: both proxies get a free loopback port.
	site = strings.Replace(site, "    listen 80;\n    listen [::]:80;\n", "    listen LISTEN;\n", 1)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "home page with forwarded headers", raw: get("/?ref=x", "X-Forwarded-For: 9.9.9.9")},
		{name: "204 gets no X-Content-Type-Options", raw: get("/ghost/api/", "X-Want-Status: 204")},
		{name: "404 from Ghost keeps nosniff", raw: get("/missing/", "X-Want-Status: 404")},
		{name: "Ghost's redirect relayed", raw: get("/p", "X-Want-Status: 301", "X-Want-Location: http://127.0.0.1:"+strconv.Itoa(port)+"/p/")},
		{name: "POST", raw: "POST /ghost/api/admin/session HTTP/1.1\r\nHost: flow.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"},
		{name: "acme challenge from the webroot", raw: get("/.well-known/acme-challenge/tok")},
	})
}

func TestHTTPSUpstreamMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "backend", false, "backend.test")
	port := strconv.Itoa(startHTTPBackend(t, cert, key))
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    location /nosni/ { proxy_pass https://127.0.0.1:`+port+`; }
    location /sni/ {
        proxy_ssl_server_name on;
        proxy_ssl_name backend.test;
        proxy_pass https://127.0.0.1:`+port+`/up/;
    }
    location /var/ {
        proxy_ssl_server_name on;
        proxy_ssl_name $host;
        set $tls_up https://127.0.0.1:`+port+`;
        proxy_pass $tls_up;
    }
}
`, []diffCase{
		{name: "https upstream without SNI", raw: get("/nosni/a?b")},
		{name: "proxy_ssl_name sent as SNI", raw: get("/sni/a")},
		{name: "redirect from an https upstream", raw: get("/sni/r", "X-Want-Status: 302", "X-Want-Location: https://127.0.0.1:"+port+"/up/next")},
		{name: "variable https URL with SNI from a variable", raw: get("/var/x")},
	})
}

// startDNS answers A queries for every name with 127.0.0.1 and AAAA
// queries with no records, over UDP on loopback; it returns host:port.
func startDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	must(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := dnsReply(buf[:n]); reply != nil {
				pc.WriteTo(reply, addr)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// dnsReply builds the answer to a one-question query (RFC 1035 §4.1).
func dnsReply(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	qtype := int(q[end-4])<<8 | int(q[end-3])
	out := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:end]...)
	if qtype == 1 {
		out[7] = 1
		out = append(out, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
	}
	return out
}

func TestResolverForVariableProxyPassMatchesNginx(t *testing.T) {
	dns := startDNS(t)
	port := strconv.Itoa(startHTTPBackend(t, "", ""))
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    resolver `+dns+` valid=30s;
    resolver_timeout 2s;
    location / {
        set $backend backend.test;
        proxy_pass http://$backend:`+port+`;
    }
    location /uri/ {
        proxy_pass http://backend.test:`+port+`/fixed$request_uri;
    }
}
`, []diffCase{
		{name: "host name resolved per request", raw: get("/a?b=1")},
		{name: "resolved host with a URI part", raw: get("/uri/x?y")},
	})
}

func TestErrorPageWithStaticFilesMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	must(t, os.MkdirAll(filepath.Join(root, "deny"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "custom404.html"), []byte("<p>custom not found</p>\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>home</p>\n"), 0o644))
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    root `+root+`;
    error_page 404 /custom404.html;
    error_page 403 = @denied;
    location / { }
    location /deny/ { deny all; }
    location @denied { return 200 "denied $uri"; }
    location /try/ { try_files $uri @fallback; }
    location @fallback { proxy_pass http://unix:SOCK; }
    location /sub/ {
        error_page 404 =410 /custom404.html;
    }
}
`, []diffCase{
		{name: "a missing file gets the custom page with 404", raw: get("/nofile.html")},
		{name: "an existing file", raw: get("/index.html")},
		{name: "deny goes to the named location with its status", raw: get("/deny/x")},
		{name: "try_files falls back to a named location", raw: get("/try/none?a=1")},
		{name: "=410 on a static 404", raw: get("/sub/none")},
		{name: "HEAD of a missing file", raw: "HEAD /nofile.html HTTP/1.1\r\nHost: flow.test\r\nConnection: close\r\n\r\n"},
	})
}
