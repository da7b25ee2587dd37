package proxy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// linearStatic is the plain definition of nginx's static location search
// that the tree must agree with: an exact location of the URI; else,
// unless a prefix location has the URI as its name, a redirect when the
// URI plus '/' names a proxied location; else the longest prefix.
func linearStatic(static []*location, uri []byte) (*location, staticMatch) {
	var named, slashed, exactSlashed *location
	var best *location
	for _, l := range static {
		switch {
		case l.kind == locExact && l.name == string(uri):
			return l, staticExact
		case l.kind == locExact:
		case l.name == string(uri):
			named = l
		}
		if l.name == string(uri)+"/" && l.kind == locExact {
			exactSlashed = l
		} else if l.name == string(uri)+"/" {
			slashed = l
		}
		if l.kind != locExact && strings.HasPrefix(string(uri), l.name) && (best == nil || len(l.name) > len(best.name)) {
			best = l
		}
	}
	if named == nil && (exactSlashed != nil && exactSlashed.handler != nil || slashed != nil && slashed.handler != nil) {
		if exactSlashed != nil {
			return exactSlashed, staticRedirect
		}
		return slashed, staticRedirect
	}
	if best == nil {
		return nil, staticNone
	}
	return best, staticPrefix
}

// randomLocations makes a level of up to n distinct exact and prefix
// locations over a small alphabet, so names often prefix each other and
// '-' (which sorts before '/' bytewise) tests the tree's order.
func randomLocations(rng *rand.Rand, n int) []*location {
	const alphabet = "/ab-"
	seen := map[string]bool{}
	var out []*location
	for range rng.IntN(n + 1) {
		var b strings.Builder
		if rng.IntN(8) != 0 {
			b.WriteByte('/')
		}
		for range rng.IntN(5) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		l := &location{name: b.String(), kind: []locKind{locPrefix, locExact, locNoRegex}[rng.IntN(3)]}
		key := fmt.Sprint(l.kind == locExact, l.name)
		if seen[key] {
			continue
		}
		seen[key] = true
		if rng.IntN(2) == 0 {
			l.handler = &proxyHandler{}
		}
		out = append(out, l)
	}
	return out
}

func TestLocationTreeAgreesWithLinearSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const uriBytes = "/ab-c\x00"
	for round := range 3000 {
		static := randomLocations(rng, 30)
		tree := newLocationTree(static)
		var uris []string
		for _, l := range static {
			uris = append(uris, l.name, l.name+"/", l.name+"-", l.name+"c")
			if l.name != "" {
				uris = append(uris, l.name[:len(l.name)-1])
			}
		}
		for range 30 {
			b := make([]byte, rng.IntN(8))
			for i := range b {
				b[i] = uriBytes[rng.IntN(len(uriBytes))]
			}
			uris = append(uris, string(b))
		}
		for _, uri := range uris {
			want, wantM := linearStatic(static, []byte(uri))
			got, gotM := tree.find([]byte(uri))
			if gotM == staticRedirect {
				got = got.target
			}
			if got != want || gotM != wantM {
				var names []string
				for _, l := range static {
					names = append(names, fmt.Sprintf("%d:%q(proxied %v)", l.kind, l.name, l.handler != nil))
				}
				t.Fatalf("round %d, locations %s\nURI %q: tree %v (%d), linear %v (%d)", round, strings.Join(names, " "), uri, got, gotM, want, wantM)
			}
		}
	}
}

func TestLocationTreeOrdersSlashFirst(t *testing.T) {
	tests := []struct {
		a, b string
		less bool
	}{
		{"/a", "/a/", true},
		{"/a/", "/a-", true}, // '/' below every other byte
		{"/a-", "/a/", false},
		{"/a/z", "/a0", true},
		{"/a\x00", "/a/", true}, // but NUL below '/'
		{"/b", "/a/", false},
	}
	for _, tc := range tests {
		if got := comparePaths(tc.a, tc.b) < 0; got != tc.less {
			t.Errorf("%q < %q = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
}

func TestLocationSearchDoesNotAllocate(t *testing.T) {
	cfg, err := compileSite(t, `
server {
  listen 8080;
  location / { proxy_pass http://127.0.0.1:1; }
  location /a/ { proxy_pass http://127.0.0.1:2; location /a/b/ { proxy_pass http://127.0.0.1:3; } }
  location = /x/ { proxy_pass http://127.0.0.1:4; }
  location ~ \.php$ { return 403; }
}`)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.sockets[0].wildcard
	for _, uri := range []string{"/", "/a/b/c", "/x", "/x/", "/q.php", "/a"} {
		u := []byte(uri)
		// A regex location's match takes a machine from regexp's pool,
		// which a GC (frequent in a loaded -race run) may have emptied:
		// one clean run out of three shows the search itself allocates
		// nothing.
		var n float64
		for range 3 {
			if n = testing.AllocsPerRun(100, func() { route(g, nil, u) }); n == 0 {
				break
			}
		}
		if n != 0 {
			t.Errorf("%s: %v allocations per search", uri, n)
		}
	}
}

func TestExactProxiedLocationRedirectsTheNameWithoutSlash(t *testing.T) {
	cfg, err := compileSite(t, `
server {
  listen 8080;
  location = /ex/ { proxy_pass http://127.0.0.1:1; }
  location /a-b { return 200; }
  location /a/ { proxy_pass http://127.0.0.1:2; }
  location / { return 200; }
  location ~ ^/ex { return 403; }
}`)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.sockets[0].wildcard
	tests := []struct {
		uri, want string
		kind      locKind
	}{
		{"/ex", "/ex", locRedirect}, // before the regex, as nginx
		{"/ex/", "/ex/", locExact},
		{"/ex/y", "^/ex", locRegex},
		{"/a", "/a", locRedirect}, // "/a-b" sorts after "/a/"
		{"/a-b", "/a-b", locPrefix},
	}
	for _, tc := range tests {
		_, loc := route(g, nil, []byte(tc.uri))
		if loc == nil || loc.name != tc.want || loc.kind != tc.kind {
			t.Errorf("%s -> %+v, want %s (kind %d)", tc.uri, loc, tc.want, tc.kind)
		}
	}
}

func TestWildcardNamesPickTheLongestLikeALinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	labels := []string{"a", "b", "ab", "www", "example", "com"}
	randomHost := func() string {
		parts := make([]string, 1+rng.IntN(4))
		for i := range parts {
			parts[i] = labels[rng.IntN(len(labels))]
		}
		return strings.Join(parts, ".")
	}
	// longest is the linear definition: the longest head that ends the
	// host, else the longest tail that starts it, never the whole host.
	longest := func(parts []string, host string, match func(string, string) bool) string {
		best := ""
		for _, p := range parts {
			if len(host) > len(p) && match(host, p) && len(p) > len(best) {
				best = p
			}
		}
		return best
	}
	for round := range 2000 {
		var w wildcards[string] // each part's value is the part itself
		var heads, tails []string
		for range rng.IntN(12) {
			if part := randomHost(); rng.IntN(2) == 0 {
				w.addHead("."+part, "."+part)
				heads = append(heads, "."+part)
			} else {
				w.addTail(part+".", part+".")
				tails = append(tails, part+".")
			}
		}
		for range 20 {
			host := randomHost()
			want := longest(heads, host, strings.HasSuffix)
			if want == "" {
				want = longest(tails, host, strings.HasPrefix)
			}
			got, ok := w.find([]byte(host))
			if got != want || ok != (want != "") {
				t.Fatalf("round %d: heads %q tails %q host %q: got %q, want %q", round, heads, tails, host, got, want)
			}
		}
	}
}
