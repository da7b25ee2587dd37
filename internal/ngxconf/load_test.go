package ngxconf

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func configsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/configs")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDebianLayoutLoadsAndDumpsLikeNginx loads a Debian-style nginx.conf
// with mime.types, conf.d and sites-enabled (Ghost-CLI's HTTP and SSL site
// templates, the SSL one including ssl-params.conf), requires the real nginx
// to accept it too, and requires Dump to equal nginx -T's stdout.
func TestDebianLayoutLoadsAndDumpsLikeNginx(t *testing.T) {
	dir := filepath.Join(configsDir(t), "debian")
	conf := filepath.Join(dir, "nginx.conf")
	tmp := t.TempDir()
	globals := baseGlobals(tmp)
	cfg, err := Load(Options{ConfFile: conf, Globals: globals})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if msg := nginxTest(t, tmp, dir+"/", conf, globals); msg != "" {
		t.Fatalf("the real nginx rejects the fixture: %s", msg)
	}
	out, err := exec.Command(nginxBin, "-T", "-q", "-p", dir+"/", "-c", conf, "-g", globals).Output()
	if err != nil {
		t.Fatalf("nginx -T: %v", err)
	}
	if got := Dump(cfg); got != string(out) {
		t.Errorf("Dump differs from nginx -T\n--- nginx\n%.2000s\n--- ours\n%.2000s", out, got)
	}
	if cfg.ConfFile != conf || cfg.Prefix != dir+"/" {
		t.Errorf("ConfFile, Prefix = %q, %q", cfg.ConfFile, cfg.Prefix)
	}
}

// TestBareSiteFileIsWrappedInHTTP loads the seed's sites-available file on
// its own. Real nginx refuses it (server is not allowed at main level); we
// accept it on purpose, wrapping its top level in a synthesized http block.
func TestBareSiteFileIsWrappedInHTTP(t *testing.T) {
	conf := filepath.Join(configsDir(t), "igu.io")
	tmp := t.TempDir()
	globals := baseGlobals(tmp)
	if msg := nginxTest(t, tmp, tmp+"/", conf, globals); !strings.HasPrefix(msg, `"server" directive is not allowed here in `+conf+":1") {
		t.Errorf("expected the real nginx to reject a bare site file, got %q", msg)
	}
	cfg, err := Load(Options{ConfFile: conf, Globals: globals})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := shape(cfg.Main)
	want := "pid[1] error_log[1] http{server{listen[1] server_name[1] location[1]{proxy_pass[1]}} upstream[1]{server[2]}}"
	if got != want {
		t.Errorf("tree\n got %s\nwant %s", got, want)
	}
	http := cfg.Main[2]
	if http.Pos != (Pos{File: conf, Line: 1}) || !http.IsBlock {
		t.Errorf("synthesized http at %v, IsBlock %v; want the first directive's position", http.Pos, http.IsBlock)
	}
	up := http.Block[1].Block[0]
	if !reflect.DeepEqual(up.Args, []string{"unix:/tmp/igu-io.sock", "fail_timeout=0"}) || up.Pos.Line != 10 {
		t.Errorf("upstream server = %q at %v", up.Args, up.Pos)
	}
}

// shape renders a tree compactly: name[args]{children}.
func shape(ds []*Directive) string {
	var parts []string
	for _, d := range ds {
		s := d.Name
		if len(d.Args) > 0 {
			s += "[" + itoa(len(d.Args)) + "]"
		}
		if d.IsBlock {
			s += "{" + shape(d.Block) + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func loadTree(t *testing.T, files tree, globals string) (*Config, string, error) {
	t.Helper()
	dir := writeTree(t, files)
	cfg, err := Load(Options{ConfFile: filepath.Join(dir, "nginx.conf"), Globals: globals})
	return cfg, dir, err
}

func TestLoadBuildsTheTree(t *testing.T) {
	cases := []struct {
		name  string
		files tree
		want  string
	}{
		{"includes are expanded in place, globs in sorted order",
			tree{"nginx.conf": "events {}\nhttp {\n include s/*.conf;\n server_tokens off;\n}\n",
				"s/b.conf": "server { listen 2; }\n", "s/a.conf": "server { listen 1; }\n"},
			"http{server{listen[1]} server{listen[1]} server_tokens[1]}"},
		{"ignored directives leave the tree",
			tree{"nginx.conf": "worker_processes 2;\nevents { worker_connections 10; }\nhttp {\n sendfile on;\n tcp_nopush on;\n server {}\n}\n"},
			"http{server{}}"},
		{"empty block and simple directive differ",
			tree{"nginx.conf": "events {}\nhttp { server {} }\n"},
			"http{server{}}"},
		{"map entries are kept as data",
			tree{"nginx.conf": "events {}\nhttp {\n map $http_upgrade $connection_upgrade {\n  default upgrade;\n  '' close;\n }\n}\n"},
			"http{map[2]{default[1] [1]}}"},
		{"a bare file with main-level directives keeps them in main",
			tree{"nginx.conf": "error_log stderr;\nserver { listen 1; }\nupstream u { server unix:/x; }\n"},
			"error_log[1] http{server{listen[1]} upstream[1]{server[1]}}"},
		{"include in a bare file is wrapped with its site",
			tree{"nginx.conf": "include sites/*;\n", "sites/a": "server { listen 1; }\n", "sites/b": "server { listen 2; }\n"},
			"http{server{listen[1]} server{listen[1]}}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := loadTree(t, tc.files, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := shape(cfg.Main); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestIgnoredDirectivesAreReported(t *testing.T) {
	cfg, _, err := loadTree(t, tree{"nginx.conf": "worker_processes 2;\nevents { worker_connections 10; }\nhttp {\n sendfile on;\n}\n"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range cfg.Ignored {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, " "); got != "worker_processes events sendfile" {
		t.Errorf("Ignored = %s", got)
	}
	if ev := cfg.Ignored[1]; len(ev.Block) != 1 || ev.Block[0].Name != "worker_connections" {
		t.Errorf("events keeps its children: %s", shape(ev.Block))
	}
}

func TestArgumentsAreUnquotedAndUnescaped(t *testing.T) {
	conf := "events {}\nhttp {\n server {\n" +
		`  add_header X-A "a b;{}#" always;` + "\n" +
		`  add_header 'X-B' 'it\'s' ;` + "\n" +
		`  add_header X-C a\"b\\c\.d;` + "\n" +
		`  add_header X-D "tab\there\nnl\rcr";` + "\n" +
		`  add_header X-E "";` + "\n" +
		`  rewrite ^/(\d+)/${x}$ /$1;` + "\n" +
		"  add_header\n   X-F\n   f;\n" +
		" }\n}\n"
	cfg, _, err := loadTree(t, tree{"nginx.conf": conf}, "")
	if err != nil {
		t.Fatal(err)
	}
	server := cfg.Main[0].Block[0]
	want := []struct {
		args   []string
		quoted []bool
		line   int
	}{
		{[]string{"X-A", "a b;{}#", "always"}, []bool{false, true, false}, 4},
		{[]string{"X-B", "it's"}, []bool{true, true}, 5},
		{[]string{"X-C", `a"b\c\.d`}, []bool{false, false}, 6},
		{[]string{"X-D", "tab\there\nnl\rcr"}, []bool{false, true}, 7},
		{[]string{"X-E", ""}, []bool{false, true}, 8},
		{[]string{`^/(\d+)/${x}$`, "/$1"}, []bool{false, false}, 9},
		{[]string{"X-F", "f"}, []bool{false, false}, 12},
	}
	if len(server.Block) != len(want) {
		t.Fatalf("got %d directives: %s", len(server.Block), shape(server.Block))
	}
	for i, w := range want {
		d := server.Block[i]
		if !reflect.DeepEqual(d.Args, w.args) || !reflect.DeepEqual(d.Quoted, w.quoted) || d.Pos.Line != w.line {
			t.Errorf("directive %d: args %q quoted %v line %d; want %q %v %d", i, d.Args, d.Quoted, d.Pos.Line, w.args, w.quoted, w.line)
		}
	}
}

func TestGlobalsAreMainDirectivesReadFirst(t *testing.T) {
	cfg, _, err := loadTree(t, tree{"nginx.conf": "events {}\nhttp {}\n"}, "daemon off; master_process off;")
	if err != nil {
		t.Fatal(err)
	}
	if got := shape(cfg.Main); got != "daemon[1] master_process[1] http{}" {
		t.Errorf("Main = %s", got)
	}
	if p := cfg.Main[0].Pos; p.String() != "command line" {
		t.Errorf("-g position = %q", p)
	}
}

func TestEachFileIsListedOnceInReadOrder(t *testing.T) {
	cfg, dir, err := loadTree(t, tree{
		"nginx.conf": "events {}\nhttp {\n include a.conf;\n server { include a.conf; }\n include b.conf;\n}\n",
		"a.conf":     "server_tokens off;\n",
		"b.conf":     "",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range cfg.Files {
		got = append(got, strings.TrimPrefix(f.Path, dir+"/"))
	}
	if strings.Join(got, " ") != "nginx.conf a.conf b.conf" {
		t.Errorf("Files = %v", got)
	}
}

func TestRunawayIncludesFailClearly(t *testing.T) {
	deep := tree{"nginx.conf": "events {}\ninclude d0.conf;\n"}
	for i := 0; i < 40; i++ {
		deep["d"+itoa(i)+".conf"] = "include d" + itoa(i+1) + ".conf;\n"
	}
	cases := []struct {
		name  string
		files tree
		want  string
	}{
		{"a file including itself", tree{"nginx.conf": "events {}\ninclude self.conf;\n", "self.conf": "\ninclude self.conf;\n"},
			`include of "DIR/self.conf" is recursive (it includes itself, directly or indirectly) in DIR/self.conf:2`},
		{"a cycle through two files", tree{"nginx.conf": "events {}\ninclude a.conf;\n", "a.conf": "include b.conf;\n", "b.conf": "include a.conf;\n"},
			`include of "DIR/a.conf" is recursive (it includes itself, directly or indirectly) in DIR/b.conf:1`},
		{"a glob matching its own file", tree{"nginx.conf": "events {}\nhttp { include s/*; }\n", "s/a": "include s/*;\n"},
			`include of "DIR/s/a" is recursive (it includes itself, directly or indirectly) in DIR/s/a:1`},
		{"nesting too deep", deep,
			`includes nested deeper than 32 levels at "DIR/d31.conf" in DIR/d30.conf:1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, dir, err := loadTree(t, tc.files, "")
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("want *Error, got %v", err)
			}
			if got := strings.ReplaceAll(err.Error(), dir, "DIR"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestUnreadableFilesAreWordedAsNginx(t *testing.T) {
	dir := writeTree(t, tree{"nginx.conf": "events {}\nhttp {\n include sub;\n}\n", "sub/x": ""})
	_, err := Load(Options{ConfFile: filepath.Join(dir, "nginx.conf")})
	want := nginxTest(t, dir, dir+"/", filepath.Join(dir, "nginx.conf"), baseGlobals(dir))
	if got := strings.ReplaceAll(err.Error(), dir, "DIR"); got != want {
		t.Errorf("including a directory:\nnginx: %s\nwe:    %s", want, got)
	}
}

func TestPrefixDefaultsToTheConfigDirectory(t *testing.T) {
	dir := writeTree(t, tree{"nginx.conf": "events {}\nhttp {}\n"})
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, filepath.Join(dir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{ConfFile: rel})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConfFile != filepath.Join(dir, "nginx.conf") || cfg.Prefix != dir+"/" {
		t.Errorf("ConfFile %q Prefix %q", cfg.ConfFile, cfg.Prefix)
	}
	if _, err := Load(Options{}); err == nil {
		t.Error("Load without a file must fail")
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Error(err)
	}
}
