package proxy

// Differential tests of the balancers and of proxy_next_upstream: the
// same requests go through real nginx and through wisp in front of the
// same set of peers, each of which answers with its own name, so the
// sequence of chosen peers is compared, not only the statuses.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// namedPeer is a test upstream that says who it is: its body is its name
// (and ":" plus the request body when there was one). mode picks its
// behaviour: "ok", a status code such as "500", "garbage" (an invalid
// response head), "close" (reads the request, closes without answering)
// or "hang" (reads the request, never answers).
type namedPeer struct {
	connServer
	name string
	mode string
}

func startNamedPeer(t testing.TB, path, name, mode string) *namedPeer {
	t.Helper()
	p := &namedPeer{name: name, mode: mode}
	p.serveConns(listenUnix0666(t, path), p.serve)
	t.Cleanup(p.stop)
	return p
}

func (p *namedPeer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	cl := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
			cl, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, cl)
	if _, err := io.ReadFull(br, body); err != nil {
		return
	}
	out := p.name
	if cl > 0 {
		out += ":" + string(body)
	}
	status := "200 OK"
	switch p.mode {
	case "hang":
		io.Copy(io.Discard, br)
		return
	case "close":
		return
	case "garbage":
		// A NUL in a header name is invalid for nginx as for wisp (a
		// malformed status line is not: nginx passes that on as HTTP/0.9).
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Bad\x00: 1\r\n\r\n")
		return
	case "ok":
	default:
		status = p.mode + " X"
	}
	fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, len(out), out)
}

// peerSet starts the named peers "name=mode" in dir and returns the
// config text of their server lines, each followed by its parameters.
func peerSet(t *testing.T, dir string, specs ...string) map[string]string {
	t.Helper()
	socks := map[string]string{}
	for _, s := range specs {
		name, mode, _ := strings.Cut(s, "=")
		path := filepath.Join(dir, name+".sock")
		if mode != "dead" {
			startNamedPeer(t, path, name, mode)
		}
		socks[name] = "unix:" + path
	}
	return socks
}

func getWith(path, extra string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Connection: close\r\n\r\n"
}

// repeat makes n identical rows named after their position.
func repeat(name, raw string, n int) []diffCase {
	var out []diffCase
	for i := 0; i < n; i++ {
		out = append(out, diffCase{name: fmt.Sprintf("%s #%d", name, i+1), raw: raw})
	}
	return out
}

func TestBalancingSequencesMatchNginx(t *testing.T) {
	dir := t.TempDir()
	s := peerSet(t, dir, "a=ok", "b=ok", "c=ok", "d=ok", "dead=dead")
	site := `
upstream rr531 { server ` + s["a"] + ` weight=5; server ` + s["b"] + `; server ` + s["c"] + `; }
upstream rr_down { server ` + s["a"] + ` weight=2; server ` + s["b"] + ` down; server ` + s["c"] + ` weight=3; server ` + s["d"] + `; }
upstream rr_dead { server ` + s["dead"] + ` weight=3; server ` + s["b"] + `; server ` + s["c"] + `; }
upstream backup { server ` + s["dead"] + `; server ` + s["b"] + ` backup; server ` + s["c"] + ` backup weight=2; }
upstream single_backup { server ` + s["dead"] + `; server ` + s["b"] + ` backup; }
upstream lc { least_conn; server ` + s["a"] + `; server ` + s["b"] + ` weight=2; server ` + s["c"] + `; }
upstream iph { ip_hash; server ` + s["a"] + `; server ` + s["b"] + ` weight=2; server ` + s["c"] + ` weight=3; }
upstream iph_dead { ip_hash; server ` + s["a"] + `; server ` + s["dead"] + ` weight=2; server ` + s["c"] + ` weight=3; }
upstream hash { hash $http_x_key; server ` + s["a"] + `; server ` + s["b"] + ` weight=2; server ` + s["c"] + `; }
upstream hash_dead { hash $http_x_key; server ` + s["a"] + `; server ` + s["dead"] + `; server ` + s["c"] + `; }
upstream chash { hash $http_x_key consistent; server ` + s["a"] + `; server ` + s["b"] + ` weight=2; server ` + s["c"] + `; }
upstream chash_dead { hash "$http_x_key$request_method" consistent; server ` + s["a"] + `; server ` + s["dead"] + `; server ` + s["c"] + ` weight=2; }
server {
    listen LISTEN;
    location /rr531 { proxy_pass http://rr531; }
    location /rr_down { proxy_pass http://rr_down; }
    location /rr_dead { proxy_pass http://rr_dead; }
    location /backup { proxy_pass http://backup; }
    location /single_backup { proxy_pass http://single_backup; }
    location /lc { proxy_pass http://lc; }
    location /iph { proxy_pass http://iph; }
    location /iph_dead { proxy_pass http://iph_dead; }
    location /hash { proxy_pass http://hash; }
    location /hash_dead { proxy_pass http://hash_dead; }
    location /chash { proxy_pass http://chash; }
    location /chash_dead { proxy_pass http://chash_dead; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var cases []diffCase
	for _, loc := range []string{"/rr531", "/rr_down", "/rr_dead", "/backup", "/single_backup", "/iph", "/iph_dead"} {
		cases = append(cases, repeat(loc, getWith(loc, ""), 9)...)
	}
	for _, loc := range []string{"/hash", "/hash_dead", "/chash", "/chash_dead"} {
		for i := 0; i < 24; i++ {
			key := fmt.Sprintf("user-%d", i*7919)
			cases = append(cases, diffCase{name: loc + " " + key, raw: getWith(loc, "X-Key: "+key+"\r\n")})
		}
		cases = append(cases, diffCase{name: loc + " empty key", raw: getWith(loc, "")})
	}
	runDiff(t, nginxAddr, wispAddr, cases)

	// least_conn depends on requests in flight: wisp counts one until its
	// response is flushed, so the requests go one after another on one
	// keep-alive connection, where the next is read only after that.
	n, w := keepAliveSequence(t, nginxAddr, "/lc", 12), keepAliveSequence(t, wispAddr, "/lc", 12)
	if n != w {
		t.Errorf("least_conn sequence: nginx %s, wisp %s", n, w)
	}
}

// keepAliveSequence sends n GETs for path one after another on one
// connection and returns the bodies joined.
func keepAliveSequence(t *testing.T, addr, path string, n int) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var out strings.Builder
	for i := 0; i < n; i++ {
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: request %d: %v", addr, i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		must(t, err)
		out.Write(b)
	}
	return out.String()
}

func TestNextUpstreamMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	s := peerSet(t, dir, "ok=ok", "ok2=ok", "e500=500", "e503=503", "e404=404", "e429=429",
		"e504=504", "e403=403", "e502=502", "close=close", "garbage=garbage", "dead=dead")
	site := `
upstream u500 { server ` + s["e500"] + `; server ` + s["ok"] + `; }
upstream u404 { server ` + s["e404"] + `; server ` + s["ok"] + `; }
upstream u403 { server ` + s["e403"] + ` max_fails=2; server ` + s["ok"] + `; }
upstream u5xx { server ` + s["e502"] + `; server ` + s["e504"] + `; server ` + s["e429"] + `; server ` + s["ok"] + `; }
upstream all503 { server ` + s["e503"] + `; server ` + s["e500"] + `; }
upstream tries { server ` + s["e500"] + `; server ` + s["e503"] + `; server ` + s["ok"] + `; }
upstream close { server ` + s["close"] + `; server ` + s["ok"] + `; }
upstream garbage { server ` + s["garbage"] + `; server ` + s["ok"] + `; }
upstream dead { server ` + s["dead"] + `; server ` + s["ok"] + `; }
upstream nofail { server ` + s["e500"] + ` max_fails=0; server ` + s["ok"] + `; }
server {
    listen LISTEN;
    location /default { proxy_pass http://u500; }
    location /http_500 { proxy_pass http://u500; proxy_next_upstream error http_500; }
    location /http_404 { proxy_pass http://u404; proxy_next_upstream http_404; }
    location /http_403 { proxy_pass http://u403; proxy_next_upstream http_403; }
    location /http_5xx { proxy_pass http://u5xx; proxy_next_upstream http_502 http_504 http_429; }
    location /all503 { proxy_pass http://all503; proxy_next_upstream http_503 http_500; }
    location /tries { proxy_pass http://tries; proxy_next_upstream http_500 http_503; proxy_next_upstream_tries 2; }
    location /post { proxy_pass http://close; }
    location /post_ni { proxy_pass http://close; proxy_next_upstream error non_idempotent; }
    location /garbage { proxy_pass http://garbage; }
    location /invalid_header { proxy_pass http://garbage; proxy_next_upstream invalid_header; }
    location /off { proxy_pass http://dead; proxy_next_upstream off; }
    location /nofail { proxy_pass http://nofail; proxy_next_upstream http_500; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	post := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
	}
	var cases []diffCase
	for _, loc := range []string{"/default", "/http_500", "/http_404", "/http_403", "/http_5xx", "/all503", "/tries", "/garbage", "/invalid_header", "/off", "/nofail"} {
		cases = append(cases, repeat(loc, getWith(loc, ""), 4)...)
	}
	cases = append(cases, repeat("/post not retried once sent", post("/post"), 3)...)
	cases = append(cases, repeat("/post_ni body replayed", post("/post_ni"), 3)...)
	cases = append(cases, repeat("/post_ni PUT", strings.Replace(post("/post_ni"), "POST", "PUT", 1), 2)...)
	runDiff(t, nginxAddr, wispAddr, cases)
}

func TestMaxConnsAnswers502WhenEveryPeerIsFullLikeNginx(t *testing.T) {
	dir := t.TempDir()
	hang := startNamedPeer(t, filepath.Join(dir, "hang.sock"), "hang", "hang")
	hang2 := startNamedPeer(t, filepath.Join(dir, "hang2.sock"), "hang2", "hang")
	site := `
upstream one { server unix:` + dir + `/hang.sock max_conns=1; }
upstream two { server unix:` + dir + `/hang.sock max_conns=1; server unix:` + dir + `/hang2.sock max_conns=1; }
server {
    listen LISTEN;
    location /one { proxy_pass http://one; }
    location /two { proxy_pass http://two; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	for _, tc := range []struct {
		path string
		hold int
	}{{"/one", 1}, {"/two", 2}} {
		for _, addr := range []string{nginxAddr, wispAddr} {
			// Occupy every peer with a request that hangs, then ask again.
			var held []net.Conn
			for i := 0; i < tc.hold; i++ {
				c, err := net.Dial("tcp", addr)
				must(t, err)
				held = append(held, c)
				io.WriteString(c, getWith(tc.path, ""))
			}
			waitOpen(t, tc.hold, hang, hang2)
			r := exchange(t, addr, getWith(tc.path, ""))
			if r.status != 502 {
				t.Errorf("%s %s with every peer at max_conns: %d, want 502", addr, tc.path, r.status)
			}
			for _, c := range held {
				c.Close()
			}
			hang.dropAll()
			hang2.dropAll()
			waitOpen(t, 0, hang, hang2)
		}
	}
}

// waitOpen polls until the peers hold n connections in all (bounded; the
// caller's checks fail if it gives up).
func waitOpen(t *testing.T, n int, peers ...*namedPeer) {
	t.Helper()
	for i := 0; i < 500; i++ {
		total := 0
		for _, p := range peers {
			p.mu.Lock()
			total += len(p.open)
			p.mu.Unlock()
		}
		if total == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("peers never held %d connections", n)
}

// dropAll closes every connection the peer holds, as a crash would.
func (p *namedPeer) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.open {
		c.Close()
	}
}

func TestNextUpstreamTimeoutsMatchNginx(t *testing.T) {
	dir := t.TempDir()
	s := peerSet(t, dir, "ok=ok", "hang=hang")
	site := `
upstream t1 { server ` + s["hang"] + `; server ` + s["ok"] + `; }
upstream t2 { server ` + s["hang"] + `; server ` + s["ok"] + `; }
upstream t3 { server ` + s["hang"] + `; server ` + s["ok"] + `; }
server {
    listen LISTEN;
    proxy_read_timeout 1s;
    location /timeout { proxy_pass http://t1; }
    location /error_only { proxy_pass http://t2; proxy_next_upstream error; }
    location /spent { proxy_pass http://t3; proxy_next_upstream_timeout 1s; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var cases []diffCase
	// Each first request waits out the read timeout on the hanging peer,
	// which then counts as failed and is skipped by the second.
	for _, loc := range []string{"/timeout", "/error_only", "/spent"} {
		cases = append(cases, repeat(loc, getWith(loc, ""), 2)...)
	}
	runDiff(t, nginxAddr, wispAddr, cases)
}
