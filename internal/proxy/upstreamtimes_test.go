package proxy

import (
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUpstreamTimesPerTryMatchNginx: $upstream_response_time,
// $upstream_connect_time and $upstream_header_time hold one value per try
// (", " between them), each timed from the start of its own try, as
// nginx 1.22 logs them; "-" where the try never connected or got no head.
// $upstream_bytes_received and $upstream_bytes_sent, per try too, are
// the same bytes through both proxies, so they are compared as they are.
// $request_time and every time have nginx's three decimals. The values
// differ between the two proxies, so the log lines are compared with each
// time masked, and each line is checked to add up: the tries' times
// together never exceed $request_time (each try counted from the start of
// the request did: "0.300, 0.300" for a request of 0.300).
func TestUpstreamTimesPerTryMatchNginx(t *testing.T) {
	dir := t.TempDir()
	s := peerSet(t, dir, "ok=ok", "e500=500", "hang=hang", "dead=dead", "dead2=dead")
	site := func(who string) string {
		return `
log_format times '$status $request_time [$upstream_addr] [$upstream_status] [$upstream_response_time] [$upstream_connect_time] [$upstream_header_time] [$upstream_bytes_received] [$upstream_bytes_sent] "$request"';
upstream hangok { server ` + s["hang"] + ` max_fails=0; server ` + s["ok"] + `; }
upstream deadok { server ` + s["dead"] + ` max_fails=0; server ` + s["ok"] + `; }
upstream next500 { server ` + s["e500"] + `; server ` + s["ok"] + `; }
upstream none { server ` + s["dead"] + `; server ` + s["dead2"] + `; }
server {
    listen LISTEN;
    access_log ` + dir + `/` + who + `-times.log times;
    add_header X-T "[$upstream_response_time] [$upstream_connect_time] [$upstream_header_time]" always;
    add_header X-B "[$upstream_bytes_received] [$upstream_bytes_sent]" always;
    location /hangok { proxy_read_timeout 300ms; proxy_pass http://hangok; }
    location /deadok { proxy_pass http://deadok; }
    location /next500 { proxy_pass http://next500; proxy_next_upstream error http_500; }
    location /none { proxy_pass http://none; }
    location /ok { proxy_pass http://` + s["ok"] + `; }
    location /left { proxy_pass http://` + s["hang"] + `; }
    location /local { return 200 "local\n"; }
}
`
	}
	nginx := startNginx(t, dir, site("nginx"))
	wisp, stop := startWisp(t, dir, site("wisp"))
	paths := []string{"/hangok", "/hangok", "/deadok", "/deadok", "/next500", "/next500", "/none", "/ok", "/local"}
	seconds := regexp.MustCompile(`\d+\.\d{3}`)
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			raw := getWith(path, "")
			n, w := exchange(t, nginx, raw), exchange(t, wisp, raw)
			hs := [2]string{}
			for i, r := range []result{n, w} {
				hs[i] = seconds.ReplaceAllString(strings.Join(r.headers, "\n"), "T")
			}
			if n.status != w.status || hs[0] != hs[1] {
				t.Errorf("nginx: %d\n%s\nwisp: %d\n%s", n.status, hs[0], w.status, hs[1])
			}
		})
	}
	// A client that leaves while the peer is still to answer: nginx's 499,
	// with the try listed and no status from the peer.
	for _, addr := range []string{nginx, wisp} {
		c, err := net.Dial("tcp", addr)
		must(t, err)
		io.WriteString(c, getWith("/left", ""))
		time.Sleep(100 * time.Millisecond)
		c.Close()
	}
	n := len(paths) + 1
	logs := [2]string{
		readLogLines(t, filepath.Join(dir, "nginx-times.log"), n),
		readLogLines(t, filepath.Join(dir, "wisp-times.log"), n),
	}
	stop()
	line := regexp.MustCompile(`^\d+ (\d+\.\d{3}) \[[^]]*\] \[[^]]*\] \[([^]]*)\] \[([^]]*)\] \[([^]]*)\] \[[^]]*\] \[[^]]*\] "[^"]*"$`)
	timeList := regexp.MustCompile(`^((\d+\.\d{3}|-)(, (\d+\.\d{3}|-))*)?$`)
	for i, who := range []string{"nginx", "wisp"} {
		for _, l := range strings.Split(strings.TrimSpace(logs[i]), "\n") {
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("%s: line not in the format: %q", who, l)
				continue
			}
			for _, list := range m[3:] {
				if !timeList.MatchString(list) {
					t.Errorf("%s: %q is not a list of times in %q", who, list, l)
				}
			}
			if sum, total := sumSeconds(m[3]), parseSeconds(m[1]); sum > total+time.Duration(strings.Count(m[3], ",")+1)*time.Millisecond {
				t.Errorf("%s: the tries' times add up to %v, more than $request_time %v: %q", who, sum, total, l)
			}
		}
	}
	masked := [2]string{}
	for i := range logs {
		masked[i] = sortedLines(seconds.ReplaceAllString(logs[i], "T"))
	}
	if masked[0] != masked[1] {
		t.Errorf("access log differs (times masked)\nnginx:\n%s\nwisp:\n%s\nunmasked:\nnginx:\n%s\nwisp:\n%s", masked[0], masked[1], logs[0], logs[1])
	}
}

// parseSeconds reads nginx's "S.mmm"; "-" is 0.
func parseSeconds(s string) time.Duration {
	sec, ms, ok := strings.Cut(s, ".")
	if !ok {
		return 0
	}
	a, _ := strconv.Atoi(sec)
	b, _ := strconv.Atoi(ms)
	return time.Duration(a)*time.Second + time.Duration(b)*time.Millisecond
}

func sumSeconds(list string) time.Duration {
	var sum time.Duration
	for _, v := range strings.Split(list, ", ") {
		sum += parseSeconds(v)
	}
	return sum
}

func TestAppendSecondsWritesNginxFormat(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{999 * time.Microsecond, "0.000"},
		{time.Millisecond, "0.001"},
		{45 * time.Millisecond, "0.045"},
		{1234567 * time.Microsecond, "1.234"},
		{61 * time.Second, "61.000"},
		{-1, "-"},
	} {
		if got := string(appendSeconds(nil, tc.d)); got != tc.want {
			t.Errorf("appendSeconds(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	// $msec: the time in seconds since the epoch, in the same format.
	if got := string(appendMillis(nil, 1700000000005)); got != "1700000000.005" {
		t.Errorf("appendMillis = %q, want 1700000000.005", got)
	}
}
