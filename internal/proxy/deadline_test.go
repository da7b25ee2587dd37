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

func TestUpstreamWriteDeadlineIsReArmedOnlyWhenItMovesEnough(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const send = 16 * time.Second // slack: 1 s
	for _, tc := range []struct {
		name    string
		armed   time.Time // zero: never armed
		now     time.Time
		timeout time.Duration
		rearm   bool
	}{
		{"first write arms it", time.Time{}, t0, send, true},
		{"same instant keeps it", t0.Add(send), t0, send, false},
		{"within the slack keeps it", t0.Add(send), t0.Add(time.Second), send, false},
		{"past the slack re-arms", t0.Add(send), t0.Add(time.Second + time.Millisecond), send, true},
		{"a shorter timeout re-arms", t0.Add(send), t0, send / 2, true},
		{"a passed deadline re-arms", t0, t0.Add(time.Minute), send, true},
	} {
		dc := &deadlineConn{}
		uc := &upConn{Conn: dc, writeBy: tc.armed}
		uc.armWrite(tc.now, tc.timeout)
		if got := len(dc.writes) == 1; got != tc.rearm {
			t.Errorf("%s: re-armed %v, want %v", tc.name, got, tc.rearm)
		}
		if want := tc.now.Add(tc.timeout); tc.rearm && (!uc.writeBy.Equal(want) || !dc.writes[0].Equal(want)) {
			t.Errorf("%s: armed %v (recorded %v), want %v", tc.name, dc.writes, uc.writeBy, want)
		}
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
