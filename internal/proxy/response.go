package proxy

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"time"
)

// statusText is nginx's reason phrase for a status line
// (ngx_http_status_lines); codes it does not name get none.
func statusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Moved Temporarily"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 401:
		return "Unauthorized"
	}
	return pageTitle(code)
}

// pageTitle is the title of nginx's built-in page for code; "" when
// nginx has no page for it.
func pageTitle(code int) string {
	switch code {
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Authorization Required"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Not Allowed"
	case 406:
		return "Not Acceptable"
	case 408:
		return "Request Time-out"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Request Entity Too Large"
	case 414:
		return "Request-URI Too Large"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Requested Range Not Satisfiable"
	case 421:
		return "Misdirected Request"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Temporarily Unavailable"
	case 504:
		return "Gateway Time-out"
	case 505:
		return "HTTP Version Not Supported"
	case 507:
		return "Insufficient Storage"
	}
	return ""
}

// msiePadding is appended to error pages for MSIE and Chrome, whose
// "friendly" error pages would otherwise hide short bodies.
const msiePadding = "<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n"

// errorPage builds nginx's default error body for code; 494 is nginx's
// internal code for an oversized header, answered as 400.
func errorPage(code int, token string) string {
	if pageTitle(code) == "" && code != 494 && code != 497 {
		return "" // nginx sends no body for codes it has no page for
	}
	title := strconv.Itoa(code) + " " + pageTitle(code)
	extra := ""
	switch code {
	case 494:
		title = "400 Request Header Or Cookie Too Large"
		extra = "<center>Request Header Or Cookie Too Large</center>\r\n"
		code = 400
	case 497: // a plain HTTP request on a TLS port (tls.go)
		title = "400 The plain HTTP request was sent to HTTPS port"
		extra = "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
		code = 400
	}
	h1 := strconv.Itoa(code) + " " + pageTitle(code)
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" +
		h1 + "</h1></center>\r\n" + extra + "<hr><center>" + token + "</center>\r\n</body>\r\n</html>\r\n"
}

// wantsPadding reproduces nginx's User-Agent sniffing for msie_padding.
func wantsPadding(ua []byte) bool {
	return bytes.Contains(ua, []byte("MSIE ")) && !bytes.Contains(ua, []byte("Opera")) ||
		bytes.Contains(ua, []byte("Chrome/")) && !bytes.Contains(ua, []byte("Gecko/"))
}

// dateCache formats the Date header once per second rather than per
// response.
type dateCache struct {
	v atomic.Pointer[dateEntry]
}

type dateEntry struct {
	sec  int64
	text []byte
}

func (d *dateCache) get(now time.Time) []byte {
	sec := now.Unix()
	if e := d.v.Load(); e != nil && e.sec == sec {
		return e.text
	}
	e := &dateEntry{sec: sec, text: now.UTC().AppendFormat(nil, "Mon, 02 Jan 2006 15:04:05 GMT")}
	d.v.Store(e)
	return e.text
}
