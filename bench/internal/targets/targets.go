// Package targets knows the systems the benchmark measures: how to write
// each one's config, check it, and the command that starts it.
package targets

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kind is the program behind a target.
type Kind int

const (
	Direct    Kind = iota // the backend itself over TCP, no proxy: the ceiling
	Nginx                 // Debian's nginx
	Caddy                 // Debian's caddy
	HAProxy               // Debian's haproxy
	Wisp                  // wisp proxy -c CONF, built from this repository
	GoBackend             // a fresh backend on its own port, for the idle test only
)

// Target is one system under test.
type Target struct {
	Name        string
	Kind        Kind
	Port        int  // 127.0.0.1:Port is what wrk loads
	TCPUpstream bool // upstream over 127.0.0.1 TCP instead of the Unix socket
	KeepAlive   bool // upstream keep-alive (nginx and wisp: keepalive 32)
}

// Offsets from the base port; the backend's TCP listener is the base port.
const (
	offNginxKA = 1 + iota
	offNginxNoKA
	offNginxTCPKA
	offNginxTCPNoKA
	offCaddy
	offHAProxy
	offWisp
	offWispTCP
	offGoBackend
	offWispNoKA
	offLast = offWispNoKA
)

// Catalog is every target in report order, with ports counted from base.
func Catalog(base int) []Target {
	return []Target{
		{Name: "direct", Kind: Direct, Port: base},
		{Name: "wisp", Kind: Wisp, Port: base + offWisp, KeepAlive: true},
		{Name: "wisp-tcp", Kind: Wisp, Port: base + offWispTCP, TCPUpstream: true, KeepAlive: true},
		{Name: "wisp-noka", Kind: Wisp, Port: base + offWispNoKA},
		{Name: "nginx-ka", Kind: Nginx, Port: base + offNginxKA, KeepAlive: true},
		{Name: "nginx-noka", Kind: Nginx, Port: base + offNginxNoKA},
		{Name: "nginx-tcp-ka", Kind: Nginx, Port: base + offNginxTCPKA, TCPUpstream: true, KeepAlive: true},
		{Name: "nginx-tcp-noka", Kind: Nginx, Port: base + offNginxTCPNoKA, TCPUpstream: true},
		{Name: "caddy", Kind: Caddy, Port: base + offCaddy, KeepAlive: true},
		{Name: "haproxy", Kind: HAProxy, Port: base + offHAProxy, KeepAlive: true},
	}
}

// IdleReference is the Go net/http backend on a port of its own: the idle
// test's reference for what a plain net/http server costs per connection.
func IdleReference(base int) Target {
	return Target{Name: "go-backend", Kind: GoBackend, Port: base + offGoBackend}
}

// Ports is every port the targets and the backend use.
func Ports(base int) []int {
	out := []int{}
	for off := 0; off <= offLast; off++ {
		out = append(out, base+off)
	}
	return out
}

// Select picks targets by name, in catalog order, and rejects unknown names.
func Select(all []Target, names []string) ([]Target, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []Target
	for _, t := range all {
		if want[t.Name] {
			out = append(out, t)
			delete(want, t.Name)
		}
	}
	for n := range want {
		known := make([]string, len(all))
		for i, t := range all {
			known[i] = t.Name
		}
		return nil, fmt.Errorf("unknown target %q (known: %s)", n, strings.Join(known, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets selected")
	}
	return out, nil
}

// Env is what the targets share: the work directory, the backend's
// addresses and the programs.
type Env struct {
	Dir         string // configs go to Dir/conf, runtime files to Dir/run/NAME
	Sock        string // the backend's Unix socket
	BackendAddr string // the backend's TCP address, 127.0.0.1:PORT
	Nginx       string
	Caddy       string
	HAProxy     string
	Wisp        string   // the built wisp binary
	Self        string   // this harness's own binary, which can run the backend
	TLS         TLSFiles // set: every target listens with TLS on this certificate
}

// Launch is how to start a prepared target.
type Launch struct {
	Args   []string // Args[0] is the program
	Env    []string // added to the harness's environment
	Config string   // the config file written, "" if none
}

// Prepare writes the target's config, validates it with the program's own
// checker where there is one, and returns how to start it. Direct has
// nothing to start and returns a nil Launch.
func (t Target) Prepare(ctx context.Context, env Env) (*Launch, error) {
	run := filepath.Join(env.Dir, "run", t.Name)
	conf := filepath.Join(env.Dir, "conf")
	if err := os.MkdirAll(run, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	upstream := "unix:" + env.Sock
	if t.TCPUpstream {
		upstream = env.BackendAddr
	}
	listen := "127.0.0.1:" + strconv.Itoa(t.Port)
	switch t.Kind {
	case Direct:
		return nil, nil
	case GoBackend:
		args := []string{env.Self, "backend", "-tcp", listen}
		if env.TLS.On() {
			args = append(args, "-tls-cert", env.TLS.Cert, "-tls-key", env.TLS.Key)
		}
		return &Launch{Args: args}, nil
	case Nginx, Wisp:
		path := filepath.Join(conf, t.Name+".conf")
		text := NginxConfig(t, listen, upstream, run, env.TLS)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return nil, err
		}
		if t.Kind == Wisp {
			return &Launch{Args: []string{env.Wisp, "proxy", "-c", path}, Config: path}, nil
		}
		args := []string{env.Nginx, "-p", run + "/", "-e", filepath.Join(run, "error.log"), "-c", path}
		if err := check(ctx, append(args, "-t", "-q")...); err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		return &Launch{Args: append(args, "-g", "daemon off;"), Config: path}, nil
	case Caddy:
		path := filepath.Join(conf, "Caddyfile")
		if err := os.WriteFile(path, []byte(CaddyConfig(t.Port, env.Sock, env.TLS)), 0o644); err != nil {
			return nil, err
		}
		// caddy keeps state in the XDG directories; keep it in the run dir.
		xdg := []string{"XDG_CONFIG_HOME=" + filepath.Join(run, "config"), "XDG_DATA_HOME=" + filepath.Join(run, "data")}
		if err := checkEnv(ctx, xdg, env.Caddy, "validate", "--config", path, "--adapter", "caddyfile"); err != nil {
			return nil, fmt.Errorf("caddy: %w", err)
		}
		return &Launch{Args: []string{env.Caddy, "run", "--config", path, "--adapter", "caddyfile"}, Env: xdg, Config: path}, nil
	case HAProxy:
		path := filepath.Join(conf, "haproxy.cfg")
		if err := os.WriteFile(path, []byte(HAProxyConfig(t.Port, env.Sock, run, env.TLS)), 0o644); err != nil {
			return nil, err
		}
		if err := check(ctx, env.HAProxy, "-c", "-q", "-f", path); err != nil {
			return nil, fmt.Errorf("haproxy: %w", err)
		}
		return &Launch{Args: []string{env.HAProxy, "-db", "-f", path}, Config: path}, nil
	}
	return nil, fmt.Errorf("target %s: unknown kind %d", t.Name, t.Kind)
}

func check(ctx context.Context, args ...string) error { return checkEnv(ctx, nil, args...) }

// checkEnv runs a config checker, bounded in time, and returns its output
// as the error when it fails.
func checkEnv(ctx context.Context, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// NginxConfig is the config of an nginx or wisp target. Both get the same
// upstream and server blocks, so that they are measured on the same
// configuration; only nginx gets the process-level plumbing (temp paths,
// lock file, fd limit) that wisp has no use for. With TLS, both listen
// with ssl on tls's certificate, TLS 1.2 and 1.3, session tickets at their
// default (on) and no session cache (nginx's default, none).
func NginxConfig(t Target, listen, upstream, runDir string, tls TLSFiles) string {
	var b strings.Builder
	ka := "no upstream keepalive: HTTP/1.0 and Connection: close per request"
	if t.KeepAlive {
		ka = "upstream keepalive 32"
	}
	fmt.Fprintf(&b, "# target %q: %s -> %s (%s), written by bench/cmd/proxybench\n", t.Name, listen, upstream, ka)
	if t.Kind == Nginx {
		b.WriteString("worker_processes auto;\nworker_rlimit_nofile 20000;\n")
		fmt.Fprintf(&b, "lock_file %s;\n", filepath.Join(runDir, "nginx.lock"))
	}
	fmt.Fprintf(&b, "pid %s;\nerror_log %s warn;\n\n", filepath.Join(runDir, "proxy.pid"), filepath.Join(runDir, "error.log"))
	// The default 512 connections per worker cannot hold the 2,000-connection
	// idle test.
	b.WriteString("events {\n    worker_connections 10000;\n}\n\nhttp {\n")
	// Both log nothing per request: wisp, like nginx, writes an access log
	// by default, and one write per request is not what is measured here.
	b.WriteString("    access_log off;\n")
	if t.Kind == Nginx {
		for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			fmt.Fprintf(&b, "    %s_temp_path %s;\n", tmp, filepath.Join(runDir, tmp+"_temp"))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "    upstream app {\n        server %s;\n", upstream)
	if t.KeepAlive {
		b.WriteString("        keepalive 32;\n")
	}
	b.WriteString("    }\n\n")
	if tls.On() {
		fmt.Fprintf(&b, "    server {\n        listen %s ssl;\n", listen)
		fmt.Fprintf(&b, "        ssl_certificate %s;\n        ssl_certificate_key %s;\n", tls.Cert, tls.Key)
		b.WriteString("        ssl_protocols TLSv1.2 TLSv1.3;\n")
	} else {
		fmt.Fprintf(&b, "    server {\n        listen %s;\n", listen)
	}
	b.WriteString("\n        location / {\n            proxy_pass http://app;\n")
	if t.KeepAlive {
		b.WriteString("            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n")
	}
	b.WriteString(`            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`)
	return b.String()
}

// CaddyConfig proxies to the Unix socket with caddy's defaults (keep-alive
// on); the admin endpoint and automatic HTTPS are off so that caddy touches
// no port but its own. With TLS it serves tls's certificate (TLS 1.2 and
// 1.3 and session tickets are caddy's defaults), over HTTP/1.1 and HTTP/2
// only: HTTP/3 would take a UDP port as well.
func CaddyConfig(port int, sock string, tls TLSFiles) string {
	scheme, site, servers := "http", "", ""
	if tls.On() {
		scheme = "https"
		site = fmt.Sprintf("\ttls %s %s {\n\t\tprotocols tls1.2 tls1.3\n\t}\n", tls.Cert, tls.Key)
		servers = "\tservers {\n\t\tprotocols h1 h2\n\t}\n"
	}
	return fmt.Sprintf(`# caddy target: 127.0.0.1:%d -> unix:%s, written by bench/cmd/proxybench
{
	admin off
	auto_https off
	grace_period 1s
%s}

%s://:%d {
	bind 127.0.0.1
%s	reverse_proxy unix/%s
}
`, port, sock, servers, scheme, port, site, sock)
}

// HAProxyConfig proxies to the Unix socket in HTTP mode with server-side
// keep-alive (haproxy's default connection reuse, http-reuse safe). With
// TLS the bind has ssl on tls's combined PEM, TLS 1.2 and 1.3, tickets at
// haproxy's default (on).
func HAProxyConfig(port int, sock, runDir string, tls TLSFiles) string {
	ssl := ""
	if tls.On() {
		ssl = " ssl crt " + tls.Combined + " ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3"
	}
	return fmt.Sprintf(`# haproxy target: 127.0.0.1:%d -> unix:%s, written by bench/cmd/proxybench
global
    maxconn 8000
    pidfile %s

defaults
    mode http
    option http-keep-alive
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    maxconn 8000

frontend fe
    bind 127.0.0.1:%d%s
    default_backend be

backend be
    server s1 %s
`, port, sock, filepath.Join(runDir, "haproxy.pid"), port, ssl, sock)
}
