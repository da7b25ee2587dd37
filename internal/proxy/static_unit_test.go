package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wisp/internal/ngxconf"
)

func TestRangesParsedAsNginx(t *testing.T) {
	tests := []struct {
		name, header string
		max          int
		want         []byteRange
		status       int
	}{
		{"first bytes", "bytes=0-9", -1, []byteRange{{0, 10}}, 0},
		{"suffix", "bytes=-5", -1, []byteRange{{95, 100}}, 0},
		{"suffix longer than file", "bytes=-500", -1, []byteRange{{0, 100}}, 0},
		{"open end", "bytes=90-", -1, []byteRange{{90, 100}}, 0},
		{"end past size", "bytes=90-1000", -1, []byteRange{{90, 100}}, 0},
		{"spaces", "bytes= 1 - 2 , 4-5", -1, []byteRange{{1, 3}, {4, 6}}, 0},
		{"start past size", "bytes=100-", -1, nil, 416},
		{"reversed", "bytes=5-1", -1, nil, 416},
		{"letters", "bytes=a-b", -1, nil, 416},
		{"trailing junk", "bytes=0-1x", -1, nil, 416},
		{"overflow", "bytes=99999999999999999999-", -1, nil, 416},
		{"case-insensitive unit", "BYTES=0-0", -1, []byteRange{{0, 1}}, 0},
		{"other unit ignored", "lines=0-1", -1, nil, 0},
		{"ranges adding up past the file", "bytes=0-60,40-99", -1, nil, 0},
		{"over max_ranges", "bytes=0-1,3-4", 1, nil, 0},
		{"max_ranges 0", "bytes=0-1", 0, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clientConn{}
			must(t, c.req.parse([]byte("GET / HTTP/1.1\r\nHost: x\r\nRange: "+tc.header+"\r\n\r\n")))
			set, status := c.parseRanges(&outHead{status: 200, length: 100}, &contentConf{maxRanges: tc.max})
			if status != tc.status || len(set.ranges) != len(tc.want) {
				t.Fatalf("got %v %d, want %v %d", set.ranges, status, tc.want, tc.status)
			}
			for i := range tc.want {
				if set.ranges[i] != tc.want[i] {
					t.Errorf("range %d = %v, want %v", i, set.ranges[i], tc.want[i])
				}
			}
		})
	}
}

func TestExpiresHeadersAsNginx(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	lastMod := now.Add(-2 * time.Hour).Unix()
	tests := []struct {
		name string
		e    expiresConf
		want string
	}{
		{"off", expiresConf{kind: expiresOff}, ""},
		{"epoch", expiresConf{kind: expiresEpoch}, "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\n"},
		{"max", expiresConf{kind: expiresMax}, "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\nCache-Control: max-age=315360000\r\n"},
		{"one hour", expiresConf{kind: expiresAccess, d: time.Hour}, "Expires: Wed, 25 Nov 2026 11:00:00 GMT\r\nCache-Control: max-age=3600\r\n"},
		{"zero", expiresConf{kind: expiresAccess}, "Expires: Wed, 25 Nov 2026 10:00:00 GMT\r\nCache-Control: max-age=0\r\n"},
		{"negative", expiresConf{kind: expiresAccess, d: -time.Minute}, "Expires: Wed, 25 Nov 2026 09:59:00 GMT\r\nCache-Control: no-cache\r\n"},
		{"modified in the past", expiresConf{kind: expiresModified, d: time.Hour}, "Expires: Wed, 25 Nov 2026 09:00:00 GMT\r\nCache-Control: no-cache\r\n"},
		{"modified ahead", expiresConf{kind: expiresModified, d: 3 * time.Hour}, "Expires: Wed, 25 Nov 2026 11:00:00 GMT\r\nCache-Control: max-age=3600\r\n"},
	}
	for _, tc := range tests {
		if got := string(tc.e.appendLines(nil, now, lastMod)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAccessRulesFirstMatchDecides(t *testing.T) {
	c := &compiler{}
	rules := func(lines ...string) []aclRule {
		m := &contentConf{set: map[string]bool{}}
		for _, l := range lines {
			name, arg, _ := strings.Cut(l, " ")
			if _, err := c.aclDirective(&ngxconf.Directive{Name: name, Args: []string{arg}}, m); err != nil {
				t.Fatal(err)
			}
			m.set[name] = true
		}
		return m.acl
	}
	tests := []struct {
		name   string
		rules  []aclRule
		remote string
		deny   bool
	}{
		{"no rules", nil, "1.2.3.4", false},
		{"deny all", rules("deny all"), "1.2.3.4", true},
		{"allow before deny", rules("allow 10.0.0.0/8", "deny all"), "10.9.8.7", false},
		{"outside the cidr", rules("allow 10.0.0.0/8", "deny all"), "11.0.0.1", true},
		{"single address", rules("deny 192.168.1.1", "allow all"), "192.168.1.1", true},
		{"no match allows", rules("deny 192.168.1.1"), "192.168.1.2", false},
		{"ipv6 cidr", rules("deny 2001:db8::/32"), "2001:db8::1", true},
		{"v4-mapped v6 client", rules("deny 127.0.0.1"), "::ffff:127.0.0.1", true},
		{"unix clients", rules("deny unix:", "allow all"), "unix:", true},
		{"unix not matched by cidr", rules("deny 0.0.0.0/0"), "unix:", false},
		{"host bits masked", rules("deny 10.1.2.3/8"), "10.200.0.1", true},
	}
	for _, tc := range tests {
		if got := aclDenies(tc.rules, []byte(tc.remote)); got != tc.deny {
			t.Errorf("%s: %s denied = %v, want %v", tc.name, tc.remote, got, tc.deny)
		}
	}
}

func TestLogEscapingAsNginx(t *testing.T) {
	tests := []struct {
		in   string
		esc  logEscape
		want string
	}{
		{"plain /x?y=1", escDefault, "plain /x?y=1"},
		{"q\"b\\\x01\x7f\xc3\xa9", escDefault, `q\x22b\x5C\x01\x7F\xC3\xA9`},
		{"q\"b\\\n\x01é", escJSON, `q\"b\\\n\u0001é`},
		{"q\"\x01", escNone, "q\"\x01"},
	}
	for _, tc := range tests {
		if got := string(appendEscaped(nil, []byte(tc.in), tc.esc)); got != tc.want {
			t.Errorf("%q (%d): got %q, want %q", tc.in, tc.esc, got, tc.want)
		}
	}
}

func TestResponseModuleConfigErrors(t *testing.T) {
	tests := []struct{ site, want string }{
		{"server {\n root /a;\n location / { root /b; alias /c; }\n}", `"alias" directive is duplicate, "root" directive was specified earlier`},
		{"server {\n root /a;\n root /b;\n}", `"root" directive is duplicate`},
		{"server {\n expires soon;\n}", `invalid value "soon" in "expires" directive`},
		{"server {\n expires @25h;\n}", `invalid value "@25h"`},
		{"server {\n allow 10.0.0.300;\n}", `invalid parameter "10.0.0.300"`},
		{"server {\n deny 10.0.0.0/40;\n}", `invalid parameter "10.0.0.0/40"`},
		{"server {\n access_log /tmp/x.log nosuchformat;\n}", `unknown log format "nosuchformat"`},
		{"server {\n access_log /nonexistent-dir/x.log;\n}", `open() "/nonexistent-dir/x.log" failed (2: No such file or directory)`},
		{"log_format a '$nosuchvar';\nserver {\n}", `unknown "nosuchvar" variable`},
		{"server {\n gzip_comp_level 10;\n}", `"gzip_comp_level" directive invalid value`},
		{"server {\n gzip_proxied sometimes;\n}", `invalid value "sometimes"`},
		{"server {\n try_files =404;\n}", `invalid number of arguments in "try_files" directive`},
		{"server {\n add_header X y sometimes;\n}", `invalid parameter "sometimes"`},
		{"server {\n server_tokens maybe;\n}", `invalid value "maybe" in "server_tokens" directive`},
		{"server {\n disable_symlinks sometimes;\n}", `invalid parameter "sometimes"`},
		{"server {\n disable_symlinks off from=/x;\n}", `"from=" cannot be used with "off" parameter`},
	}
	for _, tc := range tests {
		_, err := compileSite(t, tc.site)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "site.conf:") {
			t.Errorf("%q: got %v, want %q with file:line", tc.site, err, tc.want)
		}
	}
}

// BenchmarkStaticFile is a keep-alive round trip for a small file over
// loopback: request parse, location lookup, open, stat, ETag, head, and
// sendfile; with gzip the body is compressed on the fly.
func BenchmarkStaticFile(b *testing.B) {
	root := b.TempDir()
	must(b, os.WriteFile(filepath.Join(root, "page.html"), []byte(strings.Repeat("<p>static page body</p>\n", 200)), 0o644))
	for _, bc := range []struct{ name, extra string }{
		{"plain", ""},
		{"gzip", "gzip on;"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// access_log off: the file path alone, not the built-in log.
			cfg, err := compileSite(b, "server {\n listen 8080;\n access_log off;\n root "+root+";\n "+bc.extra+"\n}")
			if err != nil {
				b.Fatal(err)
			}
			addr, stop := serveConfig(b, cfg)
			defer stop()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { conn.Close() }()
			br := bufio.NewReader(conn)
			req := []byte("GET /page.html HTTP/1.1\r\nHost: s\r\nAccept-Encoding: gzip\r\n\r\n")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
				if resp.Close { // keepalive_requests reached
					conn.Close()
					if conn, err = net.Dial("tcp", addr); err != nil {
						b.Fatal(err)
					}
					br.Reset(conn)
				}
			}
		})
	}
}
