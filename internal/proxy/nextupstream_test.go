package proxy

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNextUpstreamConfigInheritsAndDefaults(t *testing.T) {
	cfg, err := compileSite(t, `
proxy_next_upstream error http_500;
proxy_next_upstream http_404;
proxy_next_upstream_tries 2;
server {
    listen 8000;
    location /inherit { proxy_pass http://127.0.0.1:9; }
    location /off { proxy_pass http://127.0.0.1:9; proxy_next_upstream off http_500; }
    location /t { proxy_pass http://127.0.0.1:9; proxy_next_upstream_timeout 3s; proxy_next_upstream_tries 0; }
}`)
	must(t, err)
	loc := func(uri string) nextUpstream {
		_, l := route(cfg.sockets[0].wildcard, nil, []byte(uri))
		return l.handler.next
	}
	if n := loc("/inherit"); n.effective() != ftError|ftHTTP500|ftHTTP404 || n.tries != 2 {
		t.Errorf("/inherit: conds %b tries %d", n.effective(), n.tries)
	}
	if n := loc("/off"); n.effective() != ftOff {
		t.Errorf("/off: conds %b, want off alone", n.effective())
	}
	if n := loc("/t"); n.tries != 0 || n.timeout != 3*time.Second {
		t.Errorf("/t: tries %d timeout %v", n.tries, n.timeout)
	}
	if (nextUpstream{}).effective() != ftError|ftTimeout {
		t.Error("the default is not error timeout")
	}
}

func TestNextUpstreamConfigErrorsUseNginxWording(t *testing.T) {
	tests := []struct{ site, want string }{
		{"proxy_next_upstream error foo;", `invalid value "foo"`},
		{"proxy_next_upstream_tries x;", `"proxy_next_upstream_tries" directive invalid number`},
		{"proxy_next_upstream_tries -1;", `"proxy_next_upstream_tries" directive invalid number`},
		{"proxy_next_upstream_timeout x;", `"proxy_next_upstream_timeout" directive invalid value`},
		{"upstream u { hash $request_uri; server 127.0.0.1 backup; }", `balancing method does not support parameter "backup"`},
		{"upstream u { ip_hash; server 127.0.0.1 backup; }", `balancing method does not support parameter "backup"`},
		{"upstream u { random; server 127.0.0.1 backup; }", `balancing method does not support parameter "backup"`},
		{"upstream u { hash $request_uri foo; server 127.0.0.1; }", `invalid parameter "foo"`},
		{"upstream u { random three; server 127.0.0.1; }", `invalid parameter "three"`},
		{"upstream u { random two foo; server 127.0.0.1; }", `invalid parameter "foo"`},
		{"upstream u { server 127.0.0.1 max_conns=x; }", `invalid parameter "max_conns=x"`},
		{"upstream u { hash $nosuch; server 127.0.0.1; }", `unknown "nosuch" variable`},
	}
	for _, tc := range tests {
		_, err := compileSite(t, tc.site)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "site.conf:") {
			t.Errorf("%q: got %v, want %q with file:line", tc.site, err, tc.want)
		}
	}
}

func TestBalancingDirectivesCompile(t *testing.T) {
	tests := []struct {
		site, policy string
		warn         bool
		keepalive    int
	}{
		{"upstream u { server 127.0.0.1 backup; hash $request_uri; server 127.0.0.2; }", "hash $request_uri", false, 0},
		{"upstream u { least_conn; server 127.0.0.1 backup; server 127.0.0.2 max_conns=3; }", "least_conn", false, 0},
		{"upstream u { hash $http_x_key consistent; server 127.0.0.1; server 127.0.0.2; }", "hash $http_x_key consistent", false, 0},
		{"upstream u { random two least_conn; server 127.0.0.1; }", "random two least_conn", false, 0},
		{"upstream u { least_conn; ip_hash; server 127.0.0.1; }", "ip_hash", true, 0},
		{"upstream u { keepalive 2; least_conn; server 127.0.0.1; }", "least_conn", true, 0},
		{"upstream u { least_conn; keepalive 2; zone z 64k; server 127.0.0.1; }", "least_conn", false, 2},
	}
	for _, tc := range tests {
		cfg, err := compileSite(t, tc.site)
		if err != nil {
			t.Errorf("%q: %v", tc.site, err)
			continue
		}
		u := cfg.upstreams[0]
		if u.policy.describe() != tc.policy || (len(cfg.Warnings) > 0) != tc.warn || u.keepalive != tc.keepalive {
			t.Errorf("%q: policy %q warnings %q keepalive %d", tc.site, u.policy.describe(), cfg.Warnings, u.keepalive)
		}
	}
}

func TestMayRetryFollowsNginxRules(t *testing.T) {
	def := nextUpstream{}
	all := nextUpstream{conds: ftError | ftTimeout | ftHTTP500 | ftNonIdempotent, condsSet: true}
	tests := []struct {
		name             string
		n                nextUpstream
		cond             nextCond
		sent, replayable bool
		method           string
		elapsed          time.Duration
		want             bool
	}{
		{"error on GET", def, ftError, true, true, "GET", 0, true},
		{"http_500 not listed", def, ftHTTP500, true, true, "GET", 0, false},
		{"POST refused before sending", def, ftError, false, true, "POST", 0, true},
		{"POST after sending", def, ftError, true, true, "POST", 0, false},
		{"PATCH after sending with non_idempotent", all, ftError, true, true, "PATCH", 0, true},
		{"PUT is idempotent", def, ftTimeout, true, true, "PUT", 0, true},
		{"body gone", def, ftError, true, false, "PUT", 0, false},
		{"off", nextUpstream{conds: ftOff | ftError, condsSet: true}, ftError, false, true, "GET", 0, false},
		{"timeout spent", nextUpstream{timeout: time.Second}, ftError, false, true, "GET", time.Second, false},
		{"timeout left", nextUpstream{timeout: time.Second}, ftError, false, true, "GET", time.Second / 2, true},
	}
	for _, tc := range tests {
		if got := tc.n.mayRetry(tc.cond, tc.sent, tc.replayable, []byte(tc.method), tc.elapsed); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReplayBodySendsTheSameBytesAgainAtAnySize(t *testing.T) {
	for _, tc := range []struct {
		name        string
		size        int
		memMax      int64
		firstTry    int // bytes the failed attempts read
		secondTry   int
		wantSpooled bool
	}{
		{"small body kept in memory", 1003, 16 << 10, 100, 1003, false},
		{"body of exactly the buffer size", 16 << 10, 16 << 10, 16 << 10, 100, false},
		{"1 MiB body spilled to a file", 1 << 20, 16 << 10, 300 << 10, 700 << 10, true},
		{"second attempt reads past the first", 200 << 10, 16 << 10, 10 << 10, 150 << 10, true},
		{"client_body_buffer_size 0", 5000, 0, 4000, 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := make([]byte, tc.size)
			for i := range src {
				src[i] = byte(i * 7 / 5)
			}
			spooled := 0
			b := &replayBody{src: bytes.NewReader(src), memMax: tc.memMax, spooled: func(string) { spooled++ }}
			defer b.close()
			for _, n := range []int{tc.firstTry, tc.secondTry} {
				io.ReadFull(b, make([]byte, n)) // an attempt that fails after n bytes
				if !b.rewind() {
					t.Fatal("the body cannot be replayed")
				}
			}
			all, _ := io.ReadAll(b)
			if !bytes.Equal(all, src) {
				t.Fatalf("the last attempt got %d bytes, not the %d sent", len(all), len(src))
			}
			if (spooled == 1) != tc.wantSpooled || spooled > 1 {
				t.Errorf("went to a temporary file %d times, want it: %v", spooled, tc.wantSpooled)
			}
			if int64(len(b.mem)) > max(tc.memMax, 0) {
				t.Errorf("%d bytes held in memory, over client_body_buffer_size %d", len(b.mem), tc.memMax)
			}
		})
	}
	t.Run("no temporary file: no replay", func(t *testing.T) {
		t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
		b := &replayBody{src: bytes.NewReader(make([]byte, 100)), memMax: 10}
		io.Copy(io.Discard, b)
		if b.rewind() {
			t.Error("a body that could not be recorded claims it can be sent again")
		}
	})
	var none *replayBody
	if !none.resendable(nil) || none.resendable(strings.NewReader("x")) {
		t.Error("resendable without a recorder: only a request without a body")
	}
}

func TestRequestBufferingOffStreamsAsNginxDecides(t *testing.T) {
	for _, tc := range []struct {
		name            string
		b               bodyBuffering
		chunked, http11 bool
		want            bool
	}{
		{"buffering on (the default)", bodyBuffering{}, false, false, false},
		{"off, Content-Length body", bodyBuffering{off: true}, false, false, true},
		{"off, chunked body to HTTP/1.0: buffered to send its length", bodyBuffering{off: true}, true, false, false},
		{"off, chunked body to HTTP/1.1", bodyBuffering{off: true}, true, true, true},
	} {
		if got := tc.b.streamed(tc.chunked, tc.http11); got != tc.want {
			t.Errorf("%s: streamed %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetriedRequestGetsOneContinue(t *testing.T) {
	dir := t.TempDir()
	s := peerSet(t, dir, "close=close", "ok=ok")
	addr, _ := startWisp(t, dir, `upstream u { server `+s["close"]+`; server `+s["ok"]+`; }
server { listen LISTEN; location / { proxy_pass http://u; proxy_next_upstream error non_idempotent; } }`)
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
	raw, _ := io.ReadAll(c)
	if n := strings.Count(string(raw), "100 Continue"); n != 1 || !strings.HasSuffix(string(raw), "ok:hello") {
		t.Errorf("%d interim responses, response %q; want one and the body replayed to ok", n, raw)
	}
}
