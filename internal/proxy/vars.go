package proxy

import (
	"bytes"
	"strconv"
	"strings"

	"wisp/internal/ngxconf"
)

// varID names one of the variables a value program can refer to.
type varID uint8

const (
	varNone varID = iota // a literal part
	varHost
	varHTTP // $http_NAME; the part's name holds NAME
	varRemoteAddr
	varRemotePort
	varProxyAddXFF
	varScheme
	varRequestURI
	varURI
	varArgs
	varIsArgs
	varServerName
	varServerPort
	varRequestMethod
	varProxyHost
	varProxyPort
	varStatus  // the response status, for map $status (maps.go)
	varSet     // a variable of "set"; the part's idx is its slot (rewrite.go)
	varMap     // a map's result; the part's m is the map (maps.go)
	varCapture // $1..$9 of the last regex match; idx is the number
	varArg     // $arg_NAME; the part's name holds NAME (rewrite.go)
	varCookie  // $cookie_NAME; the part's name holds NAME (rewrite.go)
	varHTTPS   // "on" on TLS connections
	// The response modules' own (static.go, accesslog.go).
	varRealpathRoot
	varSentContentType // $sent_http_content_type
	varBytesSent
	// The log module's variables (accesslog.go).
	varTimeLocal
	varTimeISO8601
	varMsec
	varRequest
	varServerProtocol
	varBodyBytesSent
	varRequestTime
	varRemoteUser
	varUpstreamAddr
	varUpstreamResponseTime
	varUpstreamStatus
	varUpstreamConnectTime
	varUpstreamHeaderTime
	varUpstreamBytesReceived
	varUpstreamBytesSent
	varRequestLength
	varConnection
	varConnectionRequests
	// File and request identity variables (rewrite.go appendFlowVar).
	varRequestFilename
	varDocumentRoot
	varRequestID
)

// builtinVars maps the supported variable names to their ids.
func builtinVar(name string) (varID, bool) {
	switch name {
	case "host":
		return varHost, true
	case "remote_addr":
		return varRemoteAddr, true
	case "remote_port":
		return varRemotePort, true
	case "proxy_add_x_forwarded_for":
		return varProxyAddXFF, true
	case "scheme":
		return varScheme, true
	case "request_uri":
		return varRequestURI, true
	case "uri", "document_uri":
		return varURI, true
	case "args", "query_string":
		return varArgs, true
	case "is_args":
		return varIsArgs, true
	case "server_name":
		return varServerName, true
	case "server_port":
		return varServerPort, true
	case "request_method":
		return varRequestMethod, true
	case "proxy_host":
		return varProxyHost, true
	case "proxy_port":
		return varProxyPort, true
	case "status":
		return varStatus, true
	case "https":
		return varHTTPS, true
	case "realpath_root":
		return varRealpathRoot, true
	case "time_local":
		return varTimeLocal, true
	case "time_iso8601":
		return varTimeISO8601, true
	case "msec":
		return varMsec, true
	case "request":
		return varRequest, true
	case "server_protocol":
		return varServerProtocol, true
	case "body_bytes_sent":
		return varBodyBytesSent, true
	case "bytes_sent":
		return varBytesSent, true
	case "request_time":
		return varRequestTime, true
	case "remote_user":
		return varRemoteUser, true
	case "upstream_addr":
		return varUpstreamAddr, true
	case "upstream_response_time":
		return varUpstreamResponseTime, true
	case "upstream_status":
		return varUpstreamStatus, true
	case "upstream_connect_time":
		return varUpstreamConnectTime, true
	case "upstream_header_time":
		return varUpstreamHeaderTime, true
	case "upstream_bytes_received":
		return varUpstreamBytesReceived, true
	case "upstream_bytes_sent":
		return varUpstreamBytesSent, true
	case "request_length":
		return varRequestLength, true
	case "connection":
		return varConnection, true
	case "connection_requests":
		return varConnectionRequests, true
	case "request_filename":
		return varRequestFilename, true
	case "document_root":
		return varDocumentRoot, true
	case "request_id":
		return varRequestID, true
	case "content_type", "content_length":
		// nginx's are the request headers'.
		return varHTTP, true
	}
	return varNone, false
}

// part is one piece of a compiled value: a literal or a variable.
type part struct {
	lit  []byte
	v    varID
	name []byte  // for varHTTP: the header name with '_' turned into '-'
	idx  int     // varSet slot, varCapture number
	m    *mapVar // varMap
	// fallback is what a varSet part reads while it is unset: the prefix
	// variable ($http_x...) that set shadows.
	fallback *part
}

// program is a directive value compiled once at load time, so requests only
// concatenate parts and never parse the text again.
type program struct {
	parts []part
}

// compileValue compiles text containing $var and ${var} references to
// built-in variables only. Unknown variables are load-time errors, as in
// nginx. Values that may name set or map variables use compiler.value.
func compileValue(text string, pos ngxconf.Pos) (program, error) {
	return compileScoped(text, pos, nil)
}

// compileScoped is compileValue that also knows the variables declared
// by set and map (scope may be nil).
func compileScoped(text string, pos ngxconf.Pos, scope *varScope) (program, error) {
	var p program
	lit := []byte{}
	flush := func() {
		if len(lit) > 0 {
			p.parts = append(p.parts, part{lit: lit})
			lit = []byte{}
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c != '$' {
			lit = append(lit, c)
			i++
			continue
		}
		i++
		var name string
		if i < len(text) && text[i] == '{' {
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return p, ngxconf.Errorf(pos, "the closing bracket in %q variable is missing", text[i+1:])
			}
			name = text[i+1 : i+end]
			i += end + 1
		} else if i < len(text) && text[i] >= '1' && text[i] <= '9' {
			// $1..$9 are one digit: "$10" is $1 followed by "0".
			name = text[i : i+1]
			i++
		} else {
			j := i
			for j < len(text) && isVarChar(text[j]) {
				j++
			}
			name = text[i:j]
			i = j
		}
		if name == "" {
			return p, ngxconf.Errorf(pos, "invalid variable name")
		}
		flush()
		pt, err := resolveVar(name, pos, scope)
		if err != nil {
			return p, err
		}
		p.parts = append(p.parts, pt)
	}
	flush()
	return p, nil
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func resolveVar(name string, pos ngxconf.Pos, scope *varScope) (part, error) {
	if len(name) == 1 && name[0] >= '1' && name[0] <= '9' {
		return part{v: varCapture, idx: int(name[0] - '0')}, nil
	}
	if pt, ok := scope.lookup(strings.ToLower(name)); ok {
		if pt.v == varSet {
			// A set $http_x (or $arg_x, $cookie_x) is the header's value
			// until set runs (rewrite.go appendVar).
			if fb, err := resolveVar(name, pos, nil); err == nil {
				pt.fallback = &fb
			}
		}
		return pt, nil
	}
	if id, ok := builtinVar(strings.ToLower(name)); ok {
		if id == varHTTP {
			return part{v: id, name: []byte(strings.ReplaceAll(strings.ToLower(name), "_", "-"))}, nil
		}
		return part{v: id}, nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(name), "http_"); ok && rest != "" {
		return part{v: varHTTP, name: []byte(strings.ReplaceAll(rest, "_", "-"))}, nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(name), "sent_http_"); ok {
		if rest != "content_type" {
			return part{}, ngxconf.Errorf(pos, "variable %q is not supported by wisp (of the $sent_http_ ones only $sent_http_content_type is)", name)
		}
		return part{v: varSentContentType}, nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(name), "arg_"); ok && rest != "" {
		return part{v: varArg, name: []byte(rest)}, nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(name), "cookie_"); ok && rest != "" {
		return part{v: varCookie, name: []byte(rest)}, nil
	}
	// nginx prints this one without file:line; we keep the position since
	// it only helps.
	return part{}, ngxconf.Errorf(pos, "unknown %q variable", name)
}

// evalCtx is what variables are evaluated against for one request.
type evalCtx struct {
	req        *request
	conn       *clientConn
	server     *vserver
	handler    *proxyHandler
	uri        []byte // normalised path ($uri)
	requestURI []byte // the raw target path+query ($request_uri)
	flow              // what the rewrite module and error_page change (rewrite.go)
	out        reqOut // what was answered, for filters and the access log (accesslog.go)
	// body is the request body as the first proxy_pass read it, so a
	// second one (error_page to a named location) sends it again, as
	// nginx sends its r->request_body (forward.go).
	body *replayBody
	// bodyUnread: the upstream answered before taking the whole body, so
	// the rest is still on the client connection (proxyresp.go).
	bodyUnread bool
}

// appendTo appends the program's value for ec to dst.
func (p *program) appendTo(dst []byte, ec *evalCtx) []byte {
	for i := range p.parts {
		pt := &p.parts[i]
		if pt.v == varNone {
			dst = append(dst, pt.lit...)
			continue
		}
		dst = ec.appendVar(dst, pt)
	}
	return dst
}

func (ec *evalCtx) appendVar(dst []byte, pt *part) []byte {
	r := ec.req
	switch pt.v {
	case varHost:
		if r.host != nil {
			return append(dst, r.host...)
		}
		return append(dst, ec.server.name...)
	case varHTTP:
		return appendHTTPVar(dst, r, pt.name)
	case varRemoteAddr:
		return append(dst, ec.conn.remoteAddr...)
	case varRemotePort:
		return append(dst, ec.conn.remotePort...)
	case varProxyAddXFF:
		n := len(dst)
		dst = appendHTTPVar(dst, r, []byte("x-forwarded-for"))
		if len(dst) > n {
			dst = append(dst, ", "...)
		}
		return append(dst, ec.conn.remoteAddr...)
	case varScheme:
		if isTLS(ec.conn.nc) {
			return append(dst, "https"...)
		}
		return append(dst, "http"...)
	case varRequestURI:
		return append(dst, ec.requestURI...)
	case varURI:
		return append(dst, ec.uri...)
	case varArgs:
		return append(dst, ec.currentArgs()...)
	case varIsArgs:
		if len(ec.currentArgs()) > 0 {
			return append(dst, '?')
		}
		return dst
	case varServerName:
		return append(dst, ec.server.name...)
	case varServerPort:
		return append(dst, ec.conn.serverPort...)
	case varRequestMethod:
		return append(dst, r.method...)
	case varProxyHost:
		if ec.handler != nil {
			return append(dst, ec.handler.proxyHost...)
		}
	case varProxyPort:
		if ec.handler != nil {
			return append(dst, ec.handler.proxyPort...)
		}
	case varStatus:
		// Three digits, as nginx's "%03ui": an HTTP/0.9 relay logs 009.
		if ec.status < 10 {
			dst = append(dst, "00"...)
		} else if ec.status < 100 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(ec.status), 10)
	case varSet:
		if pt.idx < len(ec.sets) && ec.sets[pt.idx] != nil {
			return append(dst, ec.sets[pt.idx]...)
		}
		if pt.fallback != nil {
			return ec.appendVar(dst, pt.fallback)
		}
	case varMap:
		// A map's value is a complex value of its own: no capture escaping.
		esc := ec.capEsc
		ec.capEsc = false
		dst = pt.m.appendValue(dst, ec)
		ec.capEsc = esc
		return dst
	case varCapture:
		return ec.appendCapture(dst, pt.idx)
	case varArg:
		return append(dst, argValue(ec.currentArgs(), pt.name)...)
	case varCookie:
		return append(dst, cookieValue(r, pt.name)...)
	case varHTTPS:
		if isTLS(ec.conn.nc) {
			return append(dst, "on"...)
		}
	case varRequestFilename, varDocumentRoot, varRequestID:
		return ec.appendFlowVar(dst, pt.v)
	default:
		return ec.appendLogVar(dst, pt)
	}
	return dst
}

// appendHTTPVar appends $http_NAME: the first matching header, except that
// X-Forwarded-For and Cookie join every occurrence as nginx 1.22 does.
func appendHTTPVar(dst []byte, r *request, name []byte) []byte {
	sep := ""
	switch {
	case bytes.EqualFold(name, []byte("x-forwarded-for")):
		sep = ", "
	case bytes.EqualFold(name, []byte("cookie")):
		sep = "; "
	}
	found := false
	for i := range r.headers {
		h := &r.headers[i]
		if h.ignored || !bytes.EqualFold(h.name, name) {
			continue
		}
		if found {
			if sep == "" {
				break
			}
			dst = append(dst, sep...)
		}
		dst = append(dst, h.value...)
		found = true
	}
	return dst
}
