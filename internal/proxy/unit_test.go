package proxy

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

func peersWithWeights(ws ...int) []*peer {
	var ps []*peer
	for i, w := range ws {
		ps = append(ps, &peer{name: string(rune('a' + i)), weight: w, effWeight: w, maxFails: 1, failTimeout: 10})
	}
	return ps
}

func TestRoundRobinFollowsNginxSmoothSequence(t *testing.T) {
	tests := []struct {
		weights []int
		want    string
	}{
		{[]int{5, 1, 1}, "aabacaa aabacaa"},
		{[]int{1, 1}, "abab"},
		{[]int{1, 1, 1}, "abcabc"},
		{[]int{2, 1}, "aba aba"},
	}
	for _, tc := range tests {
		u := newUpstream("g")
		u.peers = peersWithWeights(tc.weights...)
		var got strings.Builder
		for _, ch := range tc.want {
			if ch == ' ' {
				got.WriteByte(' ')
				continue
			}
			p := u.get(&peerFilter{now: 100})
			if p == nil {
				t.Fatalf("weights %v: no peer", tc.weights)
			}
			got.WriteString(p.name)
			u.free(p, false, time.Unix(100, 0))
		}
		if got.String() != tc.want {
			t.Errorf("weights %v: sequence %q, want %q", tc.weights, got.String(), tc.want)
		}
	}
}

func TestFailedPeerIsSkippedForFailTimeoutThenProbed(t *testing.T) {
	u := newUpstream("g")
	u.peers = peersWithWeights(1, 1)
	u.peers[0].maxFails, u.peers[0].failTimeout = 1, 10
	a := u.get(&peerFilter{now: 100})
	if a.name != "a" {
		t.Fatalf("first pick %s", a.name)
	}
	u.free(a, true, time.Unix(100, 0))
	for i := 0; i < 4; i++ {
		if p := u.get(&peerFilter{now: 105}); p.name != "b" {
			t.Fatalf("inside fail_timeout picked %s", p.name)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		seen[u.get(&peerFilter{now: 111}).name] = true
	}
	if !seen["a"] {
		t.Error("after fail_timeout the failed peer was never probed")
	}
}

// TestFailWindowEdgesAsNginx: nginx skips a peer with fails >= max_fails
// while now - checked <= fail_timeout, in whole seconds, so fail_timeout=0
// still skips it for the rest of the second it failed in, and max_fails=0
// never skips it. The server line's defaults are max_fails=1 and
// fail_timeout=10.
func TestFailWindowEdgesAsNginx(t *testing.T) {
	tests := []struct {
		name        string
		params      string // on the first server line
		after       int64  // seconds from the failure to the next request
		wantSkipped bool
	}{
		{"defaults, inside 10 s", "", 10, true},
		{"defaults, after 10 s", "", 11, false},
		{"fail_timeout=0, same second", "fail_timeout=0", 0, true},
		{"fail_timeout=0, next second", "fail_timeout=0", 1, false},
		{"max_fails=0 never skips", "max_fails=0", 0, false},
		{"max_fails=2 needs two failures", "max_fails=2", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := compileSite(t, "events {}\nhttp {\nupstream g { server unix:/a.sock "+tc.params+"; server unix:/b.sock; }\n"+
				"server { listen 8000; location / { proxy_pass http://g; } }\n}\n")
			must(t, err)
			u := cfg.upstreams[0]
			a := u.get(&peerFilter{now: 100})
			if a != u.peers[0] {
				t.Fatalf("first pick %s, want the first server", a.server)
			}
			u.free(a, true, time.Unix(100, 0))
			skipped := true
			for range 4 {
				p := u.get(&peerFilter{now: 100 + tc.after})
				if p == u.peers[0] {
					skipped = false
				}
				u.free(p, false, time.Unix(100+tc.after, 0))
			}
			if skipped != tc.wantSkipped {
				t.Errorf("failed peer skipped %v, want %v", skipped, tc.wantSkipped)
			}
		})
	}
}

func TestAllPeersTriedOrFailedMeansNoLiveUpstream(t *testing.T) {
	u := newUpstream("g")
	u.peers = peersWithWeights(1, 1)
	f := &peerFilter{now: 100}
	for i := 0; i < 2; i++ {
		p := u.get(f)
		f.tried = append(f.tried, p)
		u.free(p, true, time.Unix(100, 0))
	}
	if p := u.get(f); p != nil {
		t.Errorf("same request got %s again", p.name)
	}
	if p := u.get(&peerFilter{now: 101}); p != nil {
		t.Errorf("a new request inside fail_timeout got %s", p.name)
	}
}

func TestSinglePeerIsAlwaysTriedAndNeverMarkedFailed(t *testing.T) {
	u := newUpstream("g")
	u.peers = peersWithWeights(1)
	for i := 0; i < 3; i++ {
		p := u.get(&peerFilter{now: 100})
		if p == nil {
			t.Fatal("single peer refused")
		}
		u.free(p, true, time.Unix(100, 0))
	}
	if u.peers[0].fails != 0 || u.tries() != 1 {
		t.Errorf("fails=%d tries=%d", u.peers[0].fails, u.tries())
	}
	u.peers[0].down = true
	if u.get(&peerFilter{now: 100}) != nil {
		t.Error("a down single peer was chosen")
	}
}

func TestBackupUsedOnlyWhenPrimariesAreUnusable(t *testing.T) {
	u := newUpstream("g")
	u.peers = peersWithWeights(1)
	b := peersWithWeights(1)[0]
	b.name, b.backup = "backup", true
	u.backups = []*peer{b}
	if p := u.get(&peerFilter{now: 1}); p.name != "a" {
		t.Fatalf("picked %s", p.name)
	}
	if p := u.get(&peerFilter{now: 1, tried: []*peer{u.peers[0]}}); p != b {
		t.Fatalf("picked %v, want the backup", p)
	}
}

func testEval(t *testing.T, value string, raw string) string {
	t.Helper()
	p, err := compileValue(value, ngxconf.Pos{File: "t", Line: 1})
	if err != nil {
		t.Fatal(err)
	}
	var r request
	r.reset()
	if err := r.parse([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	c := &clientConn{remoteAddr: []byte("10.0.0.1"), remotePort: []byte("5555"), serverPort: []byte("8080")}
	ec := &evalCtx{req: &r, conn: c, server: &vserver{name: []byte("igu.io")}, uri: r.path, requestURI: r.target,
		handler: &proxyHandler{proxyHost: []byte("igu"), proxyPort: []byte("80")}}
	return string(p.appendTo(nil, ec))
}

func TestHeaderProgramEvaluatesVariables(t *testing.T) {
	raw := "GET /p/a?x=1 HTTP/1.1\r\nHost: Igu.IO:8080\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\nCookie: a=1\r\nCookie: b=2\r\nX-Custom-Thing: v\r\n\r\n"
	tests := []struct{ value, want string }{
		{"$host", "igu.io"},
		{"$http_host", "Igu.IO:8080"},
		{"$http_x_custom_thing", "v"},
		{"$http_missing", ""},
		{"$http_x_forwarded_for", "1.1.1.1, 2.2.2.2"},
		{"$http_cookie", "a=1; b=2"},
		{"$proxy_add_x_forwarded_for", "1.1.1.1, 2.2.2.2, 10.0.0.1"},
		{"$remote_addr:$remote_port", "10.0.0.1:5555"},
		{"$scheme://${host}x$is_args$args", "http://igu.iox?x=1"},
		{"$request_uri|$uri|$request_method", "/p/a?x=1|/p/a|GET"},
		{"$server_name $server_port $proxy_host", "igu.io 8080 igu"},
		{"literal only", "literal only"},
	}
	for _, tc := range tests {
		if got := testEval(t, tc.value, raw); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.value, got, tc.want)
		}
	}
	if got := testEval(t, "$proxy_add_x_forwarded_for", "GET / HTTP/1.0\r\n\r\n"); got != "10.0.0.1" {
		t.Errorf("without X-Forwarded-For: %q", got)
	}
}

func TestHeaderProgramRejectsBadVariables(t *testing.T) {
	for _, v := range []string{"$nosuchvar", "${host", "a$", "$"} {
		if _, err := compileValue(v, ngxconf.Pos{File: "f", Line: 2}); err == nil {
			t.Errorf("%q compiled", v)
		}
	}
}

func TestRequestParserAcceptsGoodHeads(t *testing.T) {
	tests := []struct {
		name, raw, host, path, query string
		keep                         bool
		cl                           int64
	}{
		{"minimal 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "a", "/", "", true, -1},
		{"LF only", "GET /x HTTP/1.1\nHost: A.b.\n\n", "a.b", "/x", "", true, -1},
		{"1.0 default close", "GET /x?y=1 HTTP/1.0\r\n\r\n", "", "/x", "y=1", false, -1},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "", "/", "", true, -1},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: a:81\r\nConnection: close\r\n\r\n", "a", "/", "", false, -1},
		{"body", "POST / HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 10\r\n\r\n", "[::1]", "/", "", true, 10},
		{"absolute form", "GET http://Ex.com:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n", "ex.com", "/p", "q", true, -1},
	}
	for _, tc := range tests {
		var r request
		r.reset()
		if err := r.parse([]byte(tc.raw)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(r.host) != tc.host || string(r.path) != tc.path || string(r.query) != tc.query ||
			r.keepAlive() != tc.keep || r.contentLength != tc.cl || r.headLen != len(tc.raw) {
			t.Errorf("%s: host %q path %q query %q keep %v cl %d headLen %d", tc.name, r.host, r.path, r.query, r.keepAlive(), r.contentLength, r.headLen)
		}
	}
}

func TestRequestParserRejectsMaliciousHeads(t *testing.T) {
	tests := []struct {
		name, raw string
		status    int
	}{
		{"CL and TE together", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"two Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"Content-Length with junk", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400},
		{"unknown Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n", 400},
		{"colon first", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"host with dots", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400},
		{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400},
		{"lowercase method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"HTTP/2.0 line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"garbage version", "GET / HTTQ/1.1\r\nHost: a\r\n\r\n", 400},
		{"control byte in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"too long URI", "GET /" + strings.Repeat("a", lineMax) + " HTTP/1.1\r\n\r\n", 414},
		{"too long header", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", lineMax) + "\r\n\r\n", 494},
	}
	for _, tc := range tests {
		var r request
		r.reset()
		err := r.parse([]byte(tc.raw))
		var pe *parseError
		if !errors.As(err, &pe) || pe.status != tc.status {
			t.Errorf("%s: got %v, want status %d", tc.name, err, tc.status)
		}
	}
	var r request
	r.reset()
	if err := r.parse([]byte("GET / HTTP/1.1\r\nHost: a\r\n")); !errors.Is(err, errIncomplete) {
		t.Errorf("partial head: %v", err)
	}
}

// compileSite compiles a bare site text with hand-made wrapping.
func compileSite(t testing.TB, site string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	path := dir + "/site.conf"
	must(t, writeFile(path, site))
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
	if err != nil {
		return nil, err
	}
	return Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix, DefaultPort: 8000})
}

func TestLocationMatchingFollowsNginxOrder(t *testing.T) {
	cfg, err := compileSite(t, `
server {
  listen 8080;
  location / { proxy_pass http://127.0.0.1:1; }
  location /a/ { proxy_pass http://127.0.0.1:2; }
  location /a/b/ { proxy_pass http://127.0.0.1:3; }
  location = /a/x { proxy_pass http://127.0.0.1:4; }
  location ^~ /static/ { proxy_pass http://127.0.0.1:5; }
  location ~ \.php$ { proxy_pass http://127.0.0.1:6; }
  location ~* \.JPG$ { proxy_pass http://127.0.0.1:7; }
  location /n/ {
    proxy_pass http://127.0.0.1:8;
    location ~ \.gif$ { proxy_pass http://127.0.0.1:9; }
  }
}`)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.sockets[0].wildcard
	tests := []struct{ uri, want string }{
		{"/", "/"},
		{"/zzz", "/"},
		{"/a/", "/a/"},
		{"/a/b/c", "/a/b/"},
		{"/a/x", "/a/x"},
		{"/a/xy", "/a/"},
		{"/static/i.php", "/static/"},
		{"/a/i.php", `\.php$`},
		{"/img/P.jpg", `\.JPG$`},
		{"/n/p.gif", `\.gif$`},
		{"/n/p.php", `\.php$`},
		{"/a", "/a"}, // redirect to /a/
	}
	for _, tc := range tests {
		_, loc := route(g, nil, []byte(tc.uri))
		if loc == nil || loc.name != tc.want {
			t.Errorf("%s -> %v, want %s", tc.uri, loc, tc.want)
		}
	}
	if _, loc := route(g, nil, []byte("/a")); loc.kind != locRedirect {
		t.Error("/a should redirect to /a/")
	}
}

func TestServerSelectionUsesExactNameThenDefault(t *testing.T) {
	cfg, err := compileSite(t, `
server { listen 8080; server_name first.test; location / { proxy_pass http://127.0.0.1:1; } }
server { listen 8080 default_server; server_name def.test; location / { proxy_pass http://127.0.0.1:2; } }
server { listen 8080; location / { proxy_pass http://127.0.0.1:3; } }
server { listen 127.0.0.1:8080; server_name first.test; location / { proxy_pass http://127.0.0.1:4; } }
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.sockets) != 1 {
		t.Fatalf("%d sockets, want the wildcard shared", len(cfg.sockets))
	}
	s := cfg.sockets[0]
	wild := s.group(&net.TCPAddr{IP: net.ParseIP("10.1.1.1"), Port: 8080})
	spec := s.group(&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080})
	tests := []struct {
		g    *vhostGroup
		host string
		want string
	}{
		{wild, "first.test", "first.test"},
		{wild, "unknown.test", "def.test"},
		{wild, "", ""},
		{spec, "unknown.test", "first.test"},
	}
	for _, tc := range tests {
		var host []byte
		if tc.host != "" {
			host = []byte(tc.host)
		}
		if got := string(tc.g.find(host).name); got != tc.want {
			t.Errorf("%s on %s -> %q, want %q", tc.host, tc.g.addr, got, tc.want)
		}
	}
}

func TestConfigErrorsNameFileAndLine(t *testing.T) {
	tests := []struct{ site, want string }{
		{"server {\n ssi on;\n}", `"ssi" directive is not supported by wisp in `},
		{"server {\n location / { proxy_pass ftp://x; }\n}", `invalid URL prefix`},
		{"server {\n location / { proxy_pass http://nope; }\n}\nupstream nope {\n server 127.0.0.1 weight=0;\n}", `invalid parameter "weight=0"`},
		{"server {\n location / { proxy_pass http://up:81; }\n}\nupstream up { server 127.0.0.1; }", `upstream "up" may not have port 81`},
		{"server {\n location ~ x { proxy_pass http://127.0.0.1/u; }\n}", `cannot have URI part`},
		{"server {\n location / { proxy_set_header X $nosuch; proxy_pass http://127.0.0.1; }\n}", `unknown "nosuch" variable`},
		{"server {\n listen 80 default_server;\n}\nserver {\n listen 80 default_server;\n}", `a duplicate default server for 0.0.0.0:80`},
		{"server {\n listen 80 bogus;\n}", `invalid parameter "bogus"`},
		{"upstream u {\n server 127.0.0.1;\n}\nupstream u {\n server 127.0.0.1;\n}", `duplicate upstream "u"`},
	}
	for _, tc := range tests {
		_, err := compileSite(t, tc.site)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "site.conf:") {
			t.Errorf("%q: got %v, want %q with file:line", tc.site, err, tc.want)
		}
	}
}

func FuzzRequestParse(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST http://x/y?z HTTP/1.0\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc"))
	f.Add([]byte("GET /%2e%2e/ HTTP/1.1\nHost: [::1]:8\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r request
		r.reset()
		err := r.parse(b)
		if err == nil {
			if r.headLen > len(b) {
				t.Fatalf("headLen %d > %d", r.headLen, len(b))
			}
			c := &clientConn{req: r}
			c.normalisedURI()
		}
	})
}
