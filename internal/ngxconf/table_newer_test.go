package ngxconf

import "testing"

func TestNewerDirectivesAreNotInTheGeneratedTable(t *testing.T) {
	for name := range newerTable {
		if _, ok := table[name]; ok {
			t.Errorf("%s is in the generated table now: drop it from newerTable", name)
		}
	}
}

// TestProbedNginxLacksTheNewerDirectives keeps the hand-written entries
// honest: the probed nginx must not know them, or the generated table
// should carry them instead.
func TestProbedNginxLacksTheNewerDirectives(t *testing.T) {
	for name := range newerTable {
		dir := writeTree(t, tree{"nginx.conf": "events {}\nhttp {\n " + name + " on;\n}\n"})
		got := nginxTest(t, dir, dir, dir+"/nginx.conf", baseGlobals(dir))
		if want := `unknown directive "` + name + `" in DIR/nginx.conf:3`; got != want {
			t.Errorf("nginx on %s: %q, want %q", name, got, want)
		}
	}
}

// TestHTTP2DirectiveAsNginx125Documents: "http2 on|off" in http and
// server only, a flag, once per level.
func TestHTTP2DirectiveAsNginx125Documents(t *testing.T) {
	cases := []struct {
		name, http, want string
	}{
		{"in http", "http2 on;\n server {\n  listen 1;\n }\n", ""},
		{"in server", "server {\n  http2 off;\n }\n", ""},
		{"flag values are case-insensitive", "http2 ON;\n", ""},
		{"in http and again in server", "http2 on;\n server {\n  http2 off;\n }\n", ""},
		{"not in a location", "server {\n  location / {\n   http2 on;\n  }\n }\n",
			`"http2" directive is not allowed here in DIR/nginx.conf:5`},
		{"duplicate at one level", "server {\n  http2 on;\n  http2 on;\n }\n",
			`"http2" directive is duplicate in DIR/nginx.conf:5`},
		{"not a flag value", "http2 yes;\n",
			`invalid value "yes" in "http2" directive, it must be "on" or "off" in DIR/nginx.conf:3`},
		{"no argument", "http2;\n", `invalid number of arguments in "http2" directive in DIR/nginx.conf:3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, tree{"nginx.conf": "events {}\nhttp {\n " + tc.http + "}\n"})
			got := ourTest(dir, dir, dir+"/nginx.conf", baseGlobals(dir))
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
