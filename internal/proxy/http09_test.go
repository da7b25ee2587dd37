package proxy

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUpstreamStatusLinesLikeNginx(t *testing.T) {
	const notHTTP = "upstream sent no valid HTTP/1.0 header while reading response header from upstream"
	tests := []struct {
		name, answer, log string
	}{
		{"not HTTP at all", "hello, not HTTP\r\nsecond line\r\n\r\nthird", notHTTP},
		{"not HTTP, no line end", "hello", notHTTP},
		{"lower-case protocol", "http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", notHTTP},
		{"two-digit code", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok", notHTTP},
		{"CR inside the line", "HTTP/1.1 200 OK\rX\r\nContent-Length: 2\r\n\r\nok", notHTTP},
		{"HTTP/2.0 is taken", "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", ""},
		{"IIS-style status", "HTTP/1.1 200.1 OK\r\nContent-Length: 2\r\n\r\nok", ""},
		{"spaces before the code", "HTTP/1.1   200 OK\r\nContent-Length: 2\r\n\r\nok", ""},
		{"bare LF line ends", "HTTP/1.1 200\nContent-Length: 2\n\nok", ""},
		{"code below 100", "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok", ""},
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startScripted(t, "unix", sock, func(c net.Conn, head string, _ *bufio.Reader) {
		i, err := strconv.Atoi(strings.TrimPrefix(strings.Fields(head)[1], "/"))
		if err == nil && i < len(tests) {
			io.WriteString(c, tests[i].answer)
		}
	})
	site := func(who string) string {
		return "log_format st '$status $upstream_status \"$request\"';\n" +
			"server {\n listen LISTEN;\n access_log " + dir + "/" + who + ".log st;\n" +
			" location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	}
	nginxAddr := startNginx(t, dir, site("nginx"))
	wispAddr, logs := startWispLogged(t, dir, site("wisp"))
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out [2]string
			for j, addr := range []string{nginxAddr, wispAddr} {
				c, err := net.Dial("tcp", addr)
				must(t, err)
				io.WriteString(c, "GET /"+strconv.Itoa(i)+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				out[j] = readAllRaw(t, c, 10*time.Second)
				c.Close()
			}
			if out[0] != out[1] {
				t.Errorf("client got\nnginx: %q\nwisp:  %q", out[0], out[1])
			}
			path := "/" + strconv.Itoa(i)
			want := tc.log + ", client: 127.0.0.1, server: , request: \"GET " + path + " HTTP/1.1\", upstream: \"http://unix:" + sock + ":" + path + "\""
			if tc.log != "" && !strings.Contains(logs.String(), want) {
				t.Errorf("wisp's log lacks %q for this request:\n%s", tc.log, logs.String())
			}
		})
	}
	compareAccessLogs(t, dir, len(tests))
}

// After an HTTP/0.9 answer nginx keeps the client connection for the next
// request: its header filter, which would end keep-alive for a body of
// unknown length, does not run.
func TestHTTP09AnswerKeepsClientConnectionLikeNginx(t *testing.T) {
	const answer = "hello, not HTTP\r\n"
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startScripted(t, "unix", sock, func(c net.Conn, head string, _ *bufio.Reader) {
		if strings.Contains(head, "/old") {
			io.WriteString(c, answer)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew")
	})
	site := "server {\n listen LISTEN;\n location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWispLogged(t, dir, site)
	var out [2]string
	for i, addr := range []string{nginxAddr, wispAddr} {
		c, err := net.Dial("tcp", addr)
		must(t, err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /old HTTP/1.1\r\nHost: x\r\n\r\n")
		first := make([]byte, len(answer))
		if _, err := io.ReadFull(c, first); err != nil {
			t.Fatalf("%s: first answer: %v (%q)", addr, err, first)
		}
		io.WriteString(c, "GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		out[i] = string(first) + readAllRaw(t, c, 10*time.Second)
		c.Close()
	}
	if out[0] != out[1] {
		t.Errorf("client got\nnginx: %q\nwisp:  %q", out[0], out[1])
	}
}

// compareAccessLogs waits for n lines in both access logs and compares
// them. Each line is written after its response, so the next request's
// may come first: the lines are compared sorted (readLogLines).
func compareAccessLogs(t *testing.T, dir string, n int) {
	t.Helper()
	ng := readLogLines(t, filepath.Join(dir, "nginx.log"), n)
	w := readLogLines(t, filepath.Join(dir, "wisp.log"), n)
	if ng != w {
		t.Errorf("access log differs\nnginx:\n%s\nwisp:\n%s", ng, w)
	}
}
