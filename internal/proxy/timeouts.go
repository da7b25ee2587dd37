package proxy

import (
	"time"

	"wisp/internal/ngxconf"
)

// clientTimeouts are the client-side timers (nginx's defaults apply to
// unset ones): client_header_timeout bounds a whole request head, from
// accept for the first request and from the first byte for later ones;
// client_body_timeout and send_timeout bound the time between two reads
// of the body and two writes to the client.
type clientTimeouts struct {
	header, body, send time.Duration // 0: not set at this level
}

// inherit fills unset timers from the enclosing level.
func (t clientTimeouts) inherit(parent clientTimeouts) clientTimeouts {
	if t.header == 0 {
		t.header = parent.header
	}
	if t.body == 0 {
		t.body = parent.body
	}
	if t.send == 0 {
		t.send = parent.send
	}
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (t clientTimeouts) headerTimeout() time.Duration {
	return orDefault(t.header, clientHeaderTimeout)
}
func (t clientTimeouts) bodyTimeout() time.Duration { return orDefault(t.body, clientBodyTimeout) }
func (t clientTimeouts) sendTimeout() time.Duration { return orDefault(t.send, sendTimeout) }

// isClientTimeout names the directives set handles.
func isClientTimeout(name string) bool {
	return name == "client_header_timeout" || name == "client_body_timeout" || name == "send_timeout"
}

// set parses one of the three directives. client_header_timeout is valid
// only at http and server level (the table enforces contexts).
func (t *clientTimeouts) set(d *ngxconf.Directive) error {
	if err := argCount(d, 1); err != nil {
		return err
	}
	switch d.Name {
	case "client_header_timeout":
		return parseTimeout(d, &t.header, waitNow)
	case "client_body_timeout":
		return parseTimeout(d, &t.body, waitNow)
	}
	return parseTimeout(d, &t.send, writeWaitNow)
}

// A timeout of 0 is valid in nginx, and arms a timer that fires on the
// event loop's next pass: a wait that has to block ends at once, while I/O
// that needs no wait is done. Checked against nginx 1.22:
// client_header_timeout 0 closes every new connection unanswered (a head
// sent in one packet right after the connect included), client_body_timeout
// 0 is a 408 for a body that did not come with the head, proxy_read_timeout
// 0 a 504 even from a fast peer, proxy_connect_timeout 0 a 504 over TCP
// (a non-blocking TCP connect always waits) and nothing over unix: (whose
// connect does not), and send_timeout 0 and proxy_send_timeout 0 cut a
// transfer only once a write finds the socket buffer full. Since 0 means
// "not set" in the compiled config, such a 0 is kept as one of these.
const (
	// waitNow is a read's or a connect's: a deadline this close has passed
	// by the time the call looks at it, and Go then fails the call without
	// trying it, as nginx, which waits for a readiness event it cannot see
	// before its timer fires.
	waitNow = time.Nanosecond
	// writeWaitNow is a write's: nginx writes first and arms the timer only on
	// EAGAIN, so the write is let through and waits at most this once the
	// socket is full.
	writeWaitNow = time.Millisecond
)

// parseTimeout parses a timeout directive's one argument into *dst,
// keeping a 0 as zero (waitNow or writeWaitNow).
func parseTimeout(d *ngxconf.Directive, dst *time.Duration, zero time.Duration) error {
	v, err := ngxconf.ParseDuration(d.Args[0])
	if err != nil || v < 0 {
		return ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
	}
	if v == 0 {
		v = zero
	}
	*dst = v
	return nil
}

// refusesConnections reports client_header_timeout 0, with which nginx
// closes each new connection before it reads anything.
func (c *clientConn) refusesConnections() bool { return c.headerTimeout() == waitNow }

// clientBodyTimeout is nginx's default client_body_timeout.
const clientBodyTimeout = 60 * time.Second

// headerTimeout is client_header_timeout of the connection's default
// server: the head decides the server, so nginx takes the listen
// address's default one.
func (c *clientConn) headerTimeout() time.Duration {
	if c.group != nil && c.group.def != nil {
		return c.group.def.client.headerTimeout()
	}
	return clientHeaderTimeout
}
