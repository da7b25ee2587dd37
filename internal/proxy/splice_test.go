package proxy

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// patterned returns n pseudo-random bytes (the same for every call), so
// that a lost, repeated or reordered piece of a body shows.
func patterned(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// startSizedBackend answers GET /N with N bytes of patterned(max), on
// keep-alive connections.
func startSizedBackend(t *testing.T, network, path string, body []byte) *scriptedBackend {
	return startScripted(t, network, path, func(c net.Conn, head string, br *bufio.Reader) {
		for {
			f := strings.Fields(head)
			n, err := strconv.Atoi(strings.TrimPrefix(f[1], "/"))
			if err != nil || n > len(body) {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "+strconv.Itoa(n)+"\r\n\r\n")
			if _, err := c.Write(body[:n]); err != nil {
				return
			}
			if head, err = readHeadString(br); err != nil {
				return
			}
		}
	})
}

// getBody sends GET /n on c and returns the body of the answer.
func getBody(t *testing.T, c net.Conn, br *bufio.Reader, n int) []byte {
	t.Helper()
	c.SetDeadline(time.Now().Add(time.Minute))
	io.WriteString(c, "GET /"+strconv.Itoa(n)+" HTTP/1.1\r\nHost: x\r\n\r\n")
	head, err := readHeadString(br)
	must(t, err)
	if !strings.HasPrefix(head, "HTTP/1.1 200 ") || !strings.Contains(head, "Content-Length: "+strconv.Itoa(n)+"\r\n") {
		t.Fatalf("GET /%d: head %q", n, head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("GET /%d: body: %v", n, err)
	}
	return body
}

func TestLargeBodiesArriveWhole(t *testing.T) {
	const most = 3<<20 + 7
	body := patterned(most)
	// Below the splice threshold, just past it (the head's read took part
	// of the body), and several pipe-fulls.
	sizes := []int{largeBody - 1, largeBody + 1, most}
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			b := startSizedBackend(t, network, filepath.Join(dir, "b.sock"), body)
			site := "upstream app {\n server " + strings.TrimPrefix(b.target(), "http://") + ";\n keepalive 4;\n}\n" +
				"server {\n listen LISTEN;\n location / {\n proxy_pass http://app;\n proxy_http_version 1.1;\n proxy_set_header Connection \"\";\n }\n}\n"
			addr, logs := startWispLogged(t, dir, site)
			c, err := net.Dial("tcp", addr)
			must(t, err)
			defer c.Close()
			br := bufio.NewReader(c)
			check := func(round string) {
				for _, n := range sizes {
					if got := getBody(t, c, br, n); !bytes.Equal(got, body[:n]) {
						t.Errorf("%s: GET /%d: the body differs from what the upstream sent", round, n)
					}
				}
			}
			check("first")
			check("again, on reused upstream connections and pipes")

			// A client that leaves mid-body leaves bytes in its pipe;
			// what follows must not see them.
			gone, err := net.Dial("tcp", addr)
			must(t, err)
			io.WriteString(gone, "GET /"+strconv.Itoa(most)+" HTTP/1.1\r\nHost: x\r\n\r\n")
			io.ReadFull(gone, make([]byte, 100<<10))
			gone.Close()
			check("after a client left mid-body")
			if strings.Contains(logs.String(), "[error]") {
				t.Errorf("errors logged:\n%s", logs)
			}
		})
	}
}

func TestLargeBodyFailuresLikeNginx(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(1<<20) + "\r\n\r\n"
	part := string(patterned(300 << 10))
	tests := []struct {
		name      string
		buffering string
		then      func(c net.Conn, br *bufio.Reader) // after head+part
		log       string
	}{
		{"upstream closes mid-body", "on", func(net.Conn, *bufio.Reader) {},
			"upstream prematurely closed connection while reading upstream"},
		// With proxy_buffering on, nginx keeps back the bytes of its last,
		// partly filled 4 KiB buffer on a timeout; wisp sends what it got,
		// as nginx does without buffering.
		{"upstream stalls mid-body", "off", func(c net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) },
			"upstream timed out (110: Connection timed out) while reading upstream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "b.sock")
			startScripted(t, "unix", sock, func(c net.Conn, _ string, br *bufio.Reader) {
				io.WriteString(c, head+part)
				tc.then(c, br)
			})
			site := "server {\n listen LISTEN;\n location / {\n proxy_pass http://unix:" + sock + ";\n proxy_read_timeout 1s;\n proxy_buffering " + tc.buffering + ";\n }\n}\n"
			nginxAddr := startNginx(t, dir, site)
			wispAddr, logs := startWispLogged(t, dir, site)
			var out [2]string
			for i, addr := range []string{nginxAddr, wispAddr} {
				c, err := net.Dial("tcp", addr)
				must(t, err)
				io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
				out[i] = readAllRaw(t, c, 10*time.Second)
				c.Close()
			}
			if out[0] != out[1] {
				t.Errorf("client got %d bytes from nginx, %d from wisp; heads:\nnginx: %q\nwisp:  %q",
					len(out[0]), len(out[1]), out[0][:min(len(out[0]), 300)], out[1][:min(len(out[1]), 300)])
			}
			want := tc.log + ", client: 127.0.0.1, server: , request: \"GET /x HTTP/1.1\", upstream: \"http://unix:" + sock + ":/x\""
			if !strings.Contains(logs.String(), want) {
				t.Errorf("wisp's log lacks %q:\n%s", want, logs.String())
			}
		})
	}
}

// A client that stops reading a large body is cut after send_timeout, and
// logged as nginx 1.22 logs it (checked by hand: at info level, which the
// differential harness's nginx does not log).
func TestClientNotReadingLargeBodyIsCut(t *testing.T) {
	const size = 64 << 20
	dir := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	sock := filepath.Join(dir, "b.sock")
	startScripted(t, "unix", sock, func(c net.Conn, _ string, br *bufio.Reader) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		for sent := 0; sent < size; sent += len(body) {
			if _, err := c.Write(body); err != nil {
				return
			}
		}
	})
	site := "server {\n listen LISTEN;\n send_timeout 1s;\n location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	addr, logs := startWispLogged(t, dir, site)
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(16 << 10)
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	// Not reading at all: every buffer on the way fills, then nothing
	// moves for send_timeout.
	const want = "client timed out (110: Connection timed out) while sending to client, client: 127.0.0.1"
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), want); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("wisp's log lacks %q:\n%s", want, logs.String())
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if err != nil || n >= size {
		t.Errorf("the client read %d bytes (of a %d-byte body) then %v; want the connection closed early", n, size, err)
	}
}
