package proxy

import (
	"bufio"
	"bytes"
	"io"
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
	charset   string // "" for off
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
	unlessSet(set, "server_tokens", &h.tokensOff, p.tokensOff)
	unlessSet(set, "charset", &h.charset, p.charset)
	return h
}

// unlessSet gives *v the enclosing level's value p unless this level set
// the directive name: nginx's merge rule for a directive that a level
// either sets or inherits whole.
func unlessSet[T any](set map[string]bool, name string, v *T, p T) {
	if !set[name] {
		*v = p
	}
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
		e, err := parseExpires(d)
		if err != nil {
			return true, err
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

// parseExpires reads "expires [modified] TIME | epoch | max | off".
func parseExpires(d *ngxconf.Directive) (expiresConf, error) {
	args := d.Args
	if len(args) < 1 || len(args) > 2 {
		return expiresConf{}, argCount(d, 1)
	}
	e := expiresConf{kind: expiresAccess}
	if len(args) == 2 {
		if args[0] != "modified" {
			return e, ngxconf.Errorf(d.Pos, "invalid value %q in \"expires\" directive", args[0])
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
			return e, ngxconf.Errorf(d.Pos, "invalid value %q in \"expires\" directive", v)
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
		return e, ngxconf.Errorf(d.Pos, "invalid value %q in \"expires\" directive", args[0])
	}
	if neg {
		t = -t
	}
	e.d = t
	return e, nil
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

// charsetTypes are charset_types' defaults.
func charsetType(ctype string) bool {
	switch ctype {
	case "text/html", "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript", "application/rss+xml":
		return true
	}
	return false
}

// withCharset returns ctype with "; charset=X" when charset applies.
func (h *headerConf) withCharset(ctype string) string {
	if h.charset == "" || !charsetType(ctype) {
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
	chunked := out.length < 0 && out.status != 304 && c.req.minor >= 1 && !head
	if out.length < 0 && out.status != 304 && !chunked && !head {
		keep = false
	}
	if !c.keepAllowed() {
		keep = false
	}
	bw := c.srv.writeBufs.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	defer func() { bw.Reset(nil); c.srv.writeBufs.Put(bw) }()
	c.nc.SetWriteDeadline(time.Now().Add(sendTimeout))
	b := c.appendOutHead(bw.AvailableBuffer(), ec, m, out, chunked, keep)
	bw.Write(b)
	ec.out.status, ec.status = out.status, out.status
	if body == nil || string(c.req.method) == "HEAD" {
		return bw.Flush() == nil && keep
	}
	var err error
	var n int64
	if chunked {
		cw := &chunkWriter{w: bw}
		n, err = io.Copy(cw, body)
		if err == nil {
			_, err = bw.WriteString("0\r\n\r\n")
		}
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
		b = m.hdr.expires.appendLines(b, time.Now(), out.lastMod)
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
	if safeStatus(status) {
		b = m.hdr.expires.appendLines(b, time.Now(), 0)
	}
	b = m.hdr.appendAdded(b, ec, status)
	if ec.out.gzip {
		b = append(b, "Content-Encoding: gzip\r\n"...)
	}
	if status == 416 && ec.out.contentRange != "" {
		b = append(b, "Content-Range: "...)
		b = append(b, ec.out.contentRange...)
		b = append(b, "\r\n"...)
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

// chunkWriter frames each write as one HTTP/1.1 chunk.
type chunkWriter struct {
	w       *bufio.Writer
	scratch [20]byte
}

func (cw *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	cw.w.Write(strconv.AppendInt(cw.scratch[:0], int64(len(p)), 16))
	cw.w.WriteString("\r\n")
	n, err := cw.w.Write(p)
	if err == nil {
		_, err = cw.w.WriteString("\r\n")
	}
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
		c.nc.SetWriteDeadline(time.Now().Add(sendTimeout))
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

// charsetSuffix is what charset adds to a relayed Content-Type: nothing
// when the upstream named a charset or the type is not in charset_types.
func (c *clientConn) charsetSuffix(ec *evalCtx, ctype []byte) string {
	if ec == nil || ec.server == nil {
		return ""
	}
	// Without a charset directive there is nothing to add: that is looked
	// at first, as the lower-cased copy below allocates.
	m := ec.contentOf()
	if m == nil || m.hdr.charset == "" || bytes.Contains(bytes.ToLower(ctype), []byte("charset=")) {
		return ""
	}
	base, _, _ := bytes.Cut(ctype, []byte(";"))
	if !charsetType(string(bytes.TrimSpace(base))) {
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
	if !safeStatus(status) || m.hdr.expires.kind == expiresOff {
		return false
	}
	return bytes.EqualFold(name, []byte("Expires")) || bytes.EqualFold(name, []byte("Cache-Control"))
}
