package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// clientSock is a TLS client's TCP side. While hold is set it keeps the
// records the client writes, so that a test can send several in one
// segment or one in parts; it counts the bytes the server sent.
type clientSock struct {
	net.Conn
	hold bool
	held []byte
	got  atomic.Int64
}

func (s *clientSock) Write(p []byte) (int, error) {
	if s.hold {
		s.held = append(s.held, p...)
		return len(p), nil
	}
	return s.Conn.Write(p)
}

func (s *clientSock) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	s.got.Add(int64(n))
	return n, err
}

// release sends the held bytes from..to raw and stops holding once all
// are out.
func (s *clientSock) release(t *testing.T, from, to int) {
	t.Helper()
	if _, err := s.Conn.Write(s.held[from:to]); err != nil {
		t.Fatal(err)
	}
	if to == len(s.held) {
		s.hold, s.held = false, nil
	}
}

// tlsTestClient is one HTTP/1.1 client connection over TLS.
type tlsTestClient struct {
	t    *testing.T
	sock *clientSock
	tc   *tls.Conn
	br   *bufio.Reader
}

func dialTLSClient(t *testing.T, addr string) *tlsTestClient {
	return dialTLSVersion(t, addr, tls.VersionTLS13)
}

func dialTLSVersion(t *testing.T, addr string, version uint16) *tlsTestClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	must(t, err)
	sock := &clientSock{Conn: nc}
	tc := tls.Client(sock, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test", NextProtos: []string{"http/1.1"}, MaxVersion: version})
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	must(t, tc.Handshake())
	t.Cleanup(func() { tc.Close() })
	return &tlsTestClient{t: t, sock: sock, tc: tc, br: bufio.NewReader(tc)}
}

func getHead(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: a.test\r\n\r\n" }

// write sends text as one TLS record.
func (c *tlsTestClient) write(text string) {
	c.t.Helper()
	c.tc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.tc, text); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads one response and checks that the backend got path.
func (c *tlsTestClient) expect(path string) {
	c.t.Helper()
	c.tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("response to %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(string(body), "GET "+path+" ") || resp.Close {
		c.t.Fatalf("response to %s: status %d, close %v, body %.60q, err %v", path, resp.StatusCode, resp.Close, body, err)
	}
}

// tlsSite is one HTTPS server proxying to the echo backend at sock.
func tlsSite(t *testing.T, dir, sock, extra string) string {
	cert, key := newTestCA(t).issue(t, dir, "a.test", false, "a.test")
	return "server {\n listen LISTEN ssl;\n server_name a.test;\n ssl_protocols TLSv1.2 TLSv1.3;\n" +
		" ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n" + extra +
		" location / { proxy_pass http://unix:" + sock + "; }\n}\n"
}

// parkedConns is the number of connections in the server's idle poller.
func parkedConns(s *Server) int {
	// Serve sets s.idle before it first takes s.mu: taking it here orders
	// that write before this read, which the requests made so far do not
	// (the race detector sees no order in socket I/O).
	s.mu.Lock()
	p := s.idle
	s.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, q := range p.queues {
		for c := q.head; c != nil; c = c.idle.next {
			n++
		}
	}
	return n
}

// unreadBytes is how many bytes clients sent that the server has not
// read from its sockets yet.
func unreadBytes(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for c := range s.conns {
		if c.idle.fd < 0 {
			continue
		}
		var n int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(c.idle.fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e == 0 {
			total += int(n)
		}
	}
	return total
}

// waitParked waits until n connections sit in the poller with every byte
// their clients sent read.
func waitParked(t *testing.T, s *Server, n int) {
	t.Helper()
	waitUntil(t, "parked TLS connections", func() bool { return parkedConns(s) == n && unreadBytes(s) == 0 })
}

// An idle HTTPS keep-alive connection is parked in the idle poller like a
// plain one, however its next request arrives: crypto/tls may hold it
// decrypted or as whole records where the socket does not announce it, or
// hold part of a record whose rest arrives later.
func TestIdleTLSConnectionsParkAndServeEveryNextRequest(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	srv, addr, _ := serveServer(t, compileTLSSite(t, tlsSite(t, dir, sock, "")))
	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			c := dialTLSVersion(t, addr, v.version)
			if got := c.tc.ConnectionState().Version; got != v.version {
				t.Fatalf("negotiated %x, want %x", got, v.version)
			}
			parkAndServe(t, srv, c)
			// A client that leaves while parked is let go.
			c.tc.Close()
			waitUntil(t, "the connection to be closed", func() bool {
				srv.mu.Lock()
				defer srv.mu.Unlock()
				return len(srv.conns) == 0
			})
		})
	}
}

func parkAndServe(t *testing.T, srv *Server, c *tlsTestClient) {
	waitParked(t, srv, 1) // after the handshake, waiting for the first request

	for _, tc := range []struct {
		name string
		send func()
		want []string
	}{
		{"first request wakes the connection parked after its handshake", func() { c.write(getHead("/first")) }, []string{"/first"}},
		{"request after the connection was parked", func() { c.write(getHead("/later")) }, []string{"/later"}},
		{"two requests in one record", func() { c.write(getHead("/one-a") + getHead("/one-b")) }, []string{"/one-a", "/one-b"}},
		{"two records in one segment", func() {
			c.sock.hold = true
			c.write(getHead("/two-a"))
			c.write(getHead("/two-b"))
			c.sock.release(t, 0, len(c.sock.held))
		}, []string{"/two-a", "/two-b"}},
		{"three records in one segment, the last a part of a head", func() {
			c.sock.hold = true
			c.write(getHead("/three-a"))
			c.write(getHead("/three-b"))
			c.write("GET /three-c HTTP/1.1\r\n")
			c.sock.release(t, 0, len(c.sock.held))
			waitUntil(t, "the records read", func() bool { return unreadBytes(srv) == 0 })
			c.write("Host: a.test\r\n\r\n")
		}, []string{"/three-a", "/three-b", "/three-c"}},
		{"a head split across two records", func() {
			c.write("GET /split HTTP/1.1\r\n")
			waitUntil(t, "the first record read", func() bool { return unreadBytes(srv) == 0 })
			c.write("Host: a.test\r\n\r\n")
		}, []string{"/split"}},
		{"one record in two segments, the rest after the connection parked again", func() {
			c.sock.hold = true
			c.write(getHead("/torn"))
			c.sock.release(t, 0, 7) // the record header and two bytes
			waitParked(t, srv, 1)
			c.sock.release(t, 7, len(c.sock.held))
		}, []string{"/torn"}},
		{"the next request after all that", func() { c.write(getHead("/last")) }, []string{"/last"}},
	} {
		tc.send()
		for _, path := range tc.want {
			c.expect(path)
		}
		waitParked(t, srv, 1)
		if t.Failed() {
			t.Fatalf("after %q", tc.name)
		}
	}
}

func compileTLSSite(t *testing.T, site string) *Config {
	t.Helper()
	cfg, err := compileSite(t, strings.ReplaceAll(site, "LISTEN", "127.0.0.1:443"))
	must(t, err)
	return cfg
}

// closeSeen is what a client sees when the server closes an idle TLS
// connection: whether records (a close_notify alert) came before the end,
// and how the stream ended.
type closeSeen struct {
	records bool
	end     string
}

func awaitClose(t *testing.T, c *tlsTestClient) closeSeen {
	t.Helper()
	before := c.sock.got.Load()
	c.tc.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.br.ReadByte()
	seen := closeSeen{records: c.sock.got.Load() > before, end: "EOF"}
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
	case errors.As(err, &ne) && ne.Timeout():
		seen.end = "still open"
	case err != nil:
		seen.end = "error: " + err.Error()
	default:
		seen.end = "bytes"
	}
	return seen
}

// A parked TLS connection whose keepalive_timeout runs out is closed as
// nginx closes it: a close_notify alert, then the end of the stream.
func TestParkedTLSConnectionExpiresLikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := tlsSite(t, dir, sock, " keepalive_timeout 2s;\n")
	nginxAddr := startNginx(t, dir, site)
	srv, wispAddr, _ := serveServer(t, compileTLSSite(t, site))

	nc := dialTLSClient(t, nginxAddr)
	nc.write(getHead("/n"))
	nc.expect("/n")
	want := awaitClose(t, nc)

	wc := dialTLSClient(t, wispAddr)
	wc.write(getHead("/w"))
	wc.expect("/w")
	waitParked(t, srv, 1)
	got := awaitClose(t, wc)
	if got != want || want.end != "EOF" {
		t.Fatalf("on keepalive_timeout: wisp %+v, nginx %+v", got, want)
	}
}

// Graceful shutdown closes parked TLS connections at once, as idle ones;
// a reload leaves them parked, and their next request is served with the
// new config.
func TestParkedTLSConnectionsOnReloadAndShutdown(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := tlsSite(t, dir, sock, "")
	srv, addr, stop := serveServer(t, compileTLSSite(t, site))
	c := dialTLSClient(t, addr)
	c.write(getHead("/before"))
	c.expect("/before")
	waitParked(t, srv, 1)

	cfg := compileTLSSite(t, strings.Replace(site, "location / {", "location / { proxy_set_header X-Gen two;", 1))
	must(t, srv.Reload(context.Background(), cfg))
	c.write(getHead("/after-reload"))
	c.tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "X-Gen: two") || resp.Close {
		t.Fatalf("after the reload: close %v, backend got %q", resp.Close, body)
	}
	waitParked(t, srv, 1)

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	if seen := awaitClose(t, c); seen != (closeSeen{records: true, end: "EOF"}) {
		t.Errorf("on shutdown the parked connection saw %+v, want a close_notify and EOF", seen)
	}
	<-stopped
}

// HTTP/2 connections keep their reader (h2conn.go): they are never
// parked, and serve requests after a pause as before.
func TestHTTP2ConnectionsAreNotParked(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	srv, addr, _ := serveServer(t, compileTLSSite(t, strings.Replace(tlsSite(t, dir, sock, ""), "ssl;", "ssl http2;", 1)))
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, path := range []string{"/h2-a", "/h2-b"} {
		resp, err := cl.Get("https://a.test" + path)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "GET "+path+" ") {
			t.Fatalf("%s: %s, body %.60q", path, resp.Proto, body)
		}
		time.Sleep(5 * defaultHotWait) // past any hot wait
		if n := parkedConns(srv); n != 0 {
			t.Fatalf("%d connections parked, want none", n)
		}
	}
}

// TestARequestSentBeforeTheLastAnswerIsAnswered over TLS: there the
// answer's last records go out inside the hot wait's socket read
// (waitHotTLS), and a request that came before them must still be served.
func TestATLSRequestSentBeforeTheLastAnswerIsAnswered(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	startScripted(t, "unix", sock, func(c net.Conn, head string, br *bufio.Reader) {
		target := strings.Fields(head)[1]
		pauseForSlowPath(target)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nGET %s ", len(target)+5, target)
	})
	_, addr, _ := serveServer(t, compileTLSSite(t, tlsSite(t, dir, sock, "")))
	c := dialTLSClient(t, addr)
	for i := range 3 {
		c.write(getHead("/warm")) // answered and waited for the usual way
		c.expect("/warm")
		c.write(getHead("/slow/100"))
		time.Sleep(30 * time.Millisecond)
		early := fmt.Sprintf("/early/%d", i)
		c.write(getHead(early))
		c.expect("/slow/100")
		c.expect(early)
	}
}
