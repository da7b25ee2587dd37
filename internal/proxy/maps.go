package proxy

import (
	"bytes"
	"regexp"
	"slices"
	"strings"

	"wisp/internal/ngxconf"
)

// mapVar is a compiled map block (ngx_http_map_module): its result is
// computed from the source value when the variable is used.
type mapVar struct {
	name      string
	idx       int  // its slot in the per-request cache (flow.maps)
	volatile  bool // evaluated at every use instead of once per request
	decl      *ngxconf.Directive
	source    program
	hostnames bool
	exact     map[string]program // lowercased keys
	heads     []mapWild          // "*.x" / ".x" as ".x", longest first
	tails     []mapWild          // "x.*" as "x.", longest first
	regexes   []mapRegex         // config order
	def       program
}

type mapWild struct {
	part string
	val  program
}

type mapRegex struct {
	re  *regexp.Regexp
	val program
}

// declareMap registers a map's result variable; its body is compiled by
// compileMaps once every variable is known.
func (c *compiler) declareMap(d *ngxconf.Directive) error {
	if err := argCount(d, 2); err != nil {
		return err
	}
	name, ok := varName(d.Args[1])
	if !ok {
		return ngxconf.Errorf(d.Pos, "invalid variable name %q", d.Args[1])
	}
	if _, builtin := builtinVar(name); builtin {
		return ngxconf.Errorf(d.Pos, "the duplicate %q variable", name)
	}
	idx := len(c.scope.maps)
	if old, dup := c.scope.maps[name]; dup {
		// As in nginx, a later map of the same variable replaces it.
		idx = old.idx
	}
	c.scope.maps[name] = &mapVar{name: name, idx: idx, decl: d, exact: map[string]program{}}
	return nil
}

// compileMaps compiles every declared map body.
func (c *compiler) compileMaps() error {
	for _, m := range c.scope.maps {
		if err := c.compileMap(m); err != nil {
			return err
		}
		m.decl = nil
	}
	return nil
}

func (c *compiler) compileMap(m *mapVar) error {
	d := m.decl
	src, err := c.value(d.Args[0], d.Pos)
	if err != nil {
		return err
	}
	m.source = src
	for _, e := range d.Block {
		if len(e.Args) == 0 {
			switch e.Name {
			case "hostnames":
				m.hostnames = true
				continue
			case "volatile":
				m.volatile = true
				continue
			}
		}
		if len(e.Args) != 1 {
			return ngxconf.Errorf(e.Pos, "invalid number of the map parameters")
		}
		val, err := c.value(e.Args[0], e.Pos)
		if err != nil {
			return err
		}
		key := e.Name
		switch {
		case key == "default":
			m.def = val
			continue
		case strings.HasPrefix(key, "~"):
			expr, caseless := key[1:], false
			if strings.HasPrefix(expr, "*") {
				expr, caseless = expr[1:], true
			}
			re, err := compileRegex(expr, caseless, e.Pos)
			if err != nil {
				return err
			}
			m.regexes = append(m.regexes, mapRegex{re, val})
			continue
		}
		key = strings.ToLower(strings.TrimPrefix(key, "\\"))
		if m.hostnames {
			if wild, ok := hostnameMask(key); ok {
				if wild.part[0] == '.' {
					if key[0] == '.' {
						// ".x" also matches "x" itself.
						if _, dup := m.exact[key[1:]]; !dup {
							m.exact[key[1:]] = val
						}
					}
					m.heads = append(m.heads, mapWild{wild.part, val})
				} else {
					m.tails = append(m.tails, mapWild{wild.part, val})
				}
				continue
			}
		}
		if _, dup := m.exact[key]; dup {
			return ngxconf.Errorf(e.Pos, "duplicate value %q", key)
		}
		m.exact[key] = val
	}
	byLen := func(a, b mapWild) int { return len(b.part) - len(a.part) }
	slices.SortStableFunc(m.heads, byLen)
	slices.SortStableFunc(m.tails, byLen)
	return nil
}

// hostnameMask recognises "*.x", ".x" and "x.*" masks.
func hostnameMask(key string) (mapWild, bool) {
	switch {
	case strings.HasPrefix(key, "*.") && len(key) > 2:
		return mapWild{part: key[1:]}, true
	case strings.HasPrefix(key, ".") && len(key) > 1:
		return mapWild{part: key}, true
	case strings.HasSuffix(key, ".*") && len(key) > 2:
		return mapWild{part: key[:len(key)-1]}, true
	}
	return mapWild{}, false
}

// appendValue appends the map's result for ec. As in nginx, a map that
// is not volatile is evaluated at its first use in a request and keeps
// that value for the rest of it, whatever its source does later.
func (m *mapVar) appendValue(dst []byte, ec *evalCtx) []byte {
	if m.idx < len(ec.maps) && ec.maps[m.idx] != nil {
		return append(dst, ec.maps[m.idx]...)
	}
	if m.volatile {
		return m.eval(dst, ec)
	}
	n := len(dst)
	dst = m.eval(dst, ec)
	ec.setMap(m, dst[n:])
	return dst
}

// setMap makes v the map's value for the rest of the request; set does
// so for a volatile map too, as nginx's set clears its no_cacheable.
func (ec *evalCtx) setMap(m *mapVar, v []byte) {
	if m.idx >= len(ec.maps) {
		ec.maps = append(ec.maps, make([][]byte, m.idx+1-len(ec.maps))...)
	}
	// A non-nil empty slice marks an empty result as known.
	ec.maps[m.idx] = append([]byte{}, v...)
}

// eval computes the map's result: exact key, then (with hostnames) the
// longest leading and trailing masks, then regexes in order, then default.
func (m *mapVar) eval(dst []byte, ec *evalCtx) []byte {
	src := m.source.appendTo(nil, ec)
	if m.hostnames && len(src) > 0 && src[len(src)-1] == '.' {
		src = src[:len(src)-1]
	}
	low := bytes.ToLower(src)
	if v, ok := m.exact[string(low)]; ok {
		return v.appendTo(dst, ec)
	}
	if m.hostnames {
		for _, w := range m.heads {
			if len(low) > len(w.part) && bytes.HasSuffix(low, []byte(w.part)) {
				return w.val.appendTo(dst, ec)
			}
		}
		for _, w := range m.tails {
			if len(low) > len(w.part) && bytes.HasPrefix(low, []byte(w.part)) {
				return w.val.appendTo(dst, ec)
			}
		}
	}
	for i := range m.regexes {
		r := &m.regexes[i]
		if ec.matchRegex(r.re, src) {
			return r.val.appendTo(dst, ec)
		}
	}
	return m.def.appendTo(dst, ec)
}
