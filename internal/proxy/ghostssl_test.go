package proxy

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"wisp/internal/ngxconf"
)

// ghostSSLParams is Ghost-CLI's ssl-params.conf (ghost-compat.md §8.3):
// the same directives in the same order, with its long ECDHE/DHE/AES
// cipher list (the DHE suites are the ones Go cannot honour).
const ghostSSLParams = `ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers on;
ssl_ciphers 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA:ECDHE-ECDSA-DES-CBC3-SHA:ECDHE-RSA-DES-CBC3-SHA:EDH-RSA-DES-CBC3-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA:!DSS';
ssl_ecdh_curve secp384r1;
ssl_session_cache shared:SSL:10m;
ssl_session_tickets off;
add_header Strict-Transport-Security 'max-age=63072000; includeSubDomains; preload';
add_header X-Frame-Options SAMEORIGIN;
ssl_dhparam DHPARAM;
`

// ghostSSLSite is Ghost-CLI's nginx-ssl.conf (ghost-compat.md §8.2) for
// https://igu.io/, with the main app's proxy_pass pointed at a Unix socket
// as §8.4 describes, and its two listen lines.
const ghostSSLSite = `map $status $header_content_type_options {
    204 "";
    default "nosniff";
}

server {
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name igu.io;
    root WEBROOT;

    ssl_certificate FULLCHAIN;
    ssl_certificate_key PRIVKEY;
    include SSLPARAMS;

    location ~ /.ghost/activitypub/* {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        add_header X-Content-Type-Options $header_content_type_options;
        proxy_ssl_server_name on;
        resolver 127.0.0.1 valid=300s;
        resolver_timeout 5s;
        set $activitypub_upstream https://ap.ghost.org;
        proxy_pass $activitypub_upstream;
    }

    location ~ /.well-known/(webfinger|nodeinfo) {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        add_header X-Content-Type-Options $header_content_type_options;
        proxy_ssl_server_name on;
        resolver 127.0.0.1 valid=300s;
        resolver_timeout 5s;
        set $activitypub_upstream https://ap.ghost.org;
        proxy_pass $activitypub_upstream;
    }

    location / {
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        proxy_pass http://unix:SOCKET:;
        add_header X-Content-Type-Options $header_content_type_options;
    }

    client_max_body_size 1g;
}
`

// TestGhostCLISSLSiteMatchesNginx loads Ghost-CLI's SSL site with its
// ssl-params.conf include in both proxies and compares what a browser and
// the Ghost backend see, over HTTP/1.1 and HTTP/2.
func TestGhostCLISSLSiteMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ghost.sock")
	startEcho(t, sock, "echo")
	// Ghost-CLI makes its dhparam.pem exactly so.
	dh := filepath.Join(dir, "dhparam.pem")
	if out, err := exec.Command("openssl", "dhparam", "-dsaparam", "-out", dh, "2048").CombinedOutput(); err != nil {
		t.Fatalf("openssl dhparam (openssl is needed to make Ghost-CLI's dhparam.pem): %v\n%s", err, out)
	}
	params := filepath.Join(dir, "ssl-params.conf")
	must(t, os.WriteFile(params, []byte(strings.ReplaceAll(ghostSSLParams, "DHPARAM", dh)), 0o644))
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "igu.io", true, "igu.io")
	must(t, os.MkdirAll(filepath.Join(dir, "nginx-root"), 0o755))
	site := strings.NewReplacer("WEBROOT", filepath.Join(dir, "nginx-root"), "FULLCHAIN", cert, "PRIVKEY", key,
		"SSLPARAMS", params, "SOCKET", sock).Replace(ghostSSLSite)
	// As written, both listen lines included, the site compiles.
	asIs := filepath.Join(dir, "igu.io-ssl.conf")
	must(t, os.WriteFile(asIs, []byte(site), 0o644))
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: asIs})
	must(t, err)
	if _, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix}); err != nil {
		t.Fatalf("Ghost-CLI's site-ssl.conf does not compile as it is: %v", err)
	}
	// To serve, only the listen lines change: free loopback ports, the
	// IPv6 one bound by nginx only (wisp's test listener maps every
	// address to 127.0.0.1).
	site = strings.Replace(site, "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n",
		"    listen LISTEN ssl http2;\n    listen [::1]:"+strconv.Itoa(freePort(t))+" ssl http2;\n", 1)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)

	runDiff(t, tlsForwarder(t, nginxAddr, "igu.io"), tlsForwarder(t, wispAddr, "igu.io"), []diffCase{
		{name: "home page", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nUser-Agent: curl/7.88.1\r\nConnection: close\r\n\r\n",
			want: "GET / HTTP/1.0\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 127.0.0.1\r\nHost: igu.io\r\nConnection: close\r\nUser-Agent: curl/7.88.1\r\n\r\n"},
		{name: "post with query", raw: "GET /hello-world/?ref=x HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n"},
		{name: "admin API POST", raw: "POST /ghost/api/admin/posts/ HTTP/1.1\r\nHost: igu.io\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"},
		{name: "keep-alive request", raw: "GET /about/ HTTP/1.1\r\nHost: igu.io\r\n\r\n"},
	})
	for _, name := range []string{"nginx", "wisp"} {
		addr := map[string]string{"nginx": nginxAddr, "wisp": wispAddr}[name]
		if h := probeTLS(addr, tlsClient("igu.io", "h2")); h.err != nil || h.alpn != "h2" || h.chain != 2 {
			t.Errorf("%s: handshake %+v, want h2 with a chain of 2", name, h)
		}
	}
}

func tlsClient(sni string, alpn ...string) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: sni, NextProtos: alpn}
}
