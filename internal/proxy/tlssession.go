package proxy

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wisp/internal/ngxconf"
)

// TLS session resumption, as nginx's ssl_session_tickets,
// ssl_session_cache and ssl_session_timeout give it with OpenSSL:
//
//   - Tickets on (the default): Go's session tickets, sealed with keys
//     made at each config load as nginx's, or read from
//     ssl_session_ticket_key files (ticketKeys), for TLS 1.2 and 1.3,
//     usable for ssl_session_timeout; a timeout of 0 is OpenSSL's default
//     of 2 hours for tickets, as nginx passes 0 on to SSL_CTX_set_timeout.
//   - Tickets off with a builtin or shared cache (Ghost-CLI's
//     ssl-params.conf): OpenSSL then resumes TLS 1.3 through stateful
//     tickets, an ID into the server's cache, used once. wisp does the
//     same with an in-process cache bounded as nginx's (about 4000
//     sessions a megabyte for shared, the count for builtin). TLS 1.2
//     resumption by session ID does not exist in Go's TLS (neither server
//     nor client), so TLS 1.2 clients do not resume there.
//   - Tickets off without a cache (none, off, or unset): no resumption.
//
// The cache is per server and per config load: nginx's shared zone is
// shared between servers and survives a reload.

// ticketKeys reads ssl_session_ticket_key files, checked as nginx checks
// them (48 or 80 bytes). Go's ticket keys are 32 bytes, so each is made
// from its file's whole content: tickets then survive reloads and are
// shared by wisp instances reading the same files, as in nginx, but are
// not nginx's tickets (the formats differ). The first key seals, all open.
func (c *compiler) ticketKeys(ds []*ngxconf.Directive) ([][32]byte, error) {
	keys := make([][32]byte, 0, len(ds))
	for _, d := range ds {
		path := c.path(d.Args[0])
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, ngxconf.Errorf(d.Pos, "open() \"%s\" failed %s", path, errnoText(err))
		}
		if len(b) != 48 && len(b) != 80 {
			return nil, ngxconf.Errorf(d.Pos, "\"%s\" must be 48 or 80 bytes", path)
		}
		keys = append(keys, sha256.Sum256(b))
	}
	return keys, nil
}

// sessionCache is a parsed ssl_session_cache.
type sessionCache struct {
	size    int  // sessions; 0: no cache that resumes
	builtin bool // OpenSSL's cache: its own expiry rule (see expiry)
}

// parseSessionCache reads the (already checked) values.
func parseSessionCache(args []string) sessionCache {
	var sc sessionCache
	for _, a := range args {
		switch {
		case a == "builtin":
			sc.size, sc.builtin = max(sc.size, 20480), true // OpenSSL's SSL_SESSION_CACHE_MAX_SIZE_DEFAULT
		case strings.HasPrefix(a, "builtin:"):
			n, _ := strconv.Atoi(a[len("builtin:"):])
			sc.size, sc.builtin = max(sc.size, n), true
		case strings.HasPrefix(a, "shared:"):
			_, size, _ := strings.Cut(a[len("shared:"):], ":")
			n, _ := ngxconf.ParseSize(size)
			sc.size = max(sc.size, int(n/256)) // nginx: about 4000 sessions a megabyte
		}
	}
	return sc
}

// openSSLDefaultTimeout is what OpenSSL uses when nginx hands it a
// session timeout of 0.
const openSSLDefaultTimeout = 2 * time.Hour

// sessionPolicy seals and opens session tickets for one server.
type sessionPolicy struct {
	keys  *tls.Config // its ticket keys seal stateless tickets
	ttl   time.Duration
	store *sessionStore // nil: stateless tickets
	now   func() time.Time
}

// newSessionPolicy sets cfg up for resumption; nil when the settings allow
// none (cfg then sends no tickets).
func newSessionPolicy(cfg *tls.Config, tickets bool, cache sessionCache, timeout time.Duration) *sessionPolicy {
	p := &sessionPolicy{keys: cfg, ttl: timeout, now: time.Now}
	switch {
	case tickets:
		if timeout == 0 {
			p.ttl = openSSLDefaultTimeout
		}
	case cache.size > 0 && cfg.MaxVersion >= tls.VersionTLS13:
		// nginx's shared cache expires a session at once with a timeout
		// of 0; OpenSSL's builtin one takes its default then.
		if timeout == 0 && cache.builtin {
			p.ttl = openSSLDefaultTimeout
		}
		if p.ttl == 0 {
			cfg.SessionTicketsDisabled = true
			return nil
		}
		p.store = &sessionStore{max: cache.size, byID: map[string]storedSession{}}
	default:
		cfg.SessionTicketsDisabled = true
		return nil
	}
	cfg.WrapSession, cfg.UnwrapSession = p.wrap, p.unwrap
	return p
}

// sessionStamp tags the creation time that wrap adds to every session.
const sessionStamp = "wisp-created:"

func (p *sessionPolicy) wrap(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	now := p.now()
	ss.Extra = append(ss.Extra, binary.BigEndian.AppendUint64([]byte(sessionStamp), uint64(now.Unix())))
	if p.store == nil {
		return p.keys.EncryptTicket(cs, ss)
	}
	state, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	p.store.put(string(id), state, now, now.Add(p.ttl))
	return id, nil
}

// unwrap opens a ticket; a session past the timeout, unknown or damaged
// means a full handshake (nil, nil), never a failed one.
func (p *sessionPolicy) unwrap(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	now := p.now()
	if p.store != nil {
		state, ok := p.store.take(string(identity), now)
		if !ok {
			return nil, nil
		}
		ss, err := tls.ParseSessionState(state)
		if err != nil {
			return nil, nil
		}
		return ss, nil
	}
	ss, err := p.keys.DecryptTicket(identity, cs)
	if err != nil || ss == nil {
		return nil, err
	}
	for _, e := range ss.Extra {
		if rest, ok := bytes.CutPrefix(e, []byte(sessionStamp)); ok && len(rest) == 8 {
			created := time.Unix(int64(binary.BigEndian.Uint64(rest)), 0)
			if now.Sub(created) <= p.ttl {
				return ss, nil
			}
		}
	}
	return nil, nil
}

// sessionStore is a server-side session cache: sessions by ID, dropped
// when used (OpenSSL's TLS 1.3 anti-replay), expired or pushed out by
// newer ones past max.
type sessionStore struct {
	mu    sync.Mutex
	max   int
	byID  map[string]storedSession
	order []string // IDs oldest first; may name sessions already taken
}

type storedSession struct {
	state   []byte
	expires time.Time
}

func (s *sessionStore) put(id string, state []byte, now, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.byID) >= s.max && len(s.order) > 0 {
		delete(s.byID, s.order[0])
		s.order = s.order[1:]
	}
	s.dropExpired(now)
	s.byID[id] = storedSession{state: state, expires: expires}
	s.order = append(s.order, id)
	if len(s.order) > 2*s.max+64 { // IDs of taken sessions pile up: compact
		s.order = slices.DeleteFunc(s.order, func(id string) bool { _, ok := s.byID[id]; return !ok })
	}
}

// dropExpired removes the oldest sessions while they are expired; every
// session has the same lifetime, so the oldest expire first.
func (s *sessionStore) dropExpired(now time.Time) {
	for len(s.order) > 0 {
		e, ok := s.byID[s.order[0]]
		if ok && now.Before(e.expires) {
			return
		}
		delete(s.byID, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *sessionStore) take(id string, now time.Time) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	delete(s.byID, id)
	return e.state, now.Before(e.expires)
}

// offersTLS13 reports whether a client can speak TLS 1.3.
func offersTLS13(hello *tls.ClientHelloInfo) bool {
	return slices.Contains(hello.SupportedVersions, tls.VersionTLS13)
}
