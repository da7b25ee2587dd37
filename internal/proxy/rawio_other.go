//go:build !linux

package proxy

import "syscall"

// nbRead and nbWrite are the plain system calls where rawio_linux.go's
// scheduler-free versions have not been measured.
func nbRead(fd int, p []byte) (int, error)  { return syscall.Read(fd, p) }
func nbWrite(fd int, p []byte) (int, error) { return syscall.Write(fd, p) }

func nbPeek(fd int, p []byte) (int, error) {
	n, _, err := syscall.Recvfrom(fd, p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, err
}
