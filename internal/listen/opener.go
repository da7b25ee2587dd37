package listen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// EnvListeners is the environment variable through which a parent names
// the listeners it passed to a child. Its value is JSON:
// {"parent": <parent pid>, "addrs": ["unix:/run/a.sock", "127.0.0.1:8080"]},
// where the i-th address is file descriptor 3+i, as os/exec numbers
// ExtraFiles. The child only trusts it when the parent pid is its own
// parent's, so a grandchild that inherits the variable cannot mistake
// whatever its fd 3 is for a socket.
const EnvListeners = "WISP_LISTENERS"

// firstFD is the descriptor of os/exec's first ExtraFiles entry.
const firstFD = 3

type handoff struct {
	Parent int      `json:"parent"`
	Addrs  []string `json:"addrs"`
}

// Opener opens listeners, preferring one that a parent handed down for the
// same address: wisp up through EnvListeners, or systemd through
// LISTEN_FDS. Servers open every listener through an Opener so that they
// work alike on their own, under wisp up and under systemd.
type Opener struct {
	log *slog.Logger

	mu        sync.Mutex
	inherited map[string]net.Listener // by Addr.String()
}

// NewOpener adopts the listeners a parent passed, if any. getenv is
// os.Getenv outside tests.
func NewOpener(getenv func(string) string, log *slog.Logger) (*Opener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Opener{log: log, inherited: map[string]net.Listener{}}
	names, err := inheritedNames(getenv, log)
	if err != nil {
		return nil, err
	}
	for i, name := range names {
		l, a, err := adopt(firstFD+i, name)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("inherited listeners: %w", err)
		}
		o.inherited[a.String()] = l
	}
	return o, nil
}

// inheritedNames returns one entry per inherited descriptor, from fd 3 on:
// the address wisp up named, or "" for a systemd socket, which is known by
// the address it is bound to.
func inheritedNames(getenv func(string) string, log *slog.Logger) ([]string, error) {
	if v := getenv(EnvListeners); v != "" {
		var h handoff
		if err := json.Unmarshal([]byte(v), &h); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvListeners, err)
		}
		if h.Parent != os.Getppid() {
			log.Warn("ignoring listeners passed to another process", "env", EnvListeners, "parent", h.Parent, "ppid", os.Getppid())
			return nil, nil
		}
		return h.Addrs, nil
	}
	// systemd's sd_listen_fds protocol: the descriptors are ours only if
	// LISTEN_PID names this process.
	fds := getenv("LISTEN_FDS")
	if fds == "" || getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("LISTEN_FDS=%q is not a count of descriptors", fds)
	}
	return make([]string, n), nil
}

// adopt turns an inherited descriptor into a listener. It checks the
// descriptor is a socket before wrapping it, because closing a wrapped
// descriptor that turns out to be something else (the runtime's epoll
// descriptor, say) would break the process.
func adopt(fd int, name string) (net.Listener, Addr, error) {
	what := fmt.Sprintf("fd %d", fd)
	if name != "" {
		what = fmt.Sprintf("%s (fd %d)", name, fd)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, Addr{}, fmt.Errorf("%s: %w", what, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		return nil, Addr{}, fmt.Errorf("%s is not a socket", what)
	}
	f := os.NewFile(uintptr(fd), what)
	l, err := net.FileListener(f) // a close-on-exec duplicate
	f.Close()
	if err != nil {
		return nil, Addr{}, fmt.Errorf("%s: %w", what, err)
	}
	a, err := AddrOf(l)
	if name != "" && err == nil {
		a, err = ParseAddr(name)
	}
	if err != nil {
		l.Close()
		return nil, Addr{}, fmt.Errorf("%s: %w", what, err)
	}
	ul, ok := l.(*net.UnixListener)
	if !ok {
		return l, a, nil
	}
	ul.SetUnlinkOnClose(false)
	// The kernel names as the peer of a Unix connection the process that
	// last called listen(); calling it again makes that this process rather
	// than the parent, so that tools (and the stale-socket check) see who
	// really serves.
	if err := relisten(ul); err != nil {
		ul.Close()
		return nil, Addr{}, fmt.Errorf("%s: %w", what, err)
	}
	return &unixListener{UnixListener: ul, addr: &net.UnixAddr{Name: a.Address, Net: "unix"}}, a, nil
}

func relisten(ul *net.UnixListener) error {
	raw, err := ul.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) {
		// The kernel caps the backlog at net.core.somaxconn, as Go's own
		// listen does.
		lerr = syscall.Listen(int(fd), 1<<16-1)
	}); err != nil {
		return err
	}
	return lerr
}

// Listen returns the inherited listener for a if there is one, else opens
// a new one. mode is applied to a new Unix socket (0 leaves the umask's
// permissions); an inherited socket already has the parent's.
func (o *Opener) Listen(ctx context.Context, a Addr, mode fs.FileMode) (net.Listener, error) {
	o.mu.Lock()
	l, ok := o.inherited[a.String()]
	delete(o.inherited, a.String())
	o.mu.Unlock()
	if ok {
		o.log.Info("using inherited listener", "addr", a.String())
		return l, nil
	}
	return bind(ctx, a, mode)
}

// Close closes the inherited listeners nobody asked for, so that a child
// whose config no longer names one does not keep it open.
func (o *Opener) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for name, l := range o.inherited {
		errs = append(errs, l.Close())
		delete(o.inherited, name)
	}
	return errors.Join(errs...)
}

// bind opens a new listener on a. It is not exported: a server that bound
// its sockets without an Opener would fail under wisp up, where the socket
// is already open, held by the parent.
func bind(ctx context.Context, a Addr, mode fs.FileMode) (net.Listener, error) {
	if a.Network == "unix" {
		return listenUnix(ctx, a, mode)
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, a.Network, a.Address)
}

// AddrOf returns the address a listener serves, in the form Listen takes.
func AddrOf(l net.Listener) (Addr, error) {
	switch a := l.Addr().(type) {
	case *net.UnixAddr:
		return Addr{Network: "unix", Address: a.Name}, nil
	case *net.TCPAddr:
		network := "tcp6"
		if a.IP.To4() != nil {
			network = "tcp4"
		}
		return Addr{Network: network, Address: a.String()}, nil
	default:
		return Addr{}, fmt.Errorf("listener on %s %s cannot be handed to a child", a.Network(), a)
	}
}

// Handoff prepares listeners for a child started with os/exec: set
// cmd.ExtraFiles to files and add env to cmd.Env. The files are
// duplicates; close them once the child has started.
func Handoff(ls []net.Listener) (files []*os.File, env string, err error) {
	h := handoff{Parent: os.Getpid()}
	for _, l := range ls {
		a, err := AddrOf(l)
		if err != nil {
			closeAll(files)
			return nil, "", err
		}
		fl, ok := l.(interface{ File() (*os.File, error) })
		if !ok {
			closeAll(files)
			return nil, "", fmt.Errorf("listener on %s cannot be handed to a child", a)
		}
		f, err := fl.File()
		if err != nil {
			closeAll(files)
			return nil, "", err
		}
		files = append(files, f)
		h.Addrs = append(h.Addrs, a.String())
	}
	b, err := json.Marshal(h)
	if err != nil {
		closeAll(files)
		return nil, "", err
	}
	return files, EnvListeners + "=" + string(b), nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
