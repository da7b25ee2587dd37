package ngxconf

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Options says which configuration to load, as nginx's command line does.
type Options struct {
	ConfFile string // nginx -c; a relative path is taken against Prefix
	Prefix   string // nginx -p; default: the directory of ConfFile
	Globals  string // nginx -g 'directives;' parsed as extra main-context directives
}

// File is one configuration file as read, for -T.
type File struct {
	Path string
	Data []byte
}

// Config is a loaded, syntax- and table-checked configuration.
type Config struct {
	// Main holds the main-context directives. A bare site file (server,
	// upstream, map... at top level, as in sites-available, with no http
	// block) gets them wrapped in a synthesized "http" block directive, so
	// consumers always see main -> http -> server. The -g directives come
	// first, because nginx applies them before reading the file.
	Main []*Directive
	// Files is every file read, in read order, each once (as -T dumps them).
	Files []File
	// Ignored holds the directives on the allow-list of harmless ones
	// (see ignorable in table.go), for the consumer to log once. They are
	// not in Main: a consumer never has to skip them itself.
	Ignored []*Directive

	// ConfFile is the resolved configuration file path, as nginx prints it
	// in "-t" messages.
	ConfFile string
	// Prefix is the resolved prefix, with a trailing "/": nginx resolves
	// relative pid, error_log, access_log and root paths against it.
	Prefix string
}

// maxIncludeDepth bounds nesting of include; nginx has no limit and runs out
// of file descriptors instead, which is a worse message.
const maxIncludeDepth = 32

// Load reads, includes (globs, relative to the config's directory) and
// validates against the directive table (known name, allowed context,
// argument count, duplicates, on/off flags). Errors are *Error.
func Load(opts Options) (*Config, error) {
	return load(opts, osFiles{})
}

// files is where Load reads: the file system, or memory in the fuzz tests.
type files interface {
	read(path string) ([]byte, error)
	glob(pattern string) ([]string, error)
}

type osFiles struct{}

func (osFiles) read(path string) ([]byte, error)      { return readConfFile(path) }
func (osFiles) glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

func load(opts Options, fs files) (*Config, error) {
	if opts.ConfFile == "" {
		return nil, &Error{Msg: "no configuration file given"}
	}
	prefix, conf := opts.Prefix, opts.ConfFile
	if prefix == "" {
		abs, err := filepath.Abs(conf)
		if err != nil {
			return nil, &Error{Msg: err.Error()}
		}
		conf = abs
		prefix = filepath.Dir(abs)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if !filepath.IsAbs(conf) {
		// nginx concatenates without cleaning, and so do we, so that paths in
		// messages read the same.
		conf = prefix + conf
	}
	l := &loader{
		fs:         fs,
		confPrefix: conf[:strings.LastIndexByte(conf, '/')+1],
		cfg:        &Config{ConfFile: conf, Prefix: prefix},
		dumped:     map[string]bool{},
	}
	main := &frame{ctx: ctxMain, out: &l.cfg.Main, seen: map[string]bool{}, top: true}
	data, readErr := l.read(conf, Pos{})
	main.bare = readErr == nil && isBareSite(data)
	if opts.Globals != "" {
		// nginx parses -g before the file (so a file's "pid" after -g 'pid
		// ...;' is the duplicate, and a -g error wins over a missing file).
		if err := l.parse(newParamLexer([]byte(opts.Globals)), main, false); err != nil {
			return nil, err
		}
	}
	if readErr != nil {
		return nil, readErr
	}
	if err := l.parseData(conf, data, main); err != nil {
		return nil, err
	}
	if main.wrap == nil && !l.sawEvents {
		return nil, &Error{Msg: `no "events" section in configuration`}
	}
	return l.cfg, nil
}

// loader holds the state of one Load.
type loader struct {
	fs         files
	confPrefix string
	cfg        *Config
	dumped     map[string]bool
	including  []string // the include stack, for cycle detection
	sawEvents  bool
}

// frame is the block being filled: its context and where its directives go.
type frame struct {
	ctx     ctxMask
	entries entryKind // non-zero: the block holds key/value lines, not directives
	out     *[]*Directive
	seen    map[string]bool // names set once at this level, for "is duplicate"; nil until needed
	// top marks the main context. When bare (the main file has neither an
	// http nor an events block), http-level directives found there are
	// collected into wrap, a synthesized http block.
	top  bool
	bare bool
	wrap *frame
	// inIgnored marks the inside of an ignored block (events): its children
	// stay in that block rather than being listed in Ignored themselves.
	inIgnored bool
}

func (l *loader) parseFile(path string, at Pos, f *frame) error {
	for _, p := range l.including {
		if p == path {
			return Errorf(at, `include of "%s" is recursive (it includes itself, directly or indirectly)`, path)
		}
	}
	if len(l.including) >= maxIncludeDepth {
		return Errorf(at, `includes nested deeper than %d levels at "%s"`, maxIncludeDepth, path)
	}
	data, err := l.read(path, at)
	if err != nil {
		return err
	}
	return l.parseData(path, data, f)
}

// read reads a config file, with nginx's wording for a failure at "at".
func (l *loader) read(path string, at Pos) ([]byte, error) {
	data, err := l.fs.read(path)
	if err == nil {
		return data, nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "read" {
		// nginx logs a failed read (a directory, say) at crit level from
		// its file layer, which names no config position.
		return nil, &Error{Msg: sysErrorText(path, err)}
	}
	return nil, Errorf(at, "%s", sysErrorText(path, err))
}

func (l *loader) parseData(path string, data []byte, f *frame) error {
	if !l.dumped[path] {
		l.dumped[path] = true
		l.cfg.Files = append(l.cfg.Files, File{Path: path, Data: data})
	}
	l.including = append(l.including, path)
	defer func() { l.including = l.including[:len(l.including)-1] }()
	return l.parse(newLexer(path, data), f, false)
}

// readConfFile reads a config file as nginx does: as many bytes as fstat
// reports, so a device such as /dev/zero reads as empty instead of
// forever, and a directory fails on read, not on open.
func readConfFile(path string) ([]byte, error) {
	// O_NONBLOCK keeps a FIFO named by a glob from hanging the load; it
	// changes nothing for regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &os.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	}
	if !fi.Mode().IsRegular() {
		return nil, nil
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// sysErrorText words a failed file read as nginx does:
// `open() "/x" failed (2: No such file or directory)`.
func sysErrorText(path string, err error) string {
	op := "open()"
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "read" {
		op = "pread()"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		text := errno.Error()
		if text != "" {
			// Go's errno strings are glibc's with the first letter lowered.
			text = strings.ToUpper(text[:1]) + text[1:]
		}
		return op + ` "` + path + `" failed (` + itoa(int(errno)) + ": " + text + ")"
	}
	return op + ` "` + path + `" failed (` + err.Error() + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// parse reads statements until the end of the input (inBlock false) or the
// block's closing "}" (inBlock true), as ngx_conf_parse does.
func (l *loader) parse(lx *lexer, f *frame, inBlock bool) error {
	for {
		st, err := lx.next()
		if err != nil {
			return err
		}
		switch st.end {
		case endBlockDone:
			if !inBlock {
				return lx.errorf(st.line, `unexpected "}"`)
			}
			return nil
		case endEOF:
			if inBlock {
				return lx.errorf(st.line, `unexpected end of file, expecting "}"`)
			}
			return nil
		case endBlockStart:
			if lx.param {
				return lx.errorf(st.line, "block directives are not supported in -g option")
			}
		}
		if f.entries != entriesNone {
			err = l.entry(lx, st, f)
		} else {
			err = l.directive(lx, st, f)
		}
		if err != nil {
			return err
		}
	}
}

// entry handles one line of a map/types/geo/... block: not a directive, so
// it is not table-checked, but include still works there as in nginx.
func (l *loader) entry(lx *lexer, st stmt, f *frame) error {
	pos := Pos{File: lx.file, Line: st.line}
	if st.end == endBlockStart {
		return Errorf(pos, `unexpected "{"`)
	}
	d := newDirective(st, pos)
	if d.Name == "include" {
		// Each module's handler treats include its own way: types insists
		// on one argument, map and geo include only a two-word line, the
		// others take "include" as an ordinary key.
		switch {
		case f.entries == entriesTypes && len(d.Args) != 1:
			return Errorf(pos, `invalid number of arguments in "include" directive`)
		case f.entries == entriesTypes, len(d.Args) == 1 && (f.entries == entriesMap || f.entries == entriesGeo):
			return l.include(d, f)
		}
	}
	if msg := f.entries.check(d); msg != "" {
		return Errorf(pos, "%s", msg)
	}
	*f.out = append(*f.out, d)
	return nil
}

func newDirective(st stmt, pos Pos) *Directive {
	d := &Directive{Name: st.words[0].text, Pos: pos}
	if n := len(st.words) - 1; n > 0 {
		d.Args = make([]string, n)
		d.Quoted = make([]bool, n)
		for i, w := range st.words[1:] {
			d.Args[i] = w.text
			d.Quoted[i] = w.quoted
		}
	}
	return d
}

// directive checks one directive against the table in f's context, exactly
// in nginx's order (name, context, terminator, argument count, then the
// handler's own checks), and stores it.
func (l *loader) directive(lx *lexer, st stmt, f *frame) error {
	pos := Pos{File: lx.file, Line: st.line}
	d := newDirective(st, pos)
	specs, known := lookupSpecs(d.Name)
	if !known {
		return Errorf(pos, `unknown directive "%s"`, d.Name)
	}
	sp, ok := specFor(specs, f.ctx)
	if !ok && f.top && f.bare && !lx.param {
		if _, inHTTP := specFor(specs, ctxHTTP); inHTTP {
			// A bare site file: collect its http-level directives into one
			// synthesized http block, where Debian's nginx.conf would have
			// included it. Real nginx rejects this; we accept it on purpose.
			if f.wrap == nil {
				wrapper := &Directive{Name: "http", IsBlock: true, Pos: pos}
				*f.out = append(*f.out, wrapper)
				f.wrap = &frame{ctx: ctxHTTP, out: &wrapper.Block, seen: map[string]bool{}}
			}
			return l.directive(lx, st, f.wrap)
		}
	}
	if !ok {
		return Errorf(pos, `"%s" directive is not allowed here`, d.Name)
	}
	if !sp.block && st.end != endSemicolon {
		return Errorf(pos, `directive "%s" is not terminated by ";"`, d.Name)
	}
	if sp.block && st.end != endBlockStart {
		return Errorf(pos, `directive "%s" has no opening "{"`, d.Name)
	}
	if !sp.args.allows(len(d.Args)) {
		return Errorf(pos, `invalid number of arguments in "%s" directive`, d.Name)
	}
	if d.Name == "include" {
		return l.include(d, f)
	}
	if sp.unique {
		if f.seen[d.Name] {
			return Errorf(pos, `"%s" directive is duplicate`, d.Name)
		}
		if f.seen == nil {
			f.seen = map[string]bool{}
		}
		f.seen[d.Name] = true
	}
	if sp.args&argFlag != 0 {
		if _, err := d.Flag(0); err != nil {
			return err
		}
	}

	ignored := ignorable[d.Name] && !f.inIgnored
	switch {
	case ignored:
		l.cfg.Ignored = append(l.cfg.Ignored, d)
	default:
		*f.out = append(*f.out, d)
	}
	if d.Name == "events" {
		l.sawEvents = true
	}
	if !sp.block {
		return nil
	}
	d.IsBlock = true
	inner := &frame{
		ctx:       sp.inner(f.ctx),
		entries:   sp.entries,
		out:       &d.Block,
		inIgnored: ignored || f.inIgnored,
	}
	return l.parse(lx, inner, true)
}

// isBareSite reports whether a main file is a sites-available fragment
// rather than a full nginx.conf: it opens no http or events block, at any
// depth (so that a full config broken by a misplaced brace still gets
// nginx's own errors). Deciding this per file, before parsing, keeps a full
// config's errors exactly nginx's: a stray "server" at its top level is
// "not allowed here". Syntax errors are left for the real parse to report.
func isBareSite(data []byte) bool {
	lx := newLexer("", data)
	for {
		st, err := lx.next()
		if err != nil || st.end == endEOF {
			return true
		}
		if st.end == endBlockStart && (st.words[0].text == "http" || st.words[0].text == "events") {
			return false
		}
	}
}

// include expands an include directive into f, in nginx's way: relative to
// the main config file's directory; a glob (any of *?[) may match nothing,
// a plain path must exist; glob matches are read in sorted order and, as
// with glob(3), wildcards do not match a leading dot.
func (l *loader) include(d *Directive, f *frame) error {
	path := d.Args[0]
	if !filepath.IsAbs(path) {
		path = l.confPrefix + path
	}
	if !strings.ContainsAny(path, "*?[") {
		return l.parseFile(path, d.Pos, f)
	}
	matches, err := l.globC(path)
	if err != nil {
		return Errorf(d.Pos, `glob() "%s" failed (%v)`, path, err)
	}
	for _, m := range matches {
		if hidesDotfile(path, m) {
			continue
		}
		if err := l.parseFile(m, d.Pos, f); err != nil {
			return err
		}
	}
	return nil
}

// globC matches as glob(3) does where Go's syntax differs: "[!...]"
// negates, and an unclosed "[" is an ordinary byte rather than an error.
func (l *loader) globC(pattern string) ([]string, error) {
	p := strings.ReplaceAll(pattern, "[!", "[^")
	matches, err := l.fs.glob(p)
	if errors.Is(err, filepath.ErrBadPattern) {
		matches, err = l.fs.glob(strings.ReplaceAll(p, "[", `\[`))
	}
	return matches, err
}

// hidesDotfile reports whether glob(3) would have skipped match: Go's
// filepath.Glob lets "*" match a leading ".", the C library does not.
func hidesDotfile(pattern, match string) bool {
	pp := strings.Split(pattern, "/")
	mp := strings.Split(match, "/")
	if len(pp) != len(mp) {
		return false
	}
	for i := range pp {
		if strings.HasPrefix(mp[i], ".") && !strings.HasPrefix(pp[i], ".") {
			return true
		}
	}
	return false
}
