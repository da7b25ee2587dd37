package proxy

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seedSite returns the seed's igu.io byte for byte, with only the socket
// path and the listen address substituted (LISTEN is filled per proxy).
func seedSite(t *testing.T, sock string) string {
	t.Helper()
	b, err := os.ReadFile("/work/shared/seed/igu.io")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "unix:/tmp/igu-io.sock", "unix:"+sock, 1)
	return strings.Replace(s, "listen 80;", "listen LISTEN;", 1)
}

func TestSeedSiteMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "igu.sock")
	startEcho(t, sock, "echo")
	site := seedSite(t, sock)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "plain GET", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n",
			want: "GET / HTTP/1.0\r\nHost: igu\r\nConnection: close\r\n\r\n"},
		{name: "hop-by-hop dropped, forwarded headers kept",
			raw:  "GET /c?q=1 HTTP/1.1\r\nHost: IGU.io:18090\r\nUser-Agent: curl/7.88.1\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\nUpgrade: foo\r\nProxy-Connection: x\r\nKeep-Alive: 5\r\nTE: trailers\r\n\r\n",
			want: "GET /c?q=1 HTTP/1.0\r\nHost: igu\r\nConnection: close\r\nUser-Agent: curl/7.88.1\r\nX-Forwarded-For: 1.2.3.4\r\nProxy-Connection: x\r\n\r\n"},
		{name: "raw URI sent unchanged", raw: "GET /a%20b/../c//d?q=%20x HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n",
			want: "GET /a%20b/../c//d?q=%20x HTTP/1.0\r\nHost: igu\r\nConnection: close\r\n\r\n"},
		{name: "POST body with Content-Length", raw: "POST /p HTTP/1.1\r\nHost: igu.io\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello",
			want: "POST /p HTTP/1.0\r\nHost: igu\r\nConnection: close\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"},
		{name: "chunked body sent with Content-Length", raw: "POST /p HTTP/1.1\r\nHost: igu.io\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			want: "POST /p HTTP/1.0\r\nHost: igu\r\nConnection: close\r\nContent-Length: 5\r\n\r\nabcde"},
		{name: "underscore header ignored", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nX_Under: 1\r\nX-Ok: 2\r\nConnection: close\r\n\r\n"},
		{name: "duplicate headers kept in order", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nX-A: 1\r\nx-a: 2\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n"},
		{name: "HTTP/1.0 without Host goes to the default server", raw: "GET /x HTTP/1.0\r\n\r\n"},
		{name: "unknown host goes to the default server", raw: "GET / HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n"},
		{name: "absolute-form target", raw: "GET http://Igu.IO/abs?x HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n"},
		{name: "HTTP/1.0 keep-alive request", raw: "GET / HTTP/1.0\r\nHost: igu.io\r\n\r\n"},
		{name: "HEAD", raw: "HEAD / HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n"},
		{name: "missing Host on HTTP/1.1 is 400", raw: "GET / HTTP/1.1\r\n\r\n"},
		{name: "Content-Length with Transfer-Encoding is 400", raw: "POST / HTTP/1.1\r\nHost: igu.io\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{name: "bad chunk size is 400", raw: "POST / HTTP/1.1\r\nHost: igu.io\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
		{name: "invalid host is 400", raw: "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n"},
		{name: "duplicate Host is 400", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nHost: igu.io\r\n\r\n"},
		{name: "obs-fold is 400", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nX-A: 1\r\n  folded\r\n\r\n"},
		{name: "header too large is 400", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n"},
		{name: "Chrome gets the padded error page", raw: "GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36\r\n\r\n"},
	})
}

func TestUnreachableUpstreamIs502LikeNginx(t *testing.T) {
	dir := t.TempDir()
	site := seedSite(t, filepath.Join(dir, "missing.sock"))
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "missing socket", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n"},
		{name: "missing socket, HEAD", raw: "HEAD / HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n"},
	})
}

func TestUpstreamReadTimeoutIs504LikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "hang.sock")
	startEcho(t, sock, "hang")
	site := "server {\n listen LISTEN;\n location / {\n  proxy_pass http://unix:" + sock + ";\n  proxy_read_timeout 1s;\n }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "no response header in time", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n"},
	})
}

func TestLocationsAndSetHeadersMatchNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startEcho(t, sock, "echo")
	site := `
upstream app { server unix:` + sock + `; }
server {
    listen LISTEN default_server;
    server_name a.test;
    proxy_set_header X-Server-Level 1;
    location / {
        proxy_pass http://app;
    }
    location /sub/ {
        proxy_pass http://app/app/;
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Vars "$request_method $uri $args$is_args $request_uri $server_name $host";
        proxy_set_header Connection "";
    }
    location = /exact {
        proxy_pass http://unix:` + sock + `:/unix/;
    }
}
server {
    listen LISTEN;
    server_name b.test;
    location / { proxy_pass http://app; proxy_http_version 1.1; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "server-level header inherited", raw: "GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
		{name: "location list replaces the server's", raw: "GET /sub/x%2Fy?z=1 HTTP/1.1\r\nHost: A.test:81\r\nX-Forwarded-For: 9.9.9.9\r\nConnection: close\r\n\r\n"},
		{name: "URI replacement without escapes", raw: "GET /sub/deep/er HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
		{name: "dot segments with URI replacement", raw: "GET /sub/a%20b/../c?q HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
		{name: "trailing-slash redirect", raw: "GET /sub?k=v HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
		{name: "exact location to unix URI", raw: "GET /exact?x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
		{name: "second server by name, HTTP/1.1 upstream", raw: "GET / HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"},
	})
}

func TestUpstreamGroupRetriesAndFailsLikeNginx(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	startEcho(t, live, "echo")
	site := `
upstream half { server unix:` + dir + `/dead.sock; server unix:` + live + `; }
upstream none { server unix:` + dir + `/dead1.sock; server unix:` + dir + `/dead2.sock max_fails=2; }
server {
    listen LISTEN;
    location / { proxy_pass http://half; }
    location /none/ { proxy_pass http://none; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	get := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	none := "GET /none/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "dead first peer is retried on the live one", raw: get},
		{name: "dead peer skipped afterwards", raw: get},
		{name: "again", raw: get},
		{name: "all peers down", raw: none},
		{name: "all peers down, no live upstreams", raw: none},
	})
}

func TestWildcardAndRegexServerNamesMatchNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startEcho(t, sock, "echo")
	loc := " location / { proxy_pass http://unix:" + sock + "; proxy_set_header X-S $server_name; }\n"
	site := "server { listen LISTEN; server_name default.test;" + loc + "}\n" +
		"server { listen LISTEN; server_name *.example.com;" + loc + "}\n" +
		"server { listen LISTEN; server_name *.deep.example.com;" + loc + "}\n" +
		"server { listen LISTEN; server_name www.example.*;" + loc + "}\n" +
		"server { listen LISTEN; server_name .dot.test;" + loc + "}\n" +
		"server { listen LISTEN; server_name ~^api\\d+\\.test$;" + loc + "}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var cases []diffCase
	for _, host := range []string{"a.example.com", "x.deep.example.com", "example.com", "www.example.org",
		"www.example.com", "dot.test", "a.b.dot.test", "api12.test", "API7.test", "apix.test", "nothing.test"} {
		cases = append(cases, diffCase{name: host, raw: "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"})
	}
	runDiff(t, nginxAddr, wispAddr, cases)
}

func TestResponseFramingIsTranslatedLikeNginx(t *testing.T) {
	for _, mode := range []string{"chunked", "close"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "b.sock")
			startEcho(t, sock, mode)
			site := seedSite(t, sock)
			nginxAddr := startNginx(t, dir, site)
			wispAddr, _ := startWisp(t, dir, site)
			runDiff(t, nginxAddr, wispAddr, []diffCase{
				{name: "HTTP/1.1 client", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\nConnection: close\r\n\r\n"},
				{name: "HTTP/1.1 keep-alive client", raw: "GET / HTTP/1.1\r\nHost: igu.io\r\n\r\n"},
				{name: "HTTP/1.0 client", raw: "GET / HTTP/1.0\r\nHost: igu.io\r\n\r\n"},
				{name: "HTTP/1.0 keep-alive client", raw: "GET / HTTP/1.0\r\nHost: igu.io\r\nConnection: keep-alive\r\n\r\n"},
			})
		})
	}
}

// TestSmugglingAttemptsAreRefusedAndNeverForwarded sends request-smuggling
// attempts through a proxied location of both proxies, each in front of
// its own backend: the client gets nginx's answer (400, or 501 for a
// transfer coding nginx does not know) and neither backend receives a
// single connection. A final good request shows the backends were
// reachable all along.
func TestSmugglingAttemptsAreRefusedAndNeverForwarded(t *testing.T) {
	dir := t.TempDir()
	site := "server {\n listen LISTEN;\n location / { proxy_pass http://unix:SOCK; }\n}\n"
	type counted struct {
		addr     string
		accepted atomic.Int64
	}
	var nginx, wisp counted
	for who, p := range map[string]*counted{"nginx": &nginx, "wisp": &wisp} {
		sock := filepath.Join(dir, who+".sock")
		b := &echoBackend{mode: "echo"}
		b.serveConns(listenUnix0666(t, sock), func(c net.Conn) { p.accepted.Add(1); b.serve(c) })
		t.Cleanup(b.stop)
		s := strings.ReplaceAll(site, "SOCK", sock)
		if who == "nginx" {
			p.addr = startNginx(t, dir, s)
		} else {
			p.addr, _ = startWisp(t, dir, s)
		}
	}
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: s\r\n\r\n"
	tests := []struct {
		name   string
		raw    []string // written one after another
		status string
	}{
		{"Content-Length then Transfer-Encoding", []string{"POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled}, "400"},
		{"Transfer-Encoding then Content-Length", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled}, "400"},
		{"two different Content-Lengths", []string{"POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n" + smuggled}, "400"},
		{"obs-fold hiding Transfer-Encoding", []string{"POST /x HTTP/1.1\r\nHost: s\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"}, "400"},
		{"obs-fold with a tab", []string{"GET /x HTTP/1.1\r\nHost: s\r\nX-A: 1\r\n\tfolded\r\n\r\n"}, "400"},
		{"chunk size not hex", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"}, "400"},
		{"negative chunk size", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n"}, "400"},
		{"chunk size overflowing 64 bits", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n"}, "400"},
		{"chunk data longer than its size", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"}, "400"},
		{"bad chunk size after a good chunk, in a later packet", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "xyz\r\nabc\r\n0\r\n\r\n"}, "400"},
		{"chunked on HTTP/1.0", []string{"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}, "400"},
		{"Content-Length with junk", []string{"POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 3x\r\n\r\nabc"}, "400"},
		{"unknown transfer coding", []string{"POST /x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"}, "501"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out [2]string
			for i, p := range []*counted{&nginx, &wisp} {
				c, err := net.Dial("tcp", p.addr)
				must(t, err)
				for j, part := range tc.raw {
					if j > 0 {
						// Apart, so that a bad chunk comes after the
						// proxy has taken a good one.
						time.Sleep(50 * time.Millisecond)
					}
					io.WriteString(c, part)
				}
				out[i] = readAllRaw(t, c, 5*time.Second)
				c.Close()
			}
			if out[0] != out[1] {
				t.Errorf("client got\nnginx: %q\nwisp:  %q", out[0], out[1])
			}
			if !strings.HasPrefix(out[1], "HTTP/1.1 "+tc.status+" ") {
				t.Errorf("wisp answered %q, want %s", out[1], tc.status)
			}
			if n, w := nginx.accepted.Load(), wisp.accepted.Load(); n != 0 || w != 0 {
				t.Errorf("the backend was reached: %d connections from nginx, %d from wisp", n, w)
			}
		})
	}
	for _, p := range []*counted{&nginx, &wisp} {
		if r := exchange(t, p.addr, "GET /good HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n"); r.status != 200 || p.accepted.Load() != 1 {
			t.Errorf("%s: a good request got %d, backend connections %d, want 200 and 1", p.addr, r.status, p.accepted.Load())
		}
	}
}
