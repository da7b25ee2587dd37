package proxy

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

// A response's last bytes are written inside the wait for the next
// request (tail.go), where the poller has forgotten earlier readiness. A
// client that sends its next request before the answer to the last one
// must still be answered, in order, on the same connection; and once it
// has, its later requests too.
func TestARequestSentBeforeTheLastAnswerIsAnswered(t *testing.T) {
	dir := t.TempDir()
	backend := startScripted(t, "unix", filepath.Join(dir, "b.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		target := strings.Fields(head)[1]
		pauseForSlowPath(target)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nok %s", len(target)+3, target)
	})
	addr, _ := startWispLogged(t, dir, keepaliveSite(backend))
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	get := func(path string) {
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	read := func(want string) {
		t.Helper()
		if status, body := readAnswer(t, c, br); status != 200 || body != want {
			t.Fatalf("got %d %q, want 200 %q", status, body, want)
		}
	}
	for i := range 3 {
		get("/warm") // answered and waited for the usual way
		read("ok /warm")
		// The second request goes out while the first is with the upstream.
		get("/slow/100")
		time.Sleep(30 * time.Millisecond)
		get(fmt.Sprintf("/early/%d", i))
		read("ok /slow/100")
		read(fmt.Sprintf("ok /early/%d", i))
	}
}

// pauseForSlowPath is a test backend's delay: /slow/N answers after N ms.
func pauseForSlowPath(target string) {
	if n, ok := strings.CutPrefix(target, "/slow/"); ok {
		ms, _ := strconv.Atoi(n)
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}

// keepaliveSite proxies everything to b through a group with cached
// connections.
func keepaliveSite(b *scriptedBackend) string {
	return "upstream b { server " + strings.TrimPrefix(b.target(), "http://") + "; keepalive 4; }\n" +
		"server {\n listen LISTEN;\n location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection \"\"; }\n}\n"
}

// readAnswer reads the next answer on c: its status and body.
func readAnswer(t *testing.T, c net.Conn, br *bufio.Reader) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading an answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading an answer's body: %v", err)
	}
	return resp.StatusCode, string(body)
}
