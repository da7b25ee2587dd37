package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wisp test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	return &testCA{cert: cert, key: key, der: der}
}

// issue writes NAME.pem (the leaf, then the CA when chain is set) and
// NAME.key into dir and returns their paths.
func (ca *testCA) issue(t testing.TB, dir, name string, chain bool, dnsNames ...string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		DNSNames: dnsNames, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	must(t, err)
	var certPEM bytes.Buffer
	pem.Encode(&certPEM, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if chain {
		pem.Encode(&certPEM, &pem.Block{Type: "CERTIFICATE", Bytes: ca.der})
	}
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	must(t, os.WriteFile(certPath, certPEM.Bytes(), 0o644))
	must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certPath, keyPath
}

// handshakeInfo is what a client learns from a TLS handshake.
type handshakeInfo struct {
	err     error
	cn      string // leaf certificate's common name
	chain   int    // certificates sent
	version uint16
	alpn    string
}

func probeTLS(addr string, cfg *tls.Config) handshakeInfo {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return handshakeInfo{err: err}
	}
	defer c.Close()
	st := c.ConnectionState()
	return handshakeInfo{cn: st.PeerCertificates[0].Subject.CommonName, chain: len(st.PeerCertificates),
		version: st.Version, alpn: st.NegotiatedProtocol}
}

// tlsForwarder accepts plain TCP and relays it over TLS to addr with SNI,
// so that the plain differential harness (exchange) can talk to a TLS
// listener.
func tlsForwarder(t *testing.T, addr, sni string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				up, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{})
				go func() { io.Copy(up, c); up.CloseWrite(); close(done) }()
				io.Copy(c, up)
				c.Close()
				<-done
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// twoSiteTLS is two HTTPS servers on one listen address: a.test (the
// default, a bare certificate) and b.test plus *.w.test (a chain).
func twoSiteTLS(t *testing.T, dir, sock string) string {
	ca := newTestCA(t)
	aCert, aKey := ca.issue(t, dir, "a.test", false, "a.test")
	bCert, bKey := ca.issue(t, dir, "b.test", true, "b.test", "*.w.test")
	return `
ssl_protocols TLSv1.2 TLSv1.3;
ssl_session_timeout 10m;
server {
    listen LISTEN ssl;
    server_name a.test;
    ssl_certificate ` + aCert + `;
    ssl_certificate_key ` + aKey + `;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:!DSS;
    location / {
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_pass http://unix:` + sock + `;
    }
}
server {
    listen LISTEN ssl;
    server_name b.test *.w.test;
    ssl_certificate ` + bCert + `;
    ssl_certificate_key ` + bKey + `;
    location / {
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Host $host;
        proxy_pass http://unix:` + sock + `;
    }
}
`
}

func TestTLSServerSelectionMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := twoSiteTLS(t, dir, sock)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	cases := []struct {
		name string
		cfg  *tls.Config
	}{
		{"SNI of the default server", &tls.Config{ServerName: "a.test"}},
		{"SNI of the second server, chain sent", &tls.Config{ServerName: "b.test"}},
		{"SNI matching a wildcard name", &tls.Config{ServerName: "x.w.test"}},
		{"SNI in capitals", &tls.Config{ServerName: "B.TEST"}},
		{"unknown SNI gets the default server", &tls.Config{ServerName: "other.test"}},
		{"no SNI gets the default server", &tls.Config{}},
		{"TLS 1.2 client", &tls.Config{ServerName: "b.test", MaxVersion: tls.VersionTLS12}},
		{"TLS 1.1 client is refused", &tls.Config{ServerName: "a.test", MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}},
		{"TLS 1.2 client with a cipher the server does not allow", &tls.Config{ServerName: "a.test", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.InsecureSkipVerify = true
			n := probeTLS(nginxAddr, tc.cfg.Clone())
			w := probeTLS(wispAddr, tc.cfg.Clone())
			if (n.err == nil) != (w.err == nil) {
				t.Fatalf("handshake: nginx %v, wisp %v", n.err, w.err)
			}
			if n.cn != w.cn || n.chain != w.chain || n.version != w.version {
				t.Errorf("nginx: cert %q chain %d version %x; wisp: cert %q chain %d version %x",
					n.cn, n.chain, n.version, w.cn, w.chain, w.version)
			}
		})
	}
	for _, sni := range []string{"a.test", "b.test", "x.w.test"} {
		t.Run("requests over TLS to "+sni, func(t *testing.T) {
			runDiff(t, tlsForwarder(t, nginxAddr, sni), tlsForwarder(t, wispAddr, sni), []diffCase{
				{name: "GET", raw: "GET /x?y=1 HTTP/1.1\r\nHost: " + sni + "\r\nConnection: close\r\n\r\n"},
				{name: "POST", raw: "POST /p HTTP/1.1\r\nHost: " + sni + "\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
				{name: "Host differs from SNI", raw: "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
				{name: "HTTP/1.0 keep-alive", raw: "GET / HTTP/1.0\r\nHost: " + sni + "\r\n\r\n"},
				{name: "plain HTTP error page", raw: "GET / HTTP/1.1\r\n\r\n"},
			})
		})
	}
}

// TestTLSProtocolVersionsMatchNginx: which protocol versions a handshake
// gets, with nginx 1.22's default and with the lists sites write
// (Ghost-CLI's names all four), against Debian's nginx and OpenSSL.
func TestTLSProtocolVersionsMatchNginx(t *testing.T) {
	dir := t.TempDir()
	cert, key := newTestCA(t).issue(t, dir, "a.test", false, "a.test")
	for _, protocols := range []string{"", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "TLSv1.2", "TLSv1.3", "TLSv1.1 TLSv1.3"} {
		t.Run("ssl_protocols "+protocols, func(t *testing.T) {
			site := "server {\n listen LISTEN ssl;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n"
			if protocols != "" {
				site += " ssl_protocols " + protocols + ";\n"
			}
			site += " location / { return 200; }\n}\n"
			d := t.TempDir()
			nginxAddr := startNginx(t, d, site)
			wispAddr, _ := startWisp(t, d, site)
			for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
				cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "a.test", MinVersion: v, MaxVersion: v}
				n, w := probeTLS(nginxAddr, cfg.Clone()), probeTLS(wispAddr, cfg.Clone())
				if (n.err == nil) != (w.err == nil) {
					t.Errorf("TLS %x: nginx %v, wisp %v", v, n.err, w.err)
				}
			}
		})
	}
}

func TestPlainHTTPOnTLSPortIs400LikeNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := twoSiteTLS(t, dir, sock)
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	runDiff(t, nginxAddr, wispAddr, []diffCase{
		{name: "GET", raw: "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"},
		{name: "HEAD", raw: "HEAD /x HTTP/1.1\r\nHost: b.test\r\n\r\n"},
		{name: "HTTP/1.0", raw: "GET / HTTP/1.0\r\n\r\n"},
	})
}

func TestHTTP2IsBridgedIntoTheEngine(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := strings.ReplaceAll(twoSiteTLS(t, dir, sock), "listen LISTEN ssl;", "listen LISTEN ssl http2;")
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	get := func(addr, method, path string, body io.Reader) (*http.Response, string) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "b.test"}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		req, err := http.NewRequest(method, "https://b.test"+path, body)
		must(t, err)
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		resp, err := cl.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp, string(b)
	}
	// Go's client sends its headers in map order, which nginx keeps and
	// wisp sorts: compare the request lines and the header set (curl's
	// fixed order is compared exactly in h2c_test.go).
	normal := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\r\n")
		head, rest := lines[0], lines[1:]
		slices.Sort(rest)
		return head + "\n" + strings.Join(rest, "\n")
	}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/h2?x=1", ""},
		{"POST", "/upload", "hello over h2"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			var body func() io.Reader = func() io.Reader { return nil }
			if tc.body != "" {
				body = func() io.Reader { return strings.NewReader(tc.body) }
			}
			nr, nb := get(nginxAddr, tc.method, tc.path, body())
			wr, wb := get(wispAddr, tc.method, tc.path, body())
			if wr.ProtoMajor != 2 || nr.ProtoMajor != 2 {
				t.Fatalf("protocol: nginx %s, wisp %s", nr.Proto, wr.Proto)
			}
			if nr.StatusCode != wr.StatusCode {
				t.Errorf("status: nginx %d, wisp %d", nr.StatusCode, wr.StatusCode)
			}
			// nginx's User-Agent differs from nothing here: both get Go's.
			if normal(nb) != normal(wb) {
				t.Errorf("backend received\nnginx:\n%s\nwisp:\n%s", normal(nb), normal(wb))
			}
			if nr.Header.Get("Content-Type") != wr.Header.Get("Content-Type") {
				t.Errorf("Content-Type: nginx %q, wisp %q", nr.Header.Get("Content-Type"), wr.Header.Get("Content-Type"))
			}
		})
	}
	// An HTTP/1.1 client on the same port still gets the engine directly.
	h1 := probeTLS(wispAddr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test", NextProtos: []string{"http/1.1"}})
	h2 := probeTLS(wispAddr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test", NextProtos: []string{"h2", "http/1.1"}})
	if h1.alpn != "http/1.1" || h2.alpn != "h2" {
		t.Errorf("ALPN: %q and %q, want http/1.1 and h2", h1.alpn, h2.alpn)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "a.test", false, "a.test")
	junk := filepath.Join(dir, "junk.pem")
	must(t, os.WriteFile(junk, []byte("x\n"), 0o644))
	missing := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name, site, want string
	}{
		{"ssl listen without a certificate", "server {\n listen 443 ssl;\n}\n",
			`no "ssl_certificate" is defined for the "listen ... ssl" directive in FILE:2`},
		{"certificate without a key", "server {\n listen 443 ssl;\n ssl_certificate " + cert + ";\n}\n",
			`no "ssl_certificate_key" is defined for certificate "` + cert + `"`},
		{"missing certificate file", "server {\n listen 443 ssl;\n ssl_certificate " + missing + ";\n ssl_certificate_key " + key + ";\n}\n",
			`cannot load certificate "` + missing + `": BIO_new_file() failed (2: No such file or directory)`},
		{"not a PEM certificate", "server {\n listen 443 ssl;\n ssl_certificate " + junk + ";\n ssl_certificate_key " + junk + ";\n}\n",
			`cannot load certificate "` + junk + `": PEM_read_bio_X509_AUX() failed (no PEM certificate found)`},
		{"bad protocol", "ssl_protocols TLSv1.2 foo;\n", `invalid value "foo" in FILE:1`},
		{"bad session cache", "ssl_session_cache shared:SSL;\n", `invalid session cache "shared:SSL" in FILE:1`},
		{"ticket key of the wrong size", "server {\n listen 443 ssl;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n ssl_session_ticket_key " + junk + ";\n}\n",
			`"` + junk + `" must be 48 or 80 bytes in FILE:5`},
		{"missing ticket key", "server {\n listen 443 ssl;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n ssl_session_ticket_key " + missing + ";\n}\n",
			`open() "` + missing + `" failed (2: No such file or directory) in FILE:5`},
		{"bad curve", "server {\n listen 443 ssl;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n ssl_ecdh_curve foo;\n}\n",
			`SSL_CTX_set1_curves_list("foo") failed in FILE:5`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "site.conf")
			must(t, os.WriteFile(path, []byte(tc.site), 0o644))
			src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
			must(t, err)
			_, err = Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
			want := strings.ReplaceAll(tc.want, "FILE", path)
			if err == nil || err.Error() != want {
				t.Errorf("got  %v\nwant %s", err, want)
			}
		})
	}
}

func TestParseCiphers(t *testing.T) {
	cases := []struct {
		in      string
		suites  []uint16
		ignored []string
	}{
		{"HIGH:!aNULL:!MD5", nil, nil},
		{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, nil},
		{"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:!DSS", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, []string{"DHE-RSA-AES128-GCM-SHA256"}},
		{"AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:!AES128-SHA", []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}, nil},
		{"EECDH+AESGCM:EDH+AESGCM", nil, nil},
		{"ECDHE-RSA-AES256-SHA ECDHE-RSA-AES256-SHA,AES256-GCM-SHA384", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}, nil},
		{"TLS-AES-128-GCM-SHA256:@STRENGTH", nil, []string{"TLS-AES-128-GCM-SHA256"}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			s, ig := parseCiphers(tc.in)
			if !slices.Equal(s, tc.suites) || !slices.Equal(ig, tc.ignored) {
				t.Errorf("got %v %v, want %v %v", s, ig, tc.suites, tc.ignored)
			}
		})
	}
}

// TestReloadRereadsCertificatesAndKeepsConnections reloads a TLS server
// in process: the listening socket stays the same, new handshakes get the
// new certificate, and a keep-alive connection opened before the reload
// serves its next request with the new config.
func TestReloadRereadsCertificatesAndKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "site", false, "a.test")
	path := filepath.Join(dir, "site.conf")
	port := itoa(freePort(t))
	compile := func(gen string) *Config {
		t.Helper()
		site := "server {\n listen 127.0.0.1:" + port + " ssl;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n" +
			" location / { proxy_set_header X-Gen " + gen + "; proxy_pass http://unix:" + sock + "; }\n}\n"
		must(t, os.WriteFile(path, []byte(site), 0o644))
		src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
		must(t, err)
		cfg, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
		must(t, err)
		return cfg
	}
	open := func(ctx context.Context, network, address string) (net.Listener, error) {
		var lc net.ListenConfig
		return lc.Listen(ctx, network, address)
	}
	var logs bytes.Buffer
	srv := NewServer(compile("one"), ServerOptions{Listen: open, Drain: 2 * time.Second,
		Log: slog.New(NewErrorLogHandler(&syncWriter{w: &logs}, slog.LevelInfo))})
	ctx, cancel := context.WithCancel(context.Background())
	must(t, srv.Listen(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		must(t, <-done)
	}()
	addr := srv.Addrs()[0].String()

	kc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
	must(t, err)
	defer kc.Close()
	br := bufio.NewReader(kc)
	ask := func() string {
		t.Helper()
		kc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(kc, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatal("the connection was closed")
		}
		return string(b)
	}
	if b := ask(); !strings.Contains(b, "X-Gen: one") {
		t.Fatalf("before reload: %q", b)
	}
	first := kc.ConnectionState().PeerCertificates[0].SerialNumber

	cert2, key2 := ca.issue(t, dir, "site", false, "a.test") // same files, new certificate
	if cert2 != cert || key2 != key {
		t.Fatal("paths changed")
	}
	cfg := compile("two")
	must(t, srv.Reload(ctx, cfg))
	if got := srv.Addrs()[0].String(); got != addr {
		t.Errorf("the listener changed: %s, was %s", got, addr)
	}
	if b := ask(); !strings.Contains(b, "X-Gen: two") {
		t.Errorf("keep-alive connection after reload: %q", b)
	}
	c2, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
	must(t, err)
	second := c2.ConnectionState().PeerCertificates[0].SerialNumber
	c2.Close()
	if first.Cmp(second) == 0 {
		t.Error("a new handshake after the reload still got the old certificate")
	}
}

// TestReloadAddsAndRemovesListeners: a reload binds a new address before
// switching and closes the one it no longer lists; a reload that cannot
// bind changes nothing.
func TestReloadAddsAndRemovesListeners(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	p1, p2 := freePort(t), freePort(t)
	path := filepath.Join(dir, "site.conf")
	compile := func(ports ...int) *Config {
		t.Helper()
		var site strings.Builder
		for _, p := range ports {
			site.WriteString("server {\n listen 127.0.0.1:" + itoa(p) + ";\n location / { proxy_pass http://unix:" + sock + "; }\n}\n")
		}
		must(t, os.WriteFile(path, []byte(site.String()), 0o644))
		src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
		must(t, err)
		cfg, err := Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix})
		must(t, err)
		return cfg
	}
	srv := NewServer(compile(p1), ServerOptions{Drain: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	must(t, srv.Listen(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		must(t, <-done)
	}()
	status := func(port int) int {
		c, err := net.Dial("tcp", "127.0.0.1:"+itoa(port))
		if err != nil {
			return 0
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status(p1) != 200 || status(p2) != 0 {
		t.Fatalf("before: %d %d", status(p1), status(p2))
	}
	must(t, srv.Reload(ctx, compile(p1, p2)))
	if status(p1) != 200 || status(p2) != 200 {
		t.Errorf("after adding: %d %d", status(p1), status(p2))
	}
	must(t, srv.Reload(ctx, compile(p2)))
	if status(p1) != 0 || status(p2) != 200 {
		t.Errorf("after removing: %d %d", status(p1), status(p2))
	}
	// A port held by someone else: the reload fails and nothing changes.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer busy.Close()
	err = srv.Reload(ctx, compile(p2, busy.Addr().(*net.TCPAddr).Port))
	if err == nil || !strings.Contains(err.Error(), "bind() to 127.0.0.1:") || !strings.Contains(err.Error(), "(98: Address already in use)") {
		t.Errorf("reload onto a busy port: %v", err)
	}
	if status(p2) != 200 {
		t.Errorf("after a failed reload: %d", status(p2))
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
