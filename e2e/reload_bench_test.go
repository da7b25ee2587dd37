package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkReloadUnderLoad measures what ten reloads cost the clients of
// a steady keep-alive load, for wisp and for Debian's nginx on the same
// config, backend and client loop (8 connections; a reload every 300 ms).
// It is a measurement, not a test: run it with
//
//	go test -run XXX -bench ReloadUnderLoad -benchtime 1x ./e2e/
//
// and read failed-reqs (refused, reset or cut responses) and closed-conns
// (keep-alive connections the server closed). nginx's old workers close
// their connections, wisp's connections take the new config instead.
func BenchmarkReloadUnderLoad(b *testing.B) {
	for _, name := range []string{"wisp", "nginx"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				reloadsUnderLoad(b, name)
			}
		})
	}
}

func reloadsUnderLoad(b *testing.B, name string) {
	dir, err := os.MkdirTemp("/tmp", "wisp-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // nginx's workers run as another user
	sock := filepath.Join(dir, "app.sock")
	genBackend(b, sock)
	os.Chmod(sock, 0o666)
	port := loopbackPort(b)
	conf := filepath.Join(dir, "proxy.conf")
	write := func(gen int) {
		c := reloadConf(dir, sock, port, gen)
		if name == "nginx" {
			c = strings.Replace(c, "http {", "http {\n    client_body_temp_path "+dir+"/b; proxy_temp_path "+dir+"/p;", 1)
		}
		if err := os.WriteFile(conf, []byte(c), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write(0)
	bin, args := wispBin, []string{"proxy", "-c", conf}
	if name == "nginx" {
		bin, args = "/usr/sbin/nginx", []string{"-p", dir + "/", "-c", conf, "-g", "daemon off;"}
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	lc := &loadClient{addr: "127.0.0.1:" + strconv.Itoa(port), gens: map[string]int{}}
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(filepath.Join(dir, "wisp.pid")); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); lc.run(ctx) }()
	}
	time.Sleep(500 * time.Millisecond)
	for gen := 1; gen <= 10; gen++ {
		write(gen)
		rargs := []string{"proxy", "-c", conf, "-s", "reload"}
		if name == "nginx" {
			rargs = []string{"-p", dir + "/", "-c", conf, "-s", "reload"}
		}
		if out, err := exec.Command(bin, rargs...).CombinedOutput(); err != nil {
			b.Fatalf("reload: %v %s", err, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	b.ReportMetric(float64(lc.failed.Load()), "failed-reqs")
	b.ReportMetric(float64(lc.closedByServer.Load()), "closed-conns")
	b.ReportMetric(float64(lc.ok.Load()), "ok-reqs")
}

// loopbackPort returns a loopback port that was free a moment ago.
func loopbackPort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
