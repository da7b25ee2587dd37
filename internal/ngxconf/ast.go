// Package ngxconf reads nginx configuration files: the lexer, the parser,
// include expansion, the directive table and nginx-style errors with
// file:line. It knows the language and which directives exist where; what
// the directives mean is the proxy's business.
//
// The reference is Debian's nginx 1.22.1, and the tests compare messages
// with it. Where this package departs from it, on purpose:
//
//   - A main file with neither an http nor an events block (a
//     sites-available fragment such as the seed's igu.io) is accepted: its
//     http-level directives are wrapped in a synthesized http block and no
//     events block is required. nginx refuses such a file with `"server"
//     directive is not allowed here`. A file with an http or events block is
//     treated exactly as nginx does.
//   - include cycles and nesting deeper than 32 levels are errors; nginx
//     recurses until it runs out of file descriptors.
//   - A FIFO or device named by include reads as empty (nginx reads as many
//     bytes as fstat reports, so devices are empty there too, but it would
//     block opening a FIFO).
//   - Only the directives built into Debian's binary are known; those of its
//     dynamic modules (stream, mail, geoip, image_filter, ...) are unknown,
//     as they are to nginx without load_module.
package ngxconf

import "fmt"

// Directive is one simple or block directive, with includes already expanded.
type Directive struct {
	Name string
	// Args are the argument values with quotes removed and escapes resolved.
	// Variables ($var, ${var}) are left in place for the consumer to compile.
	Args []string
	// Quoted reports, per argument, whether it was written in quotes; some
	// directives (if, map, server_name) treat quoted and bare tokens apart.
	Quoted []bool
	// Block holds the children of a block directive; nil for a simple one.
	Block []*Directive
	// IsBlock distinguishes "name {}" (empty block) from "name;".
	IsBlock bool
	Pos     Pos
}

// Pos is where nginx places a directive in its messages: the file, and the
// line of the directive's terminating ";" or "{" (for most directives the
// line it is written on). Line 0 with File "command line" is the -g string,
// which nginx names without a line.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is a configuration error worded like nginx's, e.g.
// `unknown directive "foo" in /etc/nginx/nginx.conf:3`.
type Error struct {
	Msg string
	Pos Pos
}

func (e *Error) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s in %s", e.Msg, e.Pos)
}

// Errorf builds an *Error at pos; consumers such as the proxy use it so that
// their semantic errors read exactly like parse errors.
// Like nginx's, the message is cut at 1024 bytes (NGX_MAX_CONF_ERRSTR).
func Errorf(pos Pos, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText]
	}
	return &Error{Msg: msg, Pos: pos}
}

// maxErrorText is nginx's NGX_MAX_CONF_ERRSTR.
const maxErrorText = 1024
