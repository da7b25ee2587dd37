package ngxconf

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true},
		{"10k", 10 << 10, true},
		{"10K", 10 << 10, true},
		{"1m", 1 << 20, true},
		{"1M", 1 << 20, true},
		{"0", 0, true},
		{"1g", 0, false}, // sizes have no g; offsets do
		{"", 0, false},
		{"k", 0, false},
		{"-1", 0, false},
		{"1.5m", 0, false},
		{" 1", 0, false},
		{"99999999999999999999", 0, false},
		{"9007199254740992k", 0, false}, // overflows once scaled
	}
	for _, tc := range cases {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if got, err := ParseOffset("2g"); err != nil || got != 2<<30 {
		t.Errorf("ParseOffset(2g) = %d, %v", got, err)
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60", 60 * time.Second, true},
		{"10s", 10 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1h30m", 90 * time.Minute, true},
		{"1h 30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1m30s500ms", 90*time.Second + 500*time.Millisecond, true},
		{"0", 0, true},
		{"30m1h", 0, false}, // units must shrink
		{"1s1s", 0, false},
		{"1M", 0, false}, // months and years only in second-directives
		{"1y", 0, false},
		{"", 0, false},
		{"s", 0, false},
		{"1x", 0, false},
		{"-1s", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if got, err := ParseDuration("100000000000d"); err != nil || got != math.MaxInt64 {
		t.Errorf("a huge time saturates: %v, %v", got, err)
	}
}

func TestParseSeconds(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{"1y", 365 * 24 * time.Hour, true},
		{"1M", 30 * 24 * time.Hour, true},
		{"1y 1M 1w 1d 1h 1m 1s", (365+30+7+1)*24*time.Hour + time.Hour + time.Minute + time.Second, true},
		{"500ms", 0, false},
		{"1M1y", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseSeconds(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSeconds(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseFlag(t *testing.T) {
	for in, want := range map[string]bool{"on": true, "ON": true, "On": true, "off": false, "OFF": false} {
		if got, err := ParseFlag(in); err != nil || got != want {
			t.Errorf("ParseFlag(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "yes", "1", "true", "onn"} {
		if _, err := ParseFlag(in); err != ErrInvalidValue {
			t.Errorf("ParseFlag(%q) err = %v", in, err)
		}
	}
}

func TestDirectiveValueErrorsReadAsNginx(t *testing.T) {
	d := &Directive{Name: "proxy_read_timeout", Args: []string{"soon"}, Pos: Pos{File: "/x.conf", Line: 3}}
	if _, err := d.Duration(0); err == nil || err.Error() != `"proxy_read_timeout" directive invalid value in /x.conf:3` {
		t.Errorf("Duration error = %v", err)
	}
	if _, err := d.Size(0); err == nil || err.Error() != `"proxy_read_timeout" directive invalid value in /x.conf:3` {
		t.Errorf("Size error = %v", err)
	}
	if _, err := d.Seconds(0); err == nil {
		t.Error("Seconds accepted soon")
	}
	if _, err := d.Flag(0); err == nil || err.Error() != `invalid value "soon" in "proxy_read_timeout" directive, it must be "on" or "off" in /x.conf:3` {
		t.Errorf("Flag error = %v", err)
	}
}

// TestUnitsAcceptWhatNginxAccepts runs each value through the real nginx in
// a directive of the matching kind and requires the same verdict, and the
// same message when it is rejected.
func TestUnitsAcceptWhatNginxAccepts(t *testing.T) {
	cases := []struct {
		directive string // size: client_body_buffer_size; msec: proxy_read_timeout; sec: expires
		parse     func(string) error
		values    []string
	}{
		{"client_body_buffer_size", func(s string) error { _, err := ParseSize(s); return err },
			[]string{"512", "10k", "1M", "1g", "k", "1.5m", "-1", "99999999999999999999"}},
		{"proxy_read_timeout", func(s string) error { _, err := ParseDuration(s); return err },
			[]string{"60", "10s", "500ms", "1h30m", "1h 30m", "30m1h", "1M", "1y", "s", "1x", "2w1d", "1s1s", "5 "}},
		{"expires", func(s string) error { _, err := ParseSeconds(s); return err },
			[]string{"30", "1y", "1M", "500ms", "1M1y", "1y 2d", "12h"}},
	}
	for _, tc := range cases {
		for _, v := range tc.values {
			t.Run(tc.directive+"="+v, func(t *testing.T) {
				conf := "events {}\nhttp {\n " + tc.directive + " '" + v + "';\n}\n"
				dir := writeTree(t, tree{"nginx.conf": conf})
				path := filepath.Join(dir, "nginx.conf")
				want := nginxTest(t, dir, dir+"/", path, baseGlobals(dir))
				err := tc.parse(v)
				if (err == nil) != (want == "") {
					t.Fatalf("nginx says %q, we say %v", want, err)
				}
				if err != nil {
					d := &Directive{Name: tc.directive, Args: []string{v}, Pos: Pos{File: "DIR/nginx.conf", Line: 3}}
					if got := InvalidValue(d).Error(); !strings.HasPrefix(want, `"`+tc.directive+`" directive invalid value`) || got != want {
						t.Errorf("nginx: %s\nwe:    %s", want, got)
					}
				}
			})
		}
	}
}
