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
	wild            wildcards[*vserver]
	regexes         []regexName
	tls             *groupTLS // listen ... ssl / http2 (tls.go)
	h2c             h2cMode   // cleartext HTTP/2 (http2.go)
}

// find selects the virtual server for a normalised host (nil: no host),
// in nginx's order (§2.4): exact, longest leading wildcard, longest
// trailing wildcard, first regex, then the default server.
func (g *vhostGroup) find(host []byte) *vserver {
	s, _ := g.lookup(host)
	return s
}

// lookup is find that also returns the regex that chose the server when
// it has captures: nginx keeps them for $1..$9 (and a location regex
// later replaces them).
func (g *vhostGroup) lookup(host []byte) (*vserver, *regexp.Regexp) {
	if s, ok := g.exact[string(host)]; ok {
		return s, nil
	}
	if len(host) == 0 {
		return g.def, nil
	}
	if s, ok := g.wild.find(host); ok {
		return s, nil
	}
	for _, r := range g.regexes {
		if r.re.Match(host) {
			if r.re.NumSubexp() > 0 {
				return r.s, r.re
			}
			return r.s, nil
		}
	}
	return g.def, nil
}

// wildcards holds wildcard host names by the part they fix: ".example.com"
// for "*.example.com" (a head), "www.example." for "www.example.*" (a
// tail). A match ends at a dot of the host, so a lookup tries the host's
// dots, longest part first, at one map probe each: its cost grows with
// the host's labels, not with the number of names, as nginx's wildcard
// hashes.
type wildcards[V comparable] struct {
	heads, tails map[string]V
}

// addHead registers a head part; false when another value holds it (the
// first keeps it).
func (w *wildcards[V]) addHead(part string, v V) bool { return addOnce(&w.heads, part, v) }

// addTail is addHead for tail parts.
func (w *wildcards[V]) addTail(part string, v V) bool { return addOnce(&w.tails, part, v) }

func addOnce[V comparable](m *map[string]V, key string, v V) bool {
	if *m == nil {
		*m = map[string]V{}
	}
	if prev, taken := (*m)[key]; taken {
		return prev == v
	}
	(*m)[key] = v
	return true
}

// find returns the value of the longest head that ends host, else of the
// longest tail that starts it; a part never covers the whole host.
func (w *wildcards[V]) find(host []byte) (V, bool) {
	if len(w.heads) > 0 {
		for i := 1; i < len(host); i++ {
			if host[i] == '.' {
				if v, ok := w.heads[string(host[i:])]; ok {
					return v, true
				}
			}
		}
	}
	if len(w.tails) > 0 {
		for i := len(host) - 2; i >= 0; i-- {
			if host[i] == '.' {
				if v, ok := w.tails[string(host[:i+1])]; ok {
					return v, true
				}
			}
		}
	}
	var zero V
	return zero, false
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
	handler  *proxyHandler  // nil: nothing to proxy, answered 404
	target   *location      // for locRedirect: the location redirected to
	rw       []rwStep       // rewrite directives of this location (rewrite.go)
	resp     *respConf      // error_page etc. (errorpage.go, proxyresp.go)
	mod      *contentConf   // static files, headers, access, gzip, logs (static.go)
	internal bool           // only internal redirects may use it (rewrite.go)
	maxBody  int64          // client_max_body_size; 0: none
	ka       keepalive      // keepalive_timeout, keepalive_requests
	client   clientTimeouts // client_body_timeout, send_timeout (timeouts.go)
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
