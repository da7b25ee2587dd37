package proxy

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sendAndDrain sends raw on a fresh connection, optionally more after a
// pause, and returns every byte the server sent until it closed.
func sendAndDrain(t *testing.T, addr, raw, later string, pause time.Duration) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, raw)
	if later != "" {
		time.Sleep(pause)
		io.WriteString(c, later)
	}
	var out bytes.Buffer
	io.Copy(&out, c) // a reset ends it as a close does
	return out.Bytes()
}

// TestZeroTimeoutsActAsNginx: nginx takes 0 for each timeout directive,
// and its timer then fires on the next pass of its event loop, so a wait
// that has to block ends at once while I/O that needs none is done.
func TestZeroTimeoutsActAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startEcho(t, sock, "echo")
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	tcpEcho := &echoBackend{mode: "echo"}
	tcpEcho.serveConns(tcp, tcpEcho.serve)
	t.Cleanup(tcpEcho.stop)
	must(t, os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("b"), 8<<20), 0o644))
	site := `
server {
    listen LISTEN;
    client_body_timeout 0;
    send_timeout 0;
    keepalive_timeout 0;
    location / { proxy_pass http://unix:` + sock + `:; }
    location /read0/ { proxy_read_timeout 0; proxy_pass http://unix:` + sock + `:; }
    location /connect0/tcp/ { proxy_connect_timeout 0; proxy_pass http://` + tcp.Addr().String() + `; }
    location /connect0/unix/ { proxy_connect_timeout 0; proxy_pass http://unix:` + sock + `:; }
    location /send0/ { proxy_send_timeout 0; proxy_pass http://unix:` + sock + `:; }
    location = /big { root ` + dir + `; }
}
`
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	runDiff(t, nginx, wisp, []diffCase{
		// keepalive_timeout 0: no keep-alive, Connection: close.
		{name: "keepalive_timeout 0 closes after the answer", raw: "GET /ka HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "client_body_timeout 0 takes a body that came with the head",
			raw: "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "proxy_read_timeout 0 is a 504 even from a fast peer", raw: "GET /read0/ HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "proxy_connect_timeout 0 is a 504 over TCP", raw: "GET /connect0/tcp/ HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "proxy_connect_timeout 0 does not matter over unix", raw: "GET /connect0/unix/ HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "proxy_send_timeout 0 lets a request through that needs no wait",
			raw: "POST /send0/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"},
	})
	t.Run("client_body_timeout 0 ends a body that has to be waited for", func(t *testing.T) {
		raw := "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"
		for name, addr := range map[string]string{"nginx": nginx, "wisp": wisp} {
			if got := sendAndDrain(t, addr, raw, "67890", 100*time.Millisecond); len(got) != 0 {
				t.Errorf("%s answered %q, want the connection closed unanswered (408 in the log)", name, got)
			}
		}
	})
	t.Run("send_timeout 0 cuts an answer once the client's socket is full", func(t *testing.T) {
		for name, addr := range map[string]string{"nginx": nginx, "wisp": wisp} {
			c, err := net.Dial("tcp", addr)
			must(t, err)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(200 * time.Millisecond) // the socket buffers fill
			n, _ := io.Copy(io.Discard, c)
			c.Close()
			if n >= 8<<20 {
				t.Errorf("%s sent all %d bytes to a client that did not read, want it cut", name, n)
			}
		}
	})
}

// TestClientHeaderTimeoutZeroClosesEveryConnectionAsNginx: nginx 1.22
// accepts client_header_timeout 0 and then closes each new connection
// unanswered, even one whose whole head is sent right after the connect.
func TestClientHeaderTimeoutZeroClosesEveryConnectionAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startEcho(t, sock, "echo")
	site := `
client_header_timeout 0;
server {
    listen LISTEN;
    location / { proxy_pass http://unix:` + sock + `:; }
}
`
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	for name, addr := range map[string]string{"nginx": nginx, "wisp": wisp} {
		for i := 0; i < 3; i++ {
			if got := sendAndDrain(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "", 0); len(got) != 0 {
				t.Errorf("%s answered %q, want every connection closed unanswered", name, got)
			}
		}
	}
}

// TestTimeoutDirectivesTakeZeroAndRefuseBadValuesAsNginx: 0 compiles for
// every timeout; a bad value is nginx's error with file:line.
func TestTimeoutDirectivesTakeZeroAndRefuseBadValuesAsNginx(t *testing.T) {
	names := []string{"client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout",
		"proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout"}
	for _, name := range names {
		for _, tc := range []struct{ value, wantErr string }{
			{"0", ""},
			{"0s", ""},
			{"-1", `"` + name + `" directive invalid value`},
			{"10x", `"` + name + `" directive invalid value`},
		} {
			t.Run(name+" "+tc.value, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "nginx.conf")
				must(t, writeFile(path, "events {}\nhttp {\n "+name+" "+tc.value+";\n server { listen 127.0.0.1:8000; }\n}\n"))
				checkConfError(t, path, tc.wantErr, "nginx.conf:3")
			})
		}
	}
}

// TestLocationKeepaliveAppliesWithoutProxyPass: keepalive_timeout and
// keepalive_requests set in a location take effect for answers made there
// (return, files), not only for proxied ones, as in nginx 1.22.
func TestLocationKeepaliveAppliesWithoutProxyPass(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file\n"), 0o644))
	site := `
server {
    listen LISTEN;
    location /ret0 { keepalive_timeout 0; return 200 "r\n"; }
    location /req0 { keepalive_requests 0; return 200 "q\n"; }
    location /f.txt { keepalive_timeout 0; root ` + dir + `; }
    location / { return 200 "kept\n"; }
}
`
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	runDiff(t, nginx, wisp, []diffCase{
		{name: "return in a location with keepalive_timeout 0 closes", raw: "GET /ret0 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "return in a location with keepalive_requests 0 closes", raw: "GET /req0 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "a file from a location with keepalive_timeout 0 closes", raw: "GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "the server's keep-alive elsewhere", raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	})
}
