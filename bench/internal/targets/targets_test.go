package targets

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCatalogPortsAreDistinctAndReserved(t *testing.T) {
	seen := map[int]string{}
	all := append(Catalog(20000), IdleReference(20000))
	ports := Ports(20000)
	for _, tg := range all {
		if tg.Kind != Direct {
			if other, dup := seen[tg.Port]; dup {
				t.Errorf("%s and %s share port %d", tg.Name, other, tg.Port)
			}
			seen[tg.Port] = tg.Name
		}
		if !slices.Contains(ports, tg.Port) {
			t.Errorf("%s: port %d not in Ports()", tg.Name, tg.Port)
		}
	}
}

func TestSelect(t *testing.T) {
	all := Catalog(20000)
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{"catalog order, not argument order", []string{"haproxy", "nginx-ka", "wisp"}, []string{"wisp", "nginx-ka", "haproxy"}, ""},
		{"unknown name", []string{"nginx-ka", "apache"}, nil, `unknown target "apache"`},
		{"nothing", nil, nil, "no targets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(all, tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Select: %v, want error with %q", err, tc.wantErr)
				}
				return
			}
			var names []string
			for _, tg := range got {
				names = append(names, tg.Name)
			}
			if err != nil || !slices.Equal(names, tc.want) {
				t.Fatalf("Select = %v, %v; want %v", names, err, tc.want)
			}
		})
	}
}

func find(t *testing.T, name string) Target {
	for _, tg := range Catalog(20000) {
		if tg.Name == name {
			return tg
		}
	}
	t.Fatalf("no target %s", name)
	return Target{}
}

func TestNginxConfigVariants(t *testing.T) {
	for _, tc := range []struct {
		target        string
		upstream      string
		want, wantNot []string
	}{
		{"nginx-ka", "unix:/s.sock", []string{"server unix:/s.sock;", "keepalive 32;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`, "lock_file", "access_log off;"}, nil},
		{"nginx-noka", "unix:/s.sock", []string{"server unix:/s.sock;"}, []string{"keepalive 32", "proxy_http_version", "proxy_set_header Connection"}},
		{"nginx-tcp-ka", "127.0.0.1:9", []string{"server 127.0.0.1:9;", "keepalive 32;"}, nil},
		// wisp gets the same upstream and server blocks as nginx-ka, without
		// nginx's process plumbing.
		{"wisp", "unix:/s.sock", []string{"server unix:/s.sock;", "keepalive 32;", "proxy_http_version 1.1;", "listen 127.0.0.1:1;"},
			[]string{"lock_file", "temp_path", "worker_rlimit_nofile"}},
		{"wisp-noka", "unix:/s.sock", []string{"server unix:/s.sock;", "X-Forwarded-For"},
			[]string{"keepalive 32", "proxy_http_version", "lock_file"}},
	} {
		t.Run(tc.target, func(t *testing.T) {
			conf := NginxConfig(find(t, tc.target), "127.0.0.1:1", tc.upstream, "/run/x", TLSFiles{})
			for _, w := range tc.want {
				if !strings.Contains(conf, w) {
					t.Errorf("config lacks %q:\n%s", w, conf)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(conf, w) {
					t.Errorf("config has %q:\n%s", w, conf)
				}
			}
		})
	}
}

func TestTLSConfigs(t *testing.T) {
	tls := TLSFiles{Cert: "/c/bench.crt", Key: "/c/bench.key", Combined: "/c/bench.pem"}
	for _, tc := range []struct {
		name          string
		conf          string
		want, wantNot []string
	}{
		{"nginx listens with ssl, TLS 1.2 and 1.3, default tickets and cache",
			NginxConfig(find(t, "nginx-ka"), "127.0.0.1:1", "unix:/s.sock", "/run/x", tls),
			[]string{"listen 127.0.0.1:1 ssl;", "ssl_certificate /c/bench.crt;", "ssl_certificate_key /c/bench.key;", "ssl_protocols TLSv1.2 TLSv1.3;"},
			[]string{"ssl_session_tickets", "ssl_session_cache", "http2"}},
		{"wisp gets the same server block",
			NginxConfig(find(t, "wisp"), "127.0.0.1:1", "unix:/s.sock", "/run/x", tls),
			[]string{"listen 127.0.0.1:1 ssl;", "ssl_certificate /c/bench.crt;", "ssl_protocols TLSv1.2 TLSv1.3;"}, []string{"lock_file"}},
		{"plain nginx has no ssl",
			NginxConfig(find(t, "nginx-ka"), "127.0.0.1:1", "unix:/s.sock", "/run/x", TLSFiles{}),
			[]string{"listen 127.0.0.1:1;"}, []string{"ssl"}},
		{"caddy serves https on the certificate, no HTTP/3",
			CaddyConfig(1, "/s.sock", tls),
			[]string{"https://:1 {", "tls /c/bench.crt /c/bench.key", "protocols tls1.2 tls1.3", "protocols h1 h2", "auto_https off"}, []string{"http://"}},
		{"plain caddy",
			CaddyConfig(1, "/s.sock", TLSFiles{}), []string{"http://:1 {"}, []string{"tls ", "https://"}},
		{"haproxy binds with ssl on the combined PEM",
			HAProxyConfig(1, "/s.sock", "/run/x", tls),
			[]string{"bind 127.0.0.1:1 ssl crt /c/bench.pem ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3\n"}, nil},
		{"plain haproxy",
			HAProxyConfig(1, "/s.sock", "/run/x", TLSFiles{}), []string{"bind 127.0.0.1:1\n"}, []string{"ssl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(tc.conf, w) {
					t.Errorf("config lacks %q:\n%s", w, tc.conf)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(tc.conf, w) {
					t.Errorf("config has %q:\n%s", w, tc.conf)
				}
			}
		})
	}
}

func TestWriteCertMakesAnECDSAP256PairForLoopback(t *testing.T) {
	f, err := WriteCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	combined, err := os.ReadFile(f.Combined)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(combined, combined); err != nil {
		t.Fatalf("combined PEM: %v", err)
	}
}

// The configs must be accepted by the real programs; the test fails rather
// than skips when one is missing, like every test that needs a real
// component.
func TestPrepareWritesConfigsTheRealProgramsAccept(t *testing.T) {
	certs, err := WriteCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		tls  TLSFiles
	}{{"plain", TLSFiles{}}, {"tls", certs}} {
		t.Run(mode.name, func(t *testing.T) { preparePlainOrTLS(t, mode.tls) })
	}
}

func preparePlainOrTLS(t *testing.T, certs TLSFiles) {
	env := Env{Dir: t.TempDir(), Sock: "/tmp/wisp-bench-test.sock", BackendAddr: "127.0.0.1:20000",
		Nginx: "/usr/sbin/nginx", Caddy: lookPath(t, "caddy"), HAProxy: "/usr/sbin/haproxy", Wisp: "/bin/wisp", Self: "/bin/self", TLS: certs}
	for _, tg := range append(Catalog(20000), IdleReference(20000)) {
		t.Run(tg.Name, func(t *testing.T) {
			l, err := tg.Prepare(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			if tg.Kind == Direct {
				if l != nil {
					t.Fatalf("direct has nothing to start, got %+v", l)
				}
				return
			}
			if l == nil || len(l.Args) == 0 {
				t.Fatalf("no launch: %+v", l)
			}
			if l.Config != "" {
				if _, err := os.Stat(l.Config); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestPrepareReportsTheCheckersComplaint(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "nginx")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'nginx: [emerg] something is wrong' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := find(t, "nginx-ka").Prepare(context.Background(), Env{Dir: dir, Sock: "/x.sock", Nginx: fake})
	if err == nil || !strings.Contains(err.Error(), "something is wrong") {
		t.Fatalf("Prepare: %v, want the checker's message", err)
	}
}

func lookPath(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (Debian: apt-get install %s): %v", name, name, err)
	}
	return p
}
