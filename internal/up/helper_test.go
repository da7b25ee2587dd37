package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"wisp/internal/listen"
)

// The test binary doubles as the wisp binary that the Supervisor runs:
// with helperEnv set, it acts as `wisp serve` or `wisp proxy` would, as far
// as a supervisor can tell.
const (
	helperEnv = "WISP_UP_TEST_HELPER"
	// helperState is a directory where each child counts its starts and
	// logs its stops, so the test can see what happened in which order.
	helperState = "WISP_UP_TEST_STATE"
	// helperFails makes the first N starts of a child exit 1 at once.
	helperFails = "WISP_UP_TEST_FAILS"
	// helperStubborn makes a child ignore its stop signal.
	helperStubborn = "WISP_UP_TEST_STUBBORN"
	// helperName names the child in the state directory.
	helperName = "WISP_UP_TEST_NAME"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := helperMain(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// helperMain serves "<name> start <n> pid <pid>" over HTTP on the socket
// named by server__socket__path (taken through an Opener, so inherited from
// the Supervisor), or just waits when it has none, as the proxy stand-in.
func helperMain(args []string) error {
	name := os.Getenv(helperName)
	for i, a := range args {
		// As wisp up runs it: wisp serve --dir <site folder>.
		if name == "" && a == "--dir" && i+1 < len(args) {
			name = filepath.Base(args[i+1])
		}
	}
	if name == "" && len(args) > 0 {
		name = args[0]
	}
	state := os.Getenv(helperState)
	start, err := bump(filepath.Join(state, name+".starts"))
	if err != nil {
		return err
	}
	fails, _ := strconv.Atoi(os.Getenv(helperFails))
	if start <= fails {
		return fmt.Errorf("%s failing on purpose, start %d", name, start)
	}
	if os.Getenv(helperStubborn) != "" {
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		select {}
	}
	// SIGQUIT is how wisp up stops the proxy gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	var srv *http.Server
	if path := os.Getenv(socketEnv); path != "" {
		o, err := listen.NewOpener(os.Getenv, nil)
		if err != nil {
			return err
		}
		a, err := listen.Unix(path)
		if err != nil {
			return err
		}
		l, err := o.Listen(ctx, a, 0o600)
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s start %d pid %d", name, start, os.Getpid())
		})}
		go srv.Serve(l)
	}
	fmt.Println("ready")
	<-ctx.Done()
	if srv != nil {
		srv.Shutdown(context.Background())
	}
	return appendLine(filepath.Join(state, "stops"), name)
}

// bump increments the counter in path and returns the new value.
func bump(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	n++
	return n, os.WriteFile(path, []byte(strconv.Itoa(n)), 0o644)
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, line)
	return err
}

// helperCommand builds a child running the helper with extra environment.
func helperCommand(state, name string, env ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		// Should the helper's environment be lost, the test binary runs no
		// test rather than all of them again.
		cmd := exec.Command(os.Args[0], "-test.run=^$", name)
		cmd.Env = append(os.Environ(), append(env, helperEnv+"=1", helperState+"="+state, helperName+"="+name)...)
		return cmd
	}
}

// getUnix asks whoever serves the socket at path for "/".
func getUnix(t *testing.T, path string) string {
	t.Helper()
	body, err := tryGetUnix(path)
	if err != nil {
		t.Fatalf("GET over %s: %v", path, err)
	}
	return body
}

func tryGetUnix(path string) (string, error) {
	// The timeout only bounds a test whose child never comes up.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	resp, err := client.Get("http://site/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// shortDir is a temporary directory whose socket paths stay under the
// 108-byte limit (t.TempDir can be longer).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
