package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 is an HTTP/2 client that sends what a test tells it, frame by
// frame, over cleartext.
type rawH2 struct {
	nc  net.Conn
	fr  *http2.Framer
	buf bytes.Buffer
	enc *hpack.Encoder
}

func dialRawH2(t *testing.T, addr string, settings ...http2.Setting) *rawH2 {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { nc.Close() })
	c := &rawH2{nc: nc, fr: http2.NewFramer(nc, nc)}
	c.enc = hpack.NewEncoder(&c.buf)
	_, err = io.WriteString(nc, h2Preface)
	must(t, err)
	must(t, c.fr.WriteSettings(settings...))
	return c
}

// get opens stream id with a GET of path, ended.
func (c *rawH2) get(t *testing.T, id uint32, path string) {
	t.Helper()
	c.buf.Reset()
	for _, f := range h2Fields(":method", "GET", ":scheme", "http", ":path", path, ":authority", "x") {
		c.enc.WriteField(f)
	}
	must(t, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.buf.Bytes(), EndStream: true, EndHeaders: true}))
}

// goAway reads frames until GOAWAY and returns its code; ok is false when
// the connection ended without one.
func (c *rawH2) goAway(t *testing.T) (code http2.ErrCode, ok bool) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the connection was not closed")
			}
			return 0, false
		}
		if g, isGoAway := f.(*http2.GoAwayFrame); isGoAway {
			return g.ErrCode, true
		}
	}
}

// ended reads until the server closes the connection.
func (c *rawH2) ended(t *testing.T) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, c.nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection was not closed")
	}
}

// TestHTTP2MisbehavingPeersAreSentAway: a malformed frame, a bad header
// block, a flood of PINGs never read, streams opened and reset faster than
// they finish (rapid reset), and a peer that never reads end with GOAWAY
// as RFC 9113 asks (or a closed connection where the peer cannot read
// it), and leave no goroutine behind.
func TestHTTP2MisbehavingPeersAreSentAway(t *testing.T) {
	dir := t.TempDir()
	hang := startScripted(t, "unix", filepath.Join(dir, "hang.sock"), func(c net.Conn, _ string, br *bufio.Reader) {
		io.Copy(io.Discard, br) // never answers; ends when the proxy closes
	})
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	big := startScripted(t, "unix", filepath.Join(dir, "big.sock"), func(c net.Conn, _ string, _ *bufio.Reader) {
		const size = 16 << 20
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		c.Write(bytes.Repeat([]byte("b"), size))
	})
	cfg, err := compileSite(t, `
server {
    listen 80 http2;
    send_timeout 1s;
    location /hang { proxy_pass `+hang.target()+`; }
    location /big { proxy_pass `+big.target()+`; }
    location / { proxy_pass http://unix:`+sock+`; }
}`)
	must(t, err)
	srv, addr, _ := serveServer(t, cfg)
	warm := dialRawH2(t, addr)
	warm.get(t, 1, "/warm")
	for {
		f, err := warm.fr.ReadFrame()
		must(t, err)
		if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
			break
		}
	}
	warm.nc.Close()
	running := goleak.IgnoreCurrent()

	for _, tc := range []struct {
		name string
		send func(t *testing.T, c *rawH2)
		want http2.ErrCode
		lost bool // the GOAWAY may not reach a peer that does not read
	}{
		{"a PING of 7 bytes", func(t *testing.T, c *rawH2) {
			must(t, c.fr.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7)))
		}, http2.ErrCodeFrameSize, false},
		{"a header block HPACK cannot decode", func(t *testing.T, c *rawH2) {
			must(t, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, EndStream: true, EndHeaders: true}))
		}, http2.ErrCodeCompression, false},
		{"DATA on an idle stream", func(t *testing.T, c *rawH2) {
			must(t, c.fr.WriteData(5, true, []byte("x")))
		}, http2.ErrCodeProtocol, false},
		{"a flood of PINGs never read", func(t *testing.T, c *rawH2) {
			c.nc.(*net.TCPConn).SetReadBuffer(4096)
			c.nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
			bw := bufio.NewWriterSize(c.nc, 64<<10)
			fr := http2.NewFramer(bw, nil)
			for i := 0; i < 2_000_000; i++ {
				if fr.WritePing(false, [8]byte{}) != nil {
					break
				}
			}
			bw.Flush()
		}, http2.ErrCodeEnhanceYourCalm, true},
		{"rapid reset", func(t *testing.T, c *rawH2) {
			for id := uint32(1); id < 2*h2MaxRunning+20; id += 2 {
				c.get(t, id, "/hang")
				if c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
					break
				}
			}
		}, http2.ErrCodeEnhanceYourCalm, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRawH2(t, addr)
			tc.send(t, c)
			code, ok := c.goAway(t)
			switch {
			case ok && code != tc.want:
				t.Errorf("GOAWAY %v, want %v", code, tc.want)
			case !ok && !tc.lost:
				t.Errorf("no GOAWAY, want %v", tc.want)
			}
			c.ended(t)
		})
	}

	t.Run("a peer that never reads", func(t *testing.T) {
		c := dialRawH2(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2MaxWindow})
		c.nc.(*net.TCPConn).SetReadBuffer(4096)
		must(t, c.fr.WriteWindowUpdate(0, h2MaxWindow-h2DefaultWindow))
		c.get(t, 1, "/big")
		// send_timeout (1s) after the socket stops taking the answer, the
		// proxy closes the connection.
		served := func() int {
			srv.h2.mu.Lock()
			defer srv.h2.mu.Unlock()
			return len(srv.h2.conns)
		}
		waitUntil(t, "the connection to be served", func() bool { return served() == 1 })
		waitUntil(t, "the connection to be closed", func() bool { return served() == 0 })
		// (Its socket still holds megabytes for the client's 4 KiB
		// window: the kernel sends them on after the close.)
	})

	// Streams reset while waiting on their upstream see it within
	// goneCheck; goleak's own retries last about a second.
	err = goleak.Find(running)
	for i := 0; i < 5 && err != nil; i++ {
		err = goleak.Find(running)
	}
	if err != nil {
		t.Error(err)
	}
}

// TestHTTP2KeepaliveEndsTheConnectionAsNginx: keepalive_requests counts
// an HTTP/2 connection's streams and keepalive_timeout bounds its idle
// time (nginx 1.22, which dropped http2_max_requests and
// http2_idle_timeout for them): GOAWAY names the last stream answered,
// later streams are ignored, and an idle connection is sent away.
func TestHTTP2KeepaliveEndsTheConnectionAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	for _, tc := range []struct {
		name, conf string
		streams    uint32
	}{
		{"keepalive_requests 3, five streams", "keepalive_requests 3;", 5},
		{"keepalive_timeout 1s, idle after one stream", "keepalive_timeout 1s;", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := `
server {
    listen LISTEN http2;
    ` + tc.conf + `
    location / { proxy_pass http://unix:` + sock + `; }
}
`
			run := func(addr string) string {
				c := dialRawH2(t, addr)
				for id := uint32(1); id < 2*tc.streams; id += 2 {
					c.get(t, id, "/k")
				}
				var got []string
				c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				for {
					f, err := c.fr.ReadFrame()
					if err != nil {
						slices.Sort(got) // streams are answered in any order
						return strings.Join(got, ", ")
					}
					switch f := f.(type) {
					case *http2.HeadersFrame:
						got = append(got, "HEADERS "+strconv.Itoa(int(f.StreamID)))
					case *http2.GoAwayFrame:
						got = append(got, "GOAWAY "+strconv.Itoa(int(f.LastStreamID))+" "+f.ErrCode.String())
					case *http2.RSTStreamFrame:
						got = append(got, "RST "+strconv.Itoa(int(f.StreamID)))
					}
				}
			}
			n := run(startNginx(t, dir, site))
			w, _ := startWisp(t, dir, site)
			if got := run(w); got != n {
				t.Errorf("wisp: %s\nnginx: %s", got, n)
			}
		})
	}
}

// TestHTTP2AccessLogMatchesNginx: an HTTP/2 request is logged as nginx
// logs it, "GET /path HTTP/2.0", $server_protocol HTTP/2.0 and $http2
// h2c.
func TestHTTP2AccessLogMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	logged := func(addr, log string) string {
		c := dialRawH2(t, addr)
		c.get(t, 1, "/logged?x=1")
		for {
			f, err := c.fr.ReadFrame()
			must(t, err)
			if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
				break
			}
		}
		return readLogLines(t, log, 1)
	}
	site := func(log string) string {
		return `
log_format proto '"$request" $server_protocol "$http2" $status';
server {
    listen LISTEN http2;
    access_log ` + log + ` proto;
    location / { proxy_pass http://unix:` + sock + `; }
}
`
	}
	nlog, wlog := filepath.Join(dir, "nginx.log"), filepath.Join(dir, "wisp.log")
	n := logged(startNginx(t, dir, site(nlog)), nlog)
	w, _ := startWisp(t, dir, site(wlog))
	if got := logged(w, wlog); got != n {
		t.Errorf("wisp logged %q, nginx %q", got, n)
	}
}

// TestHTTP2GracefulStopFinishesStreams: a graceful stop sends GOAWAY
// (NO_ERROR, naming the last stream taken) and answers the streams in
// flight before the connection closes.
func TestHTTP2GracefulStopFinishesStreams(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	slow := startScripted(t, "unix", filepath.Join(dir, "slow.sock"), func(c net.Conn, _ string, _ *bufio.Reader) {
		<-release
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
	})
	cfg, err := compileSite(t, `
server {
    listen 80 http2;
    location / { proxy_pass `+slow.target()+`; }
}`)
	must(t, err)
	srv, addr, stop := serveServer(t, cfg)
	c := dialRawH2(t, addr)
	c.get(t, 1, "/a")
	c.get(t, 3, "/b")
	waitUntil(t, "both streams to run", func() bool {
		srv.h2.mu.Lock()
		defer srv.h2.mu.Unlock()
		for hc := range srv.h2.conns {
			hc.mu.Lock()
			defer hc.mu.Unlock()
			return hc.running == 2
		}
		return false
	})
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	var got []string
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			break
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			got = append(got, "GOAWAY "+strconv.Itoa(int(f.LastStreamID))+" "+f.ErrCode.String())
			close(release) // the answers come after the GOAWAY
		case *http2.DataFrame:
			got = append(got, "DATA "+strconv.Itoa(int(f.StreamID))+" "+string(f.Data())+" "+strconv.FormatBool(f.StreamEnded()))
		}
	}
	<-stopped
	slices.Sort(got)
	want := "DATA 1 slow true, DATA 3 slow true, GOAWAY 3 NO_ERROR"
	if strings.Join(got, ", ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, ", "), want)
	}
}

// TestHTTP2HostFieldsAsNginx: :authority and a host field, alone or
// together, reach the engine as nginx 1.22 takes them: the status and the
// request the upstream gets ($host and $http_host in it) are compared.
func TestHTTP2HostFieldsAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := `
server {
    listen LISTEN http2;
    server_name a.test;
    location / {
        proxy_set_header X-Host $host;
        proxy_set_header X-Http-Host $http_host;
        proxy_pass http://unix:` + sock + `;
    }
}
`
	ask := func(addr string, fields []string) string {
		c := dialRawH2(t, addr)
		c.buf.Reset()
		for _, f := range h2Fields(fields...) {
			c.enc.WriteField(f)
		}
		must(t, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.buf.Bytes(), EndStream: true, EndHeaders: true}))
		c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		var status, body string
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				return status + " (connection closed)"
			}
			switch f := f.(type) {
			case *http2.HeadersFrame:
				d := hpack.NewDecoder(4096, nil)
				hf, _ := d.DecodeFull(f.HeaderBlockFragment())
				for _, h := range hf {
					if h.Name == ":status" {
						status = h.Value
					}
				}
				if f.StreamEnded() {
					return status
				}
			case *http2.DataFrame:
				body += string(f.Data())
				if f.StreamEnded() {
					if status != "200" {
						body = "" // nginx's error page names its version
					}
					return status + "\n" + body
				}
			case *http2.RSTStreamFrame:
				return status + " RST " + f.ErrCode.String()
			}
		}
	}
	base := []string{":method", "GET", ":scheme", "http", ":path", "/h"}
	cases := []struct {
		name   string
		fields []string
	}{
		{":authority", append(slices.Clone(base), ":authority", "a.test")},
		{"host", append(slices.Clone(base), "host", "a.test")},
		{"both, the same", append(slices.Clone(base), ":authority", "a.test", "host", "a.test")},
		{"both, different", append(slices.Clone(base), ":authority", "a.test", "host", "b.test")},
		{"with a port", append(slices.Clone(base), ":authority", "a.test:8080")},
	}
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, w := ask(nginxAddr, tc.fields), ask(wispAddr, tc.fields)
			if n != w {
				t.Errorf("nginx:\n%s\nwisp:\n%s", n, w)
			}
		})
	}
}
