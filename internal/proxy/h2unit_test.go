package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recordConn is a net.Conn that keeps what is written to it and has
// nothing to read.
type recordConn struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (r *recordConn) Read([]byte) (int, error) { return 0, io.EOF }
func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}
func (r *recordConn) Close() error                     { return nil }
func (r *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (r *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (r *recordConn) SetDeadline(time.Time) error      { return nil }
func (r *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (r *recordConn) SetWriteDeadline(time.Time) error { return nil }

// h2Fields is a request header section: pseudo fields first.
func h2Fields(kv ...string) []hpack.HeaderField {
	var f []hpack.HeaderField
	for i := 0; i < len(kv); i += 2 {
		f = append(f, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return f
}

// testStream opens stream 1 of a connection that writes into rc, with the
// given request fields, as the reader opens it.
func testStream(t *testing.T, fields []hpack.HeaderField, endStream bool) (*pooledBridge, net.Conn, *recordConn) {
	t.Helper()
	rc := &recordConn{}
	c := newH2Conn(&Server{}, &clientConn{}, rc)
	var flags http2.Flags
	if endStream {
		flags = http2.FlagHeadersEndStream
	}
	f := &http2.MetaHeadersFrame{HeadersFrame: &http2.HeadersFrame{FrameHeader: http2.FrameHeader{StreamID: 1, Flags: flags}}, Fields: fields}
	b := &pooledBridge{}
	b.tlsView.bridgeConn = &b.bridge
	if err := b.stream.start(c, f, make([]byte, 0, readBufSize)); err != nil {
		t.Fatalf("start: %v", err)
	}
	c.streams[1] = &b.stream
	return b, b.open(c), rc
}

// h2Answered is what a client decodes from a stream's frames.
type h2Answered struct {
	interim []int
	status  int
	fields  []string // "name: value" in order
	body    string
	ended   bool // END_STREAM seen
	reset   http2.ErrCode
}

func decodeAnswer(t *testing.T, wire []byte) h2Answered {
	t.Helper()
	fr := http2.NewFramer(nil, bytes.NewReader(wire))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var a h2Answered
	a.reset = ^http2.ErrCode(0)
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) {
			return a
		}
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			status, _ := strconv.Atoi(f.PseudoValue("status"))
			if status < 200 {
				a.interim = append(a.interim, status)
				continue
			}
			a.status = status
			for _, hf := range f.RegularFields() {
				a.fields = append(a.fields, hf.Name+": "+hf.Value)
			}
			a.ended = a.ended || f.StreamEnded()
		case *http2.DataFrame:
			if a.ended {
				t.Errorf("DATA after END_STREAM")
			}
			a.body += string(f.Data())
			a.ended = a.ended || f.StreamEnded()
		case *http2.RSTStreamFrame:
			a.reset = f.ErrCode
		}
	}
}

// TestHTTP2AnswerBecomesHeadersAndData takes engine answers apart written
// in every split, byte by byte included: the stream gets the same status,
// fields (lowercase, the connection's own dropped) and body, and its end
// only with a whole answer.
func TestHTTP2AnswerBecomesHeadersAndData(t *testing.T) {
	for _, tc := range []struct {
		name, answer, method string
		interim              []int
		status               int
		fields               []string
		body                 string
		complete             bool
	}{
		{"sized", "HTTP/1.1 200 OK\r\nServer: wisp\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello", "GET",
			nil, 200, []string{"server: wisp", "content-type: text/plain", "content-length: 5"}, "hello", true},
		{"repeated headers", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n", "GET",
			nil, 200, []string{"set-cookie: a=1", "set-cookie: b=2", "content-length: 0"}, "", true},
		{"an unknown status and name", "HTTP/1.1 418 Teapot\r\nX-Very-Long-Header-Name: 1\r\nContent-Length: 0\r\n\r\n", "GET",
			nil, 418, []string{"x-very-long-header-name: 1", "content-length: 0"}, "", true},
		{"100 Continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "POST",
			[]int{100}, 200, []string{"content-length: 2"}, "ok", true},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD",
			nil, 200, []string{"content-length: 10"}, "", true},
		{"to the close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest", "GET",
			nil, 200, nil, "rest", true},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET",
			nil, 200, []string{"content-length: 10"}, "abc", false},
		{"to the close, cut short", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nres", "GET",
			nil, 200, nil, "res", false},
	} {
		for _, split := range []int{0, 1, 7} {
			t.Run(tc.name+"/split "+strconv.Itoa(split), func(t *testing.T) {
				b, nc, rc := testStream(t, h2Fields(":method", tc.method, ":scheme", "https", ":path", "/"), true)
				in := []byte(tc.answer)
				for len(in) > 0 {
					n := len(in)
					if split > 0 {
						n = min(split, n)
					}
					if _, err := nc.Write(in[:n]); err != nil {
						t.Fatalf("write: %v", err)
					}
					in = in[n:]
				}
				if strings.Contains(tc.name, "cut short") && strings.Contains(tc.name, "close") {
					streamFailed(nc) // as relay reports an upstream that failed
				}
				b.finish()
				b.stream.conn.w.flush(time.Time{})
				got := decodeAnswer(t, rc.out.Bytes())
				if got.status != tc.status || got.body != tc.body || b.bridge.answered() != tc.complete || got.ended != tc.complete {
					t.Errorf("got %d %q complete %v ended %v, want %d %q complete %v", got.status, got.body, b.bridge.answered(), got.ended, tc.status, tc.body, tc.complete)
				}
				if !tc.complete && got.reset != http2.ErrCodeInternal {
					t.Errorf("an incomplete answer ended with reset %v", got.reset)
				}
				if strings.Join(got.fields, "\n") != strings.Join(tc.fields, "\n") {
					t.Errorf("fields %q, want %q", got.fields, tc.fields)
				}
				if !slices.Equal(got.interim, tc.interim) {
					t.Errorf("interim answers %v, want %v", got.interim, tc.interim)
				}
			})
		}
	}
}

// TestHTTP2ChunkedAnswerIsRefused: the engine never chunks an answer to a
// stream (its body runs to the close instead); one that did would reset
// the stream rather than send chunk framing as data.
func TestHTTP2ChunkedAnswerIsRefused(t *testing.T) {
	b, nc, rc := testStream(t, h2Fields(":method", "GET", ":scheme", "https", ":path", "/"), true)
	if _, err := nc.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")); !errors.Is(err, errChunkedAnswer) {
		t.Errorf("write: %v, want errChunkedAnswer", err)
	}
	b.finish()
	b.stream.conn.w.flush(time.Time{})
	if got := decodeAnswer(t, rc.out.Bytes()); got.reset != http2.ErrCodeInternal || got.body != "" {
		t.Errorf("got %+v, want a reset and no body", got)
	}
}

// TestHTTP2RequestFraming: the engine reads the stream's request as an
// HTTP/1.1 head, Host from :authority and the fields in the client's
// order, cookies joined last, then its body, chunked when its length is
// unknown, whatever size its reads are.
func TestHTTP2RequestFraming(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []hpack.HeaderField
		end    bool
		body   string
		want   string
	}{
		{"no body", h2Fields(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "h"), true, "",
			"GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"the client's order", h2Fields(":method", "GET", ":scheme", "https", ":path", "/a?b", ":authority", "h",
			"zz", "1", "cookie", "a=1", "accept", "*/*", "cookie", "b=2", "aa", "2"), true, "",
			"GET /a?b HTTP/1.1\r\nHost: h\r\nzz: 1\r\naccept: */*\r\naa: 2\r\ncookie: a=1; b=2\r\n\r\n"},
		{"no :authority", h2Fields(":method", "GET", ":scheme", "https", ":path", "/", "host", "x"), true, "",
			"GET / HTTP/1.1\r\nhost: x\r\n\r\n"},
		{"known length", h2Fields(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "h", "content-length", "5"), false, "hello",
			"POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\nhello"},
		{"unknown length", h2Fields(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "h"), false, "hello",
			"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"unknown length, empty", h2Fields(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "h"), false, "",
			"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	} {
		for _, size := range []int{1, 3, 4096} {
			t.Run(tc.name+"/reads of "+strconv.Itoa(size), func(t *testing.T) {
				b, nc, _ := testStream(t, tc.fields, tc.end)
				st := &b.stream
				st.conn.mu.Lock()
				st.in = append(st.in, tc.body...)
				st.remoteOpen = false
				st.conn.mu.Unlock()
				var got bytes.Buffer
				buf := make([]byte, size)
				for {
					n, err := nc.Read(buf)
					got.Write(buf[:n])
					if err == io.EOF {
						break
					}
					must(t, err)
				}
				if got.String() != tc.want {
					t.Errorf("read %q, want %q", got.String(), tc.want)
				}
			})
		}
	}
}

// TestHTTP2MalformedRequestsAreRefused: a request header section RFC 9113
// §8.2 and §8.3 call malformed is a stream error, never an engine request.
func TestHTTP2MalformedRequestsAreRefused(t *testing.T) {
	base := []string{":method", "GET", ":scheme", "https", ":path", "/"}
	for _, tc := range []struct {
		name   string
		fields []string
		end    bool
	}{
		{"no :path", []string{":method", "GET", ":scheme", "https"}, true},
		{"empty :path", []string{":method", "GET", ":scheme", "https", ":path", ""}, true},
		{"no :method", []string{":scheme", "https", ":path", "/"}, true},
		{"a space in :path", []string{":method", "GET", ":scheme", "https", ":path", "/a b"}, true},
		{"a bad method", []string{":method", "G(T", ":scheme", "https", ":path", "/"}, true},
		{":protocol", append(base, ":protocol", "websocket"), true},
		{"connection", append(base, "connection", "close"), true},
		{"transfer-encoding", append(base, "transfer-encoding", "chunked"), false},
		{"te other than trailers", append(base, "te", "gzip"), true},
		{"a bad content-length", append(base, "content-length", "1x"), false},
		{"two content-lengths", append(base, "content-length", "1", "content-length", "2"), false},
		{"a content-length on an ended stream", append(base, "content-length", "3"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newH2Conn(&Server{}, &clientConn{}, &recordConn{})
			var flags http2.Flags
			if tc.end {
				flags = http2.FlagHeadersEndStream
			}
			f := &http2.MetaHeadersFrame{HeadersFrame: &http2.HeadersFrame{FrameHeader: http2.FrameHeader{StreamID: 1, Flags: flags}}, Fields: h2Fields(tc.fields...)}
			var st h2stream
			err := st.start(c, f, nil)
			var se http2.StreamError
			if !errors.As(err, &se) || se.Code != http2.ErrCodeProtocol {
				t.Errorf("got %v, want a PROTOCOL_ERROR stream error", err)
			}
		})
	}
}
