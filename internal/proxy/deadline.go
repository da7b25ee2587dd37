package proxy

import "time"

// lazyDeadline is the deadline last armed on one direction of a socket.
// Arming a deadline is a timer operation, and a busy connection carries
// many requests a second, each of which would move it by microseconds: a
// deadline armed a little earlier than wanted is kept instead.
type lazyDeadline struct{ at time.Time }

// move reports whether the deadline has to be armed at want, and notes it
// as armed if so. One armed later than want is too late; one armed at most
// slack earlier is kept (the wait ends up to slack sooner).
func (d *lazyDeadline) move(want time.Time, slack time.Duration) bool {
	if !d.at.IsZero() && !d.at.After(want) && want.Sub(d.at) <= slack {
		return false
	}
	d.at = want
	return true
}

// forget is for code that armed the socket's deadline without move: the
// next move arms it whatever it was.
func (d *lazyDeadline) forget() { d.at = time.Time{} }

// armRead arms the upstream read deadline for a read that may take timeout
// from now (proxy_read_timeout), allowing timeout/16 of slack.
func (uc *upConn) armRead(now time.Time, timeout time.Duration) {
	uc.armReadAt(now.Add(timeout), timeout/16)
}

func (uc *upConn) armReadAt(want time.Time, slack time.Duration) {
	if uc.readBy.move(want, slack) {
		uc.SetReadDeadline(want)
	}
}

// armWrite arms the client's write deadline for a write that may take
// send_timeout from now, allowing send_timeout/16 of slack.
func (c *clientConn) armWrite() {
	timeout := c.client.sendTimeout()
	want := time.Now().Add(timeout)
	if c.writeBy.move(want, timeout/16) {
		c.nc.SetWriteDeadline(want)
	}
}

// setWriteDeadline arms the client's write deadline at exactly t, for
// writes with their own timeout.
func (c *clientConn) setWriteDeadline(t time.Time) {
	c.writeBy.at = t
	c.nc.SetWriteDeadline(t)
}
