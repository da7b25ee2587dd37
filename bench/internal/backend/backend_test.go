package backend

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHandlerServesExactSizes(t *testing.T) {
	h := New(quietLogger()).Handler()
	for _, path := range []string{"/small", "/page", "/big"} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			want, _ := ExpectedSize(path)
			if rec.Code != 200 || rec.Body.Len() != want {
				t.Fatalf("GET %s = %d with %d bytes, want 200 with %d", path, rec.Code, rec.Body.Len(), want)
			}
			if cl := rec.Header().Get("Content-Length"); cl == "" {
				t.Fatalf("GET %s has no Content-Length", path)
			}
		})
	}
}

func TestHandlerRejectsWhatItDoesNotServe(t *testing.T) {
	h := New(quietLogger()).Handler()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/nope", 404},
		{http.MethodPost, "/small", 405},
		{http.MethodGet, "/echo", 405},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}

func TestEchoReturnsTheBody(t *testing.T) {
	body := bytes.Repeat([]byte("abc"), 40000)
	rec := httptest.NewRecorder()
	New(quietLogger()).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/echo", bytes.NewReader(body)))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatalf("POST /echo = %d with %d bytes, want 200 with the %d bytes sent", rec.Code, rec.Body.Len(), len(body))
	}
}

func TestPageIsHTMLOfExactSize(t *testing.T) {
	p := htmlPage(PageSize)
	if len(p) != PageSize || !bytes.HasPrefix(p, []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(p, []byte("</html>\n")) {
		t.Fatalf("page: %d bytes, prefix %q, suffix %q", len(p), p[:15], p[len(p)-8:])
	}
}

func TestParseStats(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Stats
		wantErr  bool
	}{
		{"round trip", Stats{3, 4}.String(), Stats{3, 4}, false},
		{"order and spaces", " tcp_accepted 7\n uds_accepted 1 \n", Stats{1, 7}, false},
		{"missing counter", "uds_accepted 1\n", Stats{}, true},
		{"not a number", "uds_accepted x\ntcp_accepted 1\n", Stats{}, true},
		{"garbage", "<html>", Stats{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStats(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseStats(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestServeOnUnixSocketCountsConnections(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "up.sock")
	srv := New(quietLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, sock, "") }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := os.Lstat(sock); !os.IsNotExist(err) {
			t.Errorf("socket file left behind after shutdown: %v", err)
		}
	}()

	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ { // the listener comes up asynchronously
		if resp, err = client.Get("http://x/small"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET over the socket: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket mode = %v (%v), want 0666", fi.Mode().Perm(), err)
	}
	// The keep-alive connection is reused: still one accept.
	resp, err = client.Get("http://x/__stats")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	st, err := ParseStats(string(b))
	if err != nil || st.UDSAccepted != 1 || st.TCPAccepted != 0 {
		t.Fatalf("stats = %+v, %v (%q); want 1 UDS accept, 0 TCP", st, err, b)
	}
}

// With TLS set, the TCP listener serves HTTPS (the idle test's reference
// in a -tls run).
func TestServeWithTLSServesHTTPSOnTCP(t *testing.T) {
	srvTLS := httptest.NewUnstartedServer(nil) // only for its test certificate
	srvTLS.StartTLS()
	cert := srvTLS.TLS.Certificates[0]
	srvTLS.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := New(quietLogger())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, "", addr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var resp *http.Response
	for i := 0; i < 100; i++ { // the listener comes up asynchronously
		if resp, err = client.Get("https://" + addr + "/small"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.TLS == nil || resp.StatusCode != 200 || n != SmallSize {
		t.Fatalf("TLS %v, status %d, %d bytes", resp.TLS != nil, resp.StatusCode, n)
	}
}

func TestServeRefusesALiveOrForeignPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := New(quietLogger()).Serve(context.Background(), file, "")
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Serve on a regular file: %v, want a 'not a socket' error", err)
	}
	if err := New(quietLogger()).Serve(context.Background(), "", ""); err == nil {
		t.Fatal("Serve with no address: want an error")
	}
}
