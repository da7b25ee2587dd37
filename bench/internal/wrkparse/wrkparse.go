// Package wrkparse reads the text wrk 4 prints with --latency.
package wrkparse

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Result is what one wrk run reports.
type Result struct {
	Requests int64   // "N requests in ..."
	RPS      float64 // "Requests/sec:"
	// Latency percentiles from the "Latency Distribution" block; zero when
	// wrk printed none (it omits the block without --latency).
	P50, P75, P90, P99 time.Duration
	// Socket errors: connect, read, write and timeout.
	ConnectErrors, ReadErrors, WriteErrors, Timeouts int64
	Non2xx                                           int64 // "Non-2xx or 3xx responses:"
}

// SocketErrors is the sum of the four socket error counters.
func (r Result) SocketErrors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts
}

// Parse reads wrk's output. It fails when the output has no summary (wrk
// died, or printed only a usage message), so that a broken run is never
// taken for a run with zero requests.
func Parse(out string) (Result, error) {
	var r Result
	var haveRPS, haveCount bool
	for _, raw := range strings.Split(out, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(line, "Requests/sec:"):
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
			if err != nil {
				return Result{}, fmt.Errorf("wrk: bad Requests/sec line %q: %w", line, err)
			}
			r.RPS, haveRPS = v, true
		case strings.Contains(line, " requests in "):
			n, err := strconv.ParseInt(line[:strings.IndexByte(line, ' ')], 10, 64)
			if err != nil {
				return Result{}, fmt.Errorf("wrk: bad request count line %q: %w", line, err)
			}
			r.Requests, haveCount = n, true
		case strings.HasPrefix(line, "Socket errors:"):
			if err := parseSocketErrors(strings.TrimPrefix(line, "Socket errors:"), &r); err != nil {
				return Result{}, err
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
			if err != nil {
				return Result{}, fmt.Errorf("wrk: bad non-2xx line %q: %w", line, err)
			}
			r.Non2xx = n
		case isPercentileLine(line):
			if err := parsePercentile(line, &r); err != nil {
				return Result{}, err
			}
		}
	}
	if !haveRPS || !haveCount {
		return Result{}, errors.New("wrk: no summary in the output (no \"requests in\" or \"Requests/sec:\" line)")
	}
	return r, nil
}

// isPercentileLine matches the lines of the Latency Distribution block,
// e.g. "99%    2.47ms" (the thread stats lines hold percentages too, but
// never start with one).
func isPercentileLine(line string) bool {
	pct, _, ok := strings.Cut(line, "%")
	if !ok || pct == "" {
		return false
	}
	_, err := strconv.Atoi(pct)
	return err == nil
}

func parsePercentile(line string, r *Result) error {
	pct, rest, _ := strings.Cut(line, "%")
	d, err := ParseDuration(strings.TrimSpace(rest))
	if err != nil {
		return fmt.Errorf("wrk: latency line %q: %w", line, err)
	}
	switch pct {
	case "50":
		r.P50 = d
	case "75":
		r.P75 = d
	case "90":
		r.P90 = d
	case "99":
		r.P99 = d
	}
	return nil
}

func parseSocketErrors(s string, r *Result) error {
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), " ")
		if !ok {
			return fmt.Errorf("wrk: bad socket errors %q", s)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return fmt.Errorf("wrk: bad socket errors %q: %w", s, err)
		}
		switch name {
		case "connect":
			r.ConnectErrors = n
		case "read":
			r.ReadErrors = n
		case "write":
			r.WriteErrors = n
		case "timeout":
			r.Timeouts = n
		}
	}
	return nil
}

// ParseDuration reads wrk's latency format: a decimal number followed by
// us, ms, s, m or h (wrk's own units, which time.ParseDuration does not all
// accept in this spelling).
func ParseDuration(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(c rune) bool { return (c < '0' || c > '9') && c != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: %w", s, err)
	}
	var unit time.Duration
	switch s[i:] {
	case "us":
		unit = time.Microsecond
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	default:
		return 0, fmt.Errorf("bad duration unit in %q", s)
	}
	return time.Duration(math.Round(v * float64(unit))), nil
}
