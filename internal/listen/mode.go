package listen

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
)

// ParsePerm reads a socket permission the way Ghost's fs.chmod call reads
// it. A string is octal: "660", "0666", and also "0o660". A number is the
// mode's value, so 438 is 0666; the common slip of writing 660 unquoted
// means 0o1224 to Node, and is refused here because it sets the sticky bit.
// Only the permission bits (0777) apply to a socket.
func ParsePerm(v any) (fs.FileMode, error) {
	var n uint64
	var err error
	switch v := v.(type) {
	case string:
		digits := strings.TrimPrefix(strings.TrimPrefix(v, "0o"), "0O")
		if digits == "" {
			err = strconv.ErrSyntax
		}
		if err == nil {
			n, err = strconv.ParseUint(digits, 8, 32)
		}
	case json.Number:
		n, err = strconv.ParseUint(v.String(), 10, 32)
	case float64:
		if v < 0 || v > math.MaxUint32 || v != math.Trunc(v) {
			err = strconv.ErrSyntax
		}
		n = uint64(v)
	case int:
		if v < 0 {
			err = strconv.ErrSyntax
		}
		n = uint64(v)
	default:
		err = strconv.ErrSyntax
	}
	if err != nil {
		return 0, fmt.Errorf("invalid permissions %s: want an octal string such as \"0660\"", show(v))
	}
	if n > 0o777 {
		if _, isString := v.(string); isString {
			return 0, fmt.Errorf("invalid permissions %s: only the bits 0777 apply to a socket", show(v))
		}
		return 0, fmt.Errorf("invalid permissions %s: a number is the mode's value (%#o), as Node reads it; write the mode as a string such as \"0660\"", show(v), n)
	}
	return fs.FileMode(n), nil
}

// show writes a config value as it looks in JSON, so that the user can find it.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
