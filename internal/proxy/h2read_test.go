package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestH2InputReadsFramesInOrder: buffered (cleartext) or not (TLS, whose
// conn buffers a record itself), reads of any size give the socket's
// bytes in order.
func TestH2InputReadsFramesInOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		buffered bool
	}{
		{"unbuffered, as over TLS", false},
		{"buffered, as cleartext", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			in := h2Input{Reader: a}
			if tc.buffered {
				// bufio's smallest buffer, so that the reads below cross it
				in.br = bufio.NewReaderSize(a, 16)
				in.Reader = in.br
			}
			const sent = "0123456789abcdefghijklmnopqrstuvwxyz"
			go b.Write([]byte(sent))
			var got []byte
			for _, n := range []int{9, 3, 1, 16, 7} {
				p := make([]byte, n)
				_, err := io.ReadFull(&in, p)
				must(t, err)
				got = append(got, p...)
			}
			if string(got) != sent {
				t.Errorf("read %q, want %q", got, sent)
			}
		})
	}
}

// TestH2IdleConnectionKeepsNoLargeWriteBuffer: once the streams of a
// connection are done, the writer's buffers grown by a large answer are
// dropped, and the connection serves its next stream as before.
func TestH2IdleConnectionKeepsNoLargeWriteBuffer(t *testing.T) {
	dir := t.TempDir()
	const size = 200 << 10
	big := startScripted(t, "unix", filepath.Join(dir, "big.sock"), func(c net.Conn, _ string, _ *bufio.Reader) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		c.Write(bytes.Repeat([]byte("b"), size))
	})
	cfg, err := compileSite(t, `
server {
    listen 80 http2;
    location / { proxy_pass `+big.target()+`; }
}`)
	must(t, err)
	srv, addr, _ := serveServer(t, cfg)
	c := dialRawH2(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	must(t, c.fr.WriteWindowUpdate(0, 4<<20))
	conn := func() *h2conn {
		srv.h2.mu.Lock()
		defer srv.h2.mu.Unlock()
		for hc := range srv.h2.conns {
			return hc
		}
		return nil
	}
	for id := uint32(1); id <= 3; id += 2 {
		c.get(t, id, "/big")
		if got := c.answered(t, id); got != size {
			t.Fatalf("stream %d: %d bytes, want %d", id, got, size)
		}
		waitUntil(t, "the idle connection to drop its large buffers", func() bool {
			hc := conn()
			if hc == nil {
				return false
			}
			hc.mu.Lock()
			idle := hc.running == 0
			hc.mu.Unlock()
			hc.w.mu.Lock()
			defer hc.w.mu.Unlock()
			return idle && cap(hc.w.buf) <= readBufSize && cap(hc.w.spare) <= readBufSize
		})
	}
}

// answered reads frames until stream id ends and returns the length of
// its body.
func (c *rawH2) answered(t *testing.T, id uint32) int {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n := 0
	for {
		f, err := c.fr.ReadFrame()
		must(t, err)
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				must(t, c.fr.WriteSettingsAck())
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				t.Fatalf("stream %d reset: %v", id, f.ErrCode)
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				n += len(f.Data())
			}
		}
		if f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream) {
			return n
		}
	}
}
