package schedule

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"wisp/internal/blog/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time shared by the store and the scheduler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var start = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string, c *clock) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// run starts a scheduler on st and returns its stop function.
func run(st *store.Store, c *clock) func() {
	s := New(st, nil)
	s.Poll = 5 * time.Millisecond
	s.now = c.now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	return func() { cancel(); <-done }
}

// waitPublished polls (bounded) until slug is published.
func waitPublished(t *testing.T, st *store.Store, slug string) {
	t.Helper()
	for range 2000 {
		if _, err := st.PublishedBySlug(context.Background(), slug); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s was never published", slug)
}

func TestDuePostsArePublishedOnStartAfterARestart(t *testing.T) {
	c := &clock{t: start}
	path := filepath.Join(t.TempDir(), "ghost.db")
	st := openStore(t, path, c)
	if _, err := st.CreatePost(context.Background(), store.NewPost{Title: "Tomorrow", Status: store.StatusScheduled, PublishedAt: start.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishedBySlug(context.Background(), "tomorrow"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("scheduled post visible before its time: %v", err)
	}
	st.Close()
	// The process was down when the post fell due.
	c.set(start.Add(25 * time.Hour))
	st = openStore(t, path, c)
	defer st.Close()
	stop := run(st, c)
	defer stop()
	waitPublished(t, st, "tomorrow")
}

func TestNewlyScheduledPostRearmsTheScheduler(t *testing.T) {
	c := &clock{t: start}
	st := openStore(t, filepath.Join(t.TempDir(), "ghost.db"), c)
	defer st.Close()
	stop := run(st, c)
	defer stop()
	// Due at once by the shared clock: only a re-read of the schedule
	// after the write can publish it.
	if _, err := st.CreatePost(context.Background(), store.NewPost{Title: "Now", Status: store.StatusScheduled, PublishedAt: start}); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, st, "now")
}

type fakeStore struct {
	next      time.Time
	scheduled bool
	err       error
}

func (f fakeStore) PublishDue(context.Context) (int, error) { return 0, f.err }
func (f fakeStore) NextScheduled(context.Context) (time.Time, bool, error) {
	return f.next, f.scheduled, nil
}
func (f fakeStore) DataVersion(context.Context) (int64, error) { return 1, nil }

func TestStepSleepsUntilTheNextDuePost(t *testing.T) {
	tests := []struct {
		name string
		st   fakeStore
		want time.Duration
	}{
		{"nothing scheduled waits idly", fakeStore{}, idle},
		{"sleeps until the next post", fakeStore{next: start.Add(5 * time.Minute), scheduled: true}, 5 * time.Minute},
		{"an overdue post runs at once", fakeStore{next: start.Add(-time.Minute), scheduled: true}, 0},
		{"a database error retries later", fakeStore{err: errors.New("locked")}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.st, nil)
			s.now = func() time.Time { return start }
			if got := s.step(context.Background()); got != tt.want {
				t.Errorf("step = %v, want %v", got, tt.want)
			}
		})
	}
}
