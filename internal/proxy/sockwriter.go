package proxy

import "syscall"

// sockWriter writes to a client socket with nbWrite (rawio_linux.go),
// waiting in the runtime's poller only when the socket's buffer is full.
// net.Conn.Write would do the same through a scheduler-visible system call,
// which is what keeps sysmon ticking; the deadline is the conn's own write
// deadline, which raw.Write honours as Write does.
type sockWriter struct {
	raw     syscall.RawConn
	p       []byte
	sent    int
	err     error
	writeFn func(fd uintptr) bool // write, made once per connection
}

func (w *sockWriter) reset(raw syscall.RawConn) {
	w.raw = raw
	if w.writeFn == nil {
		w.writeFn = w.write
	}
}

func (w *sockWriter) Write(p []byte) (int, error) {
	w.p, w.sent, w.err = p, 0, nil
	if err := w.raw.Write(w.writeFn); err != nil && w.err == nil {
		w.err = err
	}
	n, err := w.sent, w.err
	w.p, w.err = nil, nil
	return n, err
}

func (w *sockWriter) write(fd uintptr) bool {
	err := writeNow(int(fd), w.p, &w.sent)
	if err == syscall.EAGAIN {
		return false
	}
	w.err = err
	return true
}
