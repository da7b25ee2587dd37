package proxy

import (
	"context"
	"strings"
	"testing"

	"wisp/internal/ngxconf"
)

// compileFlowServer compiles one server block and returns it, for tests
// of the rewrite module without sockets.
func compileFlowServer(t *testing.T, site string) (*compiler, []*ngxconf.Directive) {
	t.Helper()
	c := &compiler{ctx: context.Background(), upstreams: map[string]*upstream{}}
	ds := []*ngxconf.Directive{}
	for _, line := range strings.Split(strings.TrimSpace(site), "\n") {
		f := strings.Fields(line)
		ds = append(ds, &ngxconf.Directive{Name: f[0], Args: f[1:]})
	}
	must(t, c.declareVars(ds))
	return c, ds
}

func runSteps(t *testing.T, site, uri, query string) (evalCtx, rwOutcome, rwResponse) {
	t.Helper()
	c, ds := compileFlowServer(t, site)
	var prog []rwStep
	for _, d := range ds {
		must(t, c.rewriteDirective(d, &prog))
	}
	ec := evalCtx{req: &request{method: []byte("GET"), query: []byte(query)}, uri: []byte(uri)}
	var resp rwResponse
	changed := false
	out := ec.run(prog, &resp, &changed)
	return ec, out, resp
}

func TestRewriteReplacementsCapturesAndArgs(t *testing.T) {
	cases := []struct {
		name, site, uri, query string
		out                    rwOutcome
		wantURI, wantArgs      string
		wantLoc                string
		wantCode               int
	}{
		{name: "captures into the URI", site: `rewrite ^/a/(\w+)/(\d+)$ /b/$2/$1 last`, uri: "/a/x/7",
			out: rwLast, wantURI: "/b/7/x"},
		{name: "$10 is $1 then 0", site: `rewrite ^/(\w)(\w)$ /$10$2 break`, uri: "/pq",
			out: rwStop, wantURI: "/p0q"},
		{name: "new args come before the old", site: `rewrite ^ /n?a=1 last`, uri: "/x", query: "b=2",
			out: rwLast, wantURI: "/n", wantArgs: "a=1&b=2"},
		{name: "trailing ? drops the old args", site: `rewrite ^ /n? last`, uri: "/x", query: "b=2",
			out: rwLast, wantURI: "/n", wantArgs: ""},
		{name: "no ? keeps the old args", site: `rewrite ^ /n last`, uri: "/x", query: "b=2",
			out: rwLast, wantURI: "/n", wantArgs: "b=2"},
		{name: "no match leaves the URI", site: `rewrite ^/z /n last`, uri: "/x",
			out: rwContinue, wantURI: "/x", wantArgs: ""},
		{name: "scheme makes a 302", site: `rewrite ^/(.*) https://h/$1`, uri: "/x", query: "q=1",
			out: rwRespond, wantCode: 302, wantLoc: "https://h/x?q=1"},
		{name: "permanent", site: `rewrite ^/(.*) /y/$1 permanent`, uri: "/x",
			out: rwRespond, wantCode: 301, wantLoc: "/y/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ec, out, resp := runSteps(t, tc.site, tc.uri, tc.query)
			if out != tc.out {
				t.Fatalf("outcome %d, want %d", out, tc.out)
			}
			if out == rwRespond {
				if resp.code != tc.wantCode || string(resp.location) != tc.wantLoc {
					t.Fatalf("response %d %q, want %d %q", resp.code, resp.location, tc.wantCode, tc.wantLoc)
				}
				return
			}
			if string(ec.uri) != tc.wantURI || string(ec.currentArgs()) != tc.wantArgs {
				t.Fatalf("uri %q args %q, want %q %q", ec.uri, ec.currentArgs(), tc.wantURI, tc.wantArgs)
			}
		})
	}
}

func TestIfConditionsEvaluateLikeNginx(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"($v)"}, true},
		{[]string{"($zero)"}, false},
		{[]string{"($empty)"}, false},
		{[]string{"($v", "=", "abc123)"}, true},
		{[]string{"($v", "!=", "abc123)"}, false},
		{[]string{"($v", "~", "^ABC)"}, false},
		{[]string{"($v", "~*", "^ABC)"}, true},
		{[]string{"($v", "!~", "^ABC)"}, true},
		{[]string{"($v", "!~*", "^ABC", ")"}, false},
		{[]string{"(", "-d", "/)"}, true},
		{[]string{"(!-d", "/)"}, false},
		{[]string{"(-f", "/nonexistent)"}, false},
		{[]string{"(!-e", "/nonexistent)"}, true},
	}
	c, _ := compileFlowServer(t, "set $v abc123\nset $zero 0\nset $empty x")
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cond, err := c.compileCond(&ngxconf.Directive{Name: "if", Args: tc.args})
			must(t, err)
			ec := evalCtx{req: &request{}}
			ec.sets = [][]byte{[]byte("abc123"), []byte("0"), nil}
			if got := ec.test(&cond); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBadRewriteConfigsAreRejected(t *testing.T) {
	cases := []struct{ site, want string }{
		{`if ($uri == b) { }`, "unexpected"},
		{`if $a { }`, "invalid condition"},
		{`rewrite ^/(?=x) /y`, "not supported by wisp (no backreferences, lookaround"},
		{`rewrite ^/a++ /y`, "not supported by wisp (no backreferences, lookaround"},
		{`rewrite ^/(x /y`, `pcre2_compile() failed: missing closing parenthesis in "^/(x"`},
		{`rewrite ^/x) /y`, `pcre2_compile() failed: unmatched closing parenthesis in "^/x)" at ")"`},
		{`if ($1 = a) { }`, `unknown "1" variable`},
		{`if (a = b) { }`, `invalid condition "a"`},
		{`rewrite ^ /y sideways`, "invalid parameter"},
		{`return abc`, "invalid return code"},
		{`return 1000 x`, "invalid return code"},
		{`set $host x`, "duplicate"},
		{`set x y`, "invalid variable name"},
	}
	for _, tc := range cases {
		t.Run(tc.site, func(t *testing.T) {
			c := &compiler{ctx: context.Background(), upstreams: map[string]*upstream{}}
			f := strings.Fields(strings.TrimSuffix(tc.site, " { }"))
			d := &ngxconf.Directive{Name: f[0], Args: f[1:]}
			err := c.declareVars([]*ngxconf.Directive{d})
			if err == nil {
				var prog []rwStep
				err = c.rewriteDirective(d, &prog)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMapLookupOrder(t *testing.T) {
	c := &compiler{ctx: context.Background(), upstreams: map[string]*upstream{}}
	entry := func(k, v string) *ngxconf.Directive { return &ngxconf.Directive{Name: k, Args: []string{v}} }
	d := &ngxconf.Directive{Name: "map", Args: []string{"$http_x", "$out"}, Block: []*ngxconf.Directive{
		{Name: "hostnames"},
		entry("default", "def"),
		entry("a.example.com", "exact"),
		entry("*.example.com", "head"),
		entry("*.a.example.com", "longer-head"),
		entry("www.*", "tail"),
		entry("~^www\\.(\\w+)", "re-$1"),
		entry("~*^API", "caseless"),
	}}
	must(t, c.declareVars([]*ngxconf.Directive{d}))
	must(t, c.compileMaps())
	m := c.scope.maps["out"]
	cases := map[string]string{
		"A.Example.com.":  "exact",
		"b.example.com":   "head",
		"x.a.example.com": "longer-head",
		"www.foo":         "tail",
		"api.x":           "caseless",
		"other":           "def",
		"":                "def",
	}
	for in, want := range cases {
		r := &request{headers: []header{{name: []byte("X"), value: []byte(in)}}}
		ec := evalCtx{req: r}
		if got := string(m.appendValue(nil, &ec)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// BenchmarkRewritePhase measures a typical rewrite program: a server-level
// if on a variable, then a rewrite with captures that matches.
func BenchmarkRewritePhase(b *testing.B) {
	c := &compiler{ctx: context.Background(), upstreams: map[string]*upstream{}}
	ds := []*ngxconf.Directive{
		{Name: "if", Args: []string{"($request_method", "=", "POST)"}, Block: []*ngxconf.Directive{{Name: "return", Args: []string{"405"}}}},
		{Name: "rewrite", Args: []string{`^/blog/(\d+)/(.*)$`, "/posts/$2?y=$1", "last"}},
	}
	if err := c.declareVars(ds); err != nil {
		b.Fatal(err)
	}
	var prog []rwStep
	for _, d := range ds {
		if err := c.rewriteDirective(d, &prog); err != nil {
			b.Fatal(err)
		}
	}
	req := &request{method: []byte("GET"), query: []byte("a=1")}
	uri := []byte("/blog/2024/hello-world")
	b.ReportAllocs()
	for b.Loop() {
		ec := evalCtx{req: req, uri: uri}
		var resp rwResponse
		changed := false
		if ec.run(prog, &resp, &changed) != rwLast {
			b.Fatal("rewrite did not match")
		}
	}
}
