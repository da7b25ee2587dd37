package proxy

import (
	"bufio"
	"bytes"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startBodyCounter runs a backend that answers with the request head it
// got and how many body bytes came: as many as Content-Length says, up to
// the last chunk, or what came before it waited idleWait for more (a
// request whose declared body never comes).
func startBodyCounter(t *testing.T, path string) {
	t.Helper()
	const idleWait = 300 * time.Millisecond
	startScripted(t, "unix", path, func(c net.Conn, head string, br *bufio.Reader) {
		want := -1
		if i := strings.Index(head, "\r\nContent-Length: "); i >= 0 {
			want, _ = strconv.Atoi(strings.SplitN(head[i+18:], "\r\n", 2)[0])
		}
		chunked := strings.Contains(head, "\r\nTransfer-Encoding: chunked\r\n")
		var got []byte
		buf := make([]byte, 32<<10)
		for want < 0 || len(got) < want {
			if chunked && bytes.HasSuffix(got, []byte("0\r\n\r\n")) || !chunked && want < 0 {
				break
			}
			c.SetReadDeadline(time.Now().Add(idleWait))
			n, err := br.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		out := head + "[" + strconv.Itoa(len(got)) + " body bytes]"
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(out)) + "\r\nConnection: close\r\n\r\n" + out))
	})
}

// TestErrorPageSecondProxyPassBodyLikeNginx: a request with a body whose
// first upstream fails, or answers an error that is intercepted, goes to
// a named location that proxies again. With proxy_request_buffering on
// nginx sends the buffered body again. With it off, a body that came
// whole with the head is sent again too; one that was still coming is
// gone: nginx sends the head with the body's original framing and no body
// at all (checked against nginx 1.22: the second upstream then waits for a
// body that never comes), and the client's connection closes after the
// answer.
func TestErrorPageSecondProxyPassBodyLikeNginx(t *testing.T) {
	dir := t.TempDir()
	raw, counter := filepath.Join(dir, "raw.sock"), filepath.Join(dir, "counter.sock")
	startRawAnswers(t, raw, upstreamAnswers)
	startBodyCounter(t, counter)
	site := strings.NewReplacer("RAW", raw, "COUNTER", counter, "DEAD", filepath.Join(dir, "dead.sock")).Replace(`
server {
    listen LISTEN;
    server_name ep.test;
    location /buf/ { proxy_pass http://unix:RAW:/; error_page 502 = @fb; }
    location /unbuf/ { proxy_request_buffering off; proxy_pass http://unix:RAW:/; error_page 502 = @fb; }
    location /dead/ { proxy_pass http://unix:DEAD:/; error_page 502 = @fb; }
    location /deadunbuf/ { proxy_request_buffering off; proxy_pass http://unix:DEAD:/; error_page 502 = @fb; }
    location /deadunbuf11/ { proxy_request_buffering off; proxy_http_version 1.1; proxy_pass http://unix:DEAD:/; error_page 502 = @fb; }
    location /icpt/ { proxy_intercept_errors on; proxy_pass http://unix:RAW:/; error_page 500 = @fb; }
    location /icptunbuf/ { proxy_request_buffering off; proxy_intercept_errors on; proxy_pass http://unix:RAW:/; error_page 500 = @fb; }
    location @fb { proxy_pass http://unix:COUNTER; }
}`)
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	head := func(path, framing string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: ep.test\r\n" + framing + "Connection: close\r\n\r\n"
	}
	cl := func(n int) string { return "Content-Length: " + strconv.Itoa(n) + "\r\n" }
	const chunked = "Transfer-Encoding: chunked\r\n"
	type row struct {
		name string
		s    slowClient
		want string
	}
	var rows []row
	for _, loc := range []string{"buf", "unbuf", "dead", "deadunbuf", "deadunbuf11", "icpt", "icptunbuf"} {
		key := "nothing"
		if strings.HasPrefix(loc, "icpt") {
			key = "s500"
		}
		p := "/" + loc + "/" + key
		spent := strings.Contains(loc, "unbuf")
		want := "[102400 body bytes]"
		if spent {
			want = "Content-Length: 102400\r\n\r\n[0 body bytes]"
		}
		rows = append(rows,
			row{loc + " body with the head", slowClient{head: head(p, cl(5)) + "hello"}, "[5 body bytes]"},
			row{loc + " chunked body with the head", slowClient{head: head(p, chunked) + "5\r\nhello\r\n0\r\n\r\n"}, "Content-Length: 5\r\n\r\n[5 body bytes]"},
			row{loc + " body after the head", slowClient{head: head(p, cl(100<<10)), pieces: bodyPieces(100<<10, false)}, want},
		)
		if loc == "deadunbuf11" {
			// Streamed chunked to an HTTP/1.1 upstream: the second one
			// gets "Transfer-Encoding: chunked" and nothing after it.
			rows = append(rows, row{loc + " chunked body after the head", slowClient{head: head(p, chunked), pieces: bodyPieces(100<<10, true)},
				"Transfer-Encoding: chunked\r\n\r\n[0 body bytes]"})
		}
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, nend := tc.s.run(t, nginx)
			w, wend := tc.s.run(t, wisp)
			if n != w || nend != wend {
				t.Errorf("nginx (%s):\n%q\nwisp (%s):\n%q", nend, n, wend, w)
			}
			if !strings.Contains(n, tc.want) {
				t.Errorf("nginx answered %q; want %q in it", n, tc.want)
			}
		})
	}
}
