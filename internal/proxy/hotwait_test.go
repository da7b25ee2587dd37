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

// A keep-alive connection waits for its next request first in its own
// goroutine (hotWait), then parked in the idle poller. Whichever way the
// request arrives, and however long its answer takes, the connection must
// keep serving: the hot wait's read deadline, which stays armed after the
// request came, must not cut a later read or wait short.
func TestKeepAliveConnectionServesAfterHotWaitAndPark(t *testing.T) {
	dir := t.TempDir()
	// The backend answers /slow/N after N ms and /big with 1 MiB (spliced
	// to a TCP client); other paths at once.
	backend := startScripted(t, "unix", filepath.Join(dir, "b.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		target := strings.Fields(head)[1]
		pauseForSlowPath(target)
		body := "ok " + target
		if target == "/big" {
			body = strings.Repeat("b", 1<<20)
		}
		if strings.HasPrefix(head, "POST") {
			cl := 0
			for _, line := range strings.Split(head, "\r\n") {
				if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length: "); ok {
					cl, _ = strconv.Atoi(v)
				}
			}
			b := make([]byte, cl)
			io.ReadFull(br, b)
			body = "got " + string(b)
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	})
	addr, _ := startWispLogged(t, dir, "server {\n listen LISTEN;\n location / { proxy_pass "+backend.target()+"; }\n}\n")
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	br := bufio.NewReader(c)

	parked := 5 * defaultHotWait // the hot wait is over: the connection sits in the poller
	slow := fmt.Sprintf("/slow/%d", (5 * defaultHotWait).Milliseconds())
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	for _, tc := range []struct {
		name  string
		pause time.Duration // before the request
		parts []string      // sent with pause between them
		want  string
	}{
		{"request right after the previous response", 0, []string{get("/a")}, "ok /a"},
		{"request after the connection was parked", parked, []string{get("/b")}, "ok /b"},
		{"slow answer to a request that came during the hot wait", 0, []string{get(slow)}, "ok " + slow},
		{"slow answer to a request that woke a parked connection", parked, []string{get(slow)}, "ok " + slow},
		{"spliced body after the connection was parked", parked, []string{get("/big")}, strings.Repeat("b", 1<<20)},
		{"head in two parts, the second after the hot wait", 0, []string{"GET /split HTTP/1.1\r\n", "Host: x\r\n\r\n"}, "ok /split"},
		{"body after the hot wait", parked, []string{"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n", "body"}, "got body"},
		{"request after a wait that woke a parked connection", parked, []string{get("/c")}, "ok /c"},
	} {
		time.Sleep(tc.pause)
		for i, part := range tc.parts {
			if i > 0 {
				time.Sleep(parked)
			}
			if _, err := io.WriteString(c, part); err != nil {
				t.Fatalf("%s: write: %v", tc.name, err)
			}
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: the connection failed: %v", tc.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != tc.want {
			t.Fatalf("%s: status %d, %d body bytes (%.40q), err %v; want 200 %.40q", tc.name, resp.StatusCode, len(body), body, err, tc.want)
		}
	}
}
