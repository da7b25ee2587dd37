package proxy

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"wisp/internal/ngxconf"
)

// The rewrite module (return, rewrite, if, set, break) and the request
// phases it drives: server rewrites, location lookup, location rewrites,
// and the re-lookup after a changed URI (nginx §3, §6).

// maxURIChanges is nginx's limit on URI changes and internal redirects
// per request ("rewrite or internal redirection cycle").
const maxURIChanges = 10

// varScope holds the variables declared by set and map, known before any
// value is compiled since nginx lets a value name a variable set later.
type varScope struct {
	sets map[string]int // name -> slot
	maps map[string]*mapVar
	ifs  []pendingIf // if blocks to compile as locations (ifLocations)
}

func (s *varScope) lookup(name string) (part, bool) {
	if s == nil {
		return part{}, false
	}
	if m, ok := s.maps[name]; ok {
		return part{v: varMap, m: m}, true
	}
	if i, ok := s.sets[name]; ok {
		return part{v: varSet, idx: i}, true
	}
	return part{}, false
}

// value compiles a directive value that may name any variable.
func (c *compiler) value(text string, pos ngxconf.Pos) (program, error) {
	return compileScoped(text, pos, c.scope)
}

// declareVars walks the http block for set and map targets, so that
// values compiled in any order can name them.
func (c *compiler) declareVars(ds []*ngxconf.Directive) error {
	if c.scope == nil {
		c.scope = &varScope{sets: map[string]int{}, maps: map[string]*mapVar{}}
	}
	for _, d := range ds {
		switch d.Name {
		case "set":
			if len(d.Args) != 2 {
				return ngxconf.Errorf(d.Pos, "invalid number of arguments in \"set\" directive")
			}
			name, ok := varName(d.Args[0])
			if !ok {
				return ngxconf.Errorf(d.Pos, "invalid variable name %q", d.Args[0])
			}
			if name == "args" || name == "query_string" {
				break // changeable built-ins, set in place
			}
			// A prefix variable ($http_x, $arg_x) may be set: the set one
			// replaces it everywhere, as in nginx.
			if _, builtin := builtinVar(name); builtin {
				return ngxconf.Errorf(d.Pos, "the duplicate %q variable", name)
			}
			if _, isMap := c.scope.maps[name]; !isMap {
				if _, seen := c.scope.sets[name]; !seen {
					c.scope.sets[name] = len(c.scope.sets)
				}
			}
		case "map":
			if err := c.declareMap(d); err != nil {
				return err
			}
			for _, e := range d.Block {
				if strings.HasPrefix(e.Name, "~") {
					c.declareCaptures(e.Name)
				}
			}
			continue
		case "location", "rewrite", "if", "server_name":
			for _, a := range d.Args {
				c.declareCaptures(a)
			}
		}
		if err := c.declareVars(d.Block); err != nil {
			return err
		}
	}
	return nil
}

// declareCaptures declares the named groups of a regex as variables, set
// by every match (matchRegex), as nginx does.
func (c *compiler) declareCaptures(expr string) {
	for _, name := range namedCaptures(expr) {
		name = strings.ToLower(name)
		_, isMap := c.scope.maps[name]
		_, builtin := builtinVar(name)
		if _, seen := c.scope.sets[name]; !seen && !isMap && !builtin {
			c.scope.sets[name] = len(c.scope.sets)
		}
	}
}

// namedCaptures lists the names of a pattern's (?<name>...) and
// (?P<name>...) groups.
func namedCaptures(expr string) []string {
	var names []string
	for i := 0; i < len(expr); i++ {
		if expr[i] == '\\' {
			i++
			continue
		}
		rest := expr[i:]
		if !strings.HasPrefix(rest, "(?<") && !strings.HasPrefix(rest, "(?P<") {
			continue
		}
		rest = rest[strings.IndexByte(rest, '<')+1:]
		if end := strings.IndexByte(rest, '>'); end > 0 && rest[0] != '=' && rest[0] != '!' {
			names = append(names, rest[:end])
		}
	}
	return names
}

// internalDirective is "internal": the location answers only requests
// that a rewrite or an internal redirect (error_page, try_files) sent
// there; others get 404.
func internalDirective(d *ngxconf.Directive, l *location) error {
	if err := argCount(d, 0); err != nil {
		return err
	}
	l.internal = true
	return nil
}

// slotArgs marks "set $args": it changes the request's args in place.
const slotArgs = -1

// argValue is $arg_NAME: the raw value of the first NAME=... in args,
// the name compared case-insensitively as nginx does.
func argValue(args, name []byte) []byte {
	for len(args) > 0 {
		pair := args
		if i := bytes.IndexByte(args, '&'); i >= 0 {
			pair, args = args[:i], args[i+1:]
		} else {
			args = nil
		}
		if len(pair) > len(name) && pair[len(name)] == '=' && bytes.EqualFold(pair[:len(name)], name) {
			return pair[len(name)+1:]
		}
	}
	return nil
}

// cookieValue is $cookie_NAME from the Cookie headers.
func cookieValue(r *request, name []byte) []byte {
	for i := range r.headers {
		h := &r.headers[i]
		if h.ignored || !bytes.EqualFold(h.name, []byte("cookie")) {
			continue
		}
		for v := h.value; len(v) > 0; {
			pair := v
			if i := bytes.IndexByte(v, ';'); i >= 0 {
				pair, v = v[:i], v[i+1:]
			} else {
				v = nil
			}
			pair = bytes.TrimLeft(pair, " ")
			if len(pair) > len(name) && pair[len(name)] == '=' && bytes.EqualFold(pair[:len(name)], name) {
				return pair[len(name)+1:]
			}
		}
	}
	return nil
}

// varName returns NAME for "$NAME".
func varName(s string) (string, bool) {
	name, ok := strings.CutPrefix(s, "$")
	if !ok || name == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if !isVarChar(name[i]) {
			return "", false
		}
	}
	return strings.ToLower(name), true
}

type rwOp uint8

const (
	opReturn rwOp = iota
	opRewrite
	opSet
	opBreak
	opIf
)

type rwFlag uint8

const (
	flagNone rwFlag = iota
	flagLast
	flagBreak
	flagRedirect
	flagPermanent
)

// rwStep is one compiled rewrite-module directive.
type rwStep struct {
	op rwOp
	// return: code, and text or URL when hasText
	code    int
	text    program
	hasText bool
	// rewrite: repl, then args after a literal '?'
	re      *regexp.Regexp
	repl    program
	args    program
	hasArgs bool
	addArgs bool // the request's args follow the replacement's (no trailing '?')
	flag    rwFlag
	// replacement starts with a scheme: an external redirect
	external bool
	// set: a slot, or a map whose value is set
	slot int
	m    *mapVar
	// if
	cond  ifCond
	body  []rwStep
	ifLoc *ifLocation // set when the block holds more than rewrite directives
}

// ifLocation is the configuration of an if block inside a location.
type ifLocation struct{ loc *location }

// pendingIf is an if block waiting for its enclosing location.
type pendingIf struct {
	at    *ifLocation
	d     *ngxconf.Directive
	block []*ngxconf.Directive
}

// ifLocations compiles the if blocks declared since mark inside location
// l, whose settings they inherit (conf), proxy_pass included. Outside a
// location (l nil) such blocks are not supported.
func (c *compiler) ifLocations(mark int, l *location, conf proxyConf) error {
	pending := c.scope.ifs[mark:]
	c.scope.ifs = c.scope.ifs[:mark]
	for _, p := range pending {
		if l == nil {
			return ngxconf.Errorf(p.block[0].Pos, "%q directive inside a server-level \"if\" is not supported by wisp (only return, rewrite, set and break)", p.block[0].Name)
		}
		for _, bd := range p.block {
			if bd.Name == "location" || bd.Name == "if" {
				return ngxconf.Errorf(bd.Pos, "%q directive is not allowed here", bd.Name)
			}
		}
		ld := &ngxconf.Directive{Name: "location", Args: []string{l.name}, Block: p.block, Pos: p.d.Pos, IsBlock: true}
		il, err := c.location(ld, conf, "", false)
		if err != nil {
			return err
		}
		il.kind, il.re, il.rw = l.kind, l.re, nil
		if il.handler == nil {
			il.handler = l.handler
		} else if il.handler.hasURI {
			return ngxconf.Errorf(p.d.Pos, "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block")
		}
		p.at.loc = il
	}
	return nil
}

// ifCond is a compiled if condition.
type ifCond struct {
	kind   byte // 'v' variable, '=' / '!' string compare, '~' regex, 'f' 'd' 'e' 'x' file tests
	negate bool
	left   program
	right  program
	re     *regexp.Regexp
}

// rewriteDirective compiles one rewrite-module directive into prog.
// inIf limits what an if block may hold.
func (c *compiler) rewriteDirective(d *ngxconf.Directive, prog *[]rwStep) error {
	switch d.Name {
	case "return":
		return c.compileReturn(d, prog)
	case "rewrite":
		return c.compileRewrite(d, prog)
	case "set":
		if err := argCount(d, 2); err != nil {
			return err
		}
		name, _ := varName(d.Args[0])
		v, err := c.value(d.Args[1], d.Pos)
		if err != nil {
			return err
		}
		if m, isMap := c.scope.maps[name]; isMap {
			// Setting a map's variable gives it its value for the request.
			*prog = append(*prog, rwStep{op: opSet, m: m, text: v})
			return nil
		}
		slot, ok := c.scope.sets[name]
		if !ok {
			slot = slotArgs // declareVars let only $args through
		}
		*prog = append(*prog, rwStep{op: opSet, slot: slot, text: v})
	case "break":
		if err := argCount(d, 0); err != nil {
			return err
		}
		*prog = append(*prog, rwStep{op: opBreak})
	case "if":
		cond, err := c.compileCond(d)
		if err != nil {
			return err
		}
		step := rwStep{op: opIf, cond: cond}
		var others []*ngxconf.Directive
		for _, bd := range d.Block {
			switch bd.Name {
			case "return", "rewrite", "set", "break", "if":
				if err := c.rewriteDirective(bd, &step.body); err != nil {
					return err
				}
			case "rewrite_log", "uninitialized_variable_warn":
			default:
				others = append(others, bd)
			}
		}
		if len(others) > 0 {
			// As in nginx, the block is a location of its own that the
			// request switches to when the condition holds; it is compiled
			// once the enclosing location's settings are known.
			step.ifLoc = &ifLocation{}
			c.scope.ifs = append(c.scope.ifs, pendingIf{at: step.ifLoc, d: d, block: others})
		}
		*prog = append(*prog, step)
	case "rewrite_log", "uninitialized_variable_warn":
		// Only change what is logged at notice level.
	}
	return nil
}

func (c *compiler) compileReturn(d *ngxconf.Directive, prog *[]rwStep) error {
	if len(d.Args) < 1 || len(d.Args) > 2 {
		return ngxconf.Errorf(d.Pos, "invalid number of arguments in \"return\" directive")
	}
	step := rwStep{op: opReturn}
	code, err := strconv.Atoi(d.Args[0])
	textArg := ""
	switch {
	case err == nil && len(d.Args) == 2:
		textArg = d.Args[1]
		step.hasText = true
	case err == nil:
	case len(d.Args) == 1 && hasScheme(d.Args[0]):
		code, textArg, step.hasText = 302, d.Args[0], true
	default:
		return ngxconf.Errorf(d.Pos, "invalid return code %q", d.Args[0])
	}
	if code < 0 || code > 999 {
		return ngxconf.Errorf(d.Pos, "invalid return code %q", d.Args[0])
	}
	step.code = code
	if step.hasText {
		if step.text, err = c.value(textArg, d.Pos); err != nil {
			return err
		}
	}
	*prog = append(*prog, step)
	return nil
}

func hasScheme(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "$scheme")
}

func (c *compiler) compileRewrite(d *ngxconf.Directive, prog *[]rwStep) error {
	if len(d.Args) < 2 || len(d.Args) > 3 {
		return ngxconf.Errorf(d.Pos, "invalid number of arguments in \"rewrite\" directive")
	}
	re, err := compileRegex(d.Args[0], false, d.Pos)
	if err != nil {
		return err
	}
	step := rwStep{op: opRewrite, re: re}
	if len(d.Args) == 3 {
		switch d.Args[2] {
		case "last":
			step.flag = flagLast
		case "break":
			step.flag = flagBreak
		case "redirect":
			step.flag = flagRedirect
		case "permanent":
			step.flag = flagPermanent
		default:
			return ngxconf.Errorf(d.Pos, "invalid parameter %q", d.Args[2])
		}
	}
	step.external = hasScheme(d.Args[1])
	// A trailing '?' drops the request's args and is not part of the
	// replacement; only a '?' written in it starts new args (one that a
	// capture or variable brings stays in the URI).
	repl, dropArgs := strings.CutSuffix(d.Args[1], "?")
	step.addArgs = !dropArgs
	uri, args, hasArgs := strings.Cut(repl, "?")
	if step.repl, err = c.value(uri, d.Pos); err != nil {
		return err
	}
	if hasArgs {
		step.hasArgs = true
		if step.args, err = c.value(args, d.Pos); err != nil {
			return err
		}
	}
	*prog = append(*prog, step)
	return nil
}

// compileRegex compiles a PCRE-style pattern as Go's RE2 understands it;
// patterns RE2 cannot take (backreferences, lookaround) are config errors.
func compileRegex(expr string, caseless bool, pos ngxconf.Pos) (*regexp.Regexp, error) {
	src := expr
	if caseless {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, ngxconf.Errorf(pos, "%s", pcreMessage(err, src))
	}
	return re, nil
}

// pcreMessage words a regexp error as nginx prints PCRE2's where the two
// agree on the fault, with the rest of the pattern from the fault ("at");
// what PCRE takes and RE2 does not is named as unsupported.
func pcreMessage(err error, src string) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg, at := "", false
	switch se.Code {
	case syntax.ErrMissingParen:
		msg = "missing closing parenthesis"
	case syntax.ErrUnexpectedParen:
		msg, at = "unmatched closing parenthesis", true
	case syntax.ErrMissingBracket:
		msg = "missing terminating ] for character class"
	case syntax.ErrMissingRepeatArgument:
		msg, at = "quantifier does not follow a repeatable item", true
	case syntax.ErrTrailingBackslash:
		msg = "\\ at end of pattern"
	case syntax.ErrInvalidPerlOp, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatOp:
		return fmt.Sprintf("regular expression %q is not supported by wisp (no backreferences, lookaround, atomic groups or possessive quantifiers): %s", src, se.Code)
	default:
		return fmt.Sprintf("pcre2_compile() failed: %s in %q", se, src)
	}
	msg = fmt.Sprintf("pcre2_compile() failed: %s in %q", msg, src)
	i := strings.Index(src, se.Expr)
	if se.Code == syntax.ErrUnexpectedParen {
		i = unmatchedParen(src)
	}
	if at && se.Expr != "" && i >= 0 {
		msg += fmt.Sprintf(" at %q", src[i:])
	}
	return msg
}

// unmatchedParen is the offset of the first ')' that closes nothing.
func unmatchedParen(src string) int {
	depth, class := 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\':
			i++
		case class:
			class = c != ']'
		case c == '[':
			class = true
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// compileCond parses if's condition: the parentheses are glued to the
// first and last arguments by the tokenizer.
func (c *compiler) compileCond(d *ngxconf.Directive) (ifCond, error) {
	args := append([]string(nil), d.Args...)
	bad := func() (ifCond, error) {
		// nginx names the first word, its parenthesis stripped.
		first := ""
		if len(d.Args) > 0 {
			first = strings.TrimSuffix(strings.TrimPrefix(d.Args[0], "("), ")")
		}
		return ifCond{}, ngxconf.Errorf(d.Pos, "invalid condition %q", first)
	}
	if len(args) == 0 || !strings.HasPrefix(args[0], "(") || !strings.HasSuffix(args[len(args)-1], ")") {
		return bad()
	}
	args[0] = args[0][1:]
	last := len(args) - 1
	args[last] = args[last][:len(args[last])-1]
	if args[0] == "" {
		args = args[1:]
	}
	if len(args) > 0 && args[len(args)-1] == "" {
		args = args[:len(args)-1]
	}
	var cond ifCond
	var err error
	if len(args) > 0 && len(args[0]) == 2 && args[0][0] == '$' && args[0][1] >= '1' && args[0][1] <= '9' {
		// The tested value is a variable by name, and captures have none.
		return cond, ngxconf.Errorf(d.Pos, "unknown %q variable", args[0][1:])
	}
	switch {
	case len(args) == 1 && strings.HasPrefix(args[0], "$"):
		cond.kind = 'v'
		cond.left, err = c.value(args[0], d.Pos)
	case len(args) == 2 && (len(args[0]) == 2 || len(args[0]) == 3) && strings.Contains("-f-d-e-x", strings.TrimPrefix(args[0], "!")):
		op := strings.TrimPrefix(args[0], "!")
		if len(op) != 2 || op[0] != '-' {
			return bad()
		}
		cond.kind, cond.negate = op[1], strings.HasPrefix(args[0], "!")
		cond.left, err = c.value(args[1], d.Pos)
	case len(args) == 3 && strings.HasPrefix(args[0], "$"):
		if cond.left, err = c.value(args[0], d.Pos); err != nil {
			return cond, err
		}
		switch args[1] {
		case "=", "!=":
			cond.kind, cond.negate = '=', args[1] == "!="
			cond.right, err = c.value(args[2], d.Pos)
		case "~", "~*", "!~", "!~*":
			cond.kind, cond.negate = '~', strings.HasPrefix(args[1], "!")
			cond.re, err = compileRegex(args[2], strings.HasSuffix(args[1], "*"), d.Pos)
		default:
			return ifCond{}, ngxconf.Errorf(d.Pos, "unexpected %q in condition", args[1])
		}
	default:
		return bad()
	}
	return cond, err
}

// flow is the per-request state the rewrite module, error_page and
// internal redirects change; its zero value is an untouched request.
type flow struct {
	loc    *location
	status int      // $status once a response status is known
	sets   [][]byte // values of set variables, by slot
	maps   [][]byte // map results known so far, by map (maps.go)
	caps   []int    // submatch indexes of the last regex match, into capSrc
	capSrc []byte
	// args replaces the request's query once a rewrite set it.
	args    []byte
	argsSet bool
	// internal: $uri no longer is the client's (rewrite, internal
	// redirect), so proxy_pass sends the escaped $uri, not the raw target.
	internal bool
	// redirected is nginx's r->internal: a rewrite or internal redirect
	// happened, so an "internal" location may answer.
	redirected bool
	// breakURI: rewrite ... break changed $uri in this location, so a
	// proxy_pass URI part is ignored and $uri sent whole (nginx).
	breakURI bool
	changes  int // URI changes and internal redirects so far
	// errStatus is the status error_page imposes on the final response
	// (0: the response's own).
	errStatus int
	errorPage bool // error_page is done for this request (recursive_error_pages off)
	relaying  bool // the upstream's head is being relayed (writeCommonHeaders)
	// rwQuote is nginx's e->quote: set and if escape captures until a
	// rewrite matches in the same rewrite phase. capEsc says that captures
	// appended now are escaped (appendCapture).
	rwQuote, capEsc bool
	requestID       []byte // $request_id once made
}

// appendFlowVar appends the variables that depend on the chosen location
// or are made once per request.
func (ec *evalCtx) appendFlowVar(dst []byte, v varID) []byte {
	switch v {
	case varRequestFilename, varDocumentRoot:
		m := ec.contentOf()
		if m == nil {
			return dst
		}
		if v == varDocumentRoot {
			return m.root.appendTo(dst, ec)
		}
		return append(dst, ec.mapPath(m, ec.uri)...)
	case varRequestID:
		if ec.requestID == nil {
			var raw [16]byte
			binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
			binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
			ec.requestID = hex.AppendEncode(nil, raw[:])
		}
		return append(dst, ec.requestID...)
	}
	return dst
}

func (ec *evalCtx) currentArgs() []byte {
	if ec.argsSet {
		return ec.args
	}
	return ec.req.query
}

// appendCapture appends $N, escaped with NGX_ESCAPE_ARGS where the
// rewrite engine escapes captures (capEsc) and the client's URI had a '%'
// or '+' (nginx's quoted_uri and plus_in_uri).
func (ec *evalCtx) appendCapture(dst []byte, n int) []byte {
	if 2*n+1 >= len(ec.caps) || ec.caps[2*n] < 0 {
		return dst
	}
	v := ec.capSrc[ec.caps[2*n]:ec.caps[2*n+1]]
	if ec.capEsc && bytes.ContainsAny(ec.req.path, "%+") {
		return appendPercentEscaped(dst, v, argNeedsEscape)
	}
	return append(dst, v...)
}

// matchRegex matches re against s and keeps the captures for $1..$9. As
// in nginx (ngx_http_regex_exec), a match replaces the captures of any
// earlier one, even with none of its own; a miss leaves them.
func (ec *evalCtx) matchRegex(re *regexp.Regexp, s []byte) bool {
	if re.NumSubexp() == 0 {
		if !re.Match(s) {
			return false
		}
		ec.caps = nil
		return true
	}
	m := re.FindSubmatchIndex(s)
	if m == nil {
		return false
	}
	ec.caps, ec.capSrc = m, s
	if ec.conn != nil && len(ec.conn.cfg.capSlots) > 0 {
		for i, name := range re.SubexpNames() {
			if name == "" {
				continue
			}
			slot, ok := ec.conn.cfg.capSlots[strings.ToLower(name)]
			if !ok {
				continue
			}
			if slot >= len(ec.sets) {
				ec.sets = append(ec.sets, make([][]byte, slot+1-len(ec.sets))...)
			}
			if m[2*i] >= 0 {
				ec.sets[slot] = append([]byte(nil), s[m[2*i]:m[2*i+1]]...)
			} else {
				ec.sets[slot] = nil
			}
		}
	}
	return true
}

// matchScriptRegex is matchRegex for the rewrite module's regexes (if,
// rewrite), which drop the earlier captures even when they miss, as
// nginx 1.22 does.
func (ec *evalCtx) matchScriptRegex(re *regexp.Regexp, s []byte) bool {
	ec.caps = nil
	return ec.matchRegex(re, s)
}

// rwOutcome is how a rewrite program ended.
type rwOutcome uint8

const (
	rwContinue rwOutcome = iota // ran to the end
	rwStop                      // break, rewrite ... break
	rwLast                      // rewrite ... last: find the location again
	rwRespond                   // return or an external redirect: ec.resp holds the answer
)

// rwResponse is what a return or redirect answers.
type rwResponse struct {
	code     int
	text     []byte
	hasText  bool
	location []byte // for redirects
}

// run executes prog; changed reports a URI change that needs a new
// location lookup when the program ran to the end.
func (ec *evalCtx) run(prog []rwStep, resp *rwResponse, changed *bool) rwOutcome {
	for i := range prog {
		st := &prog[i]
		switch st.op {
		case opReturn:
			// return's value is a complex value: captures go unescaped.
			*resp = rwResponse{code: st.code, hasText: st.hasText}
			if st.hasText {
				// nginx sets the status before it evaluates a text or URL;
				// error_page's wins.
				ec.status = st.code
				if ec.errStatus > 0 {
					ec.status = ec.errStatus
				}
				resp.text = st.text.appendTo(nil, ec)
			}
			return rwRespond
		case opBreak:
			return rwStop
		case opSet:
			ec.capEsc = ec.rwQuote
			v := st.text.appendTo(nil, ec)
			ec.capEsc = false
			if st.m != nil {
				ec.setMap(st.m, v)
				continue
			}
			if st.slot == slotArgs {
				// The raw request URI no longer goes upstream.
				ec.args, ec.argsSet, ec.internal = v, true, true
				continue
			}
			if st.slot >= len(ec.sets) {
				ec.sets = append(ec.sets, make([][]byte, st.slot+1-len(ec.sets))...)
			}
			if v == nil {
				v = []byte{} // set, to empty: no longer falls back
			}
			ec.sets[st.slot] = v
		case opIf:
			if !ec.test(&st.cond) {
				continue
			}
			if st.ifLoc != nil && st.ifLoc.loc != nil {
				ec.loc = st.ifLoc.loc
			}
			if out := ec.run(st.body, resp, changed); out != rwContinue {
				return out
			}
		case opRewrite:
			if !ec.matchScriptRegex(st.re, ec.uri) {
				continue
			}
			if out := ec.rewrite(st, resp); out != rwContinue {
				return out
			}
			*changed = true
		}
	}
	return rwContinue
}

// rewrite applies a matched rewrite as nginx's regex start and end codes
// do: captures in the args part are escaped (NGX_ESCAPE_ARGS) when the
// client's URI was, and in a redirect's URI part too, where the result is
// then unescaped up to its first '?' (NGX_UNESCAPE_REDIRECT); the
// request's args follow unless the replacement ended in '?'.
func (ec *evalCtx) rewrite(st *rwStep, resp *rwResponse) rwOutcome {
	redirect := st.external || st.flag == flagRedirect || st.flag == flagPermanent
	ec.capEsc = redirect
	buf := st.repl.appendTo(nil, ec)
	uriLen := len(buf)
	if st.hasArgs {
		buf = append(buf, '?')
		ec.capEsc = true
		buf = st.args.appendTo(buf, ec)
	}
	ec.capEsc, ec.rwQuote = false, false
	old := ec.currentArgs()
	if redirect {
		code := 302
		if st.flag == flagPermanent {
			code = 301
		}
		buf = unescapeRedirect(buf)
		if st.addArgs && len(old) > 0 {
			sep := byte('?')
			if st.hasArgs {
				sep = '&'
			}
			buf = append(append(buf, sep), old...)
		}
		*resp = rwResponse{code: code, location: buf}
		return rwRespond
	}
	target, args := buf[:uriLen:uriLen], []byte(nil)
	if len(target) == 0 {
		ec.conn.srv.log.Error("the rewritten URI has a zero length", ec.conn.withHost(ec.conn.logCtx(ec))...)
		*resp = rwResponse{code: 500}
		return rwRespond
	}
	if st.hasArgs {
		args = buf[uriLen+1:]
		if st.addArgs && len(old) > 0 {
			args = append(append(args, '&'), old...)
		}
	} else if st.addArgs {
		args = old
	}
	ec.args, ec.argsSet = args, true
	ec.uri = target
	ec.internal, ec.redirected = true, true
	switch st.flag {
	case flagLast:
		return rwLast
	case flagBreak:
		ec.breakURI = true
		return rwStop
	}
	return rwContinue
}

// test evaluates an if condition; its values are scripts of the rewrite
// engine, so captures in them are escaped as in set.
func (ec *evalCtx) test(cond *ifCond) bool {
	ec.capEsc = ec.rwQuote
	defer func() { ec.capEsc = false }()
	left := cond.left.appendTo(nil, ec)
	var ok bool
	switch cond.kind {
	case 'v':
		return len(left) > 0 && string(left) != "0"
	case '=':
		ok = bytes.Equal(left, cond.right.appendTo(nil, ec))
	case '~':
		ok = ec.matchScriptRegex(cond.re, left)
	default:
		fi, err := os.Stat(string(left))
		switch cond.kind {
		case 'f':
			ok = err == nil && fi.Mode().IsRegular()
		case 'd':
			ok = err == nil && fi.IsDir()
		case 'e':
			ok = err == nil
		case 'x':
			ok = err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
		}
	}
	return ok != cond.negate
}

// runPhases is nginx's request flow up to the content handler: server
// rewrites, location lookup, location rewrites, again after a changed
// URI; then the chosen location answers (serveLocation).
func (c *clientConn) runPhases(ec *evalCtx, keep bool) bool {
	return c.phasesFrom(ec, keep, nil)
}

// phasesFrom runs the phases; named, when set, is an internal redirect to
// a named location, which skips the server rewrites and the lookup.
func (c *clientConn) phasesFrom(ec *evalCtx, keep bool, named *location) bool {
	srv := ec.server
	var resp rwResponse
	changed := false
	if named == nil && len(srv.rw) > 0 {
		// At server level "last" ends the server's rewrites like "break".
		ec.rwQuote = true
		if out := ec.run(srv.rw, &resp, &changed); out == rwRespond {
			return c.respondReturn(ec, &resp, keep)
		}
	}
	loc := named
	for {
		if loc == nil {
			loc, _ = srv.locs.find(ec.uri)
			if loc != nil && loc.kind == locRegex {
				if loc.re.NumSubexp() > 0 {
					ec.matchRegex(loc.re, ec.uri)
				} else {
					ec.caps = nil // matched in find: its (no) captures replace the server's
				}
			}
		}
		ec.loc = loc
		if loc != nil && loc.kind != locRedirect {
			// The location's keep-alive and client timeouts govern what
			// it answers, proxied or not (return, files), as in nginx;
			// the redirect made for a proxy_pass location ending in "/"
			// keeps the server's.
			c.ka, c.client = loc.ka, loc.client
		}
		if loc != nil && loc.internal && !ec.redirected {
			return c.sendError(404, ec, keep)
		}
		if loc != nil && c.tooLarge(ec, loc.maxBody) {
			return c.sendError(413, ec, false)
		}
		if loc == nil || len(loc.rw) == 0 {
			break
		}
		changed, ec.rwQuote = false, true
		out := ec.run(loc.rw, &resp, &changed)
		if out == rwRespond {
			return c.respondReturn(ec, &resp, keep)
		}
		if out != rwLast && !(out == rwContinue && changed) {
			break
		}
		ec.changes++
		if ec.changes > maxURIChanges {
			c.srv.log.Error("rewrite or internal redirection cycle while processing \""+string(ec.uri)+"\"", c.withHost(c.logCtx(ec))...)
			return c.sendError(500, ec, keep)
		}
		loc = nil
	}
	return c.serveLocation(ec, keep)
}

// internalRedirect restarts the phases for a new URI (error_page) or a
// named location, as nginx's ngx_http_internal_redirect does.
func (c *clientConn) internalRedirect(ec *evalCtx, uri, args []byte, named *location, keep bool) bool {
	ec.changes++
	if ec.changes > maxURIChanges {
		c.srv.log.Error("rewrite or internal redirection cycle while internally redirecting to \""+string(uri)+"\"", c.withHost(c.logCtx(ec))...)
		return c.sendError(500, ec, keep)
	}
	// The captures stay: nginx keeps them along an internal redirect.
	ec.internal, ec.redirected, ec.breakURI = true, true, false
	if named == nil {
		ec.uri = uri
		ec.args, ec.argsSet = args, true
	}
	return c.phasesFrom(ec, keep, named)
}

// respondReturn answers a return or a rewrite redirect.
func (c *clientConn) respondReturn(ec *evalCtx, resp *rwResponse, keep bool) bool {
	switch {
	case resp.code == 444:
		// nginx closes the connection without a response, and without
		// reading a body.
		c.body.taken, c.body.abort = true, true
		return false
	case resp.location != nil:
		return c.sendRedirect(ec, resp.code, resp.location, keep)
	case isRedirectCode(resp.code):
		// Without a URL nginx still sends an (empty) Location.
		return c.sendRedirect(ec, resp.code, append([]byte{}, resp.text...), keep)
	case resp.code >= 400 && !resp.hasText:
		return c.sendError(resp.code, ec, keep)
	}
	return c.sendText(ec, resp.code, resp.text, keep)
}

func isRedirectCode(code int) bool {
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308
}

// uriNeedsEscape is nginx 1.22's NGX_ESCAPE_URI table, as measured
// against it: what proxy_pass escapes in a changed $uri.
func uriNeedsEscape(ch byte) bool {
	switch ch {
	case ' ', '"', '#', '%', '<', '>', '?', '\\', '^', '`', '{', '|', '}':
		return true
	}
	return ch < ' ' || ch >= 0x7f
}

// argNeedsEscape is NGX_ESCAPE_ARGS: the URI's table plus '&', '+', ';'.
func argNeedsEscape(ch byte) bool {
	return ch == '&' || ch == '+' || ch == ';' || uriNeedsEscape(ch)
}

// appendPercentEscaped appends s with the bytes need picks as %XX.
func appendPercentEscaped(dst, s []byte, need func(byte) bool) []byte {
	const hexd = "0123456789ABCDEF"
	for _, ch := range s {
		if need(ch) {
			dst = append(dst, '%', hexd[ch>>4], hexd[ch&15])
			continue
		}
		dst = append(dst, ch)
	}
	return dst
}

// unescapeRedirect is ngx_unescape_uri with NGX_UNESCAPE_REDIRECT, in
// place: %XX becomes its byte when that lies in '&'..'~', else stays; it
// stops after the first '?', literal or decoded, and keeps the rest as
// is. Like nginx it drops a '%' not followed by a hex digit, and "%X"
// with a bad second byte altogether.
func unescapeRedirect(b []byte) []byte {
	d := 0
	for s := 0; s < len(b); {
		ch := b[s]
		if ch == '?' {
			return append(b[:d], b[s:]...)
		}
		if ch != '%' {
			b[d] = ch
			d, s = d+1, s+1
			continue
		}
		if s+1 >= len(b) {
			break
		}
		if !isHex(b[s+1]) {
			s++ // the '%' goes; the byte after it is kept as usual
			continue
		}
		if s+2 >= len(b) {
			break
		}
		if !isHex(b[s+2]) {
			s += 3
			continue
		}
		dec := unhex(b[s+1])<<4 | unhex(b[s+2])
		switch {
		case dec == '?':
			b[d] = dec
			return append(b[:d+1], b[s+3:]...)
		case dec > '%' && dec < 0x7f:
			b[d] = dec
			d++
		default:
			d += copy(b[d:], b[s:s+3])
		}
		s += 3
	}
	return b[:d]
}
