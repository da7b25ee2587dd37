package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// fuzzConn is a client connection whose bytes are given: it reads them,
// then, once done reports true (the streams answered) or after 100 ms
// (a stream waits for a body that never comes), EOF; what is written is
// discarded.
type fuzzConn struct {
	r    io.Reader
	done func() bool
}

func (f *fuzzConn) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && f.done != nil {
		for end := time.Now().Add(100 * time.Millisecond); !f.done() && time.Now().Before(end); {
			time.Sleep(100 * time.Microsecond)
		}
		f.done = nil
	}
	return n, err
}
func (f *fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *fuzzConn) Close() error                     { return nil }
func (f *fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (f *fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (f *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (f *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// h2Seeds are frame sequences (after the preface) for the fuzzer to start
// from: requests with and without bodies, trailers, CONTINUATION, and the
// control frames.
func h2Seeds() [][]byte {
	block := func(kv ...string) []byte {
		var b bytes.Buffer
		enc := hpack.NewEncoder(&b)
		for _, f := range h2Fields(kv...) {
			enc.WriteField(f)
		}
		return b.Bytes()
	}
	get := block(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "x", "accept", "*/*")
	post := block(":method", "POST", ":scheme", "https", ":path", "/p", ":authority", "x", "content-length", "3")
	seq := func(write func(fr *http2.Framer)) []byte {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		write(fr)
		return b.Bytes()
	}
	return [][]byte{
		seq(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: get, EndStream: true, EndHeaders: true})
		}),
		seq(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: post, EndHeaders: true})
			fr.WriteData(1, false, []byte("ab"))
			fr.WriteData(1, true, []byte("c"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: get[:4], EndStream: true})
			fr.WriteContinuation(3, true, get[4:])
		}),
		seq(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":method", "POST", ":scheme", "https", ":path", "/"), EndHeaders: true})
			fr.WriteDataPadded(1, false, []byte("body"), []byte{0, 0})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("x-trailer", "1"), EndStream: true, EndHeaders: true})
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
		}),
		seq(func(fr *http2.Framer) {
			fr.WritePing(false, [8]byte{1, 2, 3})
			fr.WriteWindowUpdate(0, 1000)
			fr.WritePriority(1, http2.PriorityParam{StreamDep: 0, Weight: 10})
			fr.WriteSettingsAck()
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}),
	}
}

// FuzzH2Frames feeds arbitrary bytes after the preface to the HTTP/2
// reader, with streams served by the engine (a config answering with
// return): whatever comes, the connection ends without a panic and its
// streams finish.
func FuzzH2Frames(f *testing.F) {
	for _, s := range h2Seeds() {
		f.Add(s)
	}
	cfg, err := compileSite(f, `
server {
    listen 127.0.0.1:80 http2;
    location / { return 200 "ok\n"; }
    location /p { return 204; }
}`)
	if err != nil {
		f.Fatal(err)
	}
	srv := NewServer(cfg, ServerOptions{Log: slog.New(slog.DiscardHandler)})
	key := cfg.sockets[0].key()
	f.Fuzz(func(t *testing.T, data []byte) {
		nc := &fuzzConn{r: io.MultiReader(bytes.NewReader([]byte(h2Preface)), bytes.NewReader(data))}
		owner := &clientConn{srv: srv, nc: nc, key: key}
		c := newH2Conn(srv, owner, nc)
		idle := func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.running == 0
		}
		nc.done = idle // the streams answer before the client leaves
		c.serve()
		for !idle() {
			time.Sleep(100 * time.Microsecond)
		}
	})
}
