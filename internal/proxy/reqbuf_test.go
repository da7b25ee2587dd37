package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// watchedListener counts the connections a backend accepted and the
// bytes it read from them, so that a test sees whether a proxy reached
// the upstream before the client's body was in.
type watchedListener struct {
	net.Listener
	accepted  atomic.Int64
	read      atomic.Int64
	firstRead atomic.Int64 // what the latest connection's first read got
}

func (l *watchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted.Add(1)
	return &watchedConn{Conn: c, l: l}, nil
}

type watchedConn struct {
	net.Conn
	l    *watchedListener
	read bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	if !c.read && n > 0 {
		c.read = true
		c.l.firstRead.Store(int64(n))
	}
	return n, err
}

// startWatchedEcho is an echo backend behind a watchedListener that
// also takes chunked bodies: it answers with the head it received and
// the body, dechunked (the chunk sizes follow the proxy's reads).
func startWatchedEcho(t *testing.T, path string) *watchedListener {
	t.Helper()
	return serveWatchedEcho(t, listenUnix0666(t, path))
}

func serveWatchedEcho(t *testing.T, ln net.Listener) *watchedListener {
	t.Helper()
	var b connServer
	wl := &watchedListener{Listener: ln}
	b.serveConns(wl, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := readHeadString(br)
		if err != nil {
			return
		}
		var body io.Reader = strings.NewReader("")
		chunked := strings.Contains(head, "\r\nTransfer-Encoding: chunked\r\n")
		if chunked {
			body = httputil.NewChunkedReader(br) // leaves the last chunk's CRLF
		} else if i := strings.Index(head, "\r\nContent-Length: "); i >= 0 {
			n, _ := strconv.Atoi(strings.SplitN(head[i+18:], "\r\n", 2)[0])
			body = io.LimitReader(br, int64(n))
		}
		got, err := io.ReadAll(body)
		if err != nil {
			got = append(got, "\n(body: "+err.Error()+")"...)
		}
		if br.Buffered() > 0 && !chunked {
			got = append(got, "\n(bytes past the request)"...)
		}
		out := head + string(got)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(out))+"\r\nConnection: close\r\n\r\n"+out)
	})
	t.Cleanup(b.stop)
	return wl
}

// waitFor polls cond for up to 5 s: for events that must happen, so the
// bound only matters when they do not.
func waitFor(cond func() bool) bool {
	for i := 0; i < 500; i++ {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// pauseMidBody is how long a client holds back the second half of its
// body: long enough for any proxy that streams to have connected.
const pauseMidBody = 300 * time.Millisecond

// TestRequestBodyIsBufferedBeforeTheUpstreamLikeNginx sends the head and
// half the body, pauses, then the rest. With proxy_request_buffering on
// (the default) neither nginx nor wisp may have touched the upstream
// during the pause; with it off both must have sent the head by then
// (except a chunked body to an HTTP/1.0 upstream, which nginx buffers to
// send its length). What the backend received is then compared.
func TestRequestBodyIsBufferedBeforeTheUpstreamLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	backend := startWatchedEcho(t, sock)
	site := "server {\n listen LISTEN;\n client_max_body_size 0;\n" +
		" location /on { proxy_pass http://unix:" + sock + "; }\n" +
		" location /small { client_body_buffer_size 1k; proxy_pass http://unix:" + sock + "; }\n" +
		" location /off { proxy_request_buffering off; proxy_pass http://unix:" + sock + "; }\n" +
		" location /off11 { proxy_request_buffering off; proxy_http_version 1.1; proxy_pass http://unix:" + sock + "; }\n" +
		" location /on11 { proxy_http_version 1.1; proxy_pass http://unix:" + sock + "; }\n" +
		"}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)

	body := strings.Repeat("0123456789abcdef", 256) // 4 KiB: past /small's 1k buffer
	withLength := func(path, extra string) (string, string) {
		return "POST " + path + " HTTP/1.1\r\nHost: b.test\r\nContent-Type: text/plain\r\n" + extra +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body[:len(body)/2], body[len(body)/2:]
	}
	chunked := func(path string) (string, string) {
		half := len(body) / 2
		return "POST " + path + " HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\nX-Client: 1\r\nConnection: close\r\n\r\n" +
				strconv.FormatInt(int64(half), 16) + "\r\n" + body[:half] + "\r\n",
			strconv.FormatInt(int64(len(body)-half), 16) + "\r\n" + body[half:] + "\r\n0\r\n\r\n"
	}
	type split struct{ first, rest string }
	mk := func(a, b string) split { return split{a, b} }
	for _, tc := range []struct {
		name     string
		req      split
		streamed bool // the upstream sees the head before the body ends
	}{
		{"Content-Length body, buffering on", mk(withLength("/on", "")), false},
		{"Content-Length body, HTTP/1.1 upstream", mk(withLength("/on11", "")), false},
		{"Content-Length body past client_body_buffer_size", mk(withLength("/small", "")), false},
		{"chunked body, buffering on: sent with Content-Length", mk(chunked("/on")), false},
		{"chunked body past client_body_buffer_size", mk(chunked("/small")), false},
		{"Content-Length body, buffering off: streamed", mk(withLength("/off", "")), true},
		{"Content-Length body, buffering off, HTTP/1.1 upstream", mk(withLength("/off11", "")), true},
		{"chunked body, buffering off, HTTP/1.0 upstream: buffered", mk(chunked("/off")), false},
		{"chunked body, buffering off, HTTP/1.1 upstream: streamed chunked", mk(chunked("/off11")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out [2]string
			for i, addr := range []string{nginxAddr, wispAddr} {
				who := [2]string{"nginx", "wisp"}[i]
				accepted, read := backend.accepted.Load(), backend.read.Load()
				c, err := net.Dial("tcp", addr)
				must(t, err)
				io.WriteString(c, tc.req.first)
				if tc.streamed {
					if !waitFor(func() bool { return backend.read.Load() > read }) {
						t.Errorf("%s: the upstream got nothing before the body ended", who)
					}
				} else {
					time.Sleep(pauseMidBody)
					if n := backend.accepted.Load() - accepted; n != 0 {
						t.Errorf("%s: the upstream accepted %d connections before the body ended", who, n)
					}
				}
				io.WriteString(c, tc.req.rest)
				out[i] = readAllRaw(t, c, 10*time.Second)
				c.Close()
			}
			if out[0] != out[1] {
				t.Errorf("client got (the backend echoes what it received)\nnginx: %q\nwisp:  %q", out[0], out[1])
			}
			if !strings.Contains(out[1], body) {
				t.Errorf("the backend did not get the whole body: %q", out[1])
			}
		})
	}
}

// TestExpectContinueIsAnsweredBeforeBufferingLikeNginx: a client that
// waits for "100 Continue" gets it from the proxy itself, before any
// upstream connection, and the body then goes up whole.
func TestExpectContinueIsAnsweredBeforeBufferingLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	backend := startWatchedEcho(t, sock)
	site := "server {\n listen LISTEN;\n location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	const continued = "HTTP/1.1 100 Continue\r\n\r\n"
	var out [2]string
	for i, addr := range []string{nginxAddr, wispAddr} {
		who := [2]string{"nginx", "wisp"}[i]
		accepted := backend.accepted.Load()
		c, err := net.Dial("tcp", addr)
		must(t, err)
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: b.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, len(continued))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != continued {
			t.Fatalf("%s: interim answer %q, %v", who, got, err)
		}
		if n := backend.accepted.Load() - accepted; n != 0 {
			t.Errorf("%s: the upstream accepted %d connections before the body came", who, n)
		}
		read := backend.read.Load()
		io.WriteString(c, "hello")
		out[i] = readAllRaw(t, c, 10*time.Second)
		c.Close()
		// The head and the body went up in one write: the backend's
		// first read took the whole request.
		if first, all := backend.firstRead.Load(), backend.read.Load()-read; first != all {
			t.Errorf("%s: the backend's first read got %d of the request's %d bytes", who, first, all)
		}
	}
	if out[0] != out[1] {
		t.Errorf("client got\nnginx: %q\nwisp:  %q", out[0], out[1])
	}
}

// TestUnfinishedBodyNeverReachesTheUpstreamLikeNginx: a body that times
// out, is cut off by the client or is too large ends the request before
// any upstream traffic, with nginx's answer (none for the first two),
// its access-log status and its error-log line.
func TestUnfinishedBodyNeverReachesTheUpstreamLikeNginx(t *testing.T) {
	unfinishedBodies(t, "")
}

// TestUnfinishedStreamedBodyLikeNginx: the same with proxy_request_buffering
// off, where the upstream has the request by then: the statuses are the
// same, nginx's log lines name the peer "while sending request to
// upstream", and $upstream_addr is the peer. A body decided by what came
// with the head (invalid, too large) still ends before the upstream.
func TestUnfinishedStreamedBodyLikeNginx(t *testing.T) {
	unfinishedBodies(t, " proxy_request_buffering off;\n proxy_http_version 1.1;\n")
}

func unfinishedBodies(t *testing.T, extra string) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	backend := startWatchedEcho(t, sock)
	site := func(who string) string {
		s := "log_format st '$request $status $body_bytes_sent $upstream_addr';\n" +
			"server {\n listen LISTEN;\n client_body_timeout 1s;\n client_max_body_size 1k;\n" + extra +
			" access_log " + dir + "/" + who + ".log st;\n"
		if who == "nginx" {
			s += " error_log " + dir + "/nginx-info.log info;\n"
		}
		return s + " location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	}
	nginxAddr := startNginx(t, dir, site("nginx"))
	wispAddr, logs := startWispLogged(t, dir, site("wisp"))
	// How the client ends its side after raw.
	const (
		waits   = iota // reads until the proxy closes
		answer         // reads one answer (nginx lingers on the unread body)
		hangsUp        // closes
		resets         // closes with a reset
	)
	tests := []struct {
		name, raw string
		then      int
		log       string // the error-log line's message, "" for none
	}{
		{"Content-Length body stalls", "POST /stall HTTP/1.1\r\nHost: b.test\r\nContent-Length: 100\r\n\r\n0123456789", waits, ""},
		{"chunked body stalls", "POST /stall-chunked HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n", waits, ""},
		{"chunked body stalls inside a chunk", "POST /stall-in-chunk HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n0123456789", waits, ""},
		{"client closes mid-body", "POST /gone HTTP/1.1\r\nHost: b.test\r\nContent-Length: 100\r\n\r\n0123456789", hangsUp, "client prematurely closed connection"},
		{"client closes mid-chunked-body", "POST /gone-chunked HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n0123456789", hangsUp, "client prematurely closed connection"},
		{"client resets mid-body", "POST /reset HTTP/1.1\r\nHost: b.test\r\nContent-Length: 100\r\n\r\n0123456789", resets, "recv() failed (104: Connection reset by peer)"},
		{"invalid chunk size", "POST /bad-chunk HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n0123456789", waits, "client sent invalid chunked body"},
		{"Content-Length past client_max_body_size", "POST /big HTTP/1.1\r\nHost: b.test\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n0123456789", answer,
			"client intended to send too large body: 2000 bytes"},
		{"chunked body past client_max_body_size", "POST /big-chunked HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7d0\r\n" + strings.Repeat("x", 2000) + "\r\n0\r\n\r\n", answer,
			"client intended to send too large chunked body: 0+2000 bytes"},
		// nginx checks a chunk's size once its first data byte is in.
		{"too large chunk's header alone stalls", "POST /big-header HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7d0\r\n", waits, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out [2]string
			for i, addr := range []string{nginxAddr, wispAddr} {
				who := [2]string{"nginx", "wisp"}[i]
				accepted := backend.accepted.Load()
				c, err := net.Dial("tcp", addr)
				must(t, err)
				io.WriteString(c, tc.raw)
				switch tc.then {
				case waits:
					out[i] = readAllRaw(t, c, 5*time.Second)
				case answer:
					out[i] = readAnswerText(t, c)
				case resets:
					c.(*net.TCPConn).SetLinger(0)
					fallthrough
				case hangsUp:
					time.Sleep(50 * time.Millisecond) // let the proxy start on the body
				}
				c.Close()
				// The access-log line is written once the request is over.
				if !waitFor(func() bool { return countLines(filepath.Join(dir, who+".log")) > 0 && logHas(dir, who, tc.raw) }) {
					t.Errorf("%s: no access-log line for the request", who)
				}
				if n := backend.accepted.Load() - accepted; n != 0 && extra == "" {
					t.Errorf("%s: the upstream accepted %d connections", who, n)
				}
			}
			if out[0] != out[1] {
				t.Errorf("client got\nnginx: %q\nwisp:  %q", out[0], out[1])
			}
			target := strings.Fields(tc.raw)[1]
			n := errorLogLine(t, readFile(filepath.Join(dir, "nginx-info.log")), target)
			w := errorLogLine(t, logs.String(), target)
			if testing.Verbose() {
				t.Log(readFile(filepath.Join(dir, "nginx-info.log")))
			}
			if n != w {
				t.Errorf("error log differs\nnginx: %s\nwisp:  %s", n, w)
			}
			if tc.log == "" && w != "(none)" || !strings.Contains(w, tc.log) {
				t.Errorf("wisp's error log line %q lacks %q", w, tc.log)
			}
		})
	}
	compareAccessLogs(t, dir, len(tests))
}

// readAnswerText reads one response as text, Date blanked.
func readAnswerText(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	resp.Header.Del("Date")
	var b strings.Builder
	resp.Header.Write(&b)
	body, _ := io.ReadAll(resp.Body)
	return resp.Status + "\n" + b.String() + "\n" + string(body)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func countLines(path string) int { return strings.Count(readFile(path), "\n") }

// logHas reports whether who's access log has a line for raw's target.
func logHas(dir, who, raw string) bool {
	return strings.Contains(readFile(filepath.Join(dir, who+".log")), " "+strings.Fields(raw)[1]+" ")
}

// errorLogLine is the error-log line about the request for target, from
// its level on, without the time, pid and connection number.
func errorLogLine(t *testing.T, log, target string) string {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, " "+target+" HTTP/") {
			return errLogPrefixRE.ReplaceAllString(line, "[$1] ")
		}
	}
	return "(none)"
}

var errLogPrefixRE = regexp.MustCompile(`^\S+ \S+ \[(\w+)\] \d+#\d+: (\*\d+ )?`)

// TestChunkedBodyGrammarLikeNginx: chunked request bodies that nginx's
// parser takes (extensions, bare LF, upper-case and zero-padded sizes,
// trailers) reach the backend dechunked with the same Content-Length;
// those it refuses are 400 from both.
func TestChunkedBodyGrammarLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startEcho(t, sock, "echo")
	site := "server {\n listen LISTEN;\n location / { proxy_pass http://unix:" + sock + "; }\n" +
		" location /off11/ { proxy_request_buffering off; proxy_http_version 1.1; proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	post := func(name, chunks string) diffCase {
		return diffCase{name: name, raw: "POST /" + strings.NewReplacer(" ", "-", ",", "").Replace(name) + " HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks}
	}
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		post("two chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
		post("empty body", "0\r\n\r\n"),
		post("extension", "3;name=value\r\nabc\r\n0;last\r\n\r\n"),
		post("space before extension", "3 ;x\r\nabc\r\n0\r\n\r\n"),
		post("tab after size", "3\t\r\nabc\r\n0\r\n\r\n"),
		post("bare LF", "3\nabc\n0\n\n"),
		post("upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n"),
		post("zero-padded size", "0003\r\nabc\r\n0\r\n\r\n"),
		post("trailer fields", "3\r\nabc\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"),
		post("size not hex", "zz\r\nabc\r\n0\r\n\r\n"),
		post("size missing", "\r\nabc\r\n0\r\n\r\n"),
		post("data longer than its size", "3\r\nabcd\r\n0\r\n\r\n"),
		post("CR without LF after size", "3\rabc\r\n0\r\n\r\n"),
		post("size past off_t", "8000000000000000\r\nabc\r\n0\r\n\r\n"),
		post("size of sixteen digits", "0000000000000003\r\nabc\r\n0\r\n\r\n"),
		// Whole with the head: sent with Content-Length even unbuffered.
		post("off11/whole body, buffering off", "3\r\nabc\r\n0\r\n\r\n"),
	})
}

// TestHTTP2BodyIsBufferedLikeNginx: an HTTP/2 upload (cleartext, prior
// knowledge) goes through the same buffered path: no upstream connection
// while half the body is in, then the whole body with its length. With
// Expect: 100-continue net/http's server answers the expectation and
// drops the header, as nginx's HTTP/2 module does.
func TestHTTP2BodyIsBufferedLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	backend := startWatchedEcho(t, sock)
	site := "server {\n listen LISTEN http2;\n location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	body := strings.Repeat("h2 body ", 1024)
	for _, tc := range []struct {
		name   string
		header http.Header
		length int64 // -1: unknown, sent without content-length
	}{
		{"with content-length", http.Header{}, int64(len(body))},
		{"without content-length", http.Header{}, -1},
		{"expect 100-continue", http.Header{"Expect": {"100-continue"}}, int64(len(body))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out [2]string
			for i, addr := range []string{nginxAddr, wispAddr} {
				who := [2]string{"nginx", "wisp"}[i]
				tr := &http.Transport{Protocols: &protos, ExpectContinueTimeout: 5 * time.Second}
				defer tr.CloseIdleConnections()
				pr, pw := io.Pipe()
				req, err := http.NewRequest("POST", "http://"+addr+"/h2", pr)
				must(t, err)
				req.Header, req.ContentLength = tc.header, tc.length
				accepted := backend.accepted.Load()
				done := make(chan string, 1)
				go func() {
					resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
					if err != nil {
						done <- "error: " + err.Error()
						return
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					done <- resp.Status + "\n" + string(b)
				}()
				io.WriteString(pw, body[:len(body)/2])
				time.Sleep(pauseMidBody)
				if n := backend.accepted.Load() - accepted; n != 0 {
					t.Errorf("%s: the upstream accepted %d connections before the body ended", who, n)
				}
				io.WriteString(pw, body[len(body)/2:])
				pw.Close()
				out[i] = <-done
			}
			// wisp sends HTTP/2 headers sorted by name (http2.go), nginx
			// in the client's order: the lines are compared as a set.
			if sortedLines(out[0]) != sortedLines(out[1]) {
				t.Errorf("client got (the backend echoes what it received)\nnginx: %q\nwisp:  %q", out[0], out[1])
			}
			if !strings.HasSuffix(out[1], "\r\n\r\n"+body) {
				t.Errorf("wisp: the backend did not get the body whole: %q", out[1])
			}
		})
	}
}

// TestSpooledBodyIsLoggedLikeNginx: a body past client_body_buffer_size
// goes to a temporary file in client_body_temp_path (made when the config
// loads) with nginx's [warn], the file and the request named.
func TestSpooledBodyIsLoggedLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startWatchedEcho(t, sock)
	site := func(who string) string {
		s := "server {\n listen LISTEN;\n client_body_buffer_size 1k;\n client_body_temp_path " + dir + "/" + who + "-body 1 2;\n"
		if who == "nginx" {
			s += " error_log " + dir + "/nginx-info.log info;\n"
		}
		return s + " location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	}
	nginxAddr := startNginx(t, dir, site("nginx"))
	wispAddr, logs := startWispLogged(t, dir, site("wisp"))
	body := strings.Repeat("x", 4096)
	for _, raw := range []string{
		"POST /length HTTP/1.1\r\nHost: b.test\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n" + body,
		"POST /chunked HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1000\r\n" + body + "\r\n0\r\n\r\n",
	} {
		target := strings.Fields(raw)[1]
		t.Run(target, func(t *testing.T) {
			n, w := exchange(t, nginxAddr, raw), exchange(t, wispAddr, raw)
			if n.status != 200 || w.status != 200 || n.body != w.body {
				t.Errorf("nginx %d %q\nwisp %d %q", n.status, n.body, w.status, w.body)
			}
			nl := errorLogLine(t, readFile(filepath.Join(dir, "nginx-info.log")), target)
			wl := errorLogLine(t, logs.String(), target)
			// nginx hashes its file names into the levels' directories;
			// wisp's files are unlinked at once and live in the top one.
			file := regexp.MustCompile(`temporary file (` + regexp.QuoteMeta(dir) + `/(nginx|wisp)-body/)[0-9/]+, `)
			if !file.MatchString(wl) || file.ReplaceAllString(nl, "FILE") != file.ReplaceAllString(wl, "FILE") {
				t.Errorf("error log differs\nnginx: %s\nwisp:  %s", nl, wl)
			}
		})
	}
}

// TestConnectionAfterBufferedBodyLikeNginx: once a body was read whole,
// the connection is at the next request whatever the upstream did, so a
// 502 keeps it open for a pipelined request, as nginx keeps it.
func TestConnectionAfterBufferedBodyLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startWatchedEcho(t, sock)
	site := "server {\n listen LISTEN;\n location /dead { proxy_pass http://unix:" + dir + "/none.sock; }\n" +
		" location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	next := "GET /after HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct{ name, raw string }{
		{"502 after a Content-Length body", "POST /dead HTTP/1.1\r\nHost: b.test\r\nContent-Length: 5\r\n\r\nhello" + next},
		{"200 after a Content-Length body", "POST /live HTTP/1.1\r\nHost: b.test\r\nContent-Length: 5\r\n\r\nhello" + next},
		{"502 after a spooled body", "POST /dead HTTP/1.1\r\nHost: b.test\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("s", 40000) + next},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchangeRaw(t, nginxAddr, tc.raw), exchangeRaw(t, wispAddr, tc.raw)
			if n != w {
				t.Errorf("answers differ\nnginx:\n%q\nwisp:\n%q", n, w)
			}
		})
	}
}

// TestErrorPageResendsPrereadBodyLikeNginx: with proxy_request_buffering
// off, a body that came whole with the head is nginx's already, so an
// error_page's second proxy_pass sends it again, and a chunked one goes
// with Content-Length.
func TestErrorPageResendsPrereadBodyLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startWatchedEcho(t, sock)
	site := "server {\n listen LISTEN;\n proxy_request_buffering off;\n proxy_http_version 1.1;\n" +
		" location / { proxy_pass http://unix:" + dir + "/none.sock; error_page 502 = @next; }\n" +
		" location @next { proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	for _, tc := range []struct{ name, raw string }{
		{"Content-Length body", "POST /cl HTTP/1.1\r\nHost: b.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{"chunked body", "POST /chunked HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchangeRaw(t, nginxAddr, tc.raw), exchangeRaw(t, wispAddr, tc.raw)
			if n != w || !strings.HasSuffix(w, "\r\n\r\nhello") {
				t.Errorf("answers differ (the backend echoes what it got)\nnginx:\n%q\nwisp:\n%q", n, w)
			}
		})
	}
}

// TestBufferedBodyToHTTPSUpstreamLikeNginx: over TLS to the upstream the
// head and a body kept in memory go out together too, once each, small
// (beside the head) or past the head's buffer.
func TestBufferedBodyToHTTPSUpstreamLikeNginx(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "backend", false, "backend.test")
	pair, err := tls.LoadX509KeyPair(cert, key)
	must(t, err)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	serveWatchedEcho(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}}))
	site := "server {\n listen LISTEN;\n location / { proxy_pass https://127.0.0.1:" + port + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	post := func(path string, n int) string {
		return "POST " + path + " HTTP/1.1\r\nHost: b.test\r\nContent-Length: " + strconv.Itoa(n) + "\r\nConnection: close\r\n\r\n" + strings.Repeat("b", n)
	}
	for _, tc := range []struct{ name, raw string }{
		{"small body", post("/small", 100)},
		{"body past the head's buffer", post("/large", 10000)},
		{"spooled body", post("/spooled", 40000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchangeRaw(t, nginxAddr, tc.raw), exchangeRaw(t, wispAddr, tc.raw)
			if n != w {
				t.Errorf("answers differ (the backend echoes what it got)\nnginx:\n%q\nwisp:\n%q", n, w)
			}
		})
	}
}

// TestSendRequestWritesHeadAndBodyOnce: whatever path a body read whole
// takes (beside the head in its buffer, a writev, a spooled tail), over a
// socket or a connection without one (TLS), the upstream gets the head
// and the body once, in order.
func TestSendRequestWritesHeadAndBodyOnce(t *testing.T) {
	srv := &Server{log: slog.New(slog.DiscardHandler)}
	srv.copyBufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	c := &clientConn{srv: srv}
	c.req.reset()
	h := &proxyHandler{send: time.Minute}
	head := append(make([]byte, 0, readBufSize), "POST / HTTP/1.1\r\nHost: x\r\n\r\n"...)
	for _, tc := range []struct {
		name      string
		size, mem int
	}{
		{"beside the head", 100, 16 << 10},
		{"past the head's buffer", 10000, 16 << 10},
		{"spooled tail", 50000, 1 << 10},
		{"all spooled", 5000, 0},
	} {
		for _, socket := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: ", socket", false: ", no socket"}[socket], func(t *testing.T) {
				body := strings.Repeat("0123456789", tc.size/10)
				rb, err := c.bufferBody(nil, strings.NewReader(body), bodyBuffering{mem: int64(tc.mem), memSet: true})
				must(t, err)
				defer rb.close()
				var near, far net.Conn
				if socket {
					ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
					must(t, err)
					defer ln.Close()
					accepted := make(chan net.Conn, 1)
					go func() { c, _ := ln.Accept(); accepted <- c }()
					near, err = net.Dial("unix", ln.Addr().String())
					must(t, err)
					far = <-accepted
				} else {
					near, far = net.Pipe()
				}
				defer near.Close()
				defer far.Close()
				uc := &upConn{Conn: near}
				uc.src.init(near)
				// Read to the end, so that a writer of too much never blocks.
				got := make(chan string, 1)
				go func() {
					b, _ := io.ReadAll(far)
					got <- string(b)
				}()
				must(t, c.sendRequest(uc, h, head, rb))
				if uc.src.unsent != nil { // staged for the answer's read (sendThenRead)
					_, err := near.Write(uc.src.unsent)
					must(t, err)
				}
				near.Close()
				if g := <-got; g != string(head)+body {
					t.Errorf("upstream got %d bytes, want the head and the %d-byte body once", len(g), len(body))
				}
			})
		}
	}
}

// TestConnectionStaysOpenAfterChunkedBodyLikeNginx: the chunk decoder
// takes nothing past the body, so a request pipelined after a chunked
// upload is served on the same connection, as nginx serves it, whether
// the body came with the head, filled the buffer, or came in pieces.
func TestConnectionStaysOpenAfterChunkedBodyLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startWatchedEcho(t, sock)
	site := "server {\n listen LISTEN;\n location / { proxy_pass http://unix:" + sock + "; }\n" +
		" location /off/ { proxy_request_buffering off; proxy_http_version 1.1; proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	next := "GET /next HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"
	chunked := func(path string, sizes ...int) string {
		var b strings.Builder
		b.WriteString("POST " + path + " HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n")
		for _, n := range sizes {
			b.WriteString(strconv.FormatInt(int64(n), 16) + "\r\n" + strings.Repeat("c", n) + "\r\n")
		}
		b.WriteString("0\r\nX-Trailer: t\r\n\r\n")
		return b.String()
	}
	many := make([]int, 300)
	for i := range many {
		many[i] = 1 + i%50
	}
	for _, tc := range []struct{ name, raw string }{
		{"small body", chunked("/small", 3, 4) + next},
		{"body past the read buffer", chunked("/large", 3000, 5000, 10) + next},
		{"many small chunks", chunked("/many", many...) + next},
		{"streamed, whole with the head", chunked("/off/whole", 3, 4) + next},
		{"head that all but fills the read buffer", padHead(chunked("/padded", 300, 20, 1), readBufSize-6) + next},
		{"head of the read buffer's size", padHead(chunked("/padded-full", 300, 20, 1), readBufSize) + next},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchangeRaw(t, nginxAddr, tc.raw), exchangeRaw(t, wispAddr, tc.raw)
			if n != w || !strings.Contains(w, "GET /next HTTP/1.0") {
				t.Errorf("answers differ\nnginx:\n%.2000q\nwisp:\n%.2000q", n, w)
			}
		})
	}
	// A chunked body that arrives in pieces, size lines split too.
	raw := chunked("/pieces", 5000, 7, 3000) + next
	var out [2]string
	for i, addr := range []string{nginxAddr, wispAddr} {
		c, err := net.Dial("tcp", addr)
		must(t, err)
		for off := 0; off < len(raw); off += 997 {
			io.WriteString(c, raw[off:min(off+997, len(raw))])
			time.Sleep(5 * time.Millisecond)
		}
		out[i] = readAllRaw(t, c, 10*time.Second)
		c.Close()
	}
	if out[0] != out[1] || !strings.Contains(out[1], "GET /next HTTP/1.0") {
		t.Errorf("body in pieces: answers differ\nnginx:\n%.2000q\nwisp:\n%.2000q", out[0], out[1])
	}
}

// padHead adds an X-Pad header to raw's head so that the head is size bytes.
func padHead(raw string, size int) string {
	i := strings.Index(raw, "\r\n\r\n") + 2
	pad := size - (i + 2) - len("X-Pad: \r\n")
	return raw[:i] + "X-Pad: " + strings.Repeat("p", pad) + "\r\n" + raw[i:]
}
