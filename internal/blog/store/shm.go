package store

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// walHeader reads SQLite's WAL-index header straight from the shared
// memory file (<db>-shm), the way SQLite's own readers first look at it:
// without a lock. Every write transaction rewrites the header (its change
// counter goes up), so comparing headers tells "maybe changed" from
// "surely unchanged" in nanoseconds, where PRAGMA data_version costs a read
// transaction and several fcntl calls. The layout is SQLite's documented
// file format (https://sqlite.org/walformat.html, "The WAL-Index Header"):
// two 48-byte copies at offsets 0 and 48, written copy 2 first.
type walHeader struct {
	mem []byte
}

const (
	walHeaderSize = 48
	// isInit is byte 12 of a header copy; 0 means SQLite must rebuild it.
	walHeaderIsInit = 12
)

// openWALHeader maps the header of the -shm file of the database at path.
// The caller must keep a connection to the database open for as long as
// the mapping lives: while one is open, SQLite never truncates the file.
func openWALHeader(path string) (*walHeader, error) {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < 2*walHeaderSize {
		return nil, fmt.Errorf("%s-shm is too short (%d bytes)", path, fi.Size())
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 2*walHeaderSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s-shm: %w", path, err)
	}
	return &walHeader{mem: mem}, nil
}

// errTornHeader means a writer was mid-update; the caller falls back to
// asking SQLite.
var errTornHeader = errors.New("wal-index header changing")

// fingerprint returns a hash of the current header, or errTornHeader
// when the two copies differ or the header is not initialised.
func (h *walHeader) fingerprint() (int64, error) {
	var a, b [walHeaderSize / 4]uint32
	for i := range a {
		a[i] = atomic.LoadUint32((*uint32)(unsafe.Pointer(&h.mem[4*i])))
	}
	for i := range b {
		b[i] = atomic.LoadUint32((*uint32)(unsafe.Pointer(&h.mem[walHeaderSize+4*i])))
	}
	if a != b || h.mem[walHeaderIsInit] == 0 {
		return 0, errTornHeader
	}
	// FNV-1a over the header words, inline so a page view allocates nothing.
	sum := uint64(14695981039346656037)
	for _, w := range a {
		for shift := 0; shift < 32; shift += 8 {
			sum ^= uint64(byte(w >> shift))
			sum *= 1099511628211
		}
	}
	return int64(sum), nil
}

func (h *walHeader) close() error {
	return unix.Munmap(h.mem)
}
