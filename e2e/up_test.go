package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUpServesTheDemoSiteAndStopsCleanly(t *testing.T) {
	dir := shortDir(t)
	sites := filepath.Join(dir, "sites")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	began := time.Now()
	up := start(t, dir, nil, "up", "-listen", addr, sites)
	var first response
	waitFor(t, up, 10*time.Second, "the demo site through the proxy", func() bool {
		r, err := tryGet("http://"+addr+"/", "")
		first = r
		return err == nil && r.status == 200
	})
	// The target is 2 s; the bound here is loose because CI shares
	// two cores with the race-enabled build of the rest of the suite.
	t.Logf("wisp up served the demo site after %v", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(first.body, "<html") {
		t.Errorf("demo home page is not HTML:\n%s", first.body)
	}
	if _, err := os.Stat(filepath.Join(sites, "demo", "config.production.json")); err != nil {
		t.Errorf("demo site not created: %v", err)
	}
	conf := readFile(t, filepath.Join(sites, "run", "proxy.conf"))
	if !strings.Contains(conf, "unix:"+filepath.Join(sites, "run")) {
		t.Errorf("proxy.conf does not route to a socket under run/:\n%s", conf)
	}
	if !strings.Contains(up.out.String(), "http://") {
		t.Errorf("wisp up did not print the site URLs:\n%s", up.out.String())
	}

	up.signal(syscall.SIGTERM)
	if code := up.wait(t, 20*time.Second); code != 0 {
		t.Errorf("wisp up exit code after SIGTERM = %d, want 0", code)
	}
	socks, _ := filepath.Glob(filepath.Join(sites, "run", "*.sock"))
	if len(socks) != 0 {
		t.Errorf("socket files left after SIGTERM: %v", socks)
	}
	if dialable("tcp", addr) {
		t.Errorf("proxy still listening on %s after wisp up stopped", addr)
	}
}

func TestUpRestartsACrashedSite(t *testing.T) {
	dir := shortDir(t)
	sites := filepath.Join(dir, "sites")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	up := start(t, dir, nil, "up", "-listen", addr, sites)
	sock := filepath.Join(sites, "run", "demo.sock")
	waitFor(t, up, 10*time.Second, "the demo site", func() bool {
		r, err := tryGet("http://"+addr+"/", "")
		return err == nil && r.status == 200
	})
	pid := peerPID(t, sock)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, up, 15*time.Second, "the demo site to come back", func() bool {
		r, err := tryGet("http://"+addr+"/", "")
		return err == nil && r.status == 200 && peerPIDOrZero(sock) != pid
	})
}
