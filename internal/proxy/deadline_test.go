package proxy

import (
	"net"
	"testing"
	"time"
)

// deadlineConn counts the deadlines set on it.
type deadlineConn struct {
	net.Conn
	reads, writes []time.Time
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.reads = append(d.reads, t)
	return nil
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.writes = append(d.writes, t)
	return nil
}

func TestUpstreamDeadlinesAreReArmedOnlyWhenTheyMoveEnough(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const timeout = 16 * time.Second // slack: 1 s
	// Each direction: arm it, and what it armed and recorded.
	type direction struct {
		name string
		arm  func(uc *upConn, now time.Time, timeout time.Duration)
		set  func(dc *deadlineConn) []time.Time
		by   func(uc *upConn) *lazyDeadline
	}
	for _, d := range []direction{
		{"write", (*upConn).armWrite, func(dc *deadlineConn) []time.Time { return dc.writes }, func(uc *upConn) *lazyDeadline { return &uc.writeBy }},
		{"read", (*upConn).armRead, func(dc *deadlineConn) []time.Time { return dc.reads }, func(uc *upConn) *lazyDeadline { return &uc.readBy }},
	} {
		for _, tc := range []struct {
			name    string
			armed   time.Time // zero: never armed
			now     time.Time
			timeout time.Duration
			rearm   bool
		}{
			{"first use arms it", time.Time{}, t0, timeout, true},
			{"same instant keeps it", t0.Add(timeout), t0, timeout, false},
			{"within the slack keeps it", t0.Add(timeout), t0.Add(time.Second), timeout, false},
			{"past the slack re-arms", t0.Add(timeout), t0.Add(time.Second + time.Millisecond), timeout, true},
			{"a shorter timeout re-arms", t0.Add(timeout), t0, timeout / 2, true},
			{"a passed deadline re-arms", t0, t0.Add(time.Minute), timeout, true},
		} {
			dc := &deadlineConn{}
			uc := &upConn{Conn: dc}
			*d.by(uc) = lazyDeadline{tc.armed}
			d.arm(uc, tc.now, tc.timeout)
			set := d.set(dc)
			if got := len(set) == 1; got != tc.rearm {
				t.Errorf("%s, %s: re-armed %v, want %v", d.name, tc.name, got, tc.rearm)
			}
			if want := tc.now.Add(tc.timeout); tc.rearm && (!d.by(uc).at.Equal(want) || !set[0].Equal(want)) {
				t.Errorf("%s, %s: armed %v (recorded %v), want %v", d.name, tc.name, set, d.by(uc).at, want)
			}
		}
	}
}

func TestForgottenDeadlineIsReArmed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := lazyDeadline{t0.Add(time.Minute)}
	d.forget()
	if !d.move(t0.Add(time.Minute), time.Second) {
		t.Error("a deadline armed outside move was kept")
	}
}

func TestClientReadDeadlineIsSetOnlyWhenItChanges(t *testing.T) {
	dc := &deadlineConn{}
	c := &clientConn{nc: dc}
	t1 := time.Now().Add(time.Minute)
	for _, d := range []time.Time{t1, t1, t1.Add(time.Second), {}, {}} {
		c.setReadDeadline(d)
	}
	if len(dc.reads) != 3 {
		t.Errorf("deadlines set %v, want 3 (t1, t1+1s, none)", dc.reads)
	}
}

// recordingTCP is a TCP connection that records its read deadlines.
type recordingTCP struct {
	*net.TCPConn
	reads []time.Time
}

func (r *recordingTCP) SetReadDeadline(t time.Time) error {
	r.reads = append(r.reads, t)
	return r.TCPConn.SetReadDeadline(t)
}

func TestHotWaitReArmsItsDeadlineOnlyOnceHalfOfItIsUsed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	must(t, err)
	defer client.Close()
	sc, err := ln.Accept()
	must(t, err)
	defer sc.Close()
	rec := &recordingTCP{TCPConn: sc.(*net.TCPConn)}
	raw, err := rec.SyscallConn()
	must(t, err)
	srv := NewServer(nil, ServerOptions{})
	srv.idle = &idlePoller{} // only looked at for being there
	// Long enough that no stall of the test machine crosses its half.
	srv.hotWait = 10 * time.Second
	c := &clientConn{srv: srv, nc: rec, raw: raw, ka: keepalive{timeout: time.Minute}}
	c.readFn = c.rawRead

	for _, tc := range []struct {
		name  string
		left  time.Duration // of the armed deadline, when set (else as the last wait left it)
		armed int           // deadlines set so far
	}{
		{"the first wait arms the deadline", 0, 1},
		{"a wait soon after keeps it", 0, 1},
		{"a wait with less than half of it left re-arms it", srv.hotWait/2 - time.Second, 2},
		{"a longer deadline (the rest of a head's) is cut to the wait", time.Minute, 3},
	} {
		if tc.left != 0 {
			c.readBy = time.Now().Add(tc.left)
		}
		client.Write([]byte{'x'})
		got, err := c.waitHot()
		if !got || err != nil {
			t.Fatalf("%s: request byte not read: %v %v", tc.name, got, err)
		}
		c.start, c.end = 0, 0
		c.releaseBuf()
		if len(rec.reads) != tc.armed {
			t.Errorf("%s: %d deadlines set, want %d", tc.name, len(rec.reads), tc.armed)
		}
	}
	// Nothing comes: the wait ends without an error, for the caller to park.
	srv.hotWait = 20 * time.Millisecond
	if got, err := c.waitHot(); got || err != nil {
		t.Errorf("wait without a request: %v %v, want false, nil", got, err)
	}
}
