package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// h2cClient is Go's HTTP/2 client with prior knowledge over cleartext.
func h2cClient(t *testing.T) *http.Client {
	t.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// h2Result is what an HTTP/2 client got: the status and the headers that
// tell how the body was framed, the body, or the stream's failure.
type h2Result struct {
	status        int
	contentLength string // "" when absent
	contentType   string
	body          string
	failed        bool
}

func h2Do(t *testing.T, cl *http.Client, req *http.Request) h2Result {
	t.Helper()
	resp, err := cl.Do(req)
	if err != nil {
		return h2Result{failed: true}
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("%s %s: answered over %s", req.Method, req.URL.Path, resp.Proto)
	}
	b, err := io.ReadAll(resp.Body)
	return h2Result{status: resp.StatusCode, contentLength: resp.Header.Get("Content-Length"),
		contentType: resp.Header.Get("Content-Type"), body: string(b), failed: err != nil}
}

// TestHTTP2AnswerFramingMatchesNginx: every way the engine frames an
// answer (a length, chunks, the close, none at all, its own error pages)
// reaches an HTTP/2 client as nginx 1.22 sends it, and an answer cut
// short by the upstream fails the stream in both.
func TestHTTP2AnswerFramingMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	b := startScripted(t, "unix", filepath.Join(dir, "app.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		path := strings.Fields(head)[1]
		switch path {
		case "/sized":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two: a\r\nX-Two: b\r\nContent-Length: 5\r\n\r\nhello")
		case "/chunked":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
			io.WriteString(c, "4;ext=1\r\ndefg\r\n")
			io.WriteString(c, "0\r\n\r\n")
		case "/close":
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close")
		case "/empty":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		case "/204":
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		case "/304":
			io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
		case "/big":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n")
			c.Write(bytes.Repeat([]byte("0123456789"), 100000))
		case "/cut":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly this")
		case "/cutchunk":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		case "/404":
			io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\nnope")
		case "/gz/sized":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2000\r\n\r\n"+strings.Repeat("compress me ", 200)[:2000])
		case "/gz/chunked":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n"+strings.Repeat("a", 1000)+"\r\n0\r\n\r\n")
		}
	})
	site := `
server {
    listen LISTEN http2;
    location / { proxy_pass ` + b.target() + `; }
    location /down { proxy_pass http://unix:` + filepath.Join(dir, "none.sock") + `; }
    location = /redirect { return 301 /sized; }
    location /gz/ { gzip on; gzip_types text/plain; gzip_min_length 1; proxy_pass ` + b.target() + `; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	cl := h2cClient(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/sized"}, {"GET", "/chunked"}, {"GET", "/close"}, {"GET", "/empty"},
		{"GET", "/204"}, {"GET", "/304"}, {"GET", "/big"}, {"HEAD", "/sized"}, {"HEAD", "/chunked"},
		{"GET", "/cut"}, {"GET", "/cutchunk"}, {"GET", "/404"}, {"GET", "/down"}, {"GET", "/redirect"},
		{"GET", "/gz/sized"}, {"GET", "/gz/chunked"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			get := func(addr string) h2Result {
				req, err := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
				must(t, err)
				r := h2Do(t, cl, req)
				r.body = strings.ReplaceAll(r.body, addr, "ADDR")
				return r
			}
			n, w := get(nginxAddr), get(wispAddr)
			n.body = strings.ReplaceAll(n.body, "nginx/1.22.1", "SERVER")
			w.body = strings.ReplaceAll(w.body, "nginx/1.22.1", "SERVER")
			if n != w {
				t.Errorf("nginx %+v\nwisp  %+v", trimResult(n), trimResult(w))
			}
		})
	}
}

func trimResult(r h2Result) h2Result {
	if len(r.body) > 80 {
		r.body = r.body[:80] + "..." + strconv.Itoa(len(r.body))
	}
	return r
}

// TestHTTP2RequestBodiesReachTheUpstreamAsNginxSends: a body of unknown
// length (no content-length on the stream) and one sent after a 100
// Continue reach the upstream as nginx sends them.
func TestHTTP2RequestBodiesReachTheUpstreamAsNginxSends(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := `
server {
    listen LISTEN http2;
    location / { proxy_pass http://unix:` + sock + `; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	cl := h2cClient(t)
	body := strings.Repeat("a body in pieces. ", 1000)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   func() io.Reader
	}{
		{"unknown length", nil, func() io.Reader {
			return io.MultiReader(strings.NewReader(body[:7000]), strings.NewReader(body[7000:]))
		}},
		{"known length", nil, func() io.Reader { return strings.NewReader(body) }},
		{"expect 100-continue", http.Header{"Expect": {"100-continue"}}, func() io.Reader { return strings.NewReader("after continue") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			post := func(addr string) h2Result {
				req, err := http.NewRequest("POST", "http://"+addr+"/up", tc.body())
				must(t, err)
				if tc.name == "unknown length" {
					req.ContentLength = -1
				}
				for k, v := range tc.header {
					req.Header[k] = v
				}
				r := h2Do(t, cl, req)
				r.body = strings.ReplaceAll(r.body, addr, "ADDR")
				r.contentLength = ""
				return r
			}
			n, w := post(nginxAddr), post(wispAddr)
			if n != w {
				t.Errorf("nginx %+v\nwisp  %+v", trimResult(n), trimResult(w))
			}
			if !strings.Contains(w.body, "\r\n\r\n") {
				t.Errorf("backend saw no head: %q", w.body)
			}
		})
	}
}

// TestHTTP2StalledBodyTimesOutAsNginx: client_body_timeout applies to a
// stream's body as the engine reads it (the bridge arms the stream's read
// deadline), with nginx's answer. nginx logs no error line for it (the
// 408 is in the access log), and neither does wisp since request bodies
// are read whole before the upstream is chosen (reqbody.go).
func TestHTTP2StalledBodyTimesOutAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := `
server {
    listen LISTEN http2;
    client_body_timeout 1s;
    location / { proxy_pass http://unix:` + sock + `; }
}
`
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWispLogged(t, dir, site)
	cl := h2cClient(t)
	post := func(addr string) h2Result {
		pr, pw := io.Pipe()
		defer pw.Close()
		go io.WriteString(pw, "the start of a body that never ends")
		req, err := http.NewRequest("POST", "http://"+addr+"/up", pr)
		must(t, err)
		req.ContentLength = 100
		r := h2Do(t, cl, req)
		r.body, r.contentLength, r.contentType = "", "", ""
		return r
	}
	n, w := post(nginxAddr), post(wispAddr)
	if n != w {
		t.Errorf("nginx %+v\nwisp  %+v", n, w)
	}
}

// TestShutdownEndsAStreamWaitingForItsBody: a stream whose engine waits in
// a body read does not hold up the server's shutdown past its drain time.
func TestShutdownEndsAStreamWaitingForItsBody(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	addr, stop := startWisp(t, dir, `
server {
    listen LISTEN http2;
    location / { proxy_pass http://unix:`+sock+`; }
}
`)
	cl := h2cClient(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequest("POST", "http://"+addr+"/up", pr)
	must(t, err)
	req.ContentLength = 100
	answered := make(chan h2Result, 1)
	go func() { answered <- h2Do(t, cl, req) }()
	_, err = io.WriteString(pw, "the start of a body that never ends")
	must(t, err)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	if r := <-answered; !r.failed && r.status == 200 {
		t.Errorf("the cut request got %+v", r)
	}
}
