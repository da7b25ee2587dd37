package ngxconf

import (
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// probeContexts wraps a directive line into each context, as a full config.
var probeContexts = []struct {
	ctx       ctxMask
	pre, post string
}{
	{ctxMain, "events {}\n", "\n"},
	{ctxEvents, "events {\n", "\n}\n"},
	{ctxHTTP, "events {}\nhttp {\n", "\n}\n"},
	{ctxServer, "events {}\nhttp {\nserver {\n", "\n}\n}\n"},
	{ctxLocation, "events {}\nhttp {\nserver {\nlocation / {\n", "\n}\n}\n}\n"},
	{ctxUpstream, "events {}\nhttp {\nupstream u {\nserver 127.0.0.1:1;\n", "\n}\n}\n"},
	{ctxIfServer, "events {}\nhttp {\nserver {\nif ($a) {\n", "\n}\n}\n}\n"},
	{ctxIfLocation, "events {}\nhttp {\nserver {\nlocation / {\nif ($a) {\n", "\n}\n}\n}\n}\n"},
	{ctxLimitExcept, "events {}\nhttp {\nserver {\nlocation / {\nlimit_except GET {\n", "\n}\n}\n}\n}\n"},
}

type tableProbe struct {
	name, conf string
	want       string // a substring the real nginx's message must contain, or "" for none of the table errors
}

func directiveLine(name string, sp spec, n int) string {
	line := name + strings.Repeat(" x", n)
	if sp.block {
		return line + " {}"
	}
	return line + ";"
}

// tableProbes builds, for every spec of every directive, a config that puts
// it in an allowed context with a wrong argument count, one with a right
// count, and one in a context it is not allowed in.
func tableProbes() []tableProbe {
	var probes []tableProbe
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		specs := table[name]
		for _, sp := range specs {
			var in, out = -1, -1
			for i, pc := range probeContexts {
				_, allowedAnywhere := specFor(specs, pc.ctx)
				switch {
				case sp.ctx&pc.ctx != 0 && in < 0:
					in = i
				case !allowedAnywhere && out < 0:
					out = i
				}
			}
			pc := probeContexts[in]
			good, bad := -1, -1
			for n := 0; n <= 9; n++ {
				if sp.args.allows(n) {
					if good < 0 {
						good = n
					}
				} else if bad < 0 || (good >= 0 && bad < good) {
					bad = n
				}
			}
			probes = append(probes, tableProbe{name, pc.pre + directiveLine(name, sp, good) + pc.post, ""})
			if bad >= 0 {
				probes = append(probes, tableProbe{name, pc.pre + directiveLine(name, sp, bad) + pc.post,
					fmt.Sprintf(`invalid number of arguments in "%s" directive`, name)})
			}
			if out >= 0 {
				oc := probeContexts[out]
				probes = append(probes, tableProbe{name, oc.pre + directiveLine(name, sp, good) + oc.post,
					fmt.Sprintf(`"%s" directive is not allowed here`, name)})
			}
		}
	}
	return probes
}

var fullTable = flag.Bool("full-table", false, "check every directive table entry against nginx, not a sample")

// TestTableMatchesNginx checks every table entry against the real binary:
// allowed where we allow it, refused elsewhere, argument counts as ours.
func TestTableMatchesNginx(t *testing.T) {
	probes := tableProbes()
	if !*fullTable {
		// About 1,600 nginx runs take half a minute on two cores; by default
		// a fixed sample of every tenth probe runs (go test -args
		// -full-table runs them all; the table was generated from them).
		var sample []tableProbe
		for i := 0; i < len(probes); i += 10 {
			sample = append(sample, probes[i])
		}
		probes = sample
	}
	var wg sync.WaitGroup
	work := make(chan tableProbe)
	for w := 0; w < 4; w++ {
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				conf := filepath.Join(dir, "nginx.conf")
				writeFile(t, conf, p.conf)
				msg, err := runNginxTest(dir, dir+"/", conf, baseGlobals(dir))
				if err != nil {
					t.Errorf("%s: %v for\n%s", p.name, err, p.conf)
					continue
				}
				tableErr := strings.Contains(msg, "unknown directive") || strings.Contains(msg, "is not allowed here") ||
					strings.Contains(msg, "invalid number of arguments") || strings.Contains(msg, "has no opening") ||
					strings.Contains(msg, "is not terminated")
				if p.want == "" && tableErr || p.want != "" && !strings.Contains(msg, p.want) {
					t.Errorf("%s: nginx says %q for\n%s", p.name, msg, p.conf)
				}
			}
		}()
	}
	for _, p := range probes {
		work <- p
	}
	close(work)
	wg.Wait()
}

func TestIgnorableDirectivesAreInTheTable(t *testing.T) {
	for name := range ignorable {
		if _, ok := table[name]; !ok {
			t.Errorf("%s is on the ignore list but not in the table", name)
		}
	}
}

func TestArgRuleAllows(t *testing.T) {
	cases := []struct {
		rule argRule
		n    int
		want bool
	}{
		{arg0, 0, true}, {arg0, 1, false},
		{arg1 | arg2, 2, true}, {arg1 | arg2, 3, false},
		{argFlag, 1, true}, {argFlag, 2, false},
		{arg1More, 0, false}, {arg1More, 20, true},
		{arg2More, 1, false}, {arg2More, 2, true},
		{arg7, 7, true}, {arg7 | arg1, 8, false},
		{argAny, 0, true}, {argAny, 9, true},
	}
	for _, tc := range cases {
		if got := tc.rule.allows(tc.n); got != tc.want {
			t.Errorf("%b.allows(%d) = %v", tc.rule, tc.n, got)
		}
	}
}
