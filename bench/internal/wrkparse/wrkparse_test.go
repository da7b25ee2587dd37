package wrkparse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The testdata files are real wrk 4.1.0 (Debian) outputs captured on this
// project's machine: a proxy, a 1 MiB body, a 404 path, a peer that closes
// every connection, a peer that never answers, and wrk's failure modes.
func TestParseRealOutputs(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Result
	}{
		{"nginx-ka-small.txt", Result{Requests: 32231, RPS: 15868.98,
			P50: 3330 * time.Microsecond, P75: 4780 * time.Microsecond, P90: 6770 * time.Microsecond, P99: 26670 * time.Microsecond}},
		{"direct-page.txt", Result{Requests: 31682, RPS: 15589.62,
			P50: 2780 * time.Microsecond, P75: 3670 * time.Microsecond, P90: 5330 * time.Microsecond, P99: 20240 * time.Microsecond}},
		{"haproxy-big.txt", Result{Requests: 1525, RPS: 724.52,
			P50: 59350 * time.Microsecond, P75: 87110 * time.Microsecond, P90: 109740 * time.Microsecond, P99: 157330 * time.Microsecond}},
		{"non2xx.txt", Result{Requests: 26335, RPS: 26270.37, Non2xx: 26335,
			P50: 204 * time.Microsecond, P75: 463 * time.Microsecond, P90: 1520 * time.Microsecond, P99: 6610 * time.Microsecond}},
		{"read-errors.txt", Result{Requests: 7810, RPS: 6748.99, ReadErrors: 7806,
			P50: 157 * time.Microsecond, P75: 399 * time.Microsecond, P90: 8550 * time.Microsecond, P99: 97680 * time.Microsecond}},
		{"timeouts.txt", Result{}},
		{"no-latency-flag.txt", Result{Requests: 31765, RPS: 28879.90}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Parse(readFile(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Parse =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestParseRejectsOutputWithoutSummary(t *testing.T) {
	for _, file := range []string{"connect-refused.txt", "usage.txt"} {
		t.Run(file, func(t *testing.T) {
			if r, err := Parse(readFile(t, file)); err == nil {
				t.Fatalf("Parse = %+v, want an error: a failed run must not count as zero requests", r)
			}
		})
	}
	if _, err := Parse(""); err == nil {
		t.Fatal("empty output: want an error")
	}
}

func TestParseRejectsMangledLines(t *testing.T) {
	good := readFile(t, "nginx-ka-small.txt")
	for _, tc := range []struct{ name, from, to string }{
		{"bad rate", "Requests/sec:  15868.98", "Requests/sec:  fast"},
		{"bad count", "32231 requests in", "many requests in"},
		{"bad latency unit", "99%   26.67ms", "99%   26.67parsecs"},
		{"bad non-2xx", "Requests/sec:", "  Non-2xx or 3xx responses: x\nRequests/sec:"},
		{"bad socket errors", "Requests/sec:", "  Socket errors: connect zero\nRequests/sec:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(good, tc.from, tc.to, 1)
			if in == good {
				t.Fatalf("fixture does not contain %q", tc.from)
			}
			if _, err := Parse(in); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestSocketErrorsSumsAllKinds(t *testing.T) {
	r := Result{ConnectErrors: 1, ReadErrors: 2, WriteErrors: 3, Timeouts: 4}
	if r.SocketErrors() != 10 {
		t.Fatalf("SocketErrors = %d, want 10", r.SocketErrors())
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"157.00us", 157 * time.Microsecond, false},
		{"3.33ms", 3330 * time.Microsecond, false},
		{"1.50s", 1500 * time.Millisecond, false},
		{"2.00m", 2 * time.Minute, false},
		{"1.00h", time.Hour, false},
		{"0.00us", 0, false},
		{"ms", 0, true},
		{"12", 0, true},
		{"1.2.3ms", 0, true},
		{"5ns", 0, true},
	} {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
