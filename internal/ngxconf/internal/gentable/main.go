// Command gentable regenerates ngxconf's directive table by probing a real
// nginx binary: it collects candidate names from the binary's strings, asks
// "nginx -t" which ones exist, in which contexts, with which argument
// counts, and which reject a second occurrence as duplicate, then prints
// table_gen.go. Run from the module root:
//
//	go run ./internal/ngxconf/internal/gentable > internal/ngxconf/table_gen.go
//
// It runs a few thousand "nginx -t" and takes a few minutes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// contexts wraps a directive line in each context, as a full config; the
// order is ngxconf's ctxMask bit order.
var contexts = []struct{ name, pre, post string }{
	{"cM", "events {}\n", "\n"},
	{"cE", "events {\n", "\n}\n"},
	{"cH", "events {}\nhttp {\n", "\n}\n"},
	{"cS", "events {}\nhttp {\nserver {\n", "\n}\n}\n"},
	{"cL", "events {}\nhttp {\nserver {\nlocation / {\n", "\n}\n}\n}\n"},
	{"cU", "events {}\nhttp {\nupstream u {\nserver 127.0.0.1:1;\n", "\n}\n}\n"},
	{"cSIF", "events {}\nhttp {\nserver {\nif ($a) {\n", "\n}\n}\n}\n"},
	{"cLIF", "events {}\nhttp {\nserver {\nlocation / {\nif ($a) {\n", "\n}\n}\n}\n}\n"},
	{"cLMT", "events {}\nhttp {\nserver {\nlocation / {\nlimit_except GET {\n", "\n}\n}\n}\n}\n"},
}

// blocks are written by hand: what a block's body holds is not visible
// from outside.
var blocks = map[string]string{
	"events":        "{{ctx: cM, args: arg0, block: true, body: cE, unique: true}}",
	"http":          "{{ctx: cM, args: arg0, block: true, body: cH, unique: true}}",
	"server":        "{{ctx: cH, args: arg0, block: true, body: cS}, {ctx: cU, args: arg1More}}",
	"location":      "{{ctx: cS | cL, args: arg1 | arg2, block: true, body: cL}}",
	"limit_except":  "{{ctx: cL, args: arg1More, block: true, body: cLMT}}",
	"if":            "{{ctx: cS | cL, args: arg1More, block: true, body: ctxIf}}",
	"upstream":      "{{ctx: cH, args: arg1, block: true, body: cU}}",
	"types":         "{{ctx: cHSL, args: arg0, block: true, entries: entriesTypes}}",
	"map":           "{{ctx: cH, args: arg2, block: true, entries: entriesMap}}",
	"geo":           "{{ctx: cH, args: arg1 | arg2, block: true, entries: entriesGeo}}",
	"split_clients": "{{ctx: cH, args: arg2, block: true, entries: entriesSplitClients}}",
	"charset_map":   "{{ctx: cH, args: arg2, block: true, entries: entriesCharsetMap}}",
}

// handUnique lists single-valued directives for which no generic sample
// value passes nginx's value check, so the duplicate probe cannot tell.
var handUnique = strings.Fields(`user pid debug_points ssl_engine zone proxy_http_version gzip_http_version
	autoindex_format limit_req_log_level limit_req_status limit_conn_log_level limit_conn_status
	proxy_store_access fastcgi_store_access scgi_store_access uwsgi_store_access proxy_ssl_password_file
	grpc_ssl_password_file uwsgi_ssl_password_file fastcgi_split_path_info memcached_pass dav_access`)

// notUnique lists directives the duplicate probe flags only because its
// sample is a value that excludes any other ("proxy_redirect off"); other
// repetitions are valid, so the compiler checks them.
var notUnique = strings.Fields(`proxy_redirect`)

// samples are tried as argument values until one passes nginx -t; "FILE"
// stands for an existing file.
var samples = []string{"on", "10s", "1k", "1", "x", "FILE", "off", "any", "all", "GET", "$host", "127.0.0.1", "utf-8", "text/plain", "epoll"}

var emerg = regexp.MustCompile(`\[(?:emerg|crit)\] (?:\d+#\d+: )?(.*)`)

type prober struct {
	bin string
	dir string
}

// test runs nginx -t on conf and returns its error text, "" on success.
func (p prober) test(conf string) string {
	path := filepath.Join(p.dir, "t.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		log.Fatal(err)
	}
	out, err := exec.Command(p.bin, "-t", "-p", p.dir+"/", "-c", path, "-g", "pid "+p.dir+"/x.pid; error_log stderr;").CombinedOutput()
	if m := emerg.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	if err != nil {
		return "failed without a message"
	}
	return ""
}

type entry struct {
	name   string
	ctx    []string
	args   []int
	flag   bool
	unique bool
}

// probe finds a directive's contexts and argument counts; ok is false when
// nginx does not know the name.
func (p prober) probe(name string) (e entry, ok bool) {
	e.name = name
	first := -1
	block := false
	for i, c := range contexts {
		msg := p.test(c.pre + name + ";" + c.post)
		if strings.Contains(msg, "unknown directive") {
			return e, false
		}
		if strings.Contains(msg, "is not allowed here") {
			continue
		}
		block = block || strings.Contains(msg, "has no opening")
		e.ctx = append(e.ctx, c.name)
		if first < 0 {
			first = i
		}
	}
	if first < 0 || block {
		return e, true
	}
	c := contexts[first]
	for n := 0; n <= 8; n++ {
		msg := p.test(c.pre + name + strings.Repeat(" xyz", n) + ";" + c.post)
		if strings.Contains(msg, "invalid number of arguments in") {
			continue
		}
		e.flag = e.flag || strings.Contains(msg, `must be "on" or "off"`)
		e.args = append(e.args, n)
	}
	if len(e.args) > 0 {
		for _, v := range samples {
			if v == "FILE" {
				v = filepath.Join(p.dir, "sample")
			}
			line := name + strings.Repeat(" "+v, e.args[0]) + ";"
			if p.test(c.pre+line+c.post) != "" {
				continue
			}
			e.unique = strings.Contains(p.test(c.pre+line+"\n"+line+c.post), "is duplicate")
			break
		}
	}
	for _, u := range handUnique {
		e.unique = e.unique || u == name
	}
	for _, u := range notUnique {
		e.unique = e.unique && u != name
	}
	return e, true
}

// candidates are the binary's lower-case words and every "_"-separated
// tail of them (linkers merge a string into another that ends with it:
// "keepalive" lives inside "proxy_socket_keepalive"), plus the names of the
// seed table, since a few names ("ip_hash") do not appear as words at all.
func candidates(bin, seed string) []string {
	data, err := os.ReadFile(bin)
	if err != nil {
		log.Fatal(err)
	}
	word := regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)
	seen := map[string]bool{}
	if old, err := os.ReadFile(seed); err == nil {
		for _, m := range regexp.MustCompile(`(?m)^\t"([a-z0-9_]+)":`).FindAllSubmatch(old, -1) {
			seen[string(m[1])] = true
		}
	}
	for _, run := range regexp.MustCompile(`[a-z][a-z0-9_]+`).FindAll(data, -1) {
		w := string(run)
		if !word.MatchString(w) {
			continue
		}
		seen[w] = true
		for i := range len(w) {
			if w[i] == '_' && word.MatchString(w[i+1:]) {
				seen[w[i+1:]] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

func argExpr(e entry) string {
	if e.flag {
		return "argFlag"
	}
	a := e.args
	if len(a) > 0 && a[len(a)-1] == 8 && a[0] >= 1 && a[0] <= 2 && len(a) == 9-a[0] {
		return fmt.Sprintf("arg%dMore", a[0])
	}
	var parts []string
	for _, n := range a {
		parts = append(parts, fmt.Sprintf("arg%d", n))
	}
	return strings.Join(parts, "|")
}

func ctxExpr(ctx []string) string {
	has := map[string]bool{}
	for _, c := range ctx {
		has[c] = true
	}
	if len(ctx) == len(contexts) {
		return "ctxAny"
	}
	var parts []string
	if has["cH"] && has["cS"] && has["cL"] {
		parts = append(parts, "cHSL")
		delete(has, "cH")
		delete(has, "cS")
		delete(has, "cL")
	}
	for _, c := range contexts {
		if has[c.name] {
			parts = append(parts, c.name)
		}
	}
	return strings.Join(parts, "|")
}

func (e entry) spec() string {
	if b, ok := blocks[e.name]; ok {
		return b
	}
	u := ""
	if e.unique {
		u = ", unique: true"
	}
	// keepalive_* exist in http core and, with one argument, in upstream.
	var rest []string
	for _, c := range e.ctx {
		if c != "cU" {
			rest = append(rest, c)
		}
	}
	if strings.HasPrefix(e.name, "keepalive") && len(rest) > 0 && len(rest) < len(e.ctx) {
		return fmt.Sprintf("{{ctx: %s, args: %s%s}, {ctx: cU, args: arg1%s}}", ctxExpr(rest), argExpr(e), u, u)
	}
	return fmt.Sprintf("{{ctx: %s, args: %s%s}}", ctxExpr(e.ctx), argExpr(e), u)
}

func main() {
	bin := flag.String("nginx", "/usr/sbin/nginx", "the nginx binary to probe")
	workers := flag.Int("j", 3, "parallel nginx runs")
	seed := flag.String("seed", "internal/ngxconf/table_gen.go", "a previous table whose names are probed too (missing is fine)")
	flag.Parse()
	names := candidates(*bin, *seed)
	found := make([]*entry, len(names))
	var wg sync.WaitGroup
	work := make(chan int)
	for w := range *workers {
		dir, err := os.MkdirTemp("", fmt.Sprintf("gentable%d-", w))
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "sample"), []byte("x\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		p := prober{bin: *bin, dir: dir}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if e, ok := p.probe(names[i]); ok {
					found[i] = &e
				}
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()

	var b bytes.Buffer
	version, _ := exec.Command(*bin, "-v").CombinedOutput()
	fmt.Fprintf(&b, "// Code generated by internal/gentable from %s (%s); DO NOT EDIT.\n\npackage ngxconf\n\n", *bin, strings.TrimSpace(string(version)))
	b.WriteString(`// table lists every directive compiled into the probed nginx binary (its
// built-in modules, not the dynamic ones that need load_module), with the
// contexts and argument counts its module tables declare, found by running
// "nginx -t" on probe configs. unique marks the directives whose handler
// rejects a second occurrence at the same level with "is duplicate". It is
// read-only after initialisation; TestTableMatchesNginx re-checks it.
var table = map[string][]spec{
`)
	for _, e := range found {
		if e != nil {
			fmt.Fprintf(&b, "\t%q: %s,\n", e.name, e.spec())
		}
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(src)
}
