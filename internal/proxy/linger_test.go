package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

// slowClient is a client that sends a request head, then its body in
// pieces after the proxy has had the time to answer the head, then more
// bytes, and only then reads: what it reads and how the connection ended
// ("EOF", "reset", "send failed") show whether the proxy kept reading until the body
// ended (nginx's discard and lingering close) or closed under a client
// still sending, which resets the connection and loses the answer.
type slowClient struct {
	head   string
	pieces []string // sent one by one after the head
	after  string   // sent after the pieces
	tls    bool     // over TLS
}

// bodyPieces is n bytes of body in 16 KiB pieces; chunked frames each
// piece as a chunk and ends with the last chunk.
func bodyPieces(n int, chunked bool) []string {
	var out []string
	for n > 0 {
		k := min(n, 16<<10)
		p := strings.Repeat("x", k)
		if chunked {
			p = strconv.FormatInt(int64(k), 16) + "\r\n" + p + "\r\n"
		}
		out = append(out, p)
		n -= k
	}
	if chunked {
		out = append(out, "0\r\n\r\n")
	}
	return out
}

func (s slowClient) run(t *testing.T, addr string) (answer, end string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	if s.tls {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "linger.test"})
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	_, err = io.WriteString(c, s.head)
	must(t, err)
	// The pauses only let the proxy answer the head before the body: the
	// outcome compared does not depend on them.
	time.Sleep(50 * time.Millisecond)
	var werr error
	for _, p := range s.pieces {
		if _, werr = io.WriteString(c, p); werr != nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if werr == nil && s.after != "" {
		_, werr = io.WriteString(c, s.after)
	}
	b, rerr := io.ReadAll(c)
	// A client that could not send all of its body sees an error, whatever
	// it may still read (many report that and not the answer).
	switch {
	case werr != nil && (errors.Is(werr, syscall.ECONNRESET) || errors.Is(werr, syscall.EPIPE)):
		end = "send failed"
	case werr != nil:
		end = werr.Error()
	case rerr == nil:
		end = "EOF"
	case errors.Is(rerr, syscall.ECONNRESET):
		end = "reset"
	default:
		end = rerr.Error()
	}
	_, port, _ := net.SplitHostPort(addr)
	return strings.ReplaceAll(dateRE.ReplaceAllString(string(b), "Date: *"), ":"+port, ":PORT"), end
}

func TestBodiesNotReadAreDiscardedAsNginx(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startEcho(t, sock, "echo")
	must(t, os.MkdirAll(filepath.Join(dir, "files"), 0o755))
	must(t, writeFile(filepath.Join(dir, "files", "a.txt"), "file\n"))
	site := strings.NewReplacer("SOCK", sock, "ROOT", dir).Replace(`
server {
    listen LISTEN;
    server_name linger.test;
    lingering_timeout 1s;
    location / { return 200 "ok\n"; }
    location /big { client_max_body_size 1k; return 200 "big\n"; }
    location /bigoff { client_max_body_size 1k; lingering_close off; return 200 "big\n"; }
    location /always { lingering_close always; return 200 "always\n"; }
    location /missing { return 404; }
    location /p/ { proxy_pass http://unix:SOCK:/; }
    location /files/ { root ROOT; }
    location /upload/ { client_max_body_size 1k; proxy_pass http://unix:SOCK:/; }
}`)
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	post := func(path, extra string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: linger.test\r\n" + extra + "\r\n"
	}
	const big = 200 << 10
	cl := "Content-Length: " + strconv.Itoa(big) + "\r\n"
	chunked := "Transfer-Encoding: chunked\r\n"
	next := "GET /next HTTP/1.1\r\nHost: linger.test\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct {
		name string
		s    slowClient
		want string // in the answer, so that the two proxies agreeing on a failure fails
		end  string
	}{
		{"413 reaches a client still sending its body", slowClient{head: post("/big", cl), pieces: bodyPieces(big, false)},
			"413 Request Entity Too Large", "EOF"},
		{"413 of a proxied location reaches a client still sending", slowClient{head: post("/upload/x", cl), pieces: bodyPieces(big, false)},
			"413 Request Entity Too Large", "EOF"},
		{"413 to Expect: 100-continue sends no 100", slowClient{head: post("/big", cl+"Expect: 100-continue\r\n"), pieces: bodyPieces(big, false)},
			"413 Request Entity Too Large", "EOF"},
		{"413 with lingering_close off still reads the body", slowClient{head: post("/bigoff", cl), pieces: bodyPieces(big, false)},
			"413 Request Entity Too Large", "EOF"},
		{"return keeps the connection while the body is discarded", slowClient{head: post("/", cl), pieces: bodyPieces(big, false), after: next},
			"\r\n\r\nok\n", "EOF"},
		{"a chunked body is discarded by its chunks", slowClient{head: post("/", chunked), pieces: bodyPieces(big, true), after: next},
			"\r\n\r\nok\n", "EOF"},
		{"a file answer discards the body too", slowClient{head: "GET /files/a.txt HTTP/1.1\r\nHost: linger.test\r\n" + cl + "Expect: 100-continue\r\n\r\n", pieces: bodyPieces(big, false), after: next},
			"file\n", "EOF"},
		{"an error page sends no 100 Continue", slowClient{head: post("/missing", "Content-Length: 5\r\nExpect: 100-continue\r\n"), pieces: []string{"hello"}, after: next},
			"404 Not Found", "EOF"},
		{"an error page discards the body too", slowClient{head: post("/missing", cl), pieces: bodyPieces(big, false), after: next},
			"404 Not Found", "EOF"},
		{"Connection: close closes once the body is discarded", slowClient{head: post("/", cl+"Connection: close\r\n"), pieces: bodyPieces(big, false)},
			"\r\n\r\nok\n", "EOF"},
		{"Expect: 100-continue is answered before a discarded body", slowClient{head: post("/", "Content-Length: 5\r\nExpect: 100-continue\r\n"), pieces: []string{"hello"}, after: next},
			"100 Continue", "EOF"},
		{"a body that stops comes to lingering_timeout", slowClient{head: post("/", cl), pieces: bodyPieces(big/4, false)},
			"\r\n\r\nok\n", "EOF"},
		{"a bad chunk while discarding closes", slowClient{head: post("/", chunked), pieces: []string{"zz\r\n"}},
			"\r\n\r\nok\n", "EOF"},
		{"a bad chunk that came with the head makes a return a 400", slowClient{head: post("/", chunked) + "zz\r\n"},
			"400 Bad Request", "EOF"},
		{"a bad chunk that came with the head closes after an error page", slowClient{head: post("/missing", chunked) + "zz\r\n", after: next},
			"404 Not Found", "EOF"},
		{"lingering_close always", slowClient{head: "GET /always HTTP/1.1\r\nHost: linger.test\r\nConnection: close\r\n\r\n", after: next},
			"always", "EOF"},
		{"bytes after a closing answer are read before the close", slowClient{head: "GET / HTTP/1.1\r\nHost: linger.test\r\nConnection: close\r\n\r\n" + next, pieces: bodyPieces(big, false)},
			"\r\n\r\nok\n", "EOF"},
		{"a proxied body answered with close", slowClient{head: post("/p/x", cl+"Connection: close\r\n"), pieces: bodyPieces(big, false)},
			"POST /x HTTP/1.0", "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, nend := tc.s.run(t, nginx)
			w, wend := tc.s.run(t, wisp)
			if n != w || nend != wend {
				t.Errorf("nginx (%s):\n%.600q\nwisp (%s):\n%.600q", nend, n, wend, w)
			}
			if !strings.Contains(n, tc.want) || nend != tc.end {
				t.Errorf("nginx answered %.300q and ended with %s; want %q in it and %s", n, nend, tc.want, tc.end)
			}
		})
	}
}

// TestBodiesNotReadOverTLSAsNginx: the discard and the lingering close
// over TLS, where the close is a close_notify.
func TestBodiesNotReadOverTLSAsNginx(t *testing.T) {
	dir := t.TempDir()
	cert, key := newTestCA(t).issue(t, dir, "linger", false, "linger.test")
	site := `
server {
    listen LISTEN ssl;
    server_name linger.test;
    ssl_certificate ` + cert + `;
    ssl_certificate_key ` + key + `;
    location / { return 200 "ok\n"; }
    location /big { client_max_body_size 1k; return 200 "big\n"; }
}`
	nginx := startNginx(t, dir, site)
	wisp, _ := startWisp(t, dir, site)
	const big = 200 << 10
	head := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: linger.test\r\nContent-Length: " + strconv.Itoa(big) + "\r\n\r\n"
	}
	next := "GET /next HTTP/1.1\r\nHost: linger.test\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct {
		name, want string
		s          slowClient
	}{
		{"413 reaches a client still sending its body", "413 Request Entity Too Large", slowClient{head: head("/big"), pieces: bodyPieces(big, false), tls: true}},
		{"return keeps the connection while the body is discarded", "Connection: close", slowClient{head: head("/"), pieces: bodyPieces(big, false), after: next, tls: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, nend := tc.s.run(t, nginx)
			w, wend := tc.s.run(t, wisp)
			if n != w || nend != wend {
				t.Errorf("nginx (%s):\n%.600q\nwisp (%s):\n%.600q", nend, n, wend, w)
			}
			if !strings.Contains(n, tc.want) || nend != "EOF" {
				t.Errorf("nginx answered %.300q and ended with %s; want %q in it and EOF", n, nend, tc.want)
			}
		})
	}
}

func TestLingeringDirectivesInheritAndDefault(t *testing.T) {
	d := func(name, arg string) *ngxconf.Directive { return &ngxconf.Directive{Name: name, Args: []string{arg}} }
	set := func(ds ...*ngxconf.Directive) lingering {
		var l lingering
		for _, x := range ds {
			must(t, l.set(x))
		}
		return l
	}
	for _, tc := range []struct {
		name        string
		own, parent lingering
		mode        lingerMode
		total, idle time.Duration
	}{
		{"nginx's defaults", lingering{}, lingering{}, lingerUnset, 30 * time.Second, 5 * time.Second},
		{"set here", set(d("lingering_close", "always"), d("lingering_time", "10s"), d("lingering_timeout", "0")), lingering{}, lingerAlways, 10 * time.Second, 0},
		{"inherited", lingering{}, set(d("lingering_close", "off"), d("lingering_timeout", "2s")), lingerOff, 30 * time.Second, 2 * time.Second},
		{"own beats inherited", set(d("lingering_close", "on")), set(d("lingering_close", "off")), lingerOn, 30 * time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.own.inherit(tc.parent)
			if l.mode != tc.mode || l.total() != tc.total || l.idle() != tc.idle {
				t.Errorf("got mode %d, time %v, timeout %v; want %d, %v, %v", l.mode, l.total(), l.idle(), tc.mode, tc.total, tc.idle)
			}
		})
	}
}
