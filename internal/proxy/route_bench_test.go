package proxy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRouteAtScale measures server selection by exact name and
// location matching as the config grows to 1,000 servers, the last of
// which holds N prefix locations and a few regex ones. Flat ns/op across
// the sizes shows selection is O(1) in the number of servers.
func BenchmarkRouteAtScale(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("servers=%d,locations=%d", n, n), func(b *testing.B) {
			var conf strings.Builder
			conf.WriteString("upstream u { server unix:/tmp/u.sock; }\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&conf, "server { listen 8080; server_name s%d.example.com; location / { proxy_pass http://u; } }\n", i)
			}
			conf.WriteString("server { listen 8080; server_name target.example.com;\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&conf, "  location /section%d/ { proxy_pass http://u; }\n", i)
			}
			conf.WriteString("  location ~ \\.php$ { return 403; }\n  location ~* \\.(png|jpg)$ { proxy_pass http://u; }\n}\n")
			cfg, err := compileSite(b, conf.String())
			if err != nil {
				b.Fatal(err)
			}
			g := cfg.sockets[0].wildcard
			host := []byte("target.example.com")
			uri := []byte(fmt.Sprintf("/section%d/posts/hello-world/", n/2))
			b.ReportAllocs()
			for b.Loop() {
				s, loc := route(g, host, uri)
				if s == nil || loc == nil {
					b.Fatal("no route")
				}
			}
		})
	}
}
