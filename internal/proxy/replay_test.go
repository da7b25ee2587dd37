package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLargeBodyIsReplayedToTheNextPeerLikeNginx: a 1 MiB POST to a peer
// that reads it all and then closes without answering reaches the second
// peer intact (proxy_next_upstream non_idempotent), with Content-Length
// and chunked bodies alike; with proxy_request_buffering off it is not
// sent again, and the client gets 502, as from nginx.
func TestLargeBodyIsReplayedToTheNextPeerLikeNginx(t *testing.T) {
	dir := t.TempDir()
	failSock, okSock := filepath.Join(dir, "fail.sock"), filepath.Join(dir, "ok.sock")
	var failed atomic.Int32 // bodies the failing peer read whole
	startScripted(t, "unix", failSock, func(c net.Conn, head string, br *bufio.Reader) {
		cl := 0
		for _, line := range strings.Split(head, "\r\n") {
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				cl, _ = strconv.Atoi(v)
			}
		}
		if n, _ := io.CopyN(io.Discard, br, int64(cl)); n == 1<<20 {
			failed.Add(1)
		} // all of it, then no answer
	})
	startEcho(t, okSock, "echo")
	var site strings.Builder
	site.WriteString("server {\n listen LISTEN;\n client_max_body_size 0;\n")
	for _, loc := range []struct{ name, extra string }{
		{"length", ""},
		{"chunked", ""},
		{"small-buffer", "client_body_buffer_size 1k;"},
		{"streamed", "proxy_request_buffering off;"},
		{"streamed-chunked", "proxy_request_buffering off;"},
	} {
		// One group per location, so that each first try is the failing
		// peer (max_fails=0 keeps it in the rotation).
		site.WriteString(" location /" + loc.name + " { proxy_pass http://u_" + loc.name + "; proxy_next_upstream error timeout non_idempotent; " + loc.extra + " }\n")
	}
	site.WriteString("}\n")
	for _, name := range []string{"length", "chunked", "small-buffer", "streamed", "streamed-chunked"} {
		site.WriteString("upstream u_" + name + " { server unix:" + failSock + " max_fails=0; server unix:" + okSock + "; }\n")
	}
	nginxAddr := startNginx(t, dir, site.String())
	wispAddr, _ := startWisp(t, dir, site.String())

	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	withLength := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(len(payload)) + "\r\nConnection: close\r\n\r\n" + string(payload)
	}
	chunked := func(path string) string {
		var b strings.Builder
		b.WriteString("POST " + path + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
		for off := 0; off < len(payload); off += 64 << 10 {
			b.WriteString(strconv.FormatInt(64<<10, 16) + "\r\n" + string(payload[off:off+64<<10]) + "\r\n")
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"Content-Length body", withLength("/length"), 200},
		{"chunked body", chunked("/chunked"), 200},
		{"client_body_buffer_size 1k", withLength("/small-buffer"), 200},
		{"proxy_request_buffering off", withLength("/streamed"), 502},
		{"proxy_request_buffering off, chunked to HTTP/1.0: buffered", chunked("/streamed-chunked"), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := exchange(t, nginxAddr, tc.raw), exchange(t, wispAddr, tc.raw)
			if n.status != tc.status || w.status != tc.status {
				t.Fatalf("status: nginx %d, wisp %d, want %d", n.status, w.status, tc.status)
			}
			if n.body != w.body {
				t.Errorf("bodies differ: nginx %d bytes, wisp %d", len(n.body), len(w.body))
			}
			if tc.status == 200 && !bytes.HasSuffix([]byte(w.body), append([]byte("\r\n\r\n"), payload...)) {
				t.Errorf("the second peer did not get the 1 MiB body intact (%d bytes)", len(w.body))
			}
		})
	}
	if got := failed.Load(); got != 10 {
		t.Errorf("the failing peer read %d whole bodies, want one per case and proxy (10)", got)
	}
}

// TestReplayedBodyKeepsMemoryFlat sends a 64 MiB POST to a peer that
// reads it and fails, so that the whole body is replayed to the second
// peer from the temporary file: the heap must not grow with the body.
func TestReplayedBodyKeepsMemoryFlat(t *testing.T) {
	const size = 64 << 20
	dir := t.TempDir()
	readBody := func(head string, br *bufio.Reader) int64 {
		i := strings.Index(head, "Content-Length: ")
		cl, _ := strconv.Atoi(strings.SplitN(head[i+16:], "\r\n", 2)[0])
		n, _ := io.CopyBuffer(io.Discard, io.LimitReader(br, int64(cl)), make([]byte, 64<<10))
		return n
	}
	fail := startScripted(t, "unix", filepath.Join(dir, "fail.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		readBody(head, br)
	})
	ok := startScripted(t, "unix", filepath.Join(dir, "ok.sock"), func(c net.Conn, head string, br *bufio.Reader) {
		n := strconv.FormatInt(readBody(head, br), 10)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(n))+"\r\nConnection: close\r\n\r\n"+n)
	})
	addr, logs := startWispLogged(t, dir, "upstream u { server "+strings.TrimPrefix(fail.target(), "http://")+" max_fails=0; server "+strings.TrimPrefix(ok.target(), "http://")+"; }\n"+
		"server {\n listen LISTEN;\n client_max_body_size 0;\n location / { proxy_pass http://u; proxy_next_upstream error non_idempotent; }\n}\n")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	hs := sampleHeap()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("upload after %d bytes: %v", sent, err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	must(t, err)
	got, _ := io.ReadAll(resp.Body)
	peak := hs.peak()
	if resp.StatusCode != 200 || string(got) != strconv.Itoa(size) {
		t.Fatalf("answer %d %q, want 200 and the second peer's count of %d bytes", resp.StatusCode, got, size)
	}
	if !strings.Contains(logs.String(), "a client request body is buffered to a temporary file") {
		t.Error("no [warn] about the temporary file")
	}
	grew := int64(peak) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %d KiB for a 64 MiB body sent twice", grew>>10)
	if grew > 8<<20 {
		t.Errorf("heap in use grew by %d KiB for a 64 MiB body sent twice", grew>>10)
	}
}
