package up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wisp/internal/listen"
)

// testPolicy restarts at once and never calls a start stable, unless a
// test says otherwise; no test waits on these durations.
func testPolicy() Policy {
	return Policy{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Stable: time.Hour, GiveUp: 1000, Grace: time.Minute}
}

func newSupervisor(p Policy) *Supervisor {
	return &Supervisor{Policy: p, Log: slog.New(slog.DiscardHandler), Stdout: io.Discard, Stderr: io.Discard}
}

// socketChild is a helper child serving on a socket the test opened, as
// wisp up opens a site's.
func socketChild(t *testing.T, state, name string, env ...string) Child {
	t.Helper()
	o, err := listen.NewOpener(func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := listen.Unix(filepath.Join(state, name+".sock"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := o.Listen(context.Background(), a, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return Child{
		Name:      name,
		Command:   helperCommand(state, name, append(env, socketEnv+"="+a.Address)...),
		Listeners: []net.Listener{l},
		Stop:      syscall.SIGTERM,
	}
}

// runInBackground runs s and returns a function that stops it and
// returns Run's error.
func runInBackground(s *Supervisor, layers ...[]Child) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, layers...) }()
	return func() error {
		cancel()
		return <-done
	}
}

func TestSupervisorRestartsACrashedChildWhileConnectionsWait(t *testing.T) {
	state := shortDir(t)
	site := socketChild(t, state, "site", helperFails+"=2")
	stop := runInBackground(newSupervisor(testPolicy()), []Child{site})
	// The first two starts exit at once. The connection is accepted by the
	// kernel into the socket the Supervisor holds, and waits for the third.
	got := getUnix(t, filepath.Join(state, "site.sock"))
	if !strings.HasPrefix(got, "site start 3 ") {
		t.Errorf("answer = %q, want it from the third start", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if stops := readLines(t, filepath.Join(state, "stops")); len(stops) != 1 || stops[0] != "site" {
		t.Errorf("stops = %v, want one graceful stop of site", stops)
	}
}

func TestSupervisorStopsTheFrontLayerFirst(t *testing.T) {
	state := shortDir(t)
	a := socketChild(t, state, "a")
	b := socketChild(t, state, "b")
	proxy := socketChild(t, state, "proxy")
	stop := runInBackground(newSupervisor(testPolicy()), []Child{a, b}, []Child{proxy})
	for _, name := range []string{"a", "b", "proxy"} {
		getUnix(t, filepath.Join(state, name+".sock")) // running and handling SIGTERM
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	stops := readLines(t, filepath.Join(state, "stops"))
	if len(stops) != 3 || stops[0] != "proxy" {
		t.Errorf("stop order = %v, want the proxy first, then a and b", stops)
	}
}

func TestSupervisorGivesUpOnAChildThatNeverWorks(t *testing.T) {
	state := shortDir(t)
	site := socketChild(t, state, "site")
	p := testPolicy()
	p.GiveUp = 3
	proxy := Child{Name: "proxy", Command: helperCommand(state, "proxy", helperFails+"=1000"), Stop: syscall.SIGTERM}
	s := newSupervisor(p)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), []Child{site}, []Child{proxy}) }()
	getUnix(t, filepath.Join(state, "site.sock"))
	err := <-done
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "proxy") {
		t.Fatalf("Run = %v, want ErrGaveUp naming the proxy", err)
	}
	if starts := readLines(t, filepath.Join(state, "proxy.starts")); starts[0] != "3" {
		t.Errorf("proxy started %s times, want 3", starts[0])
	}
	if stops := readLines(t, filepath.Join(state, "stops")); len(stops) != 1 || stops[0] != "site" {
		t.Errorf("stops = %v, want the healthy site stopped gracefully", stops)
	}
}

func TestSupervisorKeepsRestartingAChildThatHasWorked(t *testing.T) {
	state := shortDir(t)
	p := testPolicy()
	p.GiveUp = 1
	p.Stable = 0 // every start counts as having worked
	site := socketChild(t, state, "site", helperFails+"=5")
	stop := runInBackground(newSupervisor(p), []Child{site})
	if got := getUnix(t, filepath.Join(state, "site.sock")); !strings.HasPrefix(got, "site start 6 ") {
		t.Errorf("answer = %q, want it from the sixth start", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestSupervisorKillsAChildThatIgnoresStop(t *testing.T) {
	state := shortDir(t)
	p := testPolicy()
	p.Grace = 10 * time.Millisecond
	s := newSupervisor(p)
	ready := &lineWaiter{want: "[stubborn] ready", seen: make(chan struct{})}
	s.Stdout = ready
	stubborn := Child{Name: "stubborn", Command: helperCommand(state, "stubborn", helperStubborn+"=1"), Stop: syscall.SIGTERM}
	stop := runInBackground(s, []Child{stubborn})
	<-ready.seen
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if starts := readLines(t, filepath.Join(state, "stubborn.starts")); starts[0] != "1" {
		t.Errorf("started %s times, want once", starts[0])
	}
}

// lineWaiter closes seen when a line containing want is written.
type lineWaiter struct {
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWaiter) Write(b []byte) (int, error) {
	if strings.Contains(string(b), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

func TestPrefixWriterPrefixesEveryLine(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"one line", []string{"hello\n"}, "[x] hello\n"},
		{"two lines in one write", []string{"a\nb\n"}, "[x] a\n[x] b\n"},
		{"a line split over writes", []string{"he", "llo\nwor", "ld\n"}, "[x] hello\n[x] world\n"},
		{"a last line without newline is flushed", []string{"a\nb"}, "[x] a\n[x] b\n"},
		{"nothing", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &prefixWriter{mu: &sync.Mutex{}, w: &out, prefix: "[x] "}
			for _, w := range tc.writes {
				if n, err := p.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			p.flush()
			if out.String() != tc.want {
				t.Errorf("output = %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestSupervisorNeverGivesUpOnAChildKilledFromOutside(t *testing.T) {
	state := shortDir(t)
	p := testPolicy()
	p.GiveUp = 1
	site := socketChild(t, state, "site")
	stop := runInBackground(newSupervisor(p), []Child{site})
	sock := filepath.Join(state, "site.sock")
	for start := 1; start <= 3; start++ {
		var name string
		var n, pid int
		got := getAfterKill(t, sock)
		if _, err := fmt.Sscanf(got, "%s start %d pid %d", &name, &n, &pid); err != nil || n != start {
			t.Fatalf("answer %q, want one from start %d", got, start)
		}
		// As the OOM killer or an admin would.
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	if got := getAfterKill(t, sock); !strings.HasPrefix(got, "site start 4 ") {
		t.Errorf("answer = %q, want it from the fourth start", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// getAfterKill is getUnix for right after a SIGKILL, which the kernel
// delivers a moment later: the dying process may still accept a connection
// and then drop it, so a few attempts are allowed.
func getAfterKill(t *testing.T, sock string) string {
	t.Helper()
	var err error
	for range 5 {
		var body string
		if body, err = tryGetUnix(sock); err == nil {
			return body
		}
	}
	t.Fatalf("GET over %s: %v", sock, err)
	return ""
}

func TestSupervisorRestartReplacesEachChildGracefully(t *testing.T) {
	state := shortDir(t)
	s := newSupervisor(testPolicy())
	restart := make(chan struct{})
	s.Restart = restart
	a := socketChild(t, state, "a")
	b := socketChild(t, state, "b")
	stop := runInBackground(s, []Child{a}, []Child{b})
	for _, name := range []string{"a", "b"} {
		if got := getUnix(t, filepath.Join(state, name+".sock")); !strings.HasPrefix(got, name+" start 1 ") {
			t.Fatalf("answer = %q, want the first start of %s", got, name)
		}
	}
	restart <- struct{}{}
	// The old start keeps accepting until its SIGTERM lands: ask until the
	// new start answers. A request the old start accepted just as it began
	// to shut down may fail (Go's http.Server drops a connection whose
	// first request it reads after Shutdown began), so such failures are
	// allowed here, but not a refused connection.
	for _, name := range []string{"a", "b"} {
		sock := filepath.Join(state, name+".sock")
		got := ""
		for i := 0; i < 1000 && !strings.HasPrefix(got, name+" start 2 "); i++ {
			var err error
			if got, err = tryGetUnix(sock); errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("connection refused during the restart of %s", name)
			}
		}
		if !strings.HasPrefix(got, name+" start 2 ") {
			t.Fatalf("%s never answered from its second start; last %q", name, got)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Both starts of both children stopped gracefully.
	stops := readLines(t, filepath.Join(state, "stops"))
	if strings.Join(stops, " ") != "a b b a" && strings.Join(stops, " ") != "b a b a" {
		t.Errorf("stops = %v, want the two replaced starts, then b before a", stops)
	}
}

func TestSupervisorKeepsTheInheritedEnvironmentOfACommandWithoutEnv(t *testing.T) {
	state := shortDir(t)
	site := socketChild(t, state, "site")
	// The child learns everything from the environment it inherits: a nil
	// Env must still mean this process's environment once the listeners
	// are added to it.
	t.Setenv(helperEnv, "1")
	t.Setenv(helperState, state)
	t.Setenv(helperName, "site")
	t.Setenv(socketEnv, filepath.Join(state, "site.sock"))
	// Should the environment be lost, the test binary runs no test.
	site.Command = func() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") }
	stop := runInBackground(newSupervisor(testPolicy()), []Child{site})
	if got := getUnix(t, filepath.Join(state, "site.sock")); !strings.HasPrefix(got, "site start 1 ") {
		t.Errorf("answer = %q", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
