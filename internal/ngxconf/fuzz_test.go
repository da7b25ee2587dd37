package ngxconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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

// memFiles is an in-memory file tree, so that FuzzParse runs at memory
// speed and never reads outside its inputs.
type memFiles map[string][]byte

func (m memFiles) read(path string) ([]byte, error) {
	if data, ok := m[path]; ok {
		return data, nil
	}
	return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
}

func (m memFiles) glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for name := range m {
		if ok, _ := filepath.Match(pattern, name); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// FuzzParse loads any input as a main config file, next to a fixed site
// file it may include: Load must return a config or an *Error, never panic
// or hang, and a loaded tree must be consistent.
func FuzzParse(f *testing.F) {
	const conf = "/fuzz/nginx.conf"
	f.Fuzz(func(t *testing.T, src []byte) {
		fs := memFiles{conf: src, "/fuzz/sites/a.conf": []byte("server { listen 80; location / { proxy_pass http://u; } }\n")}
		cfg, err := load(Options{ConfFile: conf}, fs)
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
		if len(d.Args) != len(d.Quoted) || (!d.IsBlock && d.Block != nil) || d.Pos.File == "" {
			t.Fatalf("inconsistent directive %#v", d)
		}
		checkTree(t, d.Block)
	}
}
