package proxy

import (
	"path/filepath"
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
