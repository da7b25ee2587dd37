// Package listen opens the sockets Wisp serves on: Unix-domain sockets with
// Ghost's permissions setting and safe handling of leftover files, TCP
// addresses written the nginx way, and listeners handed down by a parent
// process (wisp up) so that a restarted child never leaves a gap in which
// connections are refused.
package listen

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Addr is where a server listens.
type Addr struct {
	// Network is "unix", "tcp4", "tcp6", or "tcp" (a host name, which the
	// resolver may map to either family).
	Network string
	// Address is an absolute socket path for "unix", else host:port.
	Address string
}

// Unix returns the address of a Unix-domain socket. A relative path is
// made absolute, so that a parent and a child with different working
// directories agree on the name.
func Unix(path string) (Addr, error) {
	if path == "" {
		return Addr{}, fmt.Errorf("empty unix socket path")
	}
	if strings.HasPrefix(path, "@") {
		return Addr{}, fmt.Errorf("abstract unix socket %q is not supported", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Addr{}, fmt.Errorf("unix socket path %q: %w", path, err)
	}
	// sun_path holds 108 bytes including the terminating NUL; the kernel's
	// own error for a longer path (EINVAL) does not say what is wrong.
	if len(abs) > maxUnixPath {
		return Addr{}, fmt.Errorf("unix socket path %s is %d bytes long; it must be shorter than %d bytes", abs, len(abs), maxUnixPath+1)
	}
	return Addr{Network: "unix", Address: abs}, nil
}

const maxUnixPath = 107

// String writes the address the way nginx does: "unix:/path" for a socket,
// host:port otherwise. It is also the name under which a parent hands the
// listener to a child.
func (a Addr) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Address
	}
	return a.Address
}

// ParseAddr reads the first argument of nginx's listen directive:
// "unix:/path", "80", "*:80", "127.0.0.1", "127.0.0.1:8080", "[::1]:8080",
// "localhost:8080". A missing port means 80, a missing or "*" host means
// every IPv4 address, and "[::]" is IPv6 only, as in nginx. Port ranges
// are not supported. Error texts are nginx's, without the trailing
// ` of the "listen" directive`, which the caller adds with the position.
func ParseAddr(s string) (Addr, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return Addr{}, fmt.Errorf("no path in the unix domain socket %q", s)
		}
		return Unix(path)
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return Addr{}, err
	}
	if strings.Contains(port, "-") {
		return Addr{}, fmt.Errorf("port ranges are not supported in %q", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return Addr{}, fmt.Errorf("invalid port in %q", s)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || host == "*":
		return Addr{Network: "tcp4", Address: net.JoinHostPort("0.0.0.0", port)}, nil
	case ip == nil:
		if strings.ContainsAny(host, "[]/ ") {
			return Addr{}, fmt.Errorf("invalid host in %q", s)
		}
		return Addr{Network: "tcp", Address: net.JoinHostPort(host, port)}, nil
	case ip.To4() != nil:
		return Addr{Network: "tcp4", Address: net.JoinHostPort(ip.String(), port)}, nil
	default:
		return Addr{Network: "tcp6", Address: net.JoinHostPort(ip.String(), port)}, nil
	}
}

// splitHostPort splits the nginx forms, where either part may be missing:
// a bare number is a port, a bare name or address is a host on port 80.
func splitHostPort(s string) (host, port string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("invalid host in %q", s)
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("invalid host in %q", s)
		}
		host, rest := s[1:end], s[end+1:]
		if !strings.Contains(host, ":") || net.ParseIP(host) == nil {
			return "", "", fmt.Errorf("invalid IPv6 address in %q", s)
		}
		switch {
		case rest == "":
			return host, "80", nil
		case strings.HasPrefix(rest, ":"):
			return host, rest[1:], nil
		default:
			return "", "", fmt.Errorf("invalid host in %q", s)
		}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.Contains(s[:i], ":") {
			return "", "", fmt.Errorf("invalid host in %q", s)
		}
		return s[:i], s[i+1:], nil
	}
	if isPort(s) {
		return "", s, nil
	}
	return s, "80", nil
}

func isPort(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return s != ""
}
