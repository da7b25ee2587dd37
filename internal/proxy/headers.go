package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"wisp/internal/ngxconf"
)

// The headers module (add_header, expires), server_tokens and charset,
// and the writer of responses wisp builds from files, which applies
// every header filter in nginx's order.

// headerConf holds add_header, expires, server_tokens and charset.
type headerConf struct {
	add       []addHeader
	expires   expiresConf
	tokensOff bool
	// expiresVar is "expires $var": the value, parsed per response.
	expiresVar *program
	charset    string // "" for off
	// charsetTypes is charset_types; nil for nginx's default list.
	charsetTypes map[string]bool
	redirect     redirectConf
}

// redirectConf is how a Location that wisp makes from a path is written:
// absolute_redirect, port_in_redirect and server_name_in_redirect.
type redirectConf struct {
	relative   bool // absolute_redirect off
	noPort     bool // port_in_redirect off
	serverName bool // server_name_in_redirect on
}

type addHeader struct {
	name   string
	value  program
	always bool
}

type expiresKind uint8

const (
	expiresOff expiresKind = iota
	expiresEpoch
	expiresMax
	expiresAccess   // now + d
	expiresModified // Last-Modified + d
	expiresDaily    // @time of day
)

type expiresConf struct {
	kind expiresKind
	d    time.Duration // offset, or time of day for expiresDaily
}

func defaultHeaderConf() headerConf { return headerConf{} }

func (h headerConf) inherit(p headerConf, set map[string]bool) headerConf {
	unlessSet(set, "add_header", &h.add, p.add)
	unlessSet(set, "expires", &h.expires, p.expires)
	unlessSet(set, "expires", &h.expiresVar, p.expiresVar)
	unlessSet(set, "server_tokens", &h.tokensOff, p.tokensOff)
	unlessSet(set, "charset", &h.charset, p.charset)
	unlessSet(set, "charset_types", &h.charsetTypes, p.charsetTypes)
	unlessSet(set, "absolute_redirect", &h.redirect.relative, p.redirect.relative)
	unlessSet(set, "port_in_redirect", &h.redirect.noPort, p.redirect.noPort)
	unlessSet(set, "server_name_in_redirect", &h.redirect.serverName, p.redirect.serverName)
	return h
}

// unlessSet gives *v the enclosing level's value p unless this level set
// the directive name: nginx's merge rule for a directive that a level
// either sets or inherits whole.
func unlessSet[T any](set map[string]bool, name string, v *T, p T) {
	if inherits(set, name) {
		*v = p
	}
}

// inherits reports that this level set none of the directives names, so
// the settings they make together come from the enclosing level.
func inherits(set map[string]bool, names ...string) bool {
	for _, n := range names {
		if set[n] {
			return false
		}
	}
	return true
}

// headerDirective compiles add_header, expires, server_tokens, charset.
func (c *compiler) headerDirective(d *ngxconf.Directive, m *contentConf) (bool, error) {
	h := &m.hdr
	switch d.Name {
	case "add_header":
		if len(d.Args) < 2 || len(d.Args) > 3 {
			return true, argCount(d, 2)
		}
		if len(d.Args) == 3 && d.Args[2] != "always" {
			return true, ngxconf.Errorf(d.Pos, "invalid parameter %q", d.Args[2])
		}
		v, err := c.value(d.Args[1], d.Pos)
		if err != nil {
			return true, err
		}
		if !m.set["add_header"] {
			h.add = nil
		}
		h.add = append(h.add, addHeader{name: d.Args[0], value: v, always: len(d.Args) == 3})
	case "expires":
		if m.set[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		if len(d.Args) == 1 && strings.Contains(d.Args[0], "$") {
			v, err := c.value(d.Args[0], d.Pos)
			if err != nil {
				return true, err
			}
			h.expiresVar = &v
			break
		}
		e, err := parseExpires(d.Args)
		if err != nil {
			return true, ngxconf.Errorf(d.Pos, "%s", err)
		}
		h.expires = e
	case "server_tokens":
		if m.set[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		switch d.Args[0] {
		case "on", "build":
			h.tokensOff = false
		case "off":
			h.tokensOff = true
		default:
			return true, ngxconf.Errorf(d.Pos, "invalid value %q in \"server_tokens\" directive", d.Args[0])
		}
	case "absolute_redirect", "port_in_redirect", "server_name_in_redirect":
		if m.set[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		on, err := flagArg(d)
		if err != nil {
			return true, err
		}
		switch d.Name {
		case "absolute_redirect":
			h.redirect.relative = !on
		case "port_in_redirect":
			h.redirect.noPort = !on
		default:
			h.redirect.serverName = on
		}
	case "charset_types":
		if len(d.Args) == 0 {
			return true, argCount(d, 1)
		}
		if !m.set[d.Name] {
			// As with gzip_types, text/html is always in the list.
			h.charsetTypes = map[string]bool{"text/html": true}
		}
		for _, t := range d.Args {
			h.charsetTypes[strings.ToLower(t)] = true
		}
	case "charset":
		if m.set[d.Name] {
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		h.charset = d.Args[0]
		if strings.EqualFold(h.charset, "off") {
			h.charset = ""
		}
	default:
		return false, nil
	}
	return true, nil
}

// parseExpires reads "expires [modified] TIME | epoch | max | off", as
// written in the config or produced by "expires $var".
func parseExpires(args []string) (expiresConf, error) {
	if len(args) < 1 || len(args) > 2 {
		return expiresConf{}, errors.New(`invalid number of arguments in "expires" directive`)
	}
	e := expiresConf{kind: expiresAccess}
	invalid := func(v string) error { return fmt.Errorf(`invalid value %q in "expires" directive`, v) }
	if len(args) == 2 {
		if args[0] != "modified" {
			return e, invalid(args[0])
		}
		e.kind = expiresModified
		args = args[1:]
	}
	v := args[0]
	switch v {
	case "epoch":
		return expiresConf{kind: expiresEpoch}, nil
	case "max":
		return expiresConf{kind: expiresMax}, nil
	case "off":
		return expiresConf{kind: expiresOff}, nil
	}
	if rest, ok := strings.CutPrefix(v, "@"); ok {
		t, err := ngxconf.ParseDuration(rest)
		if err != nil || t >= 24*time.Hour || e.kind == expiresModified {
			return e, invalid(v)
		}
		return expiresConf{kind: expiresDaily, d: t}, nil
	}
	neg := false
	switch {
	case strings.HasPrefix(v, "-"):
		neg, v = true, v[1:]
	case strings.HasPrefix(v, "+"):
		v = v[1:]
	}
	t, err := ngxconf.ParseDuration(v)
	if err != nil {
		return e, invalid(args[0])
	}
	if neg {
		t = -t
	}
	e.d = t
	return e, nil
}

// expiresFor is the expires that applies to ec's response: the one
// written, or "expires $var" evaluated now (against the response's
// $sent_http_content_type); a value that is no expires time turns it off,
// after an error line as nginx writes.
func (c *clientConn) expiresFor(ec *evalCtx, h *headerConf) expiresConf {
	if h.expiresVar == nil {
		return h.expires
	}
	v := h.expiresVar.appendTo(nil, ec)
	e, err := parseExpires(strings.Fields(string(v)))
	if err != nil {
		c.srv.log.Error("invalid \"expires\" value \""+string(v)+"\"", c.withHost(c.logCtx(ec))...)
		return expiresConf{}
	}
	return e
}

// safeStatus lists the statuses add_header (without always) and expires
// apply to.
func safeStatus(code int) bool {
	switch code {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}

const httpTimeLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// appendExpires appends the Expires and Cache-Control header lines.
func (e expiresConf) appendLines(dst []byte, now time.Time, lastMod int64) []byte {
	var exp time.Time
	var maxAge int64
	noCache := false
	switch e.kind {
	case expiresOff:
		return dst
	case expiresMax:
		return append(dst, "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\nCache-Control: max-age=315360000\r\n"...)
	case expiresEpoch:
		return append(dst, "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\n"...)
	case expiresDaily:
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.Local)
		exp = day.Add(e.d)
		if !exp.After(now) {
			exp = exp.AddDate(0, 0, 1)
		}
		maxAge = exp.Unix() - now.Unix()
	case expiresModified:
		if lastMod > 0 {
			exp = time.Unix(lastMod, 0).Add(e.d)
			maxAge = exp.Unix() - now.Unix()
			break
		}
		fallthrough
	default:
		exp = now.Add(e.d)
		maxAge = int64(e.d / time.Second)
	}
	noCache = e.d < 0 || maxAge < 0
	dst = append(dst, "Expires: "...)
	dst = exp.UTC().AppendFormat(dst, httpTimeLayout)
	dst = append(dst, "\r\nCache-Control: "...)
	if noCache {
		dst = append(dst, "no-cache"...)
	} else {
		dst = append(dst, "max-age="...)
		dst = strconv.AppendInt(dst, maxAge, 10)
	}
	return append(dst, "\r\n"...)
}

// appendAdded appends the add_header lines that apply to status.
func (h *headerConf) appendAdded(dst []byte, ec *evalCtx, status int) []byte {
	safe := safeStatus(status)
	for i := range h.add {
		a := &h.add[i]
		if !safe && !a.always {
			continue
		}
		mark := len(dst)
		dst = append(dst, a.name...)
		dst = append(dst, ": "...)
		vstart := len(dst)
		dst = a.value.appendTo(dst, ec)
		if len(dst) == vstart {
			dst = dst[:mark] // an empty value adds nothing
			continue
		}
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// charsetType reports whether charset applies to ctype: charset_types,
// or its defaults.
func (h *headerConf) charsetType(ctype string) bool {
	if h.charsetTypes != nil {
		return h.charsetTypes["*"] || h.charsetTypes[strings.ToLower(ctype)]
	}
	switch ctype {
	case "text/html", "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript", "application/rss+xml":
		return true
	}
	return false
}

// withCharset returns ctype with "; charset=X" when charset applies.
func (h *headerConf) withCharset(ctype string) string {
	if h.charset == "" || !h.charsetType(ctype) {
		return ctype
	}
	return ctype + "; charset=" + h.charset
}

// outHead is a response head built by a content handler of wisp's own
// (static files), before nginx's header filters run over it.
type outHead struct {
	status         int
	ctype          string // "" for none
	length         int64  // -1: unknown (chunked to HTTP/1.1 clients)
	lastMod        int64  // Unix seconds, 0 for none
	etag           []byte
	contentRange   string
	noAcceptRanges bool
	gzip           bool // body gzip-compressed: Content-Encoding, weak ETag
	vary           bool // the gzip filter looked at it: Vary with gzip_vary on
}

// writeOut writes out's head after the header filters, then body (nil
// for none, e.g. HEAD), and reports whether the connection stays open.
func (c *clientConn) writeOut(ec *evalCtx, m *contentConf, out *outHead, body io.Reader, keep bool) bool {
	if ec.errStatus > 0 {
		// After an error_page redirect the response carries the error's
		// status (or the =code given), as nginx's ngx_http_send_header.
		out.status = ec.errStatus
	}
	head := string(c.req.method) == "HEAD"
	chunked := out.length < 0 && out.status != 304 && c.req.minor >= 1 && !head && !isBridged(c.nc)
	if out.length < 0 && out.status != 304 && !chunked && !head {
		keep = false
	}
	if !c.keepAllowed() {
		keep = false
	}
	if c.answeringHere(ec, false) {
		return c.sendError(400, ec, false)
	}
	bw := c.srv.writeBufs.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	defer func() { bw.Reset(nil); c.srv.writeBufs.Put(bw) }()
	c.setWriteDeadline(time.Now().Add(c.client.sendTimeout()))
	// The header filters see a range answer as the 200 it was before
	// the range filter (which runs after them in nginx) cut it.
	ec.status = out.status
	if out.status == 206 {
		ec.status = 200
	}
	ec.out.ctype = out.ctype
	b := c.appendOutHead(bw.AvailableBuffer(), ec, m, out, chunked, keep)
	bw.Write(b)
	ec.out.headBytes = int64(len(b))
	ec.out.status, ec.status = out.status, out.status
	if body == nil || string(c.req.method) == "HEAD" {
		return bw.Flush() == nil && keep
	}
	var err error
	var n int64
	if chunked {
		// $body_bytes_sent counts the chunk framing too, as in nginx.
		cw := &chunkWriter{w: bw}
		_, err = io.Copy(cw, body)
		if err == nil {
			_, err = bw.WriteString("0\r\n\r\n")
			cw.sent += 5
		}
		n = cw.sent
	} else {
		// Flush the head, then let the kernel copy the file (sendfile).
		if err = bw.Flush(); err == nil {
			n, err = copyWithDeadlines(c, body)
		}
	}
	ec.out.bodyBytes += n
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		c.srv.log.Info("writev() failed "+errnoText(err)+" while sending response to client", c.logCtx(ec)...)
		return false
	}
	return keep
}

// appendOutHead formats the head in nginx's order: the fixed header
// filter lines, then the header list (ETag, expires, add_header,
// Content-Encoding, range headers).
func (c *clientConn) appendOutHead(b []byte, ec *evalCtx, m *contentConf, out *outHead, chunked, keep bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(out.status), 10)
	b = append(b, ' ')
	b = append(b, statusText(out.status)...)
	b = append(b, "\r\nServer: "...)
	b = append(b, c.serverToken(ec)...)
	b = append(b, "\r\nDate: "...)
	b = append(b, c.srv.date.get(time.Now())...)
	b = append(b, "\r\n"...)
	if out.ctype != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, c.contentTypeFor(ec, out.ctype, out.status)...)
		b = append(b, "\r\n"...)
	}
	if out.length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, out.length, 10)
		b = append(b, "\r\n"...)
	}
	if out.lastMod > 0 && (out.status == 200 || out.status == 206 || out.status == 304) {
		b = append(b, "Last-Modified: "...)
		b = time.Unix(out.lastMod, 0).UTC().AppendFormat(b, httpTimeLayout)
		b = append(b, "\r\n"...)
	}
	if chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if keep {
		b = append(b, "Connection: keep-alive\r\n"...)
	} else {
		b = append(b, "Connection: close\r\n"...)
	}
	if out.vary && m.gz.vary {
		b = append(b, "Vary: Accept-Encoding\r\n"...)
	}
	if len(out.etag) > 0 {
		b = append(b, "ETag: "...)
		if out.gzip {
			b = append(b, "W/"...)
		}
		b = append(b, out.etag...)
		b = append(b, "\r\n"...)
	}
	if safeStatus(out.status) {
		b = c.expiresFor(ec, &m.hdr).appendLines(b, time.Now(), out.lastMod)
	}
	b = m.hdr.appendAdded(b, ec, out.status)
	if out.gzip {
		b = append(b, "Content-Encoding: gzip\r\n"...)
	}
	if out.contentRange != "" {
		b = append(b, "Content-Range: "...)
		b = append(b, out.contentRange...)
		b = append(b, "\r\n"...)
	} else if out.status == 200 && out.length >= 0 && !out.noAcceptRanges {
		b = append(b, "Accept-Ranges: bytes\r\n"...)
	}
	return append(b, "\r\n"...)
}

// serverToken is the Server header and error page footer: the full
// token, or only the product name with server_tokens off.
func (c *clientConn) serverToken(ec *evalCtx) string {
	t := c.srv.token
	if ec != nil && ec.server != nil {
		if m := ec.contentOf(); m != nil && m.hdr.tokensOff {
			t, _, _ = strings.Cut(t, "/")
		}
	}
	return t
}

// appendFilterLines appends what the headers module adds to a response
// wisp generates or relays: expires for safe statuses, then add_header.
func (c *clientConn) appendFilterLines(b []byte, ec *evalCtx, status int) []byte {
	if ec == nil || ec.server == nil {
		return b
	}
	m := ec.contentOf()
	if m == nil {
		return b
	}
	ec.out.status, ec.status = status, status
	b = c.appendVary(b, ec)
	if status == 416 {
		b = append(b, ec.out.rangeLines...)
	}
	if safeStatus(status) {
		b = c.expiresFor(ec, &m.hdr).appendLines(b, time.Now(), 0)
	}
	b = m.hdr.appendAdded(b, ec, status)
	if ec.out.gzip {
		b = append(b, "Content-Encoding: gzip\r\n"...)
	}
	return b
}

// contentTypeFor applies charset to a generated Content-Type; like
// nginx's charset filter it leaves 301 and 302 alone (old browsers took a
// redirect's charset for the next page).
func (c *clientConn) contentTypeFor(ec *evalCtx, ctype string, status int) string {
	if ec == nil || ec.server == nil || status == 301 || status == 302 {
		return ctype
	}
	if m := ec.contentOf(); m != nil {
		return m.hdr.withCharset(ctype)
	}
	return ctype
}

// chunkWriter frames each write as one HTTP/1.1 chunk; sent counts the
// bytes written, framing included.
type chunkWriter struct {
	w       *bufio.Writer
	scratch [20]byte
	sent    int64
}

func (cw *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	size := strconv.AppendInt(cw.scratch[:0], int64(len(p)), 16)
	cw.w.Write(size)
	cw.w.WriteString("\r\n")
	n, err := cw.w.Write(p)
	if err == nil {
		_, err = cw.w.WriteString("\r\n")
	}
	cw.sent += int64(len(size)+4) + int64(n)
	return n, err
}

// sendChunk is how much of a file goes out under one send_timeout:
// nginx's timer runs between two writes, not over the whole body.
const sendChunk = 1 << 20

// copyWithDeadlines copies body to the client in sendChunk pieces, each
// under a fresh write deadline; a limited *os.File still goes out by
// sendfile through the connection's ReadFrom.
func copyWithDeadlines(c *clientConn, body io.Reader) (int64, error) {
	var total int64
	for {
		c.setWriteDeadline(time.Now().Add(c.client.sendTimeout()))
		n, err := io.CopyN(c.nc, body, sendChunk)
		total += n
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// charsetSuffix is what charset adds to a relayed Content-Type (whose
// status is ec.status): nothing when the upstream named a charset or the
// type is not in charset_types.
func (c *clientConn) charsetSuffix(ec *evalCtx, ctype []byte) string {
	if ec == nil || ec.server == nil {
		return ""
	}
	if ec.status == 301 || ec.status == 302 {
		return "" // as contentTypeFor: no charset on these redirects
	}
	// Without a charset directive there is nothing to add: that is looked
	// at first, as the lower-cased copy below allocates.
	m := ec.contentOf()
	if m == nil || m.hdr.charset == "" || bytes.Contains(bytes.ToLower(ctype), []byte("charset=")) {
		return ""
	}
	base, _, _ := bytes.Cut(ctype, []byte(";"))
	if !m.hdr.charsetType(string(bytes.TrimSpace(base))) {
		return ""
	}
	return "; charset=" + m.hdr.charset
}

// filterReplaces reports whether an upstream header is replaced by one
// the headers filter writes (expires sets Expires and Cache-Control).
func (c *clientConn) filterReplaces(ec *evalCtx, name []byte, status int) bool {
	if ec == nil || ec.server == nil {
		return false
	}
	m := ec.contentOf()
	if m == nil {
		return false
	}
	if ec.out.gzip && bytes.EqualFold(name, []byte("Accept-Ranges")) {
		return true // a compressed body has no byte ranges
	}
	if !safeStatus(status) || c.expiresFor(ec, &m.hdr).kind == expiresOff {
		return false
	}
	return bytes.EqualFold(name, []byte("Expires")) || bytes.EqualFold(name, []byte("Cache-Control"))
}

// appendRedirectBase appends what goes before a path to make a Location
// absolute, as nginx's header filter does: the scheme, then the server's
// name (server_name_in_redirect), the Host, or the local address, then
// the port unless it is the scheme's own or port_in_redirect is off.
func (c *clientConn) appendRedirectBase(dst []byte, ec *evalCtx) []byte {
	rc := ec.redirectOf()
	tls := isTLS(c.nc)
	if tls {
		dst = append(dst, "https://"...)
	} else {
		dst = append(dst, "http://"...)
	}
	switch {
	case rc.serverName && ec != nil && ec.server != nil:
		dst = append(dst, ec.server.name...)
	case ec != nil && ec.req.host != nil:
		dst = append(dst, ec.req.host...)
	default:
		dst = appendLocalIP(dst, c.nc.LocalAddr())
	}
	p := string(c.serverPort)
	if rc.noPort || p == "" || (!tls && p == "80") || (tls && p == "443") {
		return dst
	}
	return append(append(dst, ':'), p...)
}

// appendLocalIP appends the address a connection was accepted on, as
// nginx names the host when the request gave none (IPv6 in brackets).
func appendLocalIP(dst []byte, a net.Addr) []byte {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return append(dst, "unix:"...)
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	ip = ip.Unmap()
	if ip.Is6() {
		return append(ip.AppendTo(append(dst, '[')), ']')
	}
	return ip.AppendTo(dst)
}

// redirectOf returns the absolute_redirect settings that answer ec: its
// location's, else its server's.
func (ec *evalCtx) redirectOf() redirectConf {
	if ec == nil || ec.server == nil {
		return redirectConf{}
	}
	if loc := ec.answeringLoc(); loc != nil && loc.mod != nil {
		return loc.mod.hdr.redirect
	}
	if ec.server.mod != nil {
		return ec.server.mod.hdr.redirect
	}
	return redirectConf{}
}

// relativeRedirects reports absolute_redirect off: a Location made from a
// path is then sent as it is.
func (ec *evalCtx) relativeRedirects() bool { return ec.redirectOf().relative }
