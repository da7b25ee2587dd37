package proxy

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// errorLogHandler writes slog records in nginx's error-log format:
// "2026/11/25 10:24:05 [error] 17168#17168: *8 message, client: ..., host: "..."".
// A "conn" attribute becomes the "*N" connection number.
type errorLogHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	pid   string
	attrs []slog.Attr
}

// NewErrorLogHandler returns a handler writing nginx-style lines to w.
func NewErrorLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	pid := strconv.Itoa(os.Getpid())
	return &errorLogHandler{mu: &sync.Mutex{}, w: w, level: level, pid: pid + "#" + pid}
}

func (h *errorLogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *errorLogHandler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b := t.AppendFormat(nil, "2006/01/02 15:04:05")
	b = append(b, " ["...)
	b = append(b, levelName(r.Level)...)
	b = append(b, "] "...)
	b = append(b, h.pid...)
	b = append(b, ": "...)
	var rest []byte
	add := func(a slog.Attr) bool {
		if a.Key == "conn" {
			b = append(b, '*')
			b = append(b, a.Value.String()...)
			b = append(b, ' ')
			return true
		}
		rest = append(rest, ", "...)
		rest = append(rest, a.Key...)
		rest = append(rest, ": "...)
		switch a.Key {
		case "request", "upstream", "host", "referrer":
			rest = strconv.AppendQuote(rest, a.Value.String())
		default:
			rest = append(rest, a.Value.String()...)
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b = append(b, r.Message...)
	b = append(b, rest...)
	b = append(b, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

func (h *errorLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &n
}

// WithGroup is not used by the proxy; groups are flattened.
func (h *errorLogHandler) WithGroup(string) slog.Handler { return h }
