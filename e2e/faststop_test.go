package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// stalledBodyBackend answers every request on a unix socket with a head
// promising 100 bytes and 10 of them, then sends nothing more until the
// test ends: a relay of it waits on the peer for proxy_read_timeout.
func stalledBodyBackend(t *testing.T, sock string) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
				<-done
			}()
		}
	}()
}

// TestFastStopEndsAtOnceWithRequestsInFlight: TERM, INT and "-s stop" end
// a real proxy at once, as nginx's fast shutdown does, with idle
// keep-alive connections, requests waiting for an answer's head and
// answers whose body the peer stalled all open (an answer stalled
// mid-body held the process until proxy_read_timeout, 60 s: measured
// 59.8 s before, 0.01 s after, nginx 1.22 0.01 s). The bound is generous;
// the time taken is logged.
func TestFastStopEndsAtOnceWithRequestsInFlight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		command string
	}{
		{name: "SIGTERM", sig: syscall.SIGTERM},
		{name: "SIGINT", sig: syscall.SIGINT},
		{name: "-s stop", command: "stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			held, stalled := filepath.Join(dir, "held.sock"), filepath.Join(dir, "stalled.sock")
			arrived, release := heldBackend(t, held)
			defer close(release)
			stalledBodyBackend(t, stalled)
			port := freePort(t)
			conf := filepath.Join(dir, "proxy.conf")
			writeFile(t, conf, fmt.Sprintf(`pid %s/wisp.pid;
error_log %s/error.log notice;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:%d;
        location /held { proxy_pass http://unix:%s; }
        location /stalled { proxy_pass http://unix:%s; }
        location /ok { return 200 ok; }
    }
}
`, dir, dir, port, held, stalled))
			p := start(t, dir, nil, "proxy", "-c", conf)
			addr := "127.0.0.1:" + strconv.Itoa(port)
			waitFor(t, p, 10*time.Second, "the listener", func() bool { return dialable("tcp", addr) })
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			send := func(path string) *bufio.Reader {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				c.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
				return bufio.NewReader(c)
			}
			for i := 0; i < 5; i++ { // idle keep-alive connections
				resp, err := http.ReadResponse(send("/ok"), nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
			}
			for i := 0; i < 5; i++ {
				send("/held")
				<-arrived
			}
			for i := 0; i < 5; i++ {
				br := send("/stalled")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
					t.Fatal(err)
				}
			}
			began := time.Now()
			if tc.command != "" {
				if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", tc.command); code != 0 {
					t.Fatalf("-s %s: exit %d: %s", tc.command, code, out)
				}
			} else {
				p.signal(tc.sig)
			}
			if code := p.wait(t, 5*time.Second); code != 0 {
				t.Errorf("exit code %d", code)
			}
			t.Logf("%s ended the proxy in %v", tc.name, time.Since(began).Round(time.Millisecond))
			for i, c := range conns {
				c.SetReadDeadline(time.Now().Add(time.Second))
				if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 {
					t.Errorf("connection %d still open after the stop", i)
				}
			}
		})
	}
}
