package ngxconf

import "bytes"

// maxWord is nginx's NGX_CONF_BUFFER: the read buffer a single token (from
// its first byte up to its terminator) must fit in.
const maxWord = 4096

// stmtEnd says what ended a statement, as ngx_conf_read_token's return does.
type stmtEnd int

const (
	endSemicolon  stmtEnd = iota // "name args;"
	endBlockStart                // "name args {"
	endBlockDone                 // "}"
	endEOF                       // end of input, nothing pending
)

// word is one token of a statement.
type word struct {
	text   string
	quoted bool
}

// stmt is what the lexer hands the parser: the words of one directive and
// how it ended. line is nginx's current line when the statement ended, which
// is the line nginx names in errors about that directive.
type stmt struct {
	words []word
	end   stmtEnd
	line  int
}

// lexer splits a config into statements byte for byte as nginx's
// ngx_conf_read_token does, including its quirks: quotes only open at the
// start of a word, "}" inside a bare word is an ordinary byte, "#" starts a
// comment only where a word could start, "${" does not end a word.
type lexer struct {
	src  []byte
	pos  int
	line int
	// file names the source in errors; param marks the -g string, which
	// nginx reports as "in command line" and ends without needing a file.
	file  string
	param bool
}

func newLexer(file string, src []byte) *lexer {
	return &lexer{src: src, line: 1, file: file}
}

func newParamLexer(src []byte) *lexer {
	// nginx parses -g with its line counter at 0 and names no line.
	return &lexer{src: src, line: 0, file: "command line", param: true}
}

func (lx *lexer) errorf(line int, format string, args ...any) *Error {
	return Errorf(Pos{File: lx.file, Line: line}, format, args...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// next returns the next statement. The state variables mirror nginx's so
// that every edge case (escapes, "a"b, ")" after a quote) falls out the same.
func (lx *lexer) next() (stmt, error) {
	var (
		words        []word
		needSpace    bool
		lastSpace    = true
		sharpComment bool
		variable     bool
		escaped      bool
		sQuoted      bool
		dQuoted      bool
		start        = lx.pos
		startLine    = lx.line
	)
	for {
		if lx.pos >= len(lx.src) {
			if len(words) > 0 || !lastSpace {
				if lx.param {
					return stmt{}, lx.errorf(lx.line, `unexpected end of parameter, expecting ";"`)
				}
				return stmt{}, lx.errorf(lx.line, `unexpected end of file, expecting ";" or "}"`)
			}
			return stmt{end: endEOF, line: lx.line}, nil
		}
		if !lx.param && lx.pos-start >= maxWord {
			// nginx finds this only when refilling its buffer, which happens
			// exactly when the pending token has filled all of it.
			switch {
			case dQuoted:
				return stmt{}, lx.errorf(startLine, `too long parameter, probably missing terminating """ character`)
			case sQuoted:
				return stmt{}, lx.errorf(startLine, `too long parameter, probably missing terminating "'" character`)
			default:
				return stmt{}, lx.errorf(startLine, `too long parameter "%s..." started`, lx.src[start:start+10])
			}
		}

		ch := lx.src[lx.pos]
		lx.pos++
		if ch == '\n' {
			lx.line++
			sharpComment = false
		}
		if sharpComment {
			continue
		}
		if escaped {
			escaped = false
			continue
		}
		if needSpace {
			switch {
			case isSpace(ch):
				lastSpace, needSpace = true, false
				continue
			case ch == ';':
				return stmt{words: words, end: endSemicolon, line: lx.line}, nil
			case ch == '{':
				return stmt{words: words, end: endBlockStart, line: lx.line}, nil
			case ch == ')':
				lastSpace, needSpace = true, false
			default:
				return stmt{}, lx.errorf(lx.line, `unexpected "%c"`, ch)
			}
		}

		if lastSpace {
			start = lx.pos - 1
			startLine = lx.line
			if isSpace(ch) {
				continue
			}
			switch ch {
			case ';', '{':
				if len(words) == 0 {
					return stmt{}, lx.errorf(lx.line, `unexpected "%c"`, ch)
				}
				if ch == '{' {
					return stmt{words: words, end: endBlockStart, line: lx.line}, nil
				}
				return stmt{words: words, end: endSemicolon, line: lx.line}, nil
			case '}':
				if len(words) != 0 {
					return stmt{}, lx.errorf(lx.line, `unexpected "}"`)
				}
				return stmt{end: endBlockDone, line: lx.line}, nil
			case '#':
				sharpComment = true
				continue
			case '\\':
				escaped = true
				lastSpace = false
				continue
			case '"':
				start++
				dQuoted = true
				lastSpace = false
				continue
			case '\'':
				start++
				sQuoted = true
				lastSpace = false
				continue
			case '$':
				variable = true
				lastSpace = false
				continue
			default:
				lastSpace = false
			}
			continue
		}

		if ch == '{' && variable {
			continue
		}
		variable = false
		if ch == '\\' {
			escaped = true
			continue
		}
		if ch == '$' {
			variable = true
			continue
		}

		found := false
		switch {
		case dQuoted:
			if ch == '"' {
				dQuoted, needSpace, found = false, true, true
			}
		case sQuoted:
			if ch == '\'' {
				sQuoted, needSpace, found = false, true, true
			}
		case isSpace(ch) || ch == ';' || ch == '{':
			lastSpace, found = true, true
		}
		if !found {
			continue
		}
		// needSpace is set exactly when a closing quote ended the word.
		words = append(words, word{text: unescape(lx.src[start : lx.pos-1]), quoted: needSpace})
		switch ch {
		case ';':
			return stmt{words: words, end: endSemicolon, line: lx.line}, nil
		case '{':
			return stmt{words: words, end: endBlockStart, line: lx.line}, nil
		}
	}
}

// unescape rewrites a stored word as nginx does: \" \' \\ lose the
// backslash, \t \r \n become control bytes, any other \x keeps both bytes
// (which is what lets regexes such as \.php through).
func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case '"', '\'', '\\':
				i++
			case 't':
				out = append(out, '\t')
				i++
				continue
			case 'r':
				out = append(out, '\r')
				i++
				continue
			case 'n':
				out = append(out, '\n')
				i++
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}
