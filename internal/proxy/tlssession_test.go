package proxy

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// resumes reports whether a second connection with the same client
// session cache resumed the first one's session.
func resumes(t *testing.T, addr string, version uint16) bool {
	t.Helper()
	cache := tls.NewLRUClientSessionCache(4)
	var last bool
	for range 2 {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test",
			ClientSessionCache: cache, MinVersion: version, MaxVersion: version})
		must(t, err)
		// TLS 1.3 tickets arrive after the handshake: a read lets the
		// client take them in.
		c.Write([]byte("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"))
		c.Read(make([]byte, 512))
		last = c.ConnectionState().DidResume
		c.Close()
	}
	return last
}

// TestTLSSessionResumptionMatchesNginx: whether a client resumes its
// session, for the ssl_session_cache / ssl_session_tickets /
// ssl_session_timeout combinations sites use (Ghost-CLI's ssl-params.conf
// is "shared cache, tickets off"), over TLS 1.2 and 1.3, as with nginx.
func TestTLSSessionResumptionMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "a.test", false, "a.test")
	site := func(extra string) string {
		return "server {\n listen LISTEN ssl;\n ssl_protocols TLSv1.2 TLSv1.3;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n" + extra +
			" location / { proxy_pass http://unix:" + sock + "; }\n}\n"
	}
	for _, tc := range []struct{ name, extra string }{
		{"defaults", ""},
		{"tickets off", " ssl_session_tickets off;\n"},
		{"shared cache, tickets off (Ghost-CLI)", " ssl_session_cache shared:SSL:10m;\n ssl_session_tickets off;\n"},
		{"shared cache and tickets", " ssl_session_cache shared:SSL:10m;\n"},
		{"builtin cache, tickets off", " ssl_session_cache builtin:1000;\n ssl_session_tickets off;\n"},
		{"cache off, tickets off", " ssl_session_cache off;\n ssl_session_tickets off;\n"},
		{"cache none, tickets off", " ssl_session_cache none;\n ssl_session_tickets off;\n"},
		{"timeout 0", " ssl_session_timeout 0;\n"},
		{"timeout 0 with a shared cache, tickets off", " ssl_session_cache shared:SSL:1m;\n ssl_session_tickets off;\n ssl_session_timeout 0;\n"},
		{"timeout 0 with a builtin cache, tickets off", " ssl_session_cache builtin;\n ssl_session_tickets off;\n ssl_session_timeout 0;\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			nginxAddr := startNginx(t, d, site(tc.extra))
			wispAddr, _ := startWisp(t, d, site(tc.extra))
			for _, v := range []struct {
				name    string
				version uint16
			}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
				n, w := resumes(t, nginxAddr, v.version), resumes(t, wispAddr, v.version)
				t.Logf("%s: nginx resumes %v, wisp %v", v.name, n, w)
				if n != w {
					t.Errorf("%s: nginx resumes: %v, wisp: %v", v.name, n, w)
				}
			}
		})
	}
}

// TestSessionTimeoutEndsResumption runs handshakes in process against a
// clock the test moves: a session resumes within ssl_session_timeout and
// not after, through tickets and through the stateful cache alike.
func TestSessionTimeoutEndsResumption(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := newTestCA(t).issue(t, dir, "a.test", false, "a.test")
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	must(t, err)
	for _, tc := range []struct {
		name    string
		tickets bool
		cache   sessionCache
		version uint16
	}{
		{"tickets, TLS 1.2", true, sessionCache{}, tls.VersionTLS12},
		{"tickets, TLS 1.3", true, sessionCache{}, tls.VersionTLS13},
		{"shared cache, TLS 1.3", false, sessionCache{size: 100}, tls.VersionTLS13},
	} {
		for _, age := range []time.Duration{10*time.Minute - time.Second, 10*time.Minute + time.Second} {
			cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
			p := newSessionPolicy(cfg, tc.tickets, tc.cache, 10*time.Minute)
			now := time.Now()
			p.now = func() time.Time { return now }
			clientCache := tls.NewLRUClientSessionCache(4)
			handshake(t, cfg, clientCache, tc.version)
			now = now.Add(age)
			got := handshake(t, cfg, clientCache, tc.version)
			if want := age < 10*time.Minute; got != want {
				t.Errorf("%s, %v old: resumed %v, want %v", tc.name, age, got, want)
			}
		}
	}
}

// handshake connects a client to a server with cfg over a pipe and
// reports whether the session was resumed.
func handshake(t *testing.T, cfg *tls.Config, cache tls.ClientSessionCache, version uint16) bool {
	t.Helper()
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := tls.Server(sc, cfg)
		if s.Handshake() == nil {
			s.Write([]byte("x")) // after the TLS 1.3 tickets
		}
		sc.Close() // no close_notify: a pipe's writes wait for the reader
	}()
	c := tls.Client(cc, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test", ClientSessionCache: cache,
		MinVersion: version, MaxVersion: version})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	must(t, c.Handshake())
	c.Read(make([]byte, 1))
	cc.Close()
	<-done
	return c.ConnectionState().DidResume
}

func TestSessionStoreIsBoundedAndSingleUse(t *testing.T) {
	now := time.Now()
	s := &sessionStore{max: 3, byID: map[string]storedSession{}}
	for _, id := range []string{"a", "b", "c", "d"} {
		s.put(id, []byte(id), now, now.Add(time.Minute))
	}
	if _, ok := s.take("a", now); ok {
		t.Error("the oldest session outlived a full cache")
	}
	if st, ok := s.take("b", now); !ok || string(st) != "b" {
		t.Errorf("b: %q %v", st, ok)
	}
	if _, ok := s.take("b", now); ok {
		t.Error("a session was resumed twice")
	}
	if _, ok := s.take("c", now.Add(time.Minute)); ok {
		t.Error("an expired session resumed")
	}
	for i := range 1000 {
		s.put(strconv.Itoa(i), nil, now, now.Add(time.Minute))
		s.take(strconv.Itoa(i), now)
	}
	if len(s.byID) > s.max || len(s.order) > 2*s.max+64 {
		t.Errorf("%d sessions and %d IDs kept", len(s.byID), len(s.order))
	}
}

// TestTicketKeyFilesCarryTicketsOverLoads: with ssl_session_ticket_key, a
// ticket from one config load resumes on the next (a reload, or another
// instance with the same file), as in nginx; without, each load has keys
// of its own.
func TestTicketKeyFilesCarryTicketsOverLoads(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "a.test", false, "a.test")
	keyFile := filepath.Join(dir, "ticket.key")
	must(t, os.WriteFile(keyFile, bytes.Repeat([]byte{7}, 80), 0o600))
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"with a key file", " ssl_session_ticket_key " + keyFile + ";\n", true},
		{"without", "", false},
	} {
		site := "server {\n listen LISTEN ssl;\n ssl_protocols TLSv1.2 TLSv1.3;\n ssl_certificate " + cert + ";\n ssl_certificate_key " + key + ";\n" + tc.extra +
			" location / { proxy_pass http://unix:" + sock + "; }\n}\n"
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			first, _ := startWisp(t, t.TempDir(), site)
			second, _ := startWisp(t, t.TempDir(), site)
			cache := tls.NewLRUClientSessionCache(4)
			var resumed bool
			for _, addr := range []string{first, second} {
				c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test",
					ClientSessionCache: cache, MinVersion: v, MaxVersion: v})
				must(t, err)
				c.Write([]byte("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"))
				c.Read(make([]byte, 512))
				resumed = c.ConnectionState().DidResume
				c.Close()
			}
			if resumed != tc.want {
				t.Errorf("%s, TLS %x: the second load resumed the first's session: %v, want %v", tc.name, v, resumed, tc.want)
			}
		}
	}
}
