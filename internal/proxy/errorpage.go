package proxy

import (
	"bytes"
	"strconv"
	"strings"

	"wisp/internal/ngxconf"
)

// errorPageRule is one error_page directive.
type errorPageRule struct {
	codes []int
	// overwrite is the status imposed on the final response: -1 keeps
	// the original error's, 0 ("=" alone) takes the new response's.
	overwrite int
	uri       program
}

// compileErrorPage parses error_page CODE... [=[CODE]] URI.
func (c *compiler) compileErrorPage(d *ngxconf.Directive) (*errorPageRule, error) {
	if len(d.Args) < 2 {
		return nil, ngxconf.Errorf(d.Pos, "invalid number of arguments in \"error_page\" directive")
	}
	rule := &errorPageRule{overwrite: -1}
	args := d.Args[:len(d.Args)-1]
	if last := args[len(args)-1]; strings.HasPrefix(last, "=") {
		args = args[:len(args)-1]
		if last == "=" {
			rule.overwrite = 0
		} else {
			n, err := strconv.Atoi(last[1:])
			if err != nil || n <= 0 {
				return nil, ngxconf.Errorf(d.Pos, "invalid value %q", last)
			}
			rule.overwrite = n
		}
	}
	if len(args) == 0 {
		return nil, ngxconf.Errorf(d.Pos, "invalid number of arguments in \"error_page\" directive")
	}
	for _, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil || n < 300 || n > 599 {
			return nil, ngxconf.Errorf(d.Pos, "value %q must be between 300 and 599", a)
		}
		if n == 499 {
			return nil, ngxconf.Errorf(d.Pos, "invalid value \"499\"")
		}
		rule.codes = append(rule.codes, n)
	}
	uri, err := c.value(d.Args[len(d.Args)-1], d.Pos)
	if err != nil {
		return nil, err
	}
	rule.uri = uri
	return rule, nil
}

// errorPageFor returns the rule for status in the configuration that
// answers ec (the location's, else the server's).
func (ec *evalCtx) errorPageFor(status int) (*errorPageRule, *respConf) {
	conf := ec.respOf()
	if conf == nil || ec.errorPage {
		return nil, conf
	}
	for _, r := range conf.pages {
		for _, code := range r.codes {
			if code == status {
				return r, conf
			}
		}
	}
	return nil, conf
}

// errorPage applies error_page to an error response about to be sent;
// handled is false when no rule applies and the caller sends its page.
func (c *clientConn) errorPage(status int, ec *evalCtx, keep bool) (done, handled bool) {
	rule, conf := ec.errorPageFor(status)
	if rule == nil {
		return false, false
	}
	// Like nginx, only a location without recursive_error_pages ends
	// error_page handling for the rest of the request.
	ec.errorPage = !conf.recursive
	ec.errStatus = status
	if rule.overwrite >= 0 {
		ec.errStatus = rule.overwrite
	}
	uri := rule.uri.appendTo(nil, ec)
	switch {
	case len(uri) > 0 && uri[0] == '/':
		path, args, _ := bytes.Cut(uri, []byte("?"))
		if string(c.req.method) != "HEAD" {
			c.req.method = []byte("GET")
		}
		c.dropSpentBody(ec)
		return c.internalRedirect(ec, path, args, nil, keep), true
	case len(uri) > 0 && uri[0] == '@':
		named := ec.server.locs.named[string(uri)]
		if named == nil {
			c.srv.log.Error("could not find named location \""+string(uri)+"\"", c.withHost(c.logCtx(ec))...)
			ec.errStatus = 0
			return c.writeErrorPage(500, ec, keep), true
		}
		c.dropSpentBody(ec)
		return c.internalRedirect(ec, nil, nil, named, keep), true
	}
	code := rule.overwrite
	if !isRedirectCode(code) {
		code = 302
	}
	ec.errStatus = 0
	return c.sendRedirect(ec, code, uri, keep), true
}

// dropSpentBody marks a request body that a proxy_pass took (ec.handler
// is set once one did) without recording it (proxy_request_buffering
// off, the body still coming): nginx keeps a body and sends it along an
// error_page redirect, GET or not, and a recorded one is sent again from
// ec.body (forward.go), but of a streamed one nginx has nothing left. The
// next proxy_pass then sends the body's framing (Content-Length, or
// chunked) and no body, as nginx 1.22 does, and the client's connection
// closes after the answer, the rest of its body unread (linger.go).
func (c *clientConn) dropSpentBody(ec *evalCtx) {
	if ec.handler != nil && ec.body == nil && c.req.hasBody() {
		c.body.spent = true
	}
}

// sendRedirect answers code with nginx's page and Location: a path is
// made absolute as nginx's header filter does, a URL is sent as is.
func (c *clientConn) sendRedirect(ec *evalCtx, code int, target []byte, keep bool) bool {
	if c.answeringHere(ec, true) { // nginx's special response handler
		keep = false
	}
	if !c.keepAllowed() {
		keep = false
	}
	loc := locHeader{raw: target}
	if len(target) > 0 && target[0] == '/' {
		loc = locHeader{abs: target}
	}
	return c.writeResponse(simpleResponse{code: code, ctype: "text/html", body: errorPage(code, c.serverToken(ec)), loc: loc}, ec, keep)
}

// sendText answers "return code text": the text as the body, with the
// status error_page imposed if any.
func (c *clientConn) sendText(ec *evalCtx, code int, text []byte, keep bool) bool {
	if c.answeringHere(ec, false) {
		return c.sendError(400, ec, false)
	}
	if !c.keepAllowed() {
		keep = false
	}
	if ec.errStatus > 0 {
		code = ec.errStatus
	}
	if code == 200 {
		if done, ok := c.textNotModified(ec, keep); ok { // static.go
			return done
		}
	}
	// nginx types the text as it types a file: by the URI's extension, else
	// default_type.
	ctype := "text/plain"
	if m := ec.contentOf(); m != nil {
		ctype = m.contentType(ec.uri)
	}
	return c.writeResponse(simpleResponse{code: code, ctype: ctype, body: string(text)}, ec, keep)
}

// writeErrorPage sends nginx's page for status, bypassing error_page.
func (c *clientConn) writeErrorPage(status int, ec *evalCtx, keep bool) bool {
	return c.writeSimple(status, errorPage(status, c.serverToken(ec)), nil, ec, keep)
}
