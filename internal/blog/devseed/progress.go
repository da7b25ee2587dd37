package devseed

import (
	"fmt"
	"io"
	"time"
)

// Lines reports progress as plain lines, for output that is not a
// terminal (logs, CI): one line per tenth of the work and a last one, so
// a long run shows it is alive without flooding the log.
type Lines struct {
	W       io.Writer
	started time.Time
	shown   int // tenths reported so far
}

// NewLines returns a Lines writing to w, timing from now.
func NewLines(w io.Writer) *Lines { return &Lines{W: w, started: time.Now()} }

// Advance implements Progress.
func (l *Lines) Advance(done, total int) {
	tenth := done * 10 / max(total, 1)
	if tenth <= l.shown && done < total {
		return
	}
	l.shown = tenth
	fmt.Fprintf(l.W, "seeded %d/%d posts (%d%%) in %s\n", done, total, done*100/max(total, 1),
		time.Since(l.started).Round(100*time.Millisecond))
}
