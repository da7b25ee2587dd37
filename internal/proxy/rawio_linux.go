package proxy

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nbRead and nbWrite are read(2) and write(2) for the engine's sockets, which
// Go's net package has already made non-blocking, so neither call can sleep.
// They skip the runtime's entersyscall/exitsyscall, which syscall.Read and
// syscall.Write make: a P marked as in a system call is what the runtime's
// sysmon thread wakes every 20 µs to look for and retake. With one socket
// call after another, sysmon never backed off to its long sleeps, and on
// this machine its wake-ups alone took about a tenth of the proxy's CPU
// (perf record, wrk -c64 /small). The pointer is converted inside the call
// expression, which is what keeps the buffer alive and unmoved for the call.
func nbRead(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func nbWrite(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// nbSplice is splice(2) between a socket and a pipe, both non-blocking (the
// pipe by SPLICE_F_NONBLOCK), made the same way for the same reason.
func nbSplice(rfd, wfd, n int) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_SPLICE, uintptr(rfd), 0, uintptr(wfd), 0, uintptr(n), unix.SPLICE_F_NONBLOCK)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// nbPeek is recv(2) with MSG_PEEK and MSG_DONTWAIT: a look at whether a
// socket has a byte or a close waiting, taking nothing. recvfrom with no
// address buffer, since syscall.Recvfrom allocates the sender's address.
func nbPeek(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// nbEpollWait is epoll_wait(2) with a zero timeout and nbEpollCtl is
// epoll_ctl(2): neither can sleep, and the idle poller makes them for every
// connection it parks and every batch it wakes. Through syscall's versions
// each one also woke sysmon when all Ps were idle, resetting it to its
// 20 µs tick (perf: sysmon was still 12% of wisp's CPU on /big after the
// socket calls went raw).
func nbEpollWait(epfd int, events []syscall.EpollEvent) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func nbEpollCtl(epfd, op, fd int, ev *syscall.EpollEvent) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
