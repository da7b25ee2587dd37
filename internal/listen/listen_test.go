package listen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// childEnv makes the test binary act as a server that adopts an inherited
// listener: the value is the address to ask the Opener for.
const childEnv = "WISP_LISTEN_TEST_CHILD"

// childSystemd makes the child pretend LISTEN_PID names it, as systemd
// would set it after fork.
const childSystemd = "WISP_LISTEN_TEST_SYSTEMD"

func TestMain(m *testing.M) {
	if addr := os.Getenv(childEnv); addr != "" {
		if err := runChild(addr); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// runChild answers one connection with its pid, on the listener the
// Opener gives it, and reports whether that listener was inherited.
func runChild(addr string) error {
	getenv := os.Getenv
	if os.Getenv(childSystemd) != "" {
		getenv = func(k string) string {
			if k == "LISTEN_PID" {
				return strconv.Itoa(os.Getpid())
			}
			return os.Getenv(k)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o, err := NewOpener(getenv, log)
	if err != nil {
		return err
	}
	defer o.Close()
	a, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	o.mu.Lock()
	_, inherited := o.inherited[a.String()]
	o.mu.Unlock()
	l, err := o.Listen(context.Background(), a, 0)
	if err != nil {
		return err
	}
	defer l.Close()
	// Tell the parent the listener is in place, so that its connection
	// comes after the re-listen that makes this process the peer.
	fmt.Println("ready")
	c, err := l.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = fmt.Fprintf(c, "%d %t %s\n", os.Getpid(), inherited, l.Addr())
	return err
}

func sockPath(t *testing.T, name string) string {
	t.Helper()
	// t.TempDir() can exceed the 108-byte limit on some machines.
	dir, err := os.MkdirTemp("", "wl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

func mustUnix(t *testing.T, path string) Addr {
	t.Helper()
	a, err := Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// staleSocket leaves a socket file nobody listens on, as a SIGKILL does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}

func TestListenUnixAppliesTheModeAndRemovesThePathOnClose(t *testing.T) {
	for _, mode := range []fs.FileMode{0o666, 0o660, 0o600} {
		t.Run(mode.String(), func(t *testing.T) {
			path := sockPath(t, "a.sock")
			l, err := bind(context.Background(), mustUnix(t, path), mode)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != fs.ModeSocket|mode {
				t.Errorf("mode = %v, want %v", fi.Mode(), fs.ModeSocket|mode)
			}
			if got := l.Addr().String(); got != path {
				t.Errorf("Addr() = %q, want %q", got, path)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the socket", len(entries))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket file still there after Close: %v", err)
			}
		})
	}
}

func TestListenUnixServesConnections(t *testing.T) {
	path := sockPath(t, "a.sock")
	l, err := bind(context.Background(), mustUnix(t, path), 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, err = io.WriteString(c, "hello\n")
			c.Close()
		}
		done <- err
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Errorf("read %q, %v", line, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestListenUnixReplacesAStaleSocket(t *testing.T) {
	path := sockPath(t, "a.sock")
	staleSocket(t, path)
	l, err := bind(context.Background(), mustUnix(t, path), 0o660)
	if err != nil {
		t.Fatalf("stale socket blocked the bind: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("new socket does not answer: %v", err)
	}
	c.Close()
}

func TestListenUnixRefusesALiveSocketNamingItsOwner(t *testing.T) {
	path := sockPath(t, "a.sock")
	live, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	_, err = bind(context.Background(), mustUnix(t, path), 0o660)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("error = %v, want EADDRINUSE", err)
	}
	for _, want := range []string{path, fmt.Sprintf("pid %d", os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live socket was taken away: %v", err)
	}
	c.Close()
}

func TestListenUnixNeverReplacesWhatIsNotASocket(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to a stale socket", func(t *testing.T, path string) {
			staleSocket(t, path+".real")
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := sockPath(t, "a.sock")
			tc.make(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = bind(context.Background(), mustUnix(t, path), 0o660)
			if !errors.Is(err, ErrNotSocket) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v, want ErrNotSocket naming %s", err, path)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) {
				t.Errorf("the file at the path was replaced: %v", err)
			}
		})
	}
}

func TestListenUnixReportsAMissingDirectory(t *testing.T) {
	path := filepath.Join(sockPath(t, "missing"), "a.sock")
	_, err := bind(context.Background(), mustUnix(t, path), 0o660)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want ENOENT naming %s", err, path)
	}
}

func TestCloseLeavesASocketThatReplacedOurs(t *testing.T) {
	path := sockPath(t, "a.sock")
	l, err := bind(context.Background(), mustUnix(t, path), 0o660)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else takes the path, as Ghost would.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("Close removed the other process's socket: %v", err)
	}
	c.Close()
}

func TestListenTCP(t *testing.T) {
	l, err := bind(context.Background(), Addr{Network: "tcp4", Address: "127.0.0.1:0"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := AddrOf(l)
	if err != nil {
		t.Fatal(err)
	}
	if a.Network != "tcp4" || !strings.HasPrefix(a.Address, "127.0.0.1:") {
		t.Errorf("AddrOf = %+v", a)
	}
}

// startChild runs the test binary as a child that asks its Opener for
// addr, with files as its descriptors 3 and up.
func startChild(t *testing.T, addr string, files []*os.File, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+addr)...)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		cmd.Wait()
		t.Fatalf("child did not get ready: %q %v", line, err)
	}
	return cmd
}

// askChild connects to the child and returns what it says about itself.
func askChild(t *testing.T, network, addr string) (pid int, inherited bool, served string, peer int) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if uc, ok := c.(*net.UnixConn); ok {
		peer = peerPID(uc)
	}
	if _, err := fmt.Fscan(c, &pid, &inherited, &served); err != nil {
		t.Fatalf("child said nothing: %v", err)
	}
	return pid, inherited, served, peer
}

// adoptingChild runs a child that asks its Opener for addr with files as
// its descriptors 3 and up, checks that the child answers on the inherited
// listener, and returns the address that listener reports and the pid
// SO_PEERCRED names (0 over TCP).
func adoptingChild(t *testing.T, addr string, files []*os.File, network, dial string, env ...string) (served string, peer int) {
	t.Helper()
	cmd := startChild(t, addr, files, env...)
	closeAll(files)
	pid, inherited, served, peer := askChild(t, network, dial)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if pid != cmd.Process.Pid || !inherited {
		t.Errorf("answered by pid %d (inherited %t), want child %d on the inherited listener", pid, inherited, cmd.Process.Pid)
	}
	if peer != 0 && peer != cmd.Process.Pid {
		t.Errorf("SO_PEERCRED names pid %d, want the child %d", peer, cmd.Process.Pid)
	}
	return served, peer
}

func TestHandoffPassesAUnixListenerToAChild(t *testing.T) {
	path := sockPath(t, "a.sock")
	a := mustUnix(t, path)
	l, err := bind(context.Background(), a, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before, _ := os.Lstat(path)

	files, env, err := Handoff([]net.Listener{l})
	if err != nil {
		t.Fatal(err)
	}
	served, peer := adoptingChild(t, a.String(), files, "unix", path, env)
	if served != path {
		t.Errorf("child's listener reports %q, want %q", served, path)
	}
	if peer == 0 {
		t.Errorf("SO_PEERCRED names no pid")
	}
	after, err := os.Lstat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the child's Close touched the parent's socket file: %v", err)
	}
	// The parent still holds the socket: a connection now waits in the
	// backlog for the next child instead of being refused.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("socket refused connections after the child exited: %v", err)
	}
	c.Close()
}

func TestHandoffPassesATCPListenerToAChild(t *testing.T) {
	l, err := bind(context.Background(), Addr{Network: "tcp4", Address: "127.0.0.1:0"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	files, env, err := Handoff([]net.Listener{l})
	if err != nil {
		t.Fatal(err)
	}
	adoptingChild(t, l.Addr().String(), files, "tcp", l.Addr().String(), env)
}

func TestOpenerAdoptsSystemdSockets(t *testing.T) {
	path := sockPath(t, "a.sock")
	a := mustUnix(t, path)
	l, err := bind(context.Background(), a, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*unixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	// The socket is bound under a temporary name and renamed, so what
	// getsockname reports is not the path; bind one in place instead, as
	// systemd does.
	f.Close()
	l.Close()
	direct, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	f, err = direct.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	adoptingChild(t, a.String(), []*os.File{f}, "unix", path, "LISTEN_FDS=1", childSystemd+"=1")
}

func TestNewOpenerIgnoresListenersMeantForAnotherProcess(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"wisp handoff from another parent", map[string]string{EnvListeners: `{"parent": 1, "addrs": ["unix:/tmp/x.sock"]}`}},
		{"systemd sockets for another pid", map[string]string{"LISTEN_FDS": "1", "LISTEN_PID": "1"}},
		{"nothing passed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := NewOpener(func(k string) string { return tc.env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if len(o.inherited) != 0 {
				t.Errorf("adopted %d listeners", len(o.inherited))
			}
		})
	}
}

func TestNewOpenerRejectsABrokenHandoff(t *testing.T) {
	_, err := NewOpener(func(k string) string {
		if k == EnvListeners {
			return "unix:/tmp/x.sock"
		}
		return ""
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), EnvListeners) {
		t.Errorf("error = %v, want one naming %s", err, EnvListeners)
	}
}

func TestAdoptRefusesADescriptorThatIsNotAListeningSocket(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	tests := []struct {
		name string
		fd   int
		want string
	}{
		{"closed descriptor", 1 << 20, "bad file descriptor"},
		{"not a socket", int(devnull.Fd()), "is not a socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := adopt(tc.fd, "unix:/tmp/x.sock")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "unix:/tmp/x.sock") {
				t.Errorf("error = %v, want one naming the address and containing %q", err, tc.want)
			}
		})
	}
	// Refusing must not close what it refused: it may be anything.
	if _, err := devnull.Stat(); err != nil {
		t.Errorf("the non-socket descriptor was closed: %v", err)
	}
}

func TestListenUnixBindsInPlaceWhenTheTemporaryNameIsTooLong(t *testing.T) {
	base := filepath.Dir(sockPath(t, "x"))
	// The socket path fits in sun_path; the temporary name beside it does not.
	dir := filepath.Join(base, strings.Repeat("d", maxUnixPath-len(base)-len("/a.sock")-1))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a.sock")
	staleSocket(t, path)
	l, err := bind(context.Background(), mustUnix(t, path), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode() != fs.ModeSocket|0o600 {
		t.Errorf("mode = %v, %v; want %v", fi.Mode(), err, fs.ModeSocket|0o600)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("socket does not answer: %v", err)
	}
	c.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file still there after Close: %v", err)
	}
}
