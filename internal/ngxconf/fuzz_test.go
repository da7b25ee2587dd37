package ngxconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// FuzzLex checks the lexer's invariants on any input: it always ends, every
// statement it returns is well formed with non-decreasing lines, and every
// word survives being written back quoted and lexed again.
func FuzzLex(f *testing.F) {
	f.Fuzz(func(t *testing.T, src []byte) {
		lines := bytes.Count(src, []byte("\n")) + 1
		lx := newLexer("f.conf", src)
		prev := 1
		for range len(src) + 2 {
			st, err := lx.next()
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Pos.Line < 1 || e.Pos.Line > lines {
					t.Fatalf("bad error %#v", err)
				}
				return
			}
			if st.line < prev || st.line > lines {
				t.Fatalf("line %d after %d (of %d)", st.line, prev, lines)
			}
			prev = st.line
			switch st.end {
			case endEOF:
				return
			case endSemicolon, endBlockStart:
				if len(st.words) == 0 {
					t.Fatal("a statement without words")
				}
				checkRequote(t, st)
			}
		}
		t.Fatal("the lexer made no progress")
	})
}

// checkRequote writes st's words back as double-quoted strings and
// requires the lexer to return the same texts, all quoted.
func checkRequote(t *testing.T, st stmt) {
	var b strings.Builder
	for _, w := range st.words {
		b.WriteString(` "`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w.text))
		b.WriteString(`"`)
	}
	b.WriteString(";")
	again, err := newLexer("r.conf", []byte(b.String())).next()
	if err != nil {
		t.Fatalf("requoted %q: %v", b.String(), err)
	}
	if len(again.words) != len(st.words) {
		t.Fatalf("requoted %q: %d words, want %d", b.String(), len(again.words), len(st.words))
	}
	for i, w := range again.words {
		if w.text != st.words[i].text || !w.quoted {
			t.Fatalf("requoted word %q came back as %q", st.words[i].text, w.text)
		}
	}
}

// absPath finds what could start an absolute path: a "/" at a word start.
var absPath = regexp.MustCompile(`(^|[\s"'])/`)

// FuzzParse loads any input as a main config file: Load must return a
// config or an *Error, never panic or hang, and a loaded tree must be
// consistent. Inputs that could include files outside the temporary
// directory are skipped so the fuzzer does not wander the file system.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.Contains(src, []byte("include")) && (bytes.Contains(src, []byte("..")) || absPath.Match(src)) {
			t.Skip("include outside the temporary directory")
		}
		if err := os.WriteFile(conf, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(Options{ConfFile: conf})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("not an *Error: %#v", err)
			}
			return
		}
		if len(cfg.Files) == 0 || cfg.Files[0].Path != conf || !strings.HasPrefix(Dump(cfg), "# configuration file "+conf+":\n") {
			t.Fatalf("files %v", cfg.Files)
		}
		checkTree(t, cfg.Main)
		checkTree(t, cfg.Ignored)
	})
}

func checkTree(t *testing.T, ds []*Directive) {
	for _, d := range ds {
		if d.Name == "" && len(d.Args) == 0 && d.Pos.Line < 1 {
			t.Fatalf("empty directive %#v", d)
		}
		if len(d.Args) != len(d.Quoted) || (!d.IsBlock && d.Block != nil) || d.Pos.File == "" {
			t.Fatalf("inconsistent directive %#v", d)
		}
		checkTree(t, d.Block)
	}
}
