package e2e

import (
	"net"
	"syscall"
	"testing"
)

// peerPID returns the pid of the process listening on a Unix socket.
func peerPID(t *testing.T, sock string) int {
	t.Helper()
	pid := peerPIDOrZero(sock)
	if pid == 0 {
		t.Fatalf("no process answers on %s", sock)
	}
	return pid
}

func peerPIDOrZero(sock string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0
	}
	var cred *syscall.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return 0
	}
	return int(cred.Pid)
}
