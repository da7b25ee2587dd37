package ngxconf

import (
	"errors"
	"math"
	"strings"
	"time"
)

// ErrInvalidValue is what the unit parsers return for a malformed value;
// Directive's Size, Duration, Seconds and Flag turn it into nginx's message.
var ErrInvalidValue = errors.New("invalid value")

// ParseSize parses a size as ngx_parse_size: bytes, or k/K, m/M suffixed.
func ParseSize(s string) (int64, error) {
	return parseScaled(s, false)
}

// ParseOffset parses a size that may also carry g/G, as ngx_parse_offset
// (used by e.g. proxy_max_temp_file_size's relatives and mp4 limits).
func ParseOffset(s string) (int64, error) {
	return parseScaled(s, true)
}

func parseScaled(s string, gig bool) (int64, error) {
	if s == "" {
		return 0, ErrInvalidValue
	}
	scale := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		scale, s = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		scale, s = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		if gig {
			scale, s = 1<<30, s[:len(s)-1]
		}
	}
	n, ok := atoi(s)
	if !ok || n > math.MaxInt64/scale {
		return 0, ErrInvalidValue
	}
	return n * scale, nil
}

// atoi accepts only decimal digits, no sign, no empty string, as ngx_atoi.
func atoi(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ParseDuration parses a time as nginx's millisecond directives do
// (proxy_read_timeout, keepalive_timeout...): units ms, s, m, h, d, w
// most significant first, optionally space-separated ("1h 30m"); a bare
// number is seconds.
func ParseDuration(s string) (time.Duration, error) {
	ms, err := parseTime(s, false)
	if err != nil {
		return 0, err
	}
	return scaleDuration(ms, time.Millisecond), nil
}

// ParseSeconds parses a time as nginx's second-granularity directives do
// (expires, fail_timeout, ssl_session_timeout...): as ParseDuration but
// also with M (30 days) and y (365 days), and without ms.
func ParseSeconds(s string) (time.Duration, error) {
	sec, err := parseTime(s, true)
	if err != nil {
		return 0, err
	}
	return scaleDuration(sec, time.Second), nil
}

// scaleDuration saturates rather than wrapping: nginx accepts times up to
// 2^63 ms, beyond what a time.Duration holds, and such a timeout means
// "never" either way.
func scaleDuration(n int64, unit time.Duration) time.Duration {
	if n > int64(math.MaxInt64/unit) {
		return math.MaxInt64
	}
	return time.Duration(n) * unit
}

// parseTime follows ngx_parse_time step by step: each unit must be smaller
// than the previous one, the result is in seconds (isSec) or milliseconds.
func parseTime(s string, isSec bool) (int64, error) {
	const (
		stStart = iota
		stYear
		stMonth
		stWeek
		stDay
		stHour
		stMin
		stSec
		stMsec
		stLast
	)
	const maxInt = math.MaxInt64
	step := stMonth
	if isSec {
		step = stStart
	}
	var value, total int64
	valid := false
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			d := int64(c - '0')
			if value > (maxInt-d)/10 {
				return 0, ErrInvalidValue
			}
			value = value*10 + d
			valid = true
			i++
			continue
		}
		i++
		var scale, limit int64
		switch c {
		case 'y':
			if step > stStart {
				return 0, ErrInvalidValue
			}
			step, scale = stYear, 365*24*3600
		case 'M':
			if step >= stMonth {
				return 0, ErrInvalidValue
			}
			step, scale = stMonth, 30*24*3600
		case 'w':
			if step >= stWeek {
				return 0, ErrInvalidValue
			}
			step, scale = stWeek, 7*24*3600
		case 'd':
			if step >= stDay {
				return 0, ErrInvalidValue
			}
			step, scale = stDay, 24*3600
		case 'h':
			if step >= stHour {
				return 0, ErrInvalidValue
			}
			step, scale = stHour, 3600
		case 'm':
			if i < len(s) && s[i] == 's' {
				if isSec || step >= stMsec {
					return 0, ErrInvalidValue
				}
				i++
				step, scale = stMsec, 1
				break
			}
			if step >= stMin {
				return 0, ErrInvalidValue
			}
			step, scale = stMin, 60
		case 's':
			if step >= stSec {
				return 0, ErrInvalidValue
			}
			step, scale = stSec, 1
		case ' ':
			if step >= stSec {
				return 0, ErrInvalidValue
			}
			step, scale = stLast, 1
		default:
			return 0, ErrInvalidValue
		}
		if step != stMsec && !isSec {
			scale *= 1000
		}
		limit = maxInt / scale
		if value > limit {
			return 0, ErrInvalidValue
		}
		value *= scale
		if total > maxInt-value {
			return 0, ErrInvalidValue
		}
		total += value
		value = 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if !valid {
		return 0, ErrInvalidValue
	}
	if !isSec {
		if value > maxInt/1000 {
			return 0, ErrInvalidValue
		}
		value *= 1000
	}
	if total > maxInt-value {
		return 0, ErrInvalidValue
	}
	return total + value, nil
}

// ParseFlag parses on/off, case-insensitively as ngx_conf_set_flag_slot.
func ParseFlag(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "on"):
		return true, nil
	case strings.EqualFold(s, "off"):
		return false, nil
	}
	return false, ErrInvalidValue
}

// InvalidValue is nginx's generic `"X" directive invalid value` for d.
func InvalidValue(d *Directive) *Error {
	return Errorf(d.Pos, `"%s" directive invalid value`, d.Name)
}

// Size parses argument i as a size, with nginx's error for d.
func (d *Directive) Size(i int) (int64, *Error) {
	n, err := ParseSize(d.Args[i])
	if err != nil {
		return 0, InvalidValue(d)
	}
	return n, nil
}

// Duration parses argument i as a millisecond-directive time.
func (d *Directive) Duration(i int) (time.Duration, *Error) {
	t, err := ParseDuration(d.Args[i])
	if err != nil {
		return 0, InvalidValue(d)
	}
	return t, nil
}

// Seconds parses argument i as a second-directive time.
func (d *Directive) Seconds(i int) (time.Duration, *Error) {
	t, err := ParseSeconds(d.Args[i])
	if err != nil {
		return 0, InvalidValue(d)
	}
	return t, nil
}

// Flag parses argument i as on/off, with nginx's flag error for d.
func (d *Directive) Flag(i int) (bool, *Error) {
	on, err := ParseFlag(d.Args[i])
	if err != nil {
		return false, Errorf(d.Pos, `invalid value "%s" in "%s" directive, it must be "on" or "off"`, d.Args[i], d.Name)
	}
	return on, nil
}
