package proxy

import (
	"bufio"
	"errors"
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

// The request head goes out with the first read of the answer
// (sendThenRead): whatever its size, the upstream must get all of it
// before the answer is read, and a peer that is gone must show as a send
// failure, which attempt retries on a cached connection.
func TestRequestHeadSentWithTheAnswersReadReachesTheUpstream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		headLen  int
		peerGone bool
	}{
		{"small head", 200, false},
		{"head larger than the socket buffers", 4 << 20, false},
		{"peer closed before the head", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "u.sock"))
			must(t, err)
			defer ln.Close()
			got := make(chan int, 1)
			go func() {
				pc, err := ln.Accept()
				if err != nil {
					got <- -1
					return
				}
				defer pc.Close()
				if tc.peerGone {
					got <- 0
					return
				}
				n, _ := io.ReadFull(pc, make([]byte, tc.headLen))
				got <- n
				io.WriteString(pc, "answer")
			}()
			nc, err := net.Dial("unix", ln.Addr().String())
			must(t, err)
			defer nc.Close()
			if tc.peerGone {
				<-got
				time.Sleep(10 * time.Millisecond) // let the close land; no timing is asserted
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			var s upSource
			s.init(nc)
			s.sendWithRead([]byte(strings.Repeat("h", tc.headLen)))
			buf := make([]byte, 64)
			n, err := s.Read(buf)
			var se upSendError
			switch {
			case tc.peerGone:
				// Either the write fails or the read finds the close.
				if !errors.As(err, &se) && err != io.EOF {
					t.Fatalf("read after a closed peer: %d, %v; want a send error or EOF", n, err)
				}
			case err != nil:
				t.Fatalf("read: %v", err)
			default:
				if m := <-got; m != tc.headLen {
					t.Errorf("upstream got %d head bytes, want %d", m, tc.headLen)
				}
				if string(buf[:n]) != "answer" {
					t.Errorf("answer %q", buf[:n])
				}
			}
			if s.unsent != nil {
				t.Errorf("%d head bytes left unsent", len(s.unsent))
			}
		})
	}
}

// An upstream that closes a keep-alive connection while a request is on
// its way to it (Node closes idle sockets after keepAliveTimeout) resets
// it, since the request is unread: nginx takes an error on a cached
// connection as a reason for one more try (ngx_http_upstream_next's
// tries++ for peer.cached), so the client gets the answer of a fresh
// connection, not a 502. Whether the reset shows on the send or on the
// read of the answer, the outcome must be the same.
func TestARequestOnACachedConnectionItsPeerResetIsRetriedOnAFreshOne(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			backend := startScripted(t, network, filepath.Join(dir, "b.sock"), func(c net.Conn, head string, br *bufio.Reader) {
				target := strings.Fields(head)[1]
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(target), target)
				// Closed with the next request unread: the proxy sees a reset.
				time.Sleep(30 * time.Millisecond)
			})
			addr, _ := startWispLogged(t, dir, keepaliveSite(backend))
			c, err := net.Dial("tcp", addr)
			must(t, err)
			defer c.Close()
			br := bufio.NewReader(c)
			for i := range 4 {
				path := fmt.Sprintf("/r%d", i)
				io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
				if status, body := readAnswer(t, c, br); status != 200 || body != path {
					t.Fatalf("%s: got %d %.60q, want 200 %q", path, status, body, path)
				}
			}
		})
	}
}

// Node closes a keep-alive connection that has been idle for its
// keepAliveTimeout (5 s in Ghost). A request that comes later must not
// be sent on that closed connection and fail: a POST with a body cannot
// be retried once it went out. nginx drops a cached connection as soon
// as its peer closes it.
func TestACachedConnectionItsPeerClosedWhileIdleIsNotUsed(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			backend := startScripted(t, network, filepath.Join(dir, "b.sock"), func(c net.Conn, head string, br *bufio.Reader) {
				for {
					body := ""
					if v, ok := headerOf(head, "Content-Length"); ok {
						n, _ := strconv.Atoi(v)
						b := make([]byte, n)
						io.ReadFull(br, b)
						body = string(b)
					}
					answer := strings.Fields(head)[0] + " " + body
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
					// Node's keepAliveTimeout, shortened: an idle connection is closed.
					c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
					var err error
					if head, err = readHeadString(br); err != nil {
						return
					}
				}
			})
			addr, _ := startWispLogged(t, dir, keepaliveSite(backend))
			c, err := net.Dial("tcp", addr)
			must(t, err)
			defer c.Close()
			br := bufio.NewReader(c)
			for i, req := range []string{
				"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
				"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
				"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nmore",
			} {
				if i > 0 {
					time.Sleep(200 * time.Millisecond) // the backend has closed the cached connection
				}
				io.WriteString(c, req)
				if status, body := readAnswer(t, c, br); status != 200 {
					t.Fatalf("request %d: got %d %.60q, want 200", i, status, body)
				}
			}
		})
	}
}

// headerOf finds a header's value in a raw request head.
func headerOf(head, name string) (string, bool) {
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// A peer that answers HEAD with a body anyway (it happens) leaves bytes on
// the cached connection after the answer has ended. The next request must
// not read them as its answer: nginx drops a cached connection that
// becomes readable while idle; the answers must be nginx's.
func TestABodySentAfterAHeadAnswerIsNotTheNextAnswer(t *testing.T) {
	dir := t.TempDir()
	backend := startScripted(t, "unix", filepath.Join(dir, "b.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		for {
			method, target, _ := strings.Cut(head, " ")
			target, _, _ = strings.Cut(target, " ")
			body := method + " " + target
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
			if method == "HEAD" {
				// The stray body comes a moment after the head, once
				// the proxy has taken the connection back.
				time.Sleep(50 * time.Millisecond)
			}
			io.WriteString(c, body)
			var err error
			if head, err = readHeadString(br); err != nil {
				return
			}
		}
	})
	site := keepaliveSite(backend)
	site = strings.Replace(site, "proxy_pass http://b;", "proxy_pass http://b; proxy_read_timeout 2s;", 1)
	var got [2]string
	for i, addr := range []string{startNginx(t, dir, site), func() string { a, _ := startWisp(t, dir, site); return a }()} {
		c, err := net.Dial("tcp", addr)
		must(t, err)
		defer c.Close()
		br := bufio.NewReader(c)
		io.WriteString(c, "HEAD /first HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
		must(t, err)
		resp.Body.Close()
		time.Sleep(200 * time.Millisecond) // the stray body has arrived
		io.WriteString(c, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
		status, body := readAnswer(t, c, br)
		got[i] = fmt.Sprintf("HEAD %d, then %d %q", resp.StatusCode, status, body)
	}
	if got[0] != got[1] || got[1] != `HEAD 200, then 200 "GET /second"` {
		t.Errorf("nginx: %s\nwisp:  %s", got[0], got[1])
	}
}
