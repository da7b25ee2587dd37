package proxy

import (
	"bufio"
	"errors"
)

// errNotHTTP: the upstream's first line is not an HTTP status line. nginx
// then takes the whole answer as an HTTP/0.9 response (relayHTTP09).
var errNotHTTP = errors.New("upstream sent no valid HTTP/1.0 header")

// statusLine is an upstream status line as nginx reads it.
type statusLine struct {
	version int    // major*1000 + minor, as nginx's http_version
	code    int    // any three digits
	text    []byte // from the code to the end of the line: "200 OK"
}

// parseStatusLine reads the status line at the start of b with the
// grammar of nginx 1.22's ngx_http_parse_status_line: "HTTP/" then a
// major version of 1-99 without a leading zero, '.', a minor of 0-99,
// spaces, three digits, then a space, a '.' (IIS's "403.1") or the end of
// the line; CR LF or a bare LF ends it. It returns the line's length with
// its LF; 0 when b ends before the line does and more may still make it
// valid; errNotHTTP as soon as a byte rules that out.
func parseStatusLine(b []byte, st *statusLine) (int, error) {
	const (
		sProto = iota // matching "HTTP/"
		sFirstMajor
		sMajor
		sFirstMinor
		sMinor
		sCode
		sAfterCode
		sText
		sAlmostDone
	)
	state, major, minor, digits, start := sProto, 0, 0, 0, 0
	code := 0
	for i, ch := range b {
		switch state {
		case sProto:
			if ch != "HTTP/"[i] {
				return 0, errNotHTTP
			}
			if i == len("HTTP/")-1 {
				state = sFirstMajor
			}
		case sFirstMajor:
			if ch < '1' || ch > '9' {
				return 0, errNotHTTP
			}
			major, state = int(ch-'0'), sMajor
		case sMajor:
			switch {
			case ch == '.':
				state = sFirstMinor
			case isDigit(ch) && major < 10:
				major = major*10 + int(ch-'0')
			default:
				return 0, errNotHTTP
			}
		case sFirstMinor:
			if !isDigit(ch) {
				return 0, errNotHTTP
			}
			minor, state = int(ch-'0'), sMinor
		case sMinor:
			switch {
			case ch == ' ':
				state = sCode
			case isDigit(ch) && minor < 10:
				minor = minor*10 + int(ch-'0')
			default:
				return 0, errNotHTTP
			}
		case sCode:
			// nginx skips spaces anywhere among the digits and takes
			// the text from two bytes before the third.
			if ch == ' ' {
				continue
			}
			if !isDigit(ch) {
				return 0, errNotHTTP
			}
			code = code*10 + int(ch-'0')
			if digits++; digits == 3 {
				state, start = sAfterCode, i-2
			}
		case sAfterCode, sText:
			switch {
			case ch == '\r':
				state = sAlmostDone
			case ch == '\n':
				*st = statusLine{version: major*1000 + minor, code: code, text: b[start:i]}
				return i + 1, nil
			case state == sAfterCode && ch != ' ' && ch != '.':
				return 0, errNotHTTP
			default:
				state = sText
			}
		case sAlmostDone:
			if ch != '\n' {
				return 0, errNotHTTP
			}
			*st = statusLine{version: major*1000 + minor, code: code, text: b[start : i-1]}
			return i + 1, nil
		}
	}
	return 0, nil
}

func isDigit(ch byte) bool { return ch >= '0' && ch <= '9' }

// relayHTTP09 passes on an answer that does not start with a status line
// as nginx 1.22 does: logged as an error, then every byte the upstream
// sends until it closes goes to the client as it is, with no head (an
// HTTP/0.9 response), for HEAD requests too. nginx's header filter does not
// run, so the client connection stays open for the next request, and
// $status is 009.
func (c *clientConn) relayHTTP09(h *proxyHandler, ec *evalCtx, uc *upConn, keepClient bool) bool {
	c.srv.log.Error(errNotHTTP.Error()+" while reading response header from upstream", c.logCtxPeer(ec, uc.peer)...)
	ec.status, ec.out.status = 9, 200 // $upstream_status is 200
	bw := c.srv.writeBufs.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	defer func() { bw.Reset(nil); c.srv.writeBufs.Put(bw) }()
	err := c.copyBody(bw, uc, uc.br, h, false)
	if err == nil {
		if ferr := bw.Flush(); ferr != nil {
			err = clientWriteError{ferr}
		}
	}
	c.noteUpstream(ec, uc.peer)
	c.srv.closeUpstream(uc)
	if err != nil {
		c.relayFailed(ec, uc, bw, err)
		return false
	}
	return keepClient && c.keepAllowed()
}
