package up

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wisp/internal/listen"
)

func testSites(t *testing.T, dir string, specs ...[2]string) []Site {
	t.Helper()
	var sites []Site
	for _, s := range specs {
		sock, err := listen.Unix(filepath.Join(dir, "run", s[0]+".sock"))
		if err != nil {
			t.Fatal(err)
		}
		sites = append(sites, Site{Name: s[0], URL: s[1], Socket: sock})
	}
	return sites
}

func TestProxyConfigRoutesEachHostToItsSocket(t *testing.T) {
	sites := testSites(t, "/srv/w", [2]string{"demo", "http://127.0.0.1:8080/"}, [2]string{"igu.io", "https://igu.io/"})
	conf := ProxyConfig("/srv/w", "127.0.0.1:8080", sites)
	for _, want := range []string{
		"upstream site1_demo {\n    server unix:/srv/w/run/demo.sock;\n}",
		"upstream site2_igu_io {\n    server unix:/srv/w/run/igu.io.sock;\n}",
		"listen 127.0.0.1:8080 default_server;\n    server_name 127.0.0.1;",
		"listen 127.0.0.1:8080;\n    server_name igu.io;",
		"proxy_pass http://site2_igu_io;",
		"proxy_set_header Host $http_host;",
		"proxy_set_header X-Forwarded-Proto $scheme;",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if n := strings.Count(conf, "default_server"); n != 1 {
		t.Errorf("%d default servers, want 1", n)
	}
}

func TestQuoteProtectsNginxSyntax(t *testing.T) {
	tests := []struct{ in, want string }{
		{"unix:/run/a.sock", "unix:/run/a.sock"},
		{"unix:/my sites/a.sock", `"unix:/my sites/a.sock"`},
		{`unix:/a;b"c\d`, `"unix:/a;b\"c\\d"`},
		{"unix:/a{b}", `"unix:/a{b}"`},
		{"", `""`},
	}
	for _, tc := range tests {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestProxyConfigIsValidForRealNginx checks the generated file against
// nginx itself, included in http {} as Debian includes a site file, so the
// config stays plain nginx that either proxy can run.
func TestProxyConfigIsValidForRealNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(nginx); err != nil {
		t.Fatalf("nginx is needed for this test (scripts/test.sh installs it): %v", err)
	}
	dir := shortDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sites := testSites(t, dir, [2]string{"demo", "http://127.0.0.1/"}, [2]string{"my site", "https://igu.io/"})
	site := filepath.Join(dir, "proxy.conf")
	if err := os.WriteFile(site, []byte(ProxyConfig(dir, addr, sites)), 0o644); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf("pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    access_log off;\n    include %s;\n}\n", dir, site)
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nginx, "-t", "-p", dir+"/", "-c", mainPath, "-e", "stderr").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, ProxyConfig(dir, addr, sites))
	}
}
