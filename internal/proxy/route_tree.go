package proxy

import (
	"slices"
	"strings"
)

// locNode is one node of a level's static location tree, the tree nginx
// builds in ngx_http_init_static_location_trees: the exact and prefix
// locations of one nesting level, so that a lookup costs a few
// comparisons per byte of the URI whatever the number of locations.
//
// Each node is a binary search tree over the names that share no prefix
// with each other; a prefix location's longer relatives hang below it in
// tree, their names shortened by its own. An exact and a prefix location
// of the same name share one node.
type locNode struct {
	name        string    // the location's name after its ancestors' part
	exact       *location // "= name"
	inclusive   *location // "name" or "^~ name"
	redirect    *location // synthetic locRedirect for the name less its final '/' (§3.4)
	left, right *locNode
	tree        *locNode // locations whose names extend inclusive's
}

// staticMatch is the outcome of a static tree search, nginx's return
// codes of ngx_http_core_find_static_location.
type staticMatch uint8

const (
	staticNone     staticMatch = iota // NGX_DECLINED
	staticPrefix                      // NGX_AGAIN: nested and regex locations still apply
	staticExact                       // NGX_OK
	staticRedirect                    // NGX_DONE: "/x" answered with a redirect to "/x/"
)

// find searches the tree as nginx does: on a prefix node it records the
// match and continues below it with the rest of the URI; an exact name
// ends the search; a URI one '/' short of a proxied name records a
// redirect that only an exact match can still override.
func (n *locNode) find(uri []byte) (*location, staticMatch) {
	var loc *location
	m := staticNone
	for n != nil {
		k := min(len(uri), len(n.name))
		if c := pathCompare(uri[:k], n.name[:k]); c != 0 {
			if c < 0 {
				n = n.left
			} else {
				n = n.right
			}
			continue
		}
		switch {
		case len(uri) > len(n.name):
			if n.inclusive == nil {
				n = n.right
				continue
			}
			loc, m = n.inclusive, staticPrefix
			uri = uri[len(n.name):]
			n = n.tree
		case len(uri) == len(n.name):
			if n.exact != nil {
				return n.exact, staticExact
			}
			return n.inclusive, staticPrefix
		default:
			if len(uri)+1 == len(n.name) && n.redirect != nil {
				loc, m = n.redirect, staticRedirect
			}
			n = n.left
		}
	}
	return loc, m
}

// pathCompare orders equal-length byte strings as nginx's
// ngx_filename_cmp does on a case-sensitive filesystem: bytes in order,
// except that '/' sorts below every byte but NUL. With that order "/x/"
// is the next name after "/x" among siblings ("/x-y" comes after it), so
// the search for "/x" always passes the node that redirects it.
func pathCompare(a []byte, b string) int {
	if string(a) == b {
		return 0
	}
	for i := range a {
		if a[i] != b[i] {
			return pathRank(a[i]) - pathRank(b[i])
		}
	}
	return 0
}

func pathRank(c byte) int {
	switch c {
	case 0:
		return 0
	case '/':
		return 1
	}
	return int(c) + 1
}

// comparePaths is pathCompare for whole names of any length, a name
// sorting before its extensions: the order the tree is built in.
func comparePaths(a, b string) int {
	k := min(len(a), len(b))
	if c := pathCompare([]byte(a[:k]), b[:k]); c != 0 {
		return c
	}
	return len(a) - len(b)
}

// locEntry is a location name on its way into the tree: the exact and
// prefix locations of that name, and the longer names it prefixes.
type locEntry struct {
	name             string
	exact, inclusive *location
	list             []*locEntry
}

// newLocationTree builds the static tree of one level from its exact and
// prefix locations (duplicates are rejected before).
func newLocationTree(static []*location) *locNode {
	byName := map[string]*locEntry{}
	var entries []*locEntry
	for _, l := range static {
		e := byName[l.name]
		if e == nil {
			e = &locEntry{name: l.name}
			byName[l.name] = e
			entries = append(entries, e)
		}
		if l.kind == locExact {
			e.exact = l
		} else {
			e.inclusive = l
		}
	}
	slices.SortFunc(entries, func(a, b *locEntry) int { return comparePaths(a.name, b.name) })
	return buildLocTree(nestLocations(entries), 0)
}

// nestLocations moves, in a sorted run of names, the names a prefix
// location prefixes into its list; they sort right after it. Exact-only
// names take no list: a longer URI never matches them.
func nestLocations(sorted []*locEntry) []*locEntry {
	var level []*locEntry
	for i := 0; i < len(sorted); {
		e := sorted[i]
		i++
		if e.inclusive != nil {
			j := i
			for j < len(sorted) && strings.HasPrefix(sorted[j].name, e.name) {
				j++
			}
			e.list = nestLocations(sorted[i:j])
			i = j
		}
		level = append(level, e)
	}
	return level
}

// buildLocTree makes a balanced search tree of one level; prefix is the
// length of the name part its ancestors already matched.
func buildLocTree(level []*locEntry, prefix int) *locNode {
	if len(level) == 0 {
		return nil
	}
	mid := len(level) / 2
	e := level[mid]
	n := &locNode{
		name:      e.name[prefix:],
		exact:     e.exact,
		inclusive: e.inclusive,
		left:      buildLocTree(level[:mid], prefix),
		right:     buildLocTree(level[mid+1:], prefix),
		tree:      buildLocTree(e.list, len(e.name)),
	}
	// proxy_pass in a location whose name ends in '/' makes nginx answer
	// the name without it with a redirect; the exact location's settings
	// apply to it when there is one.
	proxied := e.exact != nil && e.exact.handler != nil || e.inclusive != nil && e.inclusive.handler != nil
	if proxied && strings.HasSuffix(e.name, "/") {
		target := e.exact
		if target == nil {
			target = e.inclusive
		}
		n.redirect = &location{name: strings.TrimSuffix(e.name, "/"), kind: locRedirect, target: target}
	}
	return n
}
