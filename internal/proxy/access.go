package proxy

import (
	"net/netip"
	"strings"

	"wisp/internal/ngxconf"
)

// The access module: allow and deny, checked in order, the first rule
// that matches the client address deciding.

type aclRule struct {
	deny   bool
	all    bool
	unix   bool // "unix:": clients on Unix sockets
	prefix netip.Prefix
}

// aclDirective compiles allow/deny ADDRESS|CIDR|unix:|all.
func (c *compiler) aclDirective(d *ngxconf.Directive, m *contentConf) (bool, error) {
	if d.Name != "allow" && d.Name != "deny" {
		return false, nil
	}
	if err := argCount(d, 1); err != nil {
		return true, err
	}
	if !m.set["allow"] && !m.set["deny"] {
		m.acl = nil
	}
	rule := aclRule{deny: d.Name == "deny"}
	a := d.Args[0]
	switch {
	case a == "all":
		rule.all = true
	case a == "unix:":
		rule.unix = true
	case strings.Contains(a, "/"):
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return true, ngxconf.Errorf(d.Pos, "invalid parameter %q", a)
		}
		if p.Masked() != p {
			// nginx accepts it with a warning and uses the network.
			p = p.Masked()
		}
		rule.prefix = p
	default:
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return true, ngxconf.Errorf(d.Pos, "invalid parameter %q", a)
		}
		rule.prefix = netip.PrefixFrom(ip, ip.BitLen())
	}
	m.acl = append(m.acl, rule)
	return true, nil
}

// denied reports whether the access rules of ec's configuration refuse
// the client; nginx logs that at error level and answers 403.
func (c *clientConn) denied(ec *evalCtx) bool {
	m := ec.contentOf()
	if m == nil || len(m.acl) == 0 || !aclDenies(m.acl, c.remoteAddr) {
		return false
	}
	c.srv.log.Error("access forbidden by rule", c.withHost(c.logCtx(ec))...)
	return true
}

// aclDenies applies the rules to a client address ("unix:" for Unix
// socket clients): the first rule that matches decides; none matching
// allows.
func aclDenies(rules []aclRule, remote []byte) bool {
	isUnix := string(remote) == "unix:"
	var ip netip.Addr
	if !isUnix {
		ip, _ = netip.ParseAddr(string(remote))
		ip = ip.Unmap()
	}
	for _, r := range rules {
		switch {
		case r.all, r.unix && isUnix, !r.unix && ip.IsValid() && r.prefix.IsValid() && r.prefix.Contains(ip):
			return r.deny
		}
	}
	return false
}
