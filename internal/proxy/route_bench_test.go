package proxy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRouteAtScale measures server selection by exact name and
// location matching as the config grows to 1,000 servers, the last of
// which holds N prefix locations (sections, each with three deeper ones),
// a catch-all and two regex locations. Three URIs: one matching a
// section, one matching the deepest location of a section, and one only
// the catch-all matches, so that both regexes are tried. Flat ns/op
// across the sizes shows selection is O(1) in the number of servers and
// matching grows with the URI, not the number of locations.
func BenchmarkRouteAtScale(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		var conf strings.Builder
		conf.WriteString("upstream u { server unix:/tmp/u.sock; }\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&conf, "server { listen 8080; server_name s%d.example.com; location / { proxy_pass http://u; } }\n", i)
		}
		conf.WriteString("server { listen 8080; server_name target.example.com;\n  location / { proxy_pass http://u; }\n")
		sections := max(n/4, 1)
		for i := 0; i < sections; i++ {
			for _, sub := range []string{"", "archive/", "archive/2024/", "archive/2024/11/"} {
				fmt.Fprintf(&conf, "  location /section%d/%s { proxy_pass http://u; }\n", i, sub)
			}
		}
		conf.WriteString("  location ~ \\.php$ { return 403; }\n  location ~* \\.(png|jpg)$ { proxy_pass http://u; }\n}\n")
		cfg, err := compileSite(b, conf.String())
		if err != nil {
			b.Fatal(err)
		}
		g := cfg.sockets[0].wildcard
		host := []byte("target.example.com")
		mid := sections / 2
		for _, u := range []struct{ kind, uri, want string }{
			{"prefix", fmt.Sprintf("/section%d/posts/hello-world/", mid), fmt.Sprintf("/section%d/", mid)},
			{"deep", fmt.Sprintf("/section%d/archive/2024/11/25/hello-world/", mid), fmt.Sprintf("/section%d/archive/2024/11/", mid)},
			{"regex", "/content/images/2024/11/photo.jpg", `\.(png|jpg)$`},
		} {
			b.Run(fmt.Sprintf("servers=%d,locations=%d,uri=%s", n, 4*sections+3, u.kind), func(b *testing.B) {
				uri := []byte(u.uri)
				if _, loc := route(g, host, uri); loc == nil || loc.name != u.want {
					b.Fatalf("%s matched %v, want %s", u.uri, loc, u.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					route(g, host, uri)
				}
			})
		}
	}
}

// BenchmarkServerByWildcardAtScale measures server selection when the
// host matches only a leading wildcard, among N servers with one leading
// and one trailing wildcard name each.
func BenchmarkServerByWildcardAtScale(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			var conf strings.Builder
			for i := 0; i < n; i++ {
				fmt.Fprintf(&conf, "server { listen 8080; server_name *.s%d.example.com www.s%d.*; return 204; }\n", i, i)
			}
			cfg, err := compileSite(b, conf.String())
			if err != nil {
				b.Fatal(err)
			}
			g := cfg.sockets[0].wildcard
			host := []byte(fmt.Sprintf("blog.team.s%d.example.com", n/2))
			if s, want := g.find(host), fmt.Sprintf("*.s%d.example.com", n/2); string(s.name) != want {
				b.Fatalf("%s matched %s, want %s", host, s.name, want)
			}
			b.ReportAllocs()
			for b.Loop() {
				g.find(host)
			}
		})
	}
}

// BenchmarkCompileAtScale measures loading and compiling a config of N
// servers with a location each plus one server with N locations; ns/op
// divided by N should stay flat (no step is quadratic in the config).
func BenchmarkCompileAtScale(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("servers=%d,locations=%d", n, n), func(b *testing.B) {
			var conf strings.Builder
			conf.WriteString("upstream u { server unix:/tmp/u.sock; }\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&conf, "server { listen 8080; server_name s%d.example.com *.w%d.example.com; location / { proxy_pass http://u; } }\n", i, i)
			}
			conf.WriteString("server { listen 8080; server_name target.example.com;\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&conf, "  location /section%d/ { proxy_pass http://u; }\n", i)
			}
			conf.WriteString("}\n")
			for b.Loop() {
				if _, err := compileSite(b, conf.String()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
