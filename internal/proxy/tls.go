package proxy

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"wisp/internal/ngxconf"
)

// TLS on the client side (nginx's ngx_http_ssl_module, §8.2 of
// ghost-compat.md for what Ghost-CLI writes). HTTP/1.1 over TLS runs
// through the proxy's own engine: the accepted connection is wrapped in a
// tls.Conn and served by the same clientConn code. HTTP/2 (ALPN "h2") is
// served by net/http and bridged into the engine (http2.go).
//
// ssl_* directives are collected per level (http, server) and inherited
// as nginx does; a server's settings become one *tls.Config, chosen per
// handshake by SNI with the same lookup as the Host header (exact,
// wildcards, regexes, then the default server of the listen address).
//
// Where Go cannot do what OpenSSL does:
//   - ssl_ciphers applies to TLS 1.2 and below only (as in nginx), and only
//     the suites Go implements can be listed; OpenSSL's aliases (HIGH,
//     !aNULL, ...) keep Go's default list, which holds only suites those
//     usual strings allow. Order is Go's: ssl_prefer_server_ciphers is
//     accepted, and Go always picks by its own preference (hardware AES
//     first). See cipherSuite for the mapping. DHE suites do not exist in
//     Go (ssl_dhparam is read and checked, then unused).
//   - Session resumption (ssl_session_cache, ssl_session_tickets,
//     ssl_session_timeout): see tlssession.go; TLS 1.2 resumption by
//     session ID does not exist in Go.
//   - ssl_protocols: Go has a minimum and a maximum version, so a list with
//     a hole enables everything between; SSLv2/SSLv3 do not exist in Go and
//     are ignored with a warning; TLSv1 and TLSv1.1 are ignored, as
//     Debian's nginx never negotiates them (minTLSVersion). Without the
//     directive, TLS 1.2 only, as nginx 1.22's default.
//   - Cipher choice follows the SNI-selected server; nginx 1.22 keeps the
//     default server's ciphers and switches only certificates and protocols.

// tlsConf holds the TLS directives written at one level, by name, so that
// a level inherits each one it does not set (nginx merges them one by one).
type tlsConf struct {
	ds map[string][]*ngxconf.Directive
}

func (t tlsConf) inherit(parent tlsConf) tlsConf {
	if len(parent.ds) == 0 {
		return t
	}
	out := tlsConf{ds: make(map[string][]*ngxconf.Directive, len(t.ds)+len(parent.ds))}
	for k, v := range parent.ds {
		out.ds[k] = v
	}
	for k, v := range t.ds {
		out.ds[k] = v
	}
	return out
}

func (t tlsConf) arg(name string) (string, bool) {
	if d := t.ds[name]; len(d) > 0 {
		return d[len(d)-1].Args[0], true
	}
	return "", false
}

func (t tlsConf) flag(name string, def bool) bool {
	if v, ok := t.arg(name); ok {
		on, _ := ngxconf.ParseFlag(v) // checked when loaded
		return on
	}
	return def
}

// tlsDirective takes the TLS directives of the http and server levels
// (ngxconf already refused them anywhere else, and checked duplicates and
// argument counts). It validates what nginx validates while parsing.
func (c *compiler) tlsDirective(d *ngxconf.Directive, conf *proxyConf) (bool, error) {
	switch d.Name {
	case "ssl_certificate", "ssl_certificate_key", "ssl_ciphers", "ssl_ecdh_curve",
		"ssl_dhparam", "ssl_buffer_size", "ssl_session_ticket_key":
	case "ssl_prefer_server_ciphers", "ssl_session_tickets", "http2":
		if _, err := d.Flag(0); err != nil {
			return true, err
		}
	case "ssl_protocols":
		for _, a := range d.Args {
			if _, ok := tlsVersion(a); !ok && a != "SSLv2" && a != "SSLv3" {
				return true, ngxconf.Errorf(d.Pos, "invalid value %q", a)
			}
		}
	case "ssl_session_timeout":
		if t, err := ngxconf.ParseSeconds(d.Args[0]); err != nil || t < 0 {
			return true, ngxconf.Errorf(d.Pos, "%q directive invalid value", d.Name)
		}
	case "ssl_session_cache":
		for _, a := range d.Args {
			if !validSessionCache(a) {
				return true, ngxconf.Errorf(d.Pos, "invalid session cache %q", a)
			}
		}
	default:
		return false, nil
	}
	if conf.tls.ds == nil {
		conf.tls.ds = map[string][]*ngxconf.Directive{}
	}
	conf.tls.ds[d.Name] = append(conf.tls.ds[d.Name], d)
	return true, nil
}

// validSessionCache checks one ssl_session_cache value as nginx does:
// off, none, builtin[:size] or shared:name:size.
func validSessionCache(a string) bool {
	switch {
	case a == "off" || a == "none" || a == "builtin":
		return true
	case strings.HasPrefix(a, "builtin:"):
		return isDigits(a[len("builtin:"):])
	case strings.HasPrefix(a, "shared:"):
		name, size, ok := strings.Cut(a[len("shared:"):], ":")
		if !ok || name == "" {
			return false
		}
		n, err := ngxconf.ParseSize(size)
		return err == nil && n >= 8<<10
	}
	return false
}

// minTLSVersion is the oldest protocol served. TLSv1 and TLSv1.1 are
// accepted in ssl_protocols but, as in Debian's nginx, never negotiated:
// OpenSSL 3 at the security level Debian configures refuses them (the
// handshake fails with an internal error alert), so they are left out.
const minTLSVersion = tls.VersionTLS12

func tlsVersion(name string) (uint16, bool) {
	switch name {
	case "TLSv1":
		return tls.VersionTLS10, true
	case "TLSv1.1":
		return tls.VersionTLS11, true
	case "TLSv1.2":
		return tls.VersionTLS12, true
	case "TLSv1.3":
		return tls.VersionTLS13, true
	}
	return 0, false
}

// serverTLS is one server's TLS side, built once per config load (so a
// reload reads every certificate again).
type serverTLS struct {
	h1, h2 *tls.Config // ALPN http/1.1 only, and h2 first
	// oldH1, oldH2 serve clients without TLS 1.3 when sessions resume only
	// through the stateful cache, which they cannot use: no tickets for
	// them, as from nginx (tlssession.go). nil otherwise.
	oldH1, oldH2 *tls.Config
	http2        bool           // "http2 on" in this server
	sessions     *sessionPolicy // nil: no resumption
}

// config picks the handshake config for a client.
func (st *serverTLS) config(h2 bool, hello *tls.ClientHelloInfo) *tls.Config {
	old := st.oldH1 != nil && !offersTLS13(hello)
	switch {
	case h2 && old:
		return st.oldH2
	case h2:
		return st.h2
	case old:
		return st.oldH1
	}
	return st.h1
}

// certKey names a certificate/key pair in the compiler's cache, so that a
// pair inherited by many servers is parsed once per load.
type certKey struct{ cert, key string }

type certCache map[certKey]tls.Certificate

// buildServerTLS builds the TLS settings of a server from its merged
// directives; nil when the server has no certificate.
func (c *compiler) buildServerTLS(t tlsConf) (*serverTLS, error) {
	certs := t.ds["ssl_certificate"]
	keys := t.ds["ssl_certificate_key"]
	h2 := t.flag("http2", false)
	if len(certs) == 0 {
		if h2 {
			return &serverTLS{http2: true}, nil
		}
		return nil, nil
	}
	if len(keys) < len(certs) {
		return nil, fmt.Errorf("no \"ssl_certificate_key\" is defined for certificate %q", c.path(certs[len(keys)].Args[0]))
	}
	// nginx 1.22's default list is TLSv1 TLSv1.1 TLSv1.2, of which
	// Debian's OpenSSL 3 lets only TLS 1.2 through (see minTLSVersion).
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	for i, d := range certs {
		cert, err := c.loadCert(c.path(d.Args[0]), c.path(keys[i].Args[0]))
		if err != nil {
			return nil, err
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	if ds := t.ds["ssl_protocols"]; len(ds) > 0 {
		d := ds[len(ds)-1]
		var lo, hi uint16
		for _, a := range d.Args {
			v, ok := tlsVersion(a)
			if !ok {
				c.cfg.Warnings = append(c.cfg.Warnings, fmt.Sprintf("%s is not supported by Go's TLS and is ignored in %s", a, d.Pos))
				continue
			}
			if v < minTLSVersion {
				continue
			}
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
		}
		if lo == 0 {
			return nil, ngxconf.Errorf(d.Pos, "no protocol in \"ssl_protocols\" that wisp supports (TLSv1.2, TLSv1.3)")
		}
		cfg.MinVersion, cfg.MaxVersion = lo, hi
	}
	if ds := t.ds["ssl_ciphers"]; len(ds) > 0 {
		d := ds[len(ds)-1]
		suites, ignored := parseCiphers(d.Args[0])
		if len(ignored) > 0 {
			c.cfg.Warnings = append(c.cfg.Warnings, fmt.Sprintf("ssl_ciphers: %s ignored: Go's TLS cannot honour them, in %s", strings.Join(ignored, ":"), d.Pos))
		}
		cfg.CipherSuites = suites
	}
	if ds := t.ds["ssl_ecdh_curve"]; len(ds) > 0 {
		d := ds[len(ds)-1]
		curves, err := parseCurves(d.Args[0])
		if err != nil {
			return nil, ngxconf.Errorf(d.Pos, "SSL_CTX_set1_curves_list(\"%s\") failed", d.Args[0])
		}
		cfg.CurvePreferences = curves
	}
	if v, ok := t.arg("ssl_dhparam"); ok {
		if err := checkDHParam(c.path(v)); err != nil {
			return nil, err
		}
	}
	timeout := 5 * time.Minute
	if v, ok := t.arg("ssl_session_timeout"); ok {
		timeout, _ = ngxconf.ParseSeconds(v)
	}
	var cache sessionCache
	if ds := t.ds["ssl_session_cache"]; len(ds) > 0 {
		cache = parseSessionCache(ds[len(ds)-1].Args)
	}
	if ds := t.ds["ssl_session_ticket_key"]; len(ds) > 0 {
		keys, err := c.ticketKeys(ds)
		if err != nil {
			return nil, err
		}
		cfg.SetSessionTicketKeys(keys)
	}
	tickets := t.flag("ssl_session_tickets", true)
	st := &serverTLS{http2: h2, sessions: newSessionPolicy(cfg, tickets, cache, timeout)}
	st.h1, st.h2 = withALPN(cfg)
	if st.sessions != nil && st.sessions.store != nil {
		old := cfg.Clone()
		old.SessionTicketsDisabled = true
		st.oldH1, st.oldH2 = withALPN(old)
	}
	return st, nil
}

// withALPN makes the HTTP/1.1-only and the HTTP/2 variants of cfg.
func withALPN(cfg *tls.Config) (h1, h2 *tls.Config) {
	h1, h2 = cfg.Clone(), cfg.Clone()
	h1.NextProtos = []string{"http/1.1"}
	h2.NextProtos = []string{"h2", "http/1.1"}
	return h1, h2
}

func (c *compiler) loadCert(certPath, keyPath string) (tls.Certificate, error) {
	k := certKey{certPath, keyPath}
	if cert, ok := c.certs[k]; ok {
		return cert, nil
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot load certificate %q: BIO_new_file() failed %s", certPath, errnoText(err))
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot load certificate key %q: BIO_new_file() failed %s", keyPath, errnoText(err))
	}
	if b, _ := pem.Decode(certPEM); b == nil {
		return tls.Certificate{}, fmt.Errorf("cannot load certificate %q: PEM_read_bio_X509_AUX() failed (no PEM certificate found)", certPath)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot load certificate key %q: %v", keyPath, err)
	}
	if c.certs == nil {
		c.certs = certCache{}
	}
	c.certs[k] = cert
	return cert, nil
}

// checkDHParam reads ssl_dhparam as nginx would at load; Go has no DHE
// suites, so the parameters are not used.
func checkDHParam(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("BIO_new_file(%q) failed %s", path, errnoText(err))
	}
	if blk, _ := pem.Decode(b); blk == nil || !strings.Contains(blk.Type, "DH PARAMETERS") {
		return fmt.Errorf("PEM_read_bio_DHparams(%q) failed", path)
	}
	return nil
}

// parseCiphers maps an OpenSSL cipher string to Go's TLS 1.2 suites.
// Named suites are kept in order (minus those excluded with ! or -);
// OpenSSL's aliases select nothing by themselves, and a string of aliases
// only yields nil: Go's default list. Names Go does not implement are
// returned as ignored.
func parseCiphers(s string) (suites []uint16, ignored []string) {
	excluded := map[uint16]bool{}
	for _, el := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		op := byte(0)
		if el[0] == '!' || el[0] == '-' || el[0] == '+' {
			op, el = el[0], el[1:]
		}
		if el == "" || el[0] == '@' || !strings.Contains(el, "-") || strings.Contains(el, "+") {
			continue // an alias, a combination or @STRENGTH
		}
		id, ok := cipherSuite(el)
		switch {
		case !ok && op == 0:
			ignored = append(ignored, el)
		case !ok:
		case op == '!' || op == '-':
			excluded[id] = true
		case op == 0 && !slices.Contains(suites, id):
			suites = append(suites, id)
		}
	}
	suites = slices.DeleteFunc(suites, func(id uint16) bool { return excluded[id] })
	return suites, ignored
}

// cipherSuite maps OpenSSL's name of a TLS 1.2 suite to Go's. These are
// all the suites Go implements; DHE, DSS, CCM, ARIA, CAMELLIA and PSK
// suites have no Go equivalent.
func cipherSuite(name string) (uint16, bool) {
	switch name {
	case "ECDHE-ECDSA-AES128-GCM-SHA256":
		return tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true
	case "ECDHE-RSA-AES128-GCM-SHA256":
		return tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true
	case "ECDHE-ECDSA-AES256-GCM-SHA384":
		return tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true
	case "ECDHE-RSA-AES256-GCM-SHA384":
		return tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true
	case "ECDHE-ECDSA-CHACHA20-POLY1305":
		return tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true
	case "ECDHE-RSA-CHACHA20-POLY1305":
		return tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true
	case "ECDHE-ECDSA-AES128-SHA256":
		return tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, true
	case "ECDHE-RSA-AES128-SHA256":
		return tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, true
	case "ECDHE-ECDSA-AES128-SHA":
		return tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, true
	case "ECDHE-RSA-AES128-SHA":
		return tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true
	case "ECDHE-ECDSA-AES256-SHA":
		return tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, true
	case "ECDHE-RSA-AES256-SHA":
		return tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, true
	case "ECDHE-RSA-DES-CBC3-SHA":
		return tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, true
	case "ECDHE-ECDSA-RC4-SHA":
		return tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, true
	case "ECDHE-RSA-RC4-SHA":
		return tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, true
	case "AES128-GCM-SHA256":
		return tls.TLS_RSA_WITH_AES_128_GCM_SHA256, true
	case "AES256-GCM-SHA384":
		return tls.TLS_RSA_WITH_AES_256_GCM_SHA384, true
	case "AES128-SHA256":
		return tls.TLS_RSA_WITH_AES_128_CBC_SHA256, true
	case "AES128-SHA":
		return tls.TLS_RSA_WITH_AES_128_CBC_SHA, true
	case "AES256-SHA":
		return tls.TLS_RSA_WITH_AES_256_CBC_SHA, true
	case "DES-CBC3-SHA":
		return tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, true
	case "RC4-SHA":
		return tls.TLS_RSA_WITH_RC4_128_SHA, true
	}
	return 0, false
}

// parseCurves maps ssl_ecdh_curve ("auto" or a colon-separated list).
func parseCurves(s string) ([]tls.CurveID, error) {
	if s == "auto" {
		return nil, nil
	}
	var out []tls.CurveID
	for _, n := range strings.Split(s, ":") {
		switch n {
		case "prime256v1", "secp256r1", "P-256":
			out = append(out, tls.CurveP256)
		case "secp384r1", "P-384":
			out = append(out, tls.CurveP384)
		case "secp521r1", "P-521":
			out = append(out, tls.CurveP521)
		case "X25519", "x25519":
			out = append(out, tls.X25519)
		default:
			return nil, fmt.Errorf("unknown curve %q", n)
		}
	}
	return out, nil
}

// groupTLS is the TLS side of one listen address: set when a listen of it
// has ssl (or http2, which nginx ORs over every listen of the address).
type groupTLS struct {
	ssl, http2 bool
	pos        ngxconf.Pos // of the first listen ... ssl, for errors
	conf       *tls.Config // picks the server's config by SNI
}

// markTLS records a listen directive's ssl and http2 parameters.
func (g *vhostGroup) markTLS(l listenAddr) {
	if !l.ssl && !l.http2 {
		return
	}
	if g.tls == nil {
		g.tls = &groupTLS{}
	}
	if l.ssl && !g.tls.ssl {
		g.tls.ssl, g.tls.pos = true, l.pos
	}
	g.tls.http2 = g.tls.http2 || l.http2
}

// buildTLS checks the TLS listen addresses and makes their handshake
// configs, once every server is compiled. An address whose listens have
// http2 but no ssl serves cleartext HTTP/2 instead (http2.go).
func (c *compiler) buildTLS() error {
	for _, l := range c.order {
		g := c.groups[l.key()]
		if g.tls == nil || !g.tls.ssl {
			g.h2c = cleartextMode(g)
			g.tls = nil
			continue
		}
		if g.def.tls == nil || g.def.tls.h1 == nil {
			return ngxconf.Errorf(g.tls.pos, "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive")
		}
		g.tls.conf = &tls.Config{GetConfigForClient: g.configForClient}
	}
	return nil
}

// configForClient selects the server by SNI as nginx does (the Host
// lookup; no or an unknown name: the default server). A server without a
// certificate of its own gets the default server's.
//
// HTTP/2 is offered when a listen of the address has http2 or the chosen
// server has "http2 on" (nginx 1.25 decides after SNI, with the server's
// own setting, even when the certificate comes from the default server).
func (g *vhostGroup) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	s := g.find([]byte(name))
	h2 := g.tls.http2 || s.tls != nil && s.tls.http2
	if s.tls == nil || s.tls.h1 == nil {
		s = g.def
	}
	return s.tls.config(h2, hello), nil
}

// tlsConn is what the TLS side of a connection offers: a tls.Conn, or an
// HTTP/2 stream bridged into the engine.
type tlsConn interface {
	ConnectionState() tls.ConnectionState
}

func isTLS(nc net.Conn) bool {
	_, ok := nc.(tlsConn)
	return ok
}

// handshake runs on a connection accepted on a TLS address before its
// first request: a plain HTTP request gets nginx's 400, anything else is
// wrapped in TLS and handshaken, and HTTP/2 connections are handed over to
// the HTTP/2 side. On a plain address with cleartext HTTP/2 it looks for
// the HTTP/2 preface instead (h2c.go). It reports whether serve should go
// on reading HTTP/1.x requests. It runs again on a TLS connection that
// parked after its handshake, waiting for its first request; it has
// nothing to do then.
func (c *clientConn) handshake() bool {
	g := c.group
	if isBridged(c.nc) {
		return true
	}
	if _, done := c.nc.(*tls.Conn); done {
		return true // parked before its first request, and woken
	}
	if g.h2c != h2cOff {
		return c.cleartextHTTP2()
	}
	if g.tls == nil || g.tls.conf == nil {
		return true
	}
	first, err := peekByte(c.nc, clientHeaderTimeout)
	if err != nil {
		return false
	}
	if isPlainHTTP(first) {
		c.plainOnTLS()
		return false
	}
	var tc *tls.Conn
	if c.raw != nil {
		c.tls = newTLSSocket(c.nc, c.raw, c.idleNow)
		tc = tls.Server(c.tls, g.tls.conf)
	} else {
		tc = tls.Server(c.nc, g.tls.conf)
	}
	c.srv.mu.Lock() // shutdown and Abort read c.nc under it
	c.nc = tc
	c.srv.mu.Unlock()
	c.raw = nil // reads must go through TLS; the poller still has the socket (c.idle.rc)
	c.wr = tc
	ctx, cancel := context.WithTimeout(context.Background(), clientHeaderTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		if !c.closed.Load() {
			c.srv.log.Info("SSL_do_handshake() failed ("+handshakeError(err)+") while SSL handshaking", "conn", c.id, "client", string(c.remoteAddr))
		}
		return false
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		c.active.Store(true)
		c.srv.serveHTTP2(c, tc)
		return false
	}
	return true
}

func handshakeError(err error) string {
	var re tls.RecordHeaderError
	if errors.As(err, &re) {
		return "SSL: wrong version number"
	}
	return err.Error()
}

// isPlainHTTP reports whether the first byte of a connection on a TLS
// port starts an HTTP request line rather than a TLS record (0x16), as
// nginx's ngx_http_ssl_handshake decides.
func isPlainHTTP(b byte) bool { return b >= 'A' && b <= 'Z' }

// peekByte waits for the first byte of a socket without consuming it.
// Connections that are not sockets are taken for TLS.
func peekByte(nc net.Conn, timeout time.Duration) (byte, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0x16, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	nc.SetReadDeadline(time.Now().Add(timeout))
	var b [1]byte
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return rerr != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return b[0], nil
}

// plainOnTLS answers a plain HTTP request sent to a TLS port as nginx
// does: once its head is read, 400 "The plain HTTP request was sent to
// HTTPS port" (nginx's internal 497), and the connection closes.
func (c *clientConn) plainOnTLS() {
	if err := c.readHead(); err != nil {
		return
	}
	c.srv.log.Info("client sent plain HTTP request to HTTPS port while reading client request headers",
		"conn", c.id, "client", string(c.remoteAddr), "request", c.requestLine())
	c.sendError(497, nil, false)
}
