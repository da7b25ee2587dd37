package idle

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpenHoldsKeepAliveConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	p, err := Open(context.Background(), addr, nil, 25, 4, "/small")
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 25 || p.Failed != 0 {
		t.Fatalf("open %d, failed %d (%v); want 25 open", p.Len(), p.Failed, p.FirstErr)
	}
	if alive, closed := p.Alive(); alive != 25 || closed != 0 {
		t.Fatalf("alive %d closed %d, want 25 alive", alive, closed)
	}
	srv.CloseClientConnections()
	if alive, _ := p.Alive(); alive != 0 {
		t.Fatalf("after the server closed them: alive %d, want 0", alive)
	}
	p.Close()
}

func TestOpenHoldsTLSKeepAliveConnections(t *testing.T) {
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("request without TLS")
		}
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			handshakes.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	p, err := Open(context.Background(), strings.TrimPrefix(srv.URL, "https://"), &tls.Config{InsecureSkipVerify: true}, 10, 3, "/small")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Len() != 10 || p.Failed != 0 {
		t.Fatalf("open %d, failed %d (%v); want 10 open", p.Len(), p.Failed, p.FirstErr)
	}
	if _, ok := p.conns[0].(*tls.Conn); !ok {
		t.Fatalf("connection is %T, want *tls.Conn", p.conns[0])
	}
	if alive, closed := p.Alive(); alive != 10 || closed != 0 {
		t.Fatalf("alive %d closed %d, want 10 alive (a read timeout on a tls.Conn is not fatal)", alive, closed)
	}
	if n := handshakes.Load(); n != 10 {
		t.Fatalf("server saw %d connections, want 10", n)
	}
}

func TestOpenCountsRefusedConnectionsAsFailed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		errPart string
	}{
		{"server closes after the response", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
		}, "Connection: close"},
		{"error status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}, "status 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			p, err := Open(context.Background(), strings.TrimPrefix(srv.URL, "http://"), nil, 3, 2, "/")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Len() != 0 || p.Failed != 3 || !strings.Contains(p.FirstErr.Error(), tc.errPart) {
				t.Fatalf("open %d failed %d err %v; want 0 open, 3 failed, error with %q", p.Len(), p.Failed, p.FirstErr, tc.errPart)
			}
		})
	}
}

func TestOpenRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:80", "example.com:80", "nonsense"} {
		if _, err := Open(context.Background(), addr, nil, 1, 1, "/"); err == nil {
			t.Errorf("Open(%q): want an error", addr)
		}
	}
}
