package web

import (
	"log/slog"
	"sync"
)

// onceLog logs an error once per key (a post and its version), so a
// broken post read by every request logs one line, not one per view.
type onceLog struct {
	out  *slog.Logger
	mu   sync.Mutex
	seen map[string]bool
}

// maxOnceKeys bounds the memory of seen keys; past it they start over.
const maxOnceKeys = 4096

func newOnceLog(log *slog.Logger) *onceLog {
	return &onceLog{out: log, seen: map[string]bool{}}
}

func (o *onceLog) report(msg, key string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[key] {
		return
	}
	if len(o.seen) >= maxOnceKeys {
		clear(o.seen)
	}
	o.seen[key] = true
	o.out.Error(msg, "key", key, "err", err)
}
