// Package schedule publishes scheduled posts at their time. It keeps no
// state of its own: the database is the schedule, so a restart loses
// nothing. On start it publishes everything already due, then sleeps
// until the next due post, and re-reads the schedule whenever the data
// changes (from this process or another, such as `wisp post new`).
package schedule

import (
	"context"
	"log/slog"
	"time"
)

// Store is what the scheduler needs; *store.Store implements it.
type Store interface {
	PublishDue(ctx context.Context) (int, error)
	NextScheduled(ctx context.Context) (time.Time, bool, error)
	DataVersion(ctx context.Context) (int64, error)
}

// Scheduler runs the schedule of one site.
type Scheduler struct {
	store Store
	log   *slog.Logger
	// Poll is how often the data version is compared to notice a
	// changed schedule; the check is a read of shared memory.
	Poll time.Duration
	// RetryAfter is the wait after a database error.
	RetryAfter time.Duration
	now        func() time.Time
}

// New returns a scheduler for st.
func New(st Store, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{store: st, log: log, Poll: time.Second, RetryAfter: 10 * time.Second, now: time.Now}
}

// Run publishes due posts until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	poll := time.NewTicker(s.Poll)
	defer poll.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var seen int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-poll.C:
			v, err := s.store.DataVersion(ctx)
			if err != nil || v == seen {
				continue
			}
			seen = v
		}
		wait := s.step(ctx)
		if v, err := s.store.DataVersion(ctx); err == nil {
			seen = v // our own publishing must not wake us again
		}
		timer.Stop()
		timer.Reset(wait)
	}
}

// idle is the timer's wait when nothing is scheduled; the poll still
// notices new scheduled posts.
const idle = time.Hour

// step publishes what is due and returns how long to sleep until the
// next scheduled post.
func (s *Scheduler) step(ctx context.Context) time.Duration {
	n, err := s.store.PublishDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("publishing scheduled posts failed", "err", err)
		}
		return s.RetryAfter
	}
	if n > 0 {
		s.log.Info("published scheduled posts", "count", n)
	}
	next, ok, err := s.store.NextScheduled(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("reading the schedule failed", "err", err)
		}
		return s.RetryAfter
	}
	if !ok {
		return idle
	}
	// Timers fire early by nothing and late by scheduling noise; a post
	// due in the past is published on the next step at once.
	return max(next.Sub(s.now()), 0)
}
