//go:build linux

package proxy

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLargeBodyCapsClientUnsentQueue(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	peer, err := net.Dial("tcp4", ln.Addr().String())
	must(t, err)
	defer peer.Close()
	nc, err := ln.Accept()
	must(t, err)
	defer nc.Close()
	raw, err := nc.(syscall.Conn).SyscallConn()
	must(t, err)
	c := &clientConn{nc: nc, raw: raw}
	c.limitUnsent()
	var got int
	raw.Control(func(fd uintptr) {
		got, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
	})
	must(t, err)
	if got != clientUnsentLimit {
		t.Errorf("TCP_NOTSENT_LOWAT = %d, want %d", got, clientUnsentLimit)
	}
}

func TestPipeWithLeftoverBytesIsNotReused(t *testing.T) {
	var pp pipePool
	p, err := pp.get()
	must(t, err)
	if p.size < 64<<10 {
		t.Errorf("pipe capacity %d", p.size)
	}
	n, err := unix.Write(p.w, []byte("left from a failed body"))
	must(t, err)
	p.held = n
	pp.put(p)
	for range 3 {
		q, err := pp.get()
		must(t, err)
		if q.held != 0 {
			t.Fatalf("pipe from the pool holds %d bytes", q.held)
		}
		if _, err := unix.Read(q.r, make([]byte, 64)); err != unix.EAGAIN {
			t.Fatalf("pipe from the pool is not empty: read gave %v", err)
		}
		defer pp.put(q)
	}
}
