//go:build !linux

package proxy

import (
	"syscall"
	"time"
)

// idlePoller is Linux-only (epoll); elsewhere every connection keeps its
// goroutine while idle.
type idlePoller struct{}

type idleLink struct {
	fd int32
	rc syscall.RawConn
}

func newIdlePoller(wake, expire func(*clientConn)) (*idlePoller, error) { return nil, nil }

func (p *idlePoller) park(c *clientConn, timeout time.Duration, stopping func() bool) bool {
	return false
}
func (p *idlePoller) run()                       {}
func (p *idlePoller) drainParked() []*clientConn { return nil }
func (p *idlePoller) close()                     {}
