package proxy

import (
	"regexp"
	"time"
)

// vhostGroup is the set of servers listening on one exact address:port,
// with its default server (nginx §2.2).
type vhostGroup struct {
	addr  string
	exact map[string]*vserver // lowercased names; "" for servers without server_name
	def   *vserver
	// explicitDefault: def was named by default_server, not by order.
	explicitDefault bool
	heads, tails    []wildName // longest first
	regexes         []regexName
	tls             *groupTLS // listen ... ssl / http2 (tls.go)
	h2c             h2cMode   // cleartext HTTP/2 (http2.go)
}

// find selects the virtual server for a normalised host (nil: no host),
// in nginx's order (§2.4): exact, longest leading wildcard, longest
// trailing wildcard, first regex, then the default server.
func (g *vhostGroup) find(host []byte) *vserver {
	s, _ := g.findName(host)
	return s
}

// findName is find that also returns the server_name regex that chose the
// server, if one did: its captures become variables (rewrite.go).
func (g *vhostGroup) findName(host []byte) (*vserver, *regexp.Regexp) {
	if s, ok := g.exact[string(host)]; ok {
		return s, nil
	}
	if len(host) == 0 {
		return g.def, nil
	}
	for _, w := range g.heads {
		if len(host) > len(w.part) && string(host[len(host)-len(w.part):]) == w.part {
			return w.s, nil
		}
	}
	for _, w := range g.tails {
		if len(host) > len(w.part) && string(host[:len(w.part)]) == w.part {
			return w.s, nil
		}
	}
	for _, r := range g.regexes {
		if r.re.Match(host) {
			return r.s, r.re
		}
	}
	return g.def, nil
}

// wildName is a wildcard server name: part is ".example.com" for
// "*.example.com", or "www.example." for "www.example.*".
type wildName struct {
	part string
	s    *vserver
}

type regexName struct {
	re *regexp.Regexp
	s  *vserver
}

// vserver is one compiled server block.
type vserver struct {
	name   []byte // the first server_name, as $server_name
	locs   locationLevel
	ka     keepalive      // for requests no proxy_pass answers
	client clientTimeouts // client_header_timeout etc. (timeouts.go)
	rw     []rwStep       // server-level rewrite directives (rewrite.go)
	resp   *respConf      // error_page etc. for requests no location takes
	mod    *contentConf   // static files, headers, access, gzip, logs (static.go)
	tls    *serverTLS     // certificates and TLS settings, nil without ssl_certificate (tls.go)
}

// keepalive is the client keep-alive policy of a server or location.
type keepalive struct {
	timeout  time.Duration // 0: no keep-alive
	requests int
}

type locKind uint8

const (
	locPrefix   locKind = iota
	locExact            // location = /x
	locNoRegex          // location ^~ /x
	locRegex            // location ~ re / ~* re
	locRedirect         // synthetic: "/x" redirecting to the proxied "/x/" (§3.4)
	locNamed            // location @name, reached only by internal redirects
)

// location is one compiled location block.
type location struct {
	name     string
	kind     locKind
	re       *regexp.Regexp
	children locationLevel
	handler  *proxyHandler // nil: nothing to proxy, answered 404
	target   *location     // for locRedirect: the location redirected to
	rw       []rwStep      // rewrite directives of this location (rewrite.go)
	resp     *respConf     // error_page etc. (errorpage.go, proxyresp.go)
	mod      *contentConf  // static files, headers, access, gzip, logs (static.go)
	internal bool          // only internal redirects may use it (rewrite.go)
}

// locationLevel holds the locations of one nesting level.
type locationLevel struct {
	static  *locNode             // exact and prefix locations (route_tree.go)
	regexes []*location          // config order
	named   map[string]*location // "@name"; server level only
}

// namedLocation returns the server's location @name ("@name" with the
// at sign), nil when there is none: error_page and try_files fall back
// to it.
func (s *vserver) namedLocation(name string) *location {
	return s.locs.named[name]
}

// find implements nginx's location search for one level (§3.3). definitive
// reports an exact, redirect or regex match that ends the search.
func (lv *locationLevel) find(uri []byte) (loc *location, definitive bool) {
	best, m := lv.static.find(uri)
	if m == staticExact || m == staticRedirect {
		return best, true
	}
	noregex := false
	if best != nil {
		noregex = best.kind == locNoRegex
		if inner, def := best.children.find(uri); def {
			return inner, true
		} else if inner != nil {
			best = inner
		}
	}
	if !noregex {
		for _, l := range lv.regexes {
			if l.re.Match(uri) {
				if inner, _ := l.children.find(uri); inner != nil {
					return inner, true
				}
				return l, true
			}
		}
	}
	return best, false
}

// route picks the server and location for a request.
func route(g *vhostGroup, host, uri []byte) (*vserver, *location) {
	s := g.find(host)
	loc, _ := s.locs.find(uri)
	return s, loc
}
