package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// curlResult is what curl got back: the status, the HTTP version and the
// body (with the echo backend, the raw request it received).
type curlResult struct {
	status, version, body string
}

// runCurl runs Debian's curl (built with nghttp2), the reference HTTP/2
// client of these tests: unlike Go's, it sends headers in a fixed order.
func runCurl(t *testing.T, args ...string) curlResult {
	t.Helper()
	out := filepath.Join(t.TempDir(), "body")
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "10", "-o", out, "-w", "%{http_code} %{http_version}"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v: %s", args, err, stderr.String())
	}
	body, err := os.ReadFile(out)
	must(t, err)
	status, version, _ := strings.Cut(string(w), " ")
	return curlResult{status: status, version: version, body: string(body)}
}

// rawExchange writes raw and returns every byte the server sends until it
// closes the connection.
func rawExchange(t *testing.T, addr, raw string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(c, raw)
	must(t, err)
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("%s: reading: %v", addr, err)
	}
	return b
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// h2cGet sends one GET over cleartext HTTP/2 with Go's client (prior
// knowledge, no upgrade).
func h2cGet(t *testing.T, addr, path string) *http.Response {
	t.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + addr + path)
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// sortedCurlHeaders drops curl's own User-Agent and Accept and sends
// headers in name order.
var sortedCurlHeaders = []string{"-H", "User-Agent:", "-H", "Accept:",
	"-H", "a-first: 1", "-H", "B-Mixed-Case: two", "-H", "cookie: a=1", "-H", "x-last: three"}

// unsortedCurlHeaders keeps curl's own fields and sends others out of
// name order, a name twice and cookies apart: both forward them in the
// client's order, cookies joined last.
var unsortedCurlHeaders = []string{"-H", "zz-first: 1", "-H", "cookie: a=1", "-H", "Accept-Language: en",
	"-H", "x-twice: 1", "-H", "cookie: b=2", "-H", "x-twice: 2", "-H", "aa-last: 3"}

func compareCurl(t *testing.T, what string, n, w curlResult) {
	t.Helper()
	if n.status != w.status || n.version != w.version {
		t.Errorf("%s: nginx %s HTTP/%s, wisp %s HTTP/%s", what, n.status, n.version, w.status, w.version)
	}
	if n.body != w.body {
		t.Errorf("%s: the backend received\nnginx:\n%s\nwisp:\n%s", what, n.body, w.body)
	}
}

const h2cOnlySite = `
server {
    listen LISTEN http2;
    location / {
        proxy_set_header X-Scheme $scheme;
        proxy_set_header X-Host $host;
        proxy_pass http://unix:SOCK;
    }
}
`

// TestCleartextHTTP2OnlyAddressMatchesNginx: "listen ... http2" without
// ssl serves HTTP/2 with prior knowledge, and refuses anything else at the
// HTTP/2 level, byte for byte as nginx 1.22 does.
func TestCleartextHTTP2OnlyAddressMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := strings.ReplaceAll(h2cOnlySite, "SOCK", sock)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"GET with headers", append([]string{"/x?y=1"}, sortedCurlHeaders...)},
		{"GET with headers in the client's order", append([]string{"/x?y=2"}, unsortedCurlHeaders...)},
		{"POST with a body", []string{"/post", "-H", "User-Agent:", "-H", "Accept:", "-d", "hello over h2c"}},
		{"DELETE", []string{"/item/1", "-X", "DELETE", "-H", "User-Agent:"}},
		{"POST without a body", []string{"/item/2", "-X", "POST", "-H", "User-Agent:"}},
		{"POST with content-length 0", []string{"/item/3", "-H", "User-Agent:", "-d", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do := func(addr string) curlResult {
				args := append([]string{"--http2-prior-knowledge", "http://" + addr + tc.args[0]}, tc.args[1:]...)
				return runCurl(t, args...)
			}
			n, w := do(nginxAddr), do(wispAddr)
			if w.version != "2" {
				t.Errorf("wisp answered over HTTP/%s", w.version)
			}
			compareCurl(t, tc.name, n, w)
		})
	}
	t.Run("Go's client with prior knowledge", func(t *testing.T) {
		n, w := h2cGet(t, nginxAddr, "/go"), h2cGet(t, wispAddr, "/go")
		if n.ProtoMajor != 2 || w.ProtoMajor != 2 || n.StatusCode != w.StatusCode {
			t.Errorf("nginx %s %d, wisp %s %d", n.Proto, n.StatusCode, w.Proto, w.StatusCode)
		}
	})
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"PRI * HTTP/1.1\r\n\r\n", // a preface broken late
	} {
		t.Run("refused: "+strings.SplitN(raw, "\r\n", 2)[0], func(t *testing.T) {
			n, w := rawExchange(t, nginxAddr, raw), rawExchange(t, wispAddr, raw)
			if !bytes.Equal(n, w) {
				t.Errorf("nginx sent %x\nwisp sent  %x", n, w)
			}
		})
	}
}

// TestHTTP2OverTLSSendsHeadersAsNginx compares the raw head the backend
// receives for HTTP/2 requests over TLS: lowercase names as the client
// sent them, cookies, the request body.
func TestHTTP2OverTLSSendsHeadersAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := strings.ReplaceAll(twoSiteTLS(t, dir, sock), "listen LISTEN ssl;", "listen LISTEN ssl http2;")
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	for _, tc := range []struct {
		name, sni string
		args      []string
	}{
		{"GET with headers", "b.test", append([]string{"/h2?x=1"}, sortedCurlHeaders...)},
		{"GET with headers in the client's order", "b.test", append([]string{"/h2?x=2"}, unsortedCurlHeaders...)},
		{"default server", "a.test", append([]string{"/"}, sortedCurlHeaders...)},
		{"POST with a body", "b.test", []string{"/upload", "-H", "User-Agent:", "-H", "Accept:", "-H", "content-type: text/plain", "--data-binary", "hello over h2"}},
		{"two cookie fields", "b.test", []string{"/c", "-H", "User-Agent:", "-H", "Accept:", "-H", "cookie: a=1", "-H", "cookie: b=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do := func(addr string) curlResult {
				_, port, _ := net.SplitHostPort(addr)
				args := append([]string{"-k", "--http2", "--resolve", tc.sni + ":" + port + ":127.0.0.1",
					"https://" + tc.sni + ":" + port + tc.args[0]}, tc.args[1:]...)
				r := runCurl(t, args...)
				r.body = strings.ReplaceAll(r.body, ":"+port, ":PORT")
				return r
			}
			n, w := do(nginxAddr), do(wispAddr)
			if w.version != "2" {
				t.Errorf("wisp answered over HTTP/%s", w.version)
			}
			compareCurl(t, tc.name, n, w)
		})
	}
}

// TestHTTP2DirectiveEnablesHTTP2 checks "http2 on" (nginx 1.25.1). The
// nginx 1.22 here does not know it, so the reference is the same site
// with "listen ... http2", which nginx 1.22 applies to the whole address.
func TestHTTP2DirectiveEnablesHTTP2(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	base := twoSiteTLS(t, dir, sock)
	ref := strings.ReplaceAll(base, "listen LISTEN ssl;", "listen LISTEN ssl http2;")
	nginxAddr := startNginx(t, dir, ref)
	// b.test turns HTTP/2 on for itself only.
	perServer := strings.Replace(base, "server_name b.test *.w.test;", "server_name b.test *.w.test;\n    http2 on;", 1)
	wispAddr, _ := startWisp(t, dir, perServer)
	inHTTP, _ := startWisp(t, t.TempDir(), "http2 on;\n"+base)
	for _, tc := range []struct {
		name, addr, sni, want string
	}{
		{"server with http2 on", wispAddr, "b.test", "h2"},
		{"wildcard name of that server", wispAddr, "x.w.test", "h2"},
		{"server without it on the same address", wispAddr, "a.test", "http/1.1"},
		{"no SNI: the default server, without it", wispAddr, "", "http/1.1"},
		{"http2 on at http level reaches every server", inHTTP, "a.test", "h2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := probeTLS(tc.addr, tlsClient(tc.sni, "h2", "http/1.1"))
			if h.err != nil || h.alpn != tc.want {
				t.Errorf("ALPN %q (%v), want %q", h.alpn, h.err, tc.want)
			}
		})
	}
	t.Run("requests over HTTP/2 as nginx's listen parameter", func(t *testing.T) {
		do := func(addr string) curlResult {
			_, port, _ := net.SplitHostPort(addr)
			return runCurl(t, append([]string{"-k", "--http2", "--resolve", "b.test:" + port + ":127.0.0.1",
				"https://b.test:" + port + "/on"}, sortedCurlHeaders...)...)
		}
		compareCurl(t, "GET", do(nginxAddr), do(wispAddr))
	})
}

// TestHTTP2DirectiveOnPlainAddressServesBoth: with "http2 on" a plain
// address serves HTTP/2 with prior knowledge and HTTP/1.x side by side,
// as nginx 1.25.1 does; each answer is compared with nginx 1.22's for
// the same protocol (its h2c-only address, and a plain HTTP/1.1 one).
func TestHTTP2DirectiveOnPlainAddressServesBoth(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	h2only := strings.ReplaceAll(h2cOnlySite, "SOCK", sock)
	plain := strings.Replace(h2only, "listen LISTEN http2;", "listen LISTEN;", 1)
	nginxH2 := startNginx(t, dir, h2only)
	nginxH1 := startNginx(t, t.TempDir(), plain)
	wispAddr, _ := startWisp(t, dir, strings.Replace(plain, "listen LISTEN;", "listen LISTEN;\n    http2 on;", 1))

	do := func(addr string) curlResult {
		return runCurl(t, append([]string{"--http2-prior-knowledge", "http://" + addr + "/both"}, sortedCurlHeaders...)...)
	}
	compareCurl(t, "HTTP/2 with prior knowledge", do(nginxH2), do(wispAddr))
	if r := h2cGet(t, wispAddr, "/go"); r.ProtoMajor != 2 || r.StatusCode != 200 {
		t.Errorf("Go's h2c client: %s %d", r.Proto, r.StatusCode)
	}
	runDiff(t, nginxH1, wispAddr, []diffCase{
		{name: "HTTP/1.1", raw: "GET /h1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
		{name: "HTTP/1.0", raw: "GET /h1 HTTP/1.0\r\n\r\n"},
		{name: "request line starting like the preface", raw: "PRI /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
		{name: "upgrade to h2c is not taken", raw: "GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"},
	})
}
