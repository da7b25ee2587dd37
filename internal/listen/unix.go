package listen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ErrNotSocket is returned when something other than a socket sits at the
// path a Unix listener should take. Ghost deletes such a file; losing a
// user's file to a typo in the config is worse than refusing to start.
var ErrNotSocket = errors.New("exists and is not a socket; not replacing it")

// listenUnix binds a Unix socket at a.Address. A leftover socket that
// nobody listens on is replaced; a live one is an EADDRINUSE error, unlike
// Ghost, which silently steals the path from a running instance.
//
// The socket is bound under a temporary name, given its mode, and then
// renamed into place, so that no client ever sees it with the umask's
// permissions and a stale file is replaced without a moment in which the
// path is missing.
func listenUnix(ctx context.Context, a Addr, mode fs.FileMode) (net.Listener, error) {
	path := a.Address
	wrap := func(err error) error { return fmt.Errorf("listen %s: %w", a, err) }
	if err := checkStale(ctx, path); err != nil {
		return nil, wrap(err)
	}
	at := filepath.Join(filepath.Dir(path), fmt.Sprintf(".wisp-%08x.sock", rand.Uint32()))
	if len(at) > maxUnixPath {
		// The path fits but the temporary name does not: bind in place.
		at = path
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, wrap(err)
		}
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "unix", at)
	if err != nil {
		return nil, wrap(err)
	}
	ul := l.(*net.UnixListener)
	// Close removes the path itself, and only if it is still ours.
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		os.Remove(at)
		return nil, wrap(err)
	}
	if mode != 0 {
		if err := os.Chmod(at, mode); err != nil {
			return fail(err)
		}
	}
	if at != path {
		if err := os.Rename(at, path); err != nil {
			return fail(err)
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ul, addr: &net.UnixAddr{Name: path, Net: "unix"}, bound: fi}, nil
}

// checkStale returns nil when path is free to take: absent, or a socket
// that refuses connections (its owner died without removing it).
func checkStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s %w", path, ErrNotSocket)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case err == nil:
		defer c.Close()
		owner := "another process"
		if pid := peerPID(c.(*net.UnixConn)); pid > 0 {
			owner = fmt.Sprintf("another process (pid %d)", pid)
		}
		return fmt.Errorf("%s is listening on %s: %w", owner, path, syscall.EADDRINUSE)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.Is(err, syscall.EAGAIN):
		// A full backlog: someone is listening but not keeping up.
		return fmt.Errorf("another process is listening on %s: %w", path, syscall.EADDRINUSE)
	default:
		return fmt.Errorf("cannot tell whether %s is in use: %w", path, err)
	}
}

// peerPID returns the pid of the process that called listen() on the
// socket c is connected to, or 0 if the kernel will not say.
func peerPID(c *net.UnixConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	raw.Control(func(fd uintptr) {
		if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// unixListener reports the socket's public path as its address (the kernel
// knows it by the temporary name it was bound under) and removes the path
// on Close only while it still names this socket, so that closing never
// deletes a socket some other process has bound there since.
type unixListener struct {
	*net.UnixListener
	addr *net.UnixAddr
	// bound is the socket file as created; nil for an inherited listener,
	// whose path belongs to the parent.
	bound fs.FileInfo

	closeOnce sync.Once
	closeErr  error
}

func (l *unixListener) Addr() net.Addr { return l.addr }

func (l *unixListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.UnixListener.Close()
		if l.bound == nil {
			return
		}
		if fi, err := os.Lstat(l.addr.Name); err == nil && os.SameFile(fi, l.bound) {
			if err := os.Remove(l.addr.Name); err != nil && l.closeErr == nil {
				l.closeErr = err
			}
		}
	})
	return l.closeErr
}
