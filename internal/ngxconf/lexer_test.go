package ngxconf

import (
	"strings"
	"testing"
)

// render shows a statement as words separated by "|", quoted words in
// «», followed by how it ended and its line.
func render(st stmt) string {
	var b strings.Builder
	for i, w := range st.words {
		if i > 0 {
			b.WriteByte('|')
		}
		if w.quoted {
			b.WriteString("«" + w.text + "»")
		} else {
			b.WriteString(w.text)
		}
	}
	b.WriteString([]string{";", "{", "}", "EOF"}[st.end])
	b.WriteString(itoa(st.line))
	return b.String()
}

func lexAll(src string) ([]string, error) {
	lx := newLexer("t.conf", []byte(src))
	var out []string
	for range len(src) + 2 {
		st, err := lx.next()
		if err != nil {
			return out, err
		}
		out = append(out, render(st))
		if st.end == endEOF {
			return out, nil
		}
	}
	panic("lexer did not reach the end")
}

func TestLexerSplitsStatementsAsNginx(t *testing.T) {
	cases := []struct {
		name, src string
		want      string // statements joined by spaces
	}{
		{"simple and block", "a b;\nc {\n}\n", "a|b;1 c{2 }3 EOF4"},
		{"tabs, CR and blank lines are space", "a\tb\r\n\n c ;", "a|b|c;3 EOF3"},
		{"double and single quotes", `a "b c" 'd;e';`, "a|«b c»|«d;e»;1 EOF1"},
		{"empty quoted word", `a "" '';`, "a|«»|«»;1 EOF1"},
		{"quote inside a bare word is literal", `a b"c"d;`, `a|b"c"d;1 EOF1`},
		{"escapes in quotes", `a "x\"y\\z\'w\tq\nr\rs\.t";`, "a|«x\"y\\z'w\tq\nr\rs\\.t»;1 EOF1"},
		{"escaped space and semicolon in a bare word", `a b\ c\;d;`, `a|b\ c\;d;1 EOF1`},
		{"escape at the start of a word", `a \;b;`, `a|\;b;1 EOF1`},
		{"comment to end of line", "a; # b;\nc;", "a;1 c;2 EOF2"},
		{"hash inside a word", "a b#c;", "a|b#c;1 EOF1"},
		{"brace inside a word", "a b}c{", "a|b}c{1 EOF1"},
		{"variable braces do not open a block", "set $a ${b}c;", "set|$a|${b}c;1 EOF1"},
		{"dollar brace at word start", "a ${b};", "a|${b};1 EOF1"},
		{"paren after a quote", `if ($a = "b") {`, `if|($a|=|«b»|){1 EOF1`},
		{"semicolon right after a quote", `a "b";c;`, "a|«b»;1 c;1 EOF1"},
		{"brace right after a quote", `a "b"{`, "a|«b»{1 EOF1"},
		{"line is where the statement ends", "a\nb\n\n;", "a|b;4 EOF4"},
		{"quoted newlines count", "a \"b\nc\";", "a|«b\nc»;2 EOF2"},
		{"word ending at end of file", "a", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lexAll(tc.src)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v after %v", err, got)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestLexerErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"a", `unexpected end of file, expecting ";" or "}" in t.conf:1`},
		{"a \"b\n", `unexpected end of file, expecting ";" or "}" in t.conf:2`},
		{";", `unexpected ";" in t.conf:1`},
		{"\n{", `unexpected "{" in t.conf:2`},
		{"a }", `unexpected "}" in t.conf:1`},
		{`a "b"c;`, `unexpected "c" in t.conf:1`},
		{`a 'b'"c";`, `unexpected """ in t.conf:1`},
		{"a " + strings.Repeat("b", 4096) + ";", `too long parameter "bbbbbbbbbb..." started in t.conf:1`},
	}
	for _, tc := range cases {
		_, err := lexAll(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestLexerLongestWordFits(t *testing.T) {
	// A word of 4095 bytes plus its terminator fits nginx's buffer exactly.
	if _, err := lexAll("a " + strings.Repeat("b", 4095) + ";"); err != nil {
		t.Error(err)
	}
}

func TestParamLexerNamesTheCommandLine(t *testing.T) {
	lx := newParamLexer([]byte("daemon off"))
	_, err := lx.next()
	if err == nil || err.Error() != `unexpected end of parameter, expecting ";" in command line` {
		t.Errorf("got %v", err)
	}
	// A -g string is not bound by the file buffer size.
	lx = newParamLexer([]byte("env " + strings.Repeat("x", 5000) + ";"))
	if _, err := lx.next(); err != nil {
		t.Error(err)
	}
}
