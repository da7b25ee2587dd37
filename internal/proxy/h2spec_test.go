package proxy

import (
	"bufio"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// h2specBinary finds h2spec: on PATH or where go install puts it
// (scripts/test.sh installs it). Its absence fails the test.
func h2specBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		f := strings.Split(strings.TrimSpace(string(out)), "\n")
		if f[0] != "" {
			dirs = append(dirs, f[0])
		}
		if len(f) > 1 {
			dirs = append(dirs, filepath.Join(f[1], "bin"))
		}
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "h2spec"); fileExists(p) {
			return p
		}
	}
	t.Fatal("h2spec not found: scripts/test.sh installs it")
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// h2specReport is the part of h2spec's JUnit report that names failures.
type h2specReport struct {
	Suites []struct {
		Cases []struct {
			Package string    `xml:"package,attr"`
			Name    string    `xml:"classname,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestH2specConformance runs h2spec (RFC 9113 and RFC 7541 cases) against
// the proxy serving HTTP/2 over TLS, and compares its failures with the
// committed list of expected ones (testdata/h2spec-expected-failures.txt).
func TestH2specConformance(t *testing.T) {
	bin := h2specBinary(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	startEcho(t, sock, "echo")
	site := strings.ReplaceAll(twoSiteTLS(t, dir, sock), "listen LISTEN ssl;", "listen LISTEN ssl http2;")
	addr, _ := startWisp(t, dir, site)
	host, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(dir, "h2spec.xml")
	out, err := exec.Command(bin, "-t", "-k", "-h", host, "-p", port, "-o", "5", "-j", report).CombinedOutput()
	raw, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v): %s", err, out)
	}
	var rep h2specReport
	must(t, xml.Unmarshal(raw, &rep))
	expected := map[string]bool{}
	f, err := os.Open("testdata/h2spec-expected-failures.txt")
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			expected[line] = true
		}
	}
	ran := 0
	for _, s := range rep.Suites {
		for _, c := range s.Cases {
			ran++
			name := c.Package + ": " + c.Name
			failed := c.Failure != nil || c.Error != nil
			switch {
			case failed && !expected[name]:
				t.Errorf("h2spec fails %s", name)
			case !failed && expected[name]:
				t.Errorf("h2spec passes %s, listed as an expected failure", name)
			}
		}
	}
	if ran < 140 {
		t.Errorf("h2spec ran %d cases: %s", ran, out)
	}
}
