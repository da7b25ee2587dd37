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
	v, err := ngxconf.ParseDuration(d.Args[0])
	if err != nil || v <= 0 {
		return ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
	}
	switch d.Name {
	case "client_header_timeout":
		t.header = v
	case "client_body_timeout":
		t.body = v
	default:
		t.send = v
	}
	return nil
}

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
