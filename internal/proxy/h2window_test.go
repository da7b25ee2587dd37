package proxy

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2Offer is what a server lets a new client send: its SETTINGS (but
// MAX_FRAME_SIZE, see appendServerSettings) and the connection window.
type h2Offer struct {
	maxStreams, initialWindow uint32
	connWindow                int64
}

// readOffer reads the server's preface up to its SETTINGS ACK.
func (c *rawH2) readOffer(t *testing.T) h2Offer {
	t.Helper()
	o := h2Offer{connWindow: h2DefaultWindow, initialWindow: h2DefaultWindow}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := c.fr.ReadFrame()
		must(t, err)
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				return o
			}
			if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
				o.maxStreams = v
			}
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
				o.initialWindow = v
			}
			must(t, c.fr.WriteSettingsAck())
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				o.connWindow += int64(f.Increment)
			}
		}
	}
}

// streamWindowGrows sends a stream's whole initial window of body and
// reads the server's WINDOW_UPDATEs for it until they add up to want.
func (c *rawH2) streamWindowGrows(t *testing.T, id uint32, window, want int64) bool {
	t.Helper()
	c.buf.Reset()
	for _, f := range h2Fields(":method", "POST", ":scheme", "http", ":path", "/upload", ":authority", "x",
		"content-length", strconv.Itoa(4<<20)) {
		c.enc.WriteField(f)
	}
	must(t, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.buf.Bytes(), EndHeaders: true}))
	chunk := make([]byte, h2DefaultFrame)
	for sent := int64(0); sent < window; {
		n := min(int64(len(chunk)), window-sent)
		must(t, c.fr.WriteData(id, false, chunk[:n]))
		sent += n
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got int64
	for got < want {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Logf("stream window given: %d, then %v", got, err)
			return false
		}
		if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == id {
			got += int64(wu.Increment)
		}
	}
	return true
}

// TestHTTP2ReceiveWindowsAsNginx: a client may send 64 KiB on a stream
// before the server reads its body and any amount on the connection, as
// nginx 1.22 offers, and once the body is read the stream's window grows
// past h2BodyWindow (nginx opens it to the maximum) so that an uploader
// does not wait on each update.
func TestHTTP2ReceiveWindowsAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := strings.ReplaceAll(h2cOnlySite, "SOCK", sock)
	site = strings.Replace(site, "location / {", "client_max_body_size 8m;\n    location / {", 1)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)

	offer := func(addr string) h2Offer {
		c := dialRawH2(t, addr)
		return c.readOffer(t)
	}
	n, w := offer(nginxAddr), offer(wispAddr)
	if n != w {
		t.Errorf("offered %+v, nginx %+v", w, n)
	}
	if n.connWindow != h2MaxWindow || n.initialWindow != h2RecvWindow {
		t.Errorf("nginx offered %+v: the constants here are not nginx 1.22's", n)
	}

	for _, tc := range []struct{ name, addr string }{{"nginx", nginxAddr}, {"wisp", wispAddr}} {
		t.Run("stream window grows as "+tc.name+" reads the body", func(t *testing.T) {
			c := dialRawH2(t, tc.addr)
			o := c.readOffer(t)
			if !c.streamWindowGrows(t, 1, int64(o.initialWindow), h2BodyWindow) {
				t.Errorf("%s gave the stream less than %d bytes of window", tc.name, h2BodyWindow)
			}
		})
	}
}
