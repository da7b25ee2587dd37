package listen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
)

// DefaultSocketMode is Ghost's socket permission when the config names
// none: owner and group may connect, so a proxy in a shared group can.
const DefaultSocketMode fs.FileMode = 0o660

// Socket is Ghost's server.socket setting. In a config file it is either a
// path string or an object {"path": ..., "permissions": ...}.
type Socket struct {
	// Path is empty when the config left it out; Ghost then uses
	// <contentPath>/<env>.socket, which only the caller knows.
	Path string
	Mode fs.FileMode
}

// UnmarshalJSON accepts both of Ghost's forms. As in Ghost, a missing or
// falsy path or permissions falls back to the default.
func (s *Socket) UnmarshalJSON(b []byte) error {
	*s = Socket{Mode: DefaultSocketMode}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &s.Path)
	case len(b) > 0 && b[0] == '{':
		var obj struct {
			Path        any `json:"path"`
			Permissions any `json:"permissions"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("server.socket: %w", err)
		}
		switch p := obj.Path.(type) {
		case nil:
		case string:
			s.Path = p
		default:
			return fmt.Errorf("server.socket.path must be a string, not %s", b)
		}
		if isFalsy(obj.Permissions) {
			return nil
		}
		mode, err := ParseMode(obj.Permissions)
		if err != nil {
			return fmt.Errorf("server.socket.permissions: %w", err)
		}
		s.Mode = mode
		return nil
	default:
		return fmt.Errorf("server.socket must be a path or an object with path and permissions, not %s", b)
	}
}

func isFalsy(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		return v.String() == "0"
	case float64:
		return v == 0
	}
	return false
}

// ParseMode reads a socket permission as Ghost's config gives it. A string
// is octal, as Node reads it ("660", "0666", and also "0o660"). A number
// is taken digit by digit as octal too (660 means 0o660), because Node
// would read it as decimal 660 (0o1224), which nobody means; a number with
// a digit 8 or 9 is therefore an error rather than a surprise.
func ParseMode(v any) (fs.FileMode, error) {
	var digits string
	switch v := v.(type) {
	case string:
		digits = strings.TrimPrefix(strings.TrimPrefix(v, "0o"), "0O")
	case json.Number:
		digits = v.String()
	case float64:
		if v != math.Trunc(v) || v < 0 || v > 7777 {
			return 0, fmt.Errorf("invalid permissions %v: want an octal mode such as \"0660\"", v)
		}
		digits = strconv.FormatInt(int64(v), 10)
	case int:
		digits = strconv.Itoa(v)
	default:
		return 0, fmt.Errorf("invalid permissions %v: want an octal mode such as \"0660\"", v)
	}
	n, err := strconv.ParseUint(digits, 8, 32)
	if err != nil || digits == "" {
		return 0, fmt.Errorf("invalid permissions %q: want an octal mode such as \"0660\"", fmt.Sprint(v))
	}
	// Set-id and sticky bits mean nothing on a socket; refusing them catches
	// a mistyped mode instead of applying something else.
	if n > 0o777 {
		return 0, fmt.Errorf("invalid permissions %q: only the bits 0777 apply to a socket", fmt.Sprint(v))
	}
	return fs.FileMode(n), nil
}
