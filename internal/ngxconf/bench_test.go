package ngxconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigConfig has n server blocks, each with one upstream-backed location, and
// one server with n locations of mixed kinds: the 1,000 x 1,000.
func bigConfig(n int) string {
	var b strings.Builder
	b.WriteString("worker_processes auto;\nevents { worker_connections 1024; }\nhttp {\n")
	b.WriteString(" map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n")
	for i := range n {
		fmt.Fprintf(&b, " upstream u%d {\n  server unix:/run/site%d.sock fail_timeout=0;\n }\n", i, i)
		fmt.Fprintf(&b, " server {\n  listen 80;\n  server_name site%d.example.com www.site%d.example.com;\n", i, i)
		fmt.Fprintf(&b, "  location / {\n   proxy_set_header Host $http_host;\n   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n   proxy_pass http://u%d;\n  }\n }\n", i)
	}
	b.WriteString(" server {\n  listen 80 default_server;\n  server_name _;\n")
	for i := range n {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "  location /p%d/ { proxy_pass http://u0; }\n", i)
		case 1:
			fmt.Fprintf(&b, "  location = /e%d { return 204; }\n", i)
		case 2:
			fmt.Fprintf(&b, "  location ~ ^/r%d/(\\d+)$ { return 301 /p/$1; }\n", i)
		default:
			fmt.Fprintf(&b, "  location ^~ /s%d/ { root /var/www; try_files $uri =404; }\n", i)
		}
	}
	b.WriteString(" }\n}\n")
	return b.String()
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("servers=%d,locations=%d", n, n), func(b *testing.B) {
			conf := filepath.Join(b.TempDir(), "nginx.conf")
			src := bigConfig(n)
			if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(Options{ConfFile: conf}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n), "ns/block")
		})
	}
}

func BenchmarkLex(b *testing.B) {
	src := []byte(bigConfig(1000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		lx := newLexer("bench.conf", src)
		for {
			st, err := lx.next()
			if err != nil {
				b.Fatal(err)
			}
			if st.end == endEOF {
				break
			}
		}
	}
}

func TestBigConfigLoads(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	if err := os.WriteFile(conf, []byte(bigConfig(1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{ConfFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	http := cfg.Main[0]
	if http.Name != "http" || len(http.Block) != 1+2*1000+1 || len(http.Block[2001].Block) != 2+1000 {
		t.Errorf("unexpected shape: %d http children", len(http.Block))
	}
}
