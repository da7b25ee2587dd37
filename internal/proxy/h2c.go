package proxy

import (
	"errors"
	"net"
	"os"
	"time"
)

// h2cMode is how a plain (non-TLS) address treats HTTP/2 with prior
// knowledge: a connection that opens with the HTTP/2 preface.
type h2cMode uint8

const (
	h2cOff h2cMode = iota
	// h2cOnly is "listen ... http2" without ssl, as nginx 1.22 serves
	// it: every connection is HTTP/2, and one that does not open with the
	// preface is refused at the protocol level (refuseNonHTTP2).
	h2cOnly
	// h2cSniff is "http2 on" on a plain address (nginx 1.25.1 and later):
	// a connection opening with the preface is HTTP/2, any other is
	// HTTP/1.x on the same port.
	h2cSniff
)

// cleartextMode decides an address's mode once its servers are compiled.
// As in nginx, the address's listen parameters and its default server's
// "http2" count: no Host is known before the first bytes.
func cleartextMode(g *vhostGroup) h2cMode {
	switch {
	case g.tls != nil && g.tls.http2:
		return h2cOnly
	case g.def != nil && g.def.tls != nil && g.def.tls.http2:
		return h2cSniff
	}
	return h2cOff
}

// h2Preface opens every HTTP/2 connection (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// cleartextHTTP2 reads the first bytes of a connection on an h2c address,
// no more than it takes to tell the preface from anything else, into the
// engine's own buffer. On the preface the connection goes to the HTTP/2
// side with those bytes; otherwise they stay buffered for the HTTP/1.x
// parser (h2cSniff) or the connection is refused (h2cOnly). It reports
// whether serve should go on reading HTTP/1.x requests.
func (c *clientConn) cleartextHTTP2() bool {
	for {
		got := c.buf[c.start:c.end]
		n := min(len(got), len(h2Preface))
		if string(got[:n]) != h2Preface[:n] {
			if c.group.h2c == h2cSniff {
				return true
			}
			c.refuseNonHTTP2()
			return false
		}
		if n == len(h2Preface) {
			break
		}
		c.nc.SetReadDeadline(c.headBy)
		if err := c.fill(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.srv.log.Info("client timed out (110: Connection timed out) while waiting for request", "conn", c.id, "client", string(c.remoteAddr))
			}
			return false
		}
	}
	pc := &prefixConn{Conn: c.nc, pending: append([]byte(nil), c.buf[c.start:c.end]...)}
	c.start = c.end
	c.releaseBuf()
	c.nc.SetReadDeadline(time.Time{})
	c.active.Store(true)
	c.srv.serveHTTP2(c, pc)
	return false
}

// nginxH2Refusal is what nginx 1.22 writes on an HTTP/2-only cleartext
// port to a client that did not send the preface: its SETTINGS
// (MAX_CONCURRENT_STREAMS 128, INITIAL_WINDOW_SIZE 65536,
// MAX_FRAME_SIZE 16777215), a WINDOW_UPDATE of the connection window by
// 2147418112, and GOAWAY with last stream 0 and PROTOCOL_ERROR.
var nginxH2Refusal = []byte{
	0, 0, 18, 4, 0, 0, 0, 0, 0,
	0, 3, 0, 0, 0, 128,
	0, 4, 0, 1, 0, 0,
	0, 5, 0, 255, 255, 255,
	0, 0, 4, 8, 0, 0, 0, 0, 0,
	0x7f, 0xff, 0, 0,
	0, 0, 8, 7, 0, 0, 0, 0, 0,
	0, 0, 0, 0,
	0, 0, 0, 1,
}

// refuseNonHTTP2 answers a connection on an HTTP/2-only address that
// opened with something else (an HTTP/1.1 request, say) as nginx 1.22
// does, and logs it with nginx's wording.
func (c *clientConn) refuseNonHTTP2() {
	c.srv.log.Info("invalid connection preface while processing HTTP/2 connection", "conn", c.id, "client", string(c.remoteAddr))
	c.armWrite()
	c.nc.Write(nginxH2Refusal)
}

// prefixConn hands the HTTP/2 side a connection whose first bytes the
// engine already read.
type prefixConn struct {
	net.Conn
	pending []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
