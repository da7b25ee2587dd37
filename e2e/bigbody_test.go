package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bigBackend serves on a Unix socket: GET /download?N streams N bytes with
// a Content-Length, POST reads its Content-Length body and answers with the
// number of bytes it read. One request per connection.
func bigBackend(t *testing.T, sock string) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	chunk := []byte(strings.Repeat("0123456789abcdef", 16<<10)) // 256 KiB
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				method, target, cl, err := readRequestHead(br)
				if err != nil {
					return
				}
				if method == "POST" {
					n, _ := io.CopyBuffer(io.Discard, io.LimitReader(br, cl), make([]byte, 256<<10))
					body := strconv.FormatInt(n, 10)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
					return
				}
				_, query, _ := strings.Cut(target, "?")
				size, _ := strconv.ParseInt(query, 10, 64)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", size)
				for sent := int64(0); sent < size; sent += int64(len(chunk)) {
					if _, err := c.Write(chunk[:min(int64(len(chunk)), size-sent)]); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// readRequestHead reads a request head and returns its method, target and
// Content-Length (0 when absent).
func readRequestHead(br *bufio.Reader) (method, target string, cl int64, err error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", "", 0, err
	}
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return "", "", 0, fmt.Errorf("bad request line %q", line)
	}
	method, target = fields[0], fields[1]
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", "", 0, err
		}
		if line == "\r\n" {
			return method, target, cl, nil
		}
		k, v, _ := strings.Cut(line, ":")
		if strings.EqualFold(k, "Content-Length") {
			cl, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
}

// memKiB reads VmRSS and VmHWM (peak RSS) of a process, in KiB.
func memKiB(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	if rss == 0 || hwm == 0 {
		t.Fatalf("no VmRSS/VmHWM in /proc/%d/status:\n%s", pid, b)
	}
	return rss, hwm
}

// transfer sends one download and one upload of size bytes each through
// the proxy at addr, each on a fresh keep-alive connection, and checks that
// every byte arrived.
func transfer(t *testing.T, addr string, size int64) {
	t.Helper()
	buf := make([]byte, 256<<10)
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		return c, bufio.NewReaderSize(c, 64<<10)
	}
	readAnswer := func(br *bufio.Reader) (string, int64) {
		t.Helper()
		status, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the status line: %v", err)
		}
		var cl int64 = -1
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the head: %v", err)
			}
			if line == "\r\n" {
				return strings.TrimSpace(status), cl
			}
			if k, v, _ := strings.Cut(line, ":"); strings.EqualFold(k, "Content-Length") {
				cl, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}

	c, br := dial()
	fmt.Fprintf(c, "GET /download?%d HTTP/1.1\r\nHost: big.test\r\n\r\n", size)
	if status, cl := readAnswer(br); status != "HTTP/1.1 200 OK" || cl != size {
		t.Fatalf("download: %q, Content-Length %d, want 200 and %d", status, cl, size)
	}
	if n, err := io.CopyBuffer(io.Discard, io.LimitReader(br, size), buf); n != size {
		t.Fatalf("downloaded %d of %d bytes: %v", n, size, err)
	}
	c.Close()

	c, br = dial()
	defer c.Close()
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: big.test\r\nContent-Length: %d\r\n\r\n", size)
	for sent := int64(0); sent < size; sent += int64(len(buf)) {
		if _, err := c.Write(buf[:min(int64(len(buf)), size-sent)]); err != nil {
			t.Fatalf("upload cut after %d bytes: %v", sent, err)
		}
	}
	status, cl := readAnswer(br)
	body := make([]byte, max(cl, 0))
	if _, err := io.ReadFull(br, body); err != nil || status != "HTTP/1.1 200 OK" || string(body) != strconv.FormatInt(size, 10) {
		t.Fatalf("upload answer %q %q (%v), want 200 and the backend having read %d bytes", status, body, err, size)
	}
}

// TestGigabyteEachWayKeepsProxyRSSFlat is issue 4's memory bound on a real
// `wisp proxy` process: 1 GiB downloaded and 1 GiB uploaded through a
// unix: upstream must not raise its peak RSS (VmHWM, read from /proc) by
// more than a few MiB over what a warm-up transfer of the same kind left.
func TestGigabyteEachWayKeepsProxyRSSFlat(t *testing.T) {
	const (
		size   = 1 << 30
		warmup = 32 << 20
		limit  = 4 << 10 // KiB
	)
	dir := shortDir(t)
	sock := filepath.Join(dir, "big.sock")
	port := freePort(t)
	conf := filepath.Join(dir, "proxy.conf")
	writeFile(t, conf, fmt.Sprintf(`pid %s/wisp.pid;
error_log %s/error.log;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:%d;
        client_max_body_size 0;
        location /download { proxy_pass http://unix:%s; }
        location /upload { proxy_pass http://unix:%s; }
    }
}
`, dir, dir, port, sock, sock))
	p := start(t, dir, nil, "proxy", "-c", conf)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitFor(t, p, 10*time.Second, "the proxy port", func() bool { return dialable("tcp", addr) })

	// The warm-up sizes wisp's pools and the runtime's heap for a transfer
	// of each kind, so what follows measures growth with the body's size.
	bigBackend(t, sock)
	transfer(t, addr, warmup)
	rss0, hwm0 := memKiB(t, p.cmd.Process.Pid)

	t0 := time.Now()
	transfer(t, addr, size)
	took := time.Since(t0)
	rss1, hwm1 := memKiB(t, p.cmd.Process.Pid)
	t.Logf("1 GiB each way in %v; wisp VmRSS %d -> %d KiB, VmHWM %d -> %d KiB", took.Round(time.Millisecond), rss0, rss1, hwm0, hwm1)
	if grew := hwm1 - hwm0; grew > limit {
		t.Errorf("wisp's peak RSS grew by %d KiB while 1 GiB went each way, want at most %d KiB", grew, limit)
	}
}
