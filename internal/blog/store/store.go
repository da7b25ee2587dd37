// Package store keeps a site's content in SQLite (modernc.org/sqlite, no
// cgo) with Ghost-shaped tables. It opens the database in WAL mode so the
// server reads while `wisp post new` writes, applies embedded versioned
// migrations, seeds a fresh site, and reports a cheap change counter that
// lets callers cache rendered pages until the data changes.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"wisp/internal/blog/render"
)

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

// Store is an open site database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	md *render.Markdown
	// now is the clock; tests replace it to get stable timestamps.
	now func() time.Time

	version *versionCheck
	// wal is the fast path of DataVersion; nil when the -shm file could
	// not be mapped, and then every check asks SQLite.
	wal *walHeader

	ids   *idSource
	stmts statements
}

// Options tune Open; the zero value is fine.
type Options struct {
	// BusyTimeout is how long a statement waits for another writer's lock.
	BusyTimeout time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Open opens (creating if needed) the database at path, migrates it, and
// seeds a fresh site with an owner and a welcome post.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("database path %q: '?' and '#' are not allowed in the file name", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Writers take the write lock at BEGIN, so two writers never deadlock
	// upgrading read locks; busy_timeout then makes one wait.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, md: render.NewMarkdown(), now: opts.Now, ids: newIDSource()}
	if err := s.init(ctx, path); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, path string) error {
	if err := migrate(ctx, s.db, binaryMigrations()); err != nil {
		return err
	}
	if err := s.seed(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := s.stmts.prepare(ctx, s.db); err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	if s.version, err = newVersionCheck(ctx, conn); err != nil {
		conn.Close()
		return err
	}
	// The first check opens the shared memory on the held connection,
	// which keeps SQLite from truncating it under the mapping.
	if _, err := s.version.current(ctx); err != nil {
		return err
	}
	if wal, err := openWALHeader(path); err == nil {
		s.wal = wal
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error {
	var errs []error
	if s.wal != nil {
		errs = append(errs, s.wal.close())
	}
	if s.version != nil {
		errs = append(errs, s.version.close())
	}
	errs = append(errs, s.stmts.close(), s.db.Close())
	return errors.Join(errs...)
}

// DataVersion returns a number that changes whenever another connection
// (another process, or another connection of this one) commits a change.
// The number comes from a check that started after the call did, so a
// commit finished before the call is always seen. Concurrent callers share
// checks, which keeps this cheap under load.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	if s.wal != nil {
		if fp, err := s.wal.fingerprint(); err == nil {
			return fp, nil
		}
	}
	return s.version.current(ctx)
}

// versionCheck runs PRAGMA data_version on a connection of its own (the
// value only changes between two calls on the same connection) and lets
// every caller waiting for a fresh value share one run.
type versionCheck struct {
	conn *sql.Conn
	stmt *sql.Stmt

	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	started uint64 // checks begun
	done    uint64 // number of the last check finished
	value   int64
	err     error
}

func newVersionCheck(ctx context.Context, conn *sql.Conn) (*versionCheck, error) {
	stmt, err := conn.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		return nil, err
	}
	v := &versionCheck{conn: conn, stmt: stmt}
	v.cond = sync.NewCond(&v.mu)
	return v, nil
}

func (v *versionCheck) close() error {
	return errors.Join(v.stmt.Close(), v.conn.Close())
}

func (v *versionCheck) current(ctx context.Context) (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// A check already running may have read the version before our caller's
	// data was committed; only one that starts from here on will do.
	need := v.started + 1
	for v.done < need {
		if v.running {
			v.cond.Wait()
			continue
		}
		v.running = true
		v.started++
		n := v.started
		v.mu.Unlock()
		var val int64
		// Waiters depend on this run, so it must not die with one caller.
		err := v.stmt.QueryRowContext(context.WithoutCancel(ctx)).Scan(&val)
		v.mu.Lock()
		v.value, v.err, v.done, v.running = val, err, n, false
		v.cond.Broadcast()
	}
	return v.value, v.err
}

// timeLayout is how Ghost stores datetimes in SQLite.
const timeLayout = "2006-01-02 15:04:05"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads the datetime forms found in Ghost databases and exports.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{timeLayout, "2006-01-02 15:04:05.000", time.RFC3339Nano, "2006-01-02T15:04:05.000Z"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised datetime %q", s)
}

// idSource makes 24-hex ids shaped like MongoDB ObjectIds, as Ghost uses:
// 4 bytes of seconds, 5 random bytes fixed per store, and a 3-byte
// counter, so ids made by one process sort by creation order.
type idSource struct {
	random [5]byte
	count  atomic.Uint32
}

func newIDSource() *idSource {
	s := &idSource{}
	rand.Read(s.random[:])
	var c [4]byte
	rand.Read(c[:])
	// Start in the lower half so the 24-bit counter cannot wrap (and break
	// the ordering) before millions of ids.
	s.count.Store((uint32(c[0])<<16 | uint32(c[1])<<8 | uint32(c[2])) & 0x7fffff)
	return s
}

func (s *idSource) next(now time.Time) string {
	var b [12]byte
	sec := uint32(now.Unix())
	b[0], b[1], b[2], b[3] = byte(sec>>24), byte(sec>>16), byte(sec>>8), byte(sec)
	copy(b[4:9], s.random[:])
	n := s.count.Add(1)
	b[9], b[10], b[11] = byte(n>>16), byte(n>>8), byte(n)
	return hex.EncodeToString(b[:])
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// nullable scans a possibly NULL text column into a string ("" for NULL).
type nullable struct{ p *string }

func (n nullable) Scan(v any) error {
	switch t := v.(type) {
	case nil:
		*n.p = ""
	case string:
		*n.p = t
	case []byte:
		*n.p = string(t)
	default:
		*n.p = fmt.Sprint(t)
	}
	return nil
}

// nullTime scans a possibly NULL datetime column.
type nullTime struct{ p *time.Time }

func (n nullTime) Scan(v any) error {
	var s string
	if err := (nullable{&s}).Scan(v); err != nil {
		return err
	}
	if tt, ok := v.(time.Time); ok {
		*n.p = tt.UTC()
		return nil
	}
	if s == "" {
		*n.p = time.Time{}
		return nil
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*n.p = t
	return nil
}

// nullIfEmpty stores "" as NULL, as Ghost does for unset optional fields.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
