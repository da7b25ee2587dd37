package proxy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"wisp/internal/ngxconf"
)

// The static content modules: root, alias, index, try_files, types and
// default_type, and the static handler with nginx's conditional and range
// handling. contentConf also carries the other response modules'
// directives (headers.go, access.go, gzip.go, accesslog.go), so the
// compiler and the request path deal with one inherited value.

// contentConf holds the inherited directives of the response modules.
// set names the directives given at this level; inherit takes the
// parent's value of every other one.
type contentConf struct {
	set       map[string]bool
	root      program // root or alias (the path as written, prefixed when relative)
	alias     bool
	index     []program
	tryFiles  []tryFile
	tryLast   string // the last try_files argument: "=404", "/uri", "@named"
	types     map[string]string
	defType   string
	symlinks  symlinkConf // disable_symlinks
	etag      bool
	ims       imsMode
	maxRanges int // -1: unlimited
	notFound  bool
	hdr       headerConf // headers.go
	acl       []aclRule  // access.go
	gz        gzipConf   // gzip.go
	logs      accessLogs // accesslog.go
	// boundary numbers multipart/byteranges responses; one counter is
	// shared by every level of a compiled config.
	boundary *atomic.Uint64
}

// tryFile is one try_files name. A name written with a trailing '/'
// tests for a directory, and nginx drops that slash from the name: the
// new $uri has none, so the static handler redirects a directory.
type tryFile struct {
	name program
	dir  bool
}

type imsMode uint8

const (
	imsExact imsMode = iota
	imsOff
	imsBefore
)

// defaultTypes are nginx's types when no types block is given.
var defaultTypes = map[string]string{"html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"}

// defaultContentConf is nginx's defaults at http level; prefix resolves
// the default root "html".
func (c *compiler) defaultContentConf() contentConf {
	root, _ := compileValue(c.path("html"), ngxconf.Pos{})
	idx, _ := compileValue("index.html", ngxconf.Pos{})
	return contentConf{
		root: root, index: []program{idx}, types: defaultTypes, defType: "text/plain",
		etag: true, maxRanges: -1, notFound: true, boundary: new(atomic.Uint64),
		hdr: defaultHeaderConf(), gz: defaultGzipConf(), logs: c.defaultAccessLogs(),
	}
}

func (m contentConf) inherit(p contentConf) contentConf {
	if inherits(m.set, "root", "alias") {
		m.root, m.alias = p.root, p.alias
	}
	if inherits(m.set, "index") {
		m.index = p.index
	}
	if inherits(m.set, "try_files") {
		m.tryFiles, m.tryLast = p.tryFiles, p.tryLast
	}
	if inherits(m.set, "types") {
		m.types = p.types
	}
	if inherits(m.set, "default_type") {
		m.defType = p.defType
	}
	if inherits(m.set, "disable_symlinks") {
		m.symlinks = p.symlinks
	}
	if inherits(m.set, "etag") {
		m.etag = p.etag
	}
	if inherits(m.set, "if_modified_since") {
		m.ims = p.ims
	}
	if inherits(m.set, "max_ranges") {
		m.maxRanges = p.maxRanges
	}
	if inherits(m.set, "log_not_found") {
		m.notFound = p.notFound
	}
	if inherits(m.set, "allow", "deny") {
		m.acl = p.acl
	}
	m.hdr = m.hdr.inherit(p.hdr, m.set)
	m.gz = m.gz.inherit(p.gz, m.set)
	m.logs = m.logs.inherit(p.logs, m.set)
	m.boundary = p.boundary
	m.set = nil
	return m
}

// contentDirective compiles the response modules' directives; ok is
// false for any other directive.
func (c *compiler) contentDirective(d *ngxconf.Directive, conf *proxyConf) (ok bool, err error) {
	m := &conf.mod
	if m.set == nil {
		m.set = map[string]bool{}
	}
	once := func() error {
		if m.set[d.Name] {
			return ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
		}
		return nil
	}
	switch d.Name {
	case "root", "alias":
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		if m.set["root"] || m.set["alias"] {
			prev := "root"
			if m.alias {
				prev = "alias"
			}
			if prev == d.Name {
				return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate", d.Name)
			}
			return true, ngxconf.Errorf(d.Pos, "%q directive is duplicate, %q directive was specified earlier", d.Name, prev)
		}
		p := d.Args[0]
		if !strings.HasPrefix(p, "$") {
			// Joined to the prefix, but keeping the trailing '/' that an
			// alias of a "/x/" location needs.
			slash := strings.HasSuffix(p, "/")
			if p = c.path(p); slash && !strings.HasSuffix(p, "/") {
				p += "/"
			}
		}
		if m.root, err = c.value(p, d.Pos); err != nil {
			return true, err
		}
		m.alias = d.Name == "alias"
	case "index":
		if len(d.Args) == 0 {
			return true, argCount(d, 1)
		}
		if !m.set["index"] {
			m.index = nil
		}
		for _, a := range d.Args {
			if a == "" {
				return true, ngxconf.Errorf(d.Pos, "index %q in \"index\" directive is invalid", a)
			}
			p, err := c.value(a, d.Pos)
			if err != nil {
				return true, err
			}
			m.index = append(m.index, p)
		}
	case "try_files":
		if err := once(); err != nil {
			return true, err
		}
		if len(d.Args) < 2 {
			return true, ngxconf.Errorf(d.Pos, "invalid number of arguments in \"try_files\" directive")
		}
		for _, a := range d.Args[:len(d.Args)-1] {
			a, dir := strings.CutSuffix(a, "/")
			p, err := c.value(a, d.Pos)
			if err != nil {
				return true, err
			}
			m.tryFiles = append(m.tryFiles, tryFile{name: p, dir: dir})
		}
		last := d.Args[len(d.Args)-1]
		if code, ok := strings.CutPrefix(last, "="); ok {
			if n, err := strconv.Atoi(code); err != nil || n < 0 || n > 999 {
				return true, ngxconf.Errorf(d.Pos, "invalid code %q", code)
			}
		}
		m.tryLast = last
	case "types":
		if err := once(); err != nil {
			return true, err
		}
		m.types = map[string]string{}
		for _, td := range d.Block {
			for _, ext := range td.Args {
				// nginx keeps the first type given for an extension and
				// warns about the rest.
				if _, dup := m.types[strings.ToLower(ext)]; !dup {
					m.types[strings.ToLower(ext)] = td.Name
				}
			}
		}
	case "default_type":
		if err := once(); err != nil {
			return true, err
		}
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		m.defType = d.Args[0]
	case "disable_symlinks":
		if err := once(); err != nil {
			return true, err
		}
		if len(d.Args) < 1 || len(d.Args) > 2 {
			return true, argCount(d, 1)
		}
		if m.symlinks, err = c.symlinkDirective(d); err != nil {
			return true, err
		}
	case "etag", "log_not_found":
		if err := once(); err != nil {
			return true, err
		}
		on, err := flagArg(d)
		if err != nil {
			return true, err
		}
		if d.Name == "etag" {
			m.etag = on
		} else {
			m.notFound = on
		}
	case "if_modified_since":
		if err := once(); err != nil {
			return true, err
		}
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		switch d.Args[0] {
		case "exact":
			m.ims = imsExact
		case "off":
			m.ims = imsOff
		case "before":
			m.ims = imsBefore
		default:
			return true, ngxconf.Errorf(d.Pos, "invalid value %q in \"if_modified_since\" directive", d.Args[0])
		}
	case "max_ranges":
		if err := once(); err != nil {
			return true, err
		}
		if err := argCount(d, 1); err != nil {
			return true, err
		}
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < 0 {
			return true, ngxconf.Errorf(d.Pos, "invalid number %q in \"max_ranges\" directive", d.Args[0])
		}
		m.maxRanges = n
	default:
		ok, err := c.headerDirective(d, m)
		if !ok {
			ok, err = c.aclDirective(d, m)
		}
		if !ok {
			ok, err = c.gzipDirective(d, m)
		}
		if !ok {
			ok, err = c.accessLogDirective(d, m)
		}
		if ok && err == nil {
			m.set[d.Name] = true
		}
		return ok, err
	}
	m.set[d.Name] = true
	return true, nil
}

// contentOf returns the response modules' config answering ec.
func (ec *evalCtx) contentOf() *contentConf {
	if ec.loc != nil && ec.loc.mod != nil {
		return ec.loc.mod
	}
	return ec.server.mod
}

// mapPath maps a URI to a file path by root or alias.
func (ec *evalCtx) mapPath(m *contentConf, uri []byte) []byte {
	p := m.root.appendTo(nil, ec)
	if m.alias && ec.loc != nil && ec.loc.kind != locRegex {
		name := ec.loc.name
		if len(uri) >= len(name) {
			uri = uri[len(name):]
		} else {
			uri = nil
		}
		return append(p, uri...)
	}
	if m.alias {
		return p // a regex location's alias names the whole path
	}
	return append(p, uri...)
}

// appendStaticVar appends $realpath_root (root or alias as evaluated,
// every link in it resolved) and $sent_http_content_type.
func (ec *evalCtx) appendStaticVar(dst []byte, pt *part) []byte {
	switch pt.v {
	case varSentContentType:
		return append(append(dst, ec.out.ctype...), ec.out.upCtype...)
	case varRealpathRoot:
		m := ec.contentOf()
		if m == nil {
			return dst
		}
		p, err := filepath.EvalSymlinks(string(m.root.appendTo(nil, ec)))
		if err != nil {
			return dst
		}
		return append(dst, p...)
	}
	return dst
}

// serveContent is the content phase for a location with no proxy_pass:
// try_files, then index for URIs ending in '/', then the static file.
func (c *clientConn) serveContent(ec *evalCtx, keep bool) bool {
	m := ec.contentOf()
	if m == nil {
		return c.sendError(404, ec, keep)
	}
	if len(m.tryFiles) > 0 {
		if done, ok := c.tryFiles(ec, m, keep); ok {
			return done
		}
	}
	method := string(c.req.method)
	getLike := method == "GET" || method == "HEAD" || method == "POST"
	if len(ec.uri) > 0 && ec.uri[len(ec.uri)-1] == '/' {
		if !getLike {
			return c.sendError(405, ec, keep)
		}
		return c.serveIndex(ec, m, keep)
	}
	if !getLike {
		return c.sendError(405, ec, keep)
	}
	return c.serveFile(ec, m, keep)
}

// tryFiles runs try_files: the first existing file becomes $uri (served
// here); otherwise the last argument answers. ok is false when a file was
// found and the content phase goes on.
func (c *clientConn) tryFiles(ec *evalCtx, m *contentConf, keep bool) (done, ok bool) {
	for i := range m.tryFiles {
		tf := &m.tryFiles[i]
		name := tf.name.appendTo(nil, ec)
		path := ec.mapPath(m, name)
		fi, err := statPath(string(path), m.symlinks.check(ec))
		// A plain name matches only a file, a name with '/' only a
		// directory.
		if err != nil || fi.IsDir() != tf.dir {
			continue
		}
		// The new $uri keeps its own query part out of $uri.
		if u, args, found := bytes.Cut(name, []byte("?")); found {
			name = u
			ec.args, ec.argsSet = args, true
		}
		ec.uri = name
		return false, false
	}
	last := m.tryLast
	switch {
	case strings.HasPrefix(last, "="):
		code, _ := strconv.Atoi(last[1:])
		return c.sendError(code, ec, keep), true
	case strings.HasPrefix(last, "@"):
		named := ec.server.namedLocation(last)
		if named == nil {
			c.srv.log.Error("could not find named location \""+last+"\"", c.withHost(c.logCtx(ec))...)
			return c.sendError(500, ec, keep), true
		}
		return c.internalRedirect(ec, nil, nil, named, keep), true
	}
	p, _ := compileValue(last, ngxconf.Pos{})
	target := p.appendTo(nil, ec)
	uri, args, found := bytes.Cut(target, []byte("?"))
	if !found {
		args = ec.currentArgs()
	}
	return c.internalRedirect(ec, uri, args, nil, keep), true
}

// serveIndex implements the index module: the first index file that
// exists is served through an internal redirect; a directory without one
// is forbidden.
func (c *clientConn) serveIndex(ec *evalCtx, m *contentConf, keep bool) bool {
	dirPath := ec.mapPath(m, ec.uri)
	for i := range m.index {
		name := m.index[i].appendTo(nil, ec)
		if len(name) > 0 && name[0] == '/' {
			return c.internalRedirect(ec, name, ec.currentArgs(), nil, keep)
		}
		// Whatever exists is taken, a directory too: the redirect then
		// meets the static handler's 301 (or, for an empty name, the
		// directory itself, until the redirect cycle ends in 500).
		if _, err := statPath(string(dirPath)+string(name), m.symlinks.check(ec)); err != nil {
			if errors.Is(err, errSymlink) {
				return c.fileError(ec, m, dirPath, err, keep)
			}
			continue
		}
		uri := append(append([]byte(nil), ec.uri...), name...)
		return c.internalRedirect(ec, uri, ec.currentArgs(), nil, keep)
	}
	fi, err := statPath(string(dirPath), m.symlinks.check(ec))
	if err != nil {
		return c.fileError(ec, m, dirPath, err, keep)
	}
	if !fi.IsDir() {
		return c.sendError(404, ec, keep)
	}
	c.srv.log.Error("directory index of \""+string(dirPath)+"\" is forbidden", c.withHost(c.logCtx(ec))...)
	return c.sendError(403, ec, keep)
}

// errSymlink is a path component that is a symbolic link while
// disable_symlinks forbids it.
var errSymlink = errors.New("symbolic link")

// symlinkConf is disable_symlinks: off (follow every link), on (follow
// none), or if_not_owner (follow a link only to what its owner owns);
// from is the initial part of a path that is not checked.
type symlinkConf struct {
	mode symlinkMode
	from *program
}

type symlinkMode uint8

const (
	symlinksFollow symlinkMode = iota
	symlinksNever
	symlinksIfOwner
)

// symlinkCheck is symlinkConf for one request: from evaluated.
type symlinkCheck struct {
	mode symlinkMode
	from string
}

func (c *compiler) symlinkDirective(d *ngxconf.Directive) (symlinkConf, error) {
	var sc symlinkConf
	for _, a := range d.Args {
		switch {
		case a == "off":
			sc.mode = symlinksFollow
		case a == "on":
			sc.mode = symlinksNever
		case a == "if_not_owner":
			sc.mode = symlinksIfOwner
		case strings.HasPrefix(a, "from="):
			if v := a[len("from="):]; v != "" {
				p, err := c.value(v, d.Pos)
				if err != nil {
					return sc, err
				}
				sc.from = &p
			}
		default:
			return sc, ngxconf.Errorf(d.Pos, "invalid parameter %q", a)
		}
	}
	if sc.mode == symlinksFollow && sc.from != nil {
		return sc, ngxconf.Errorf(d.Pos, "\"from=\" cannot be used with \"off\" parameter")
	}
	return sc, nil
}

func (sc *symlinkConf) check(ec *evalCtx) symlinkCheck {
	out := symlinkCheck{mode: sc.mode}
	if sc.from != nil && sc.mode != symlinksFollow {
		out.from = string(sc.from.appendTo(nil, ec))
	}
	return out
}

// openPath opens path for reading. Unless links are followed, every
// component is opened relative to its parent: with O_NOFOLLOW (on), so no
// symbolic link (and no way out of the root through one) is taken; or
// following it but comparing the owners of the link and of what it names
// (if_not_owner), as nginx's ngx_openat_file_owner. The from= part of the
// path is opened as it is.
func openPath(path string, sc symlinkCheck) (*os.File, error) {
	if sc.mode == symlinksFollow {
		return os.Open(path)
	}
	if path == "" || path[0] != '/' {
		return nil, syscall.ENOENT
	}
	start, rest := "/", path[1:]
	if f := sc.from; f != "" && strings.HasPrefix(path, f) {
		switch {
		case len(path) == len(f):
			return os.Open(path) // the whole name: nothing to check
		case f[len(f)-1] == '/':
			start, rest = f, path[len(f):]
		case path[len(f)] == '/':
			start, rest = f, path[len(f)+1:]
		}
	}
	dir, err := syscall.Open(start, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		if p == "" || p == "." {
			if i == len(parts)-1 {
				return os.NewFile(uintptr(dir), path), nil
			}
			continue
		}
		flags := syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
		if sc.mode == symlinksNever {
			flags |= syscall.O_NOFOLLOW
		}
		if i < len(parts)-1 {
			// A link in the middle of the path fails as "not a directory",
			// which nginx answers 404; only the last one is a 403.
			flags |= syscall.O_DIRECTORY
		}
		fd, err := syscall.Openat(dir, p, flags, 0)
		if err == nil && sc.mode == symlinksIfOwner && !sameOwner(dir, p, fd) {
			syscall.Close(fd)
			err = syscall.ELOOP
		}
		syscall.Close(dir)
		if err != nil {
			if err == syscall.ELOOP {
				return nil, errSymlink
			}
			return nil, err
		}
		dir = fd
	}
	return os.NewFile(uintptr(dir), path), nil
}

// sameOwner reports whether name in dir (not followed) and the file fd
// opened through it belong to the same user; for anything but a link
// they are the same file.
func sameOwner(dir int, name string, fd int) bool {
	var target, link unix.Stat_t
	if unix.Fstat(fd, &target) != nil || unix.Fstatat(dir, name, &link, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return target.Uid == link.Uid
}

func statPath(path string, sc symlinkCheck) (os.FileInfo, error) {
	if sc.mode == symlinksFollow {
		return os.Stat(path)
	}
	f, err := openPath(path, sc)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

// fileError answers a failed open as nginx does: 404 for a missing file,
// 403 for a denied one or a symbolic link, 500 otherwise.
func (c *clientConn) fileError(ec *evalCtx, m *contentConf, path []byte, err error, keep bool) bool {
	var errno syscall.Errno
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	errors.As(err, &errno)
	switch {
	case errors.Is(err, errSymlink):
		c.srv.log.Error("open() \""+string(path)+"\" failed (40: Too many levels of symbolic links)", c.withHost(c.logCtx(ec))...)
		return c.sendError(403, ec, keep)
	case errno == syscall.ENOENT || errno == syscall.ENOTDIR || errno == syscall.ENAMETOOLONG:
		if m.notFound {
			c.srv.log.Error("open() \""+string(path)+"\" failed "+errnoText(errno), c.withHost(c.logCtx(ec))...)
		}
		return c.sendError(404, ec, keep)
	case errno == syscall.EACCES:
		c.srv.log.Error("open() \""+string(path)+"\" failed "+errnoText(errno), c.withHost(c.logCtx(ec))...)
		return c.sendError(403, ec, keep)
	}
	c.srv.log.Error("open() \""+string(path)+"\" failed "+errnoText(err), c.withHost(c.logCtx(ec))...)
	return c.sendError(500, ec, keep)
}

// serveFile is nginx's static handler.
func (c *clientConn) serveFile(ec *evalCtx, m *contentConf, keep bool) bool {
	path := ec.mapPath(m, ec.uri)
	f, err := openPath(string(path), m.symlinks.check(ec))
	if err != nil {
		return c.fileError(ec, m, path, err, keep)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return c.fileError(ec, m, path, err, keep)
	}
	if fi.IsDir() {
		loc := append(append([]byte(nil), ec.uri...), '/')
		if args := ec.currentArgs(); len(args) > 0 {
			loc = append(append(loc, '?'), args...)
		}
		return c.writeResponse(simpleResponse{code: 301, ctype: "text/html", body: errorPage(301, c.serverToken(ec)),
			loc: locHeader{abs: loc}}, ec, keep && c.keepAllowed())
	}
	if !fi.Mode().IsRegular() {
		c.srv.log.Error("\""+string(path)+"\" is not a regular file", c.withHost(c.logCtx(ec))...)
		return c.sendError(404, ec, keep)
	}
	if string(c.req.method) == "POST" {
		return c.sendError(405, ec, keep)
	}
	// max_ranges 0 turns the range filter off, Accept-Ranges with it.
	out := outHead{status: 200, length: fi.Size(), lastMod: fi.ModTime().Unix(), ctype: m.contentType(ec.uri),
		noAcceptRanges: m.maxRanges == 0}
	if m.etag {
		out.etag = appendETag(nil, fi)
	}
	return c.sendStatic(ec, m, &out, f, keep)
}

// contentType picks the type by the URI's extension (nginx looks at the
// URI, not the file path).
func (m *contentConf) contentType(uri []byte) string {
	slash := bytes.LastIndexByte(uri, '/')
	dot := bytes.LastIndexByte(uri, '.')
	if dot > slash && dot < len(uri)-1 {
		if t, ok := m.types[strings.ToLower(string(uri[dot+1:]))]; ok {
			return t
		}
	}
	return m.defType
}

// appendETag writes nginx's entity tag: "mtime-size" in lowercase hex.
func appendETag(dst []byte, fi os.FileInfo) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendInt(dst, fi.ModTime().Unix(), 16)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, fi.Size(), 16)
	return append(dst, '"')
}

// sendStatic runs the response through nginx's filters (not_modified,
// headers, charset, gzip, range) and sends the file.
func (c *clientConn) sendStatic(ec *evalCtx, m *contentConf, out *outHead, f *os.File, keep bool) bool {
	r := &c.req
	if ec.errStatus > 0 {
		// An error page carries the error's status (or error_page's
		// =code) into the filters, which leave all but a 200 alone.
		out.status = ec.errStatus
	}
	if st := c.notModified(out, m); st == 412 {
		return c.sendError(412, ec, keep)
	} else if st == 304 {
		out.status, out.ctype, out.length = 304, "", -1
		return c.writeOut(ec, m, out, nil, keep)
	}
	var rng rangeSet
	gz := c.gzipWanted(ec, m, out)
	if !gz {
		var status int
		rng, status = c.parseRanges(out, m)
		if status == 416 {
			out.contentRange = "bytes */" + strconv.FormatInt(out.length, 10)
			return c.sendRangeError(ec, m, out, keep)
		}
	}
	if string(r.method) == "HEAD" {
		f = nil
	}
	switch {
	case gz:
		return c.writeGzip(ec, m, out, f, keep)
	case len(rng.ranges) == 1:
		rg := rng.ranges[0]
		out.status = 206
		out.contentRange = "bytes " + strconv.FormatInt(rg.start, 10) + "-" + strconv.FormatInt(rg.end-1, 10) + "/" + strconv.FormatInt(out.length, 10)
		out.length = rg.end - rg.start
		out.noAcceptRanges = true
		var body io.Reader
		if f != nil {
			body = io.NewSectionReader(f, rg.start, rg.end-rg.start)
		}
		return c.writeOut(ec, m, out, body, keep)
	case len(rng.ranges) > 1:
		return c.writeMultipart(ec, m, out, rng, f, keep)
	}
	var body io.Reader
	if f != nil {
		body = f
	}
	return c.writeOut(ec, m, out, body, keep)
}

// notModified applies If-Unmodified-Since, If-Match, If-Modified-Since and
// If-None-Match as nginx's not_modified filter does: 412, 304, or 0.
func (c *clientConn) notModified(out *outHead, m *contentConf) int {
	r := &c.req
	if out.status != 200 {
		return 0
	}
	if v, ok := r.headerValue([]byte("If-Unmodified-Since")); ok {
		t, err := parseHTTPTime(v)
		if err != nil || out.lastMod == 0 || t < out.lastMod {
			return 412
		}
	}
	if v, ok := r.headerValue([]byte("If-Match")); ok && !etagMatch(out.etag, v, false) {
		return 412
	}
	ims, hasIMS := r.headerValue([]byte("If-Modified-Since"))
	inm, hasINM := r.headerValue([]byte("If-None-Match"))
	if !hasIMS && !hasINM {
		return 0
	}
	if hasIMS && m.ims != imsOff {
		t, err := parseHTTPTime(ims)
		switch {
		case err != nil, out.lastMod == 0:
			return 0
		case t == out.lastMod:
		case m.ims == imsBefore && t > out.lastMod:
		default:
			return 0
		}
	} else if hasIMS {
		return 0
	}
	if hasINM && !etagMatch(out.etag, inm, true) {
		return 0
	}
	return 304
}

// textNotModified runs nginx's not_modified filter over a 200 that
// return wrote. Having neither Last-Modified nor an entity tag, it fails
// If-Unmodified-Since and If-Match (412), and If-None-Match: * alone
// makes it a 304. ok is false when the text goes out as it is.
func (c *clientConn) textNotModified(ec *evalCtx, keep bool) (done, ok bool) {
	m := ec.contentOf()
	if m == nil {
		return false, false
	}
	out := outHead{status: 200, length: -1}
	switch c.notModified(&out, m) {
	case 412:
		return c.sendError(412, ec, keep), true
	case 304:
		out.status = 304
		return c.writeOut(ec, m, &out, nil, keep), true
	}
	return false, false
}

// etagMatch compares an entity tag with an If-Match/If-None-Match list;
// weak allows W/ tags on either side.
func etagMatch(etag, list []byte, weak bool) bool {
	// "*" matches even a response without an entity tag (nginx).
	if string(bytes.TrimSpace(list)) == "*" {
		return true
	}
	if len(etag) == 0 {
		return false
	}
	if weak {
		etag = bytes.TrimPrefix(etag, []byte("W/"))
	}
	for len(list) > 0 {
		list = bytes.TrimLeft(list, " \t,")
		end := bytes.IndexByte(list, ',')
		tok := list
		if end >= 0 {
			tok, list = list[:end], list[end+1:]
		} else {
			list = nil
		}
		tok = bytes.TrimSpace(tok)
		if weak {
			tok = bytes.TrimPrefix(tok, []byte("W/"))
		}
		if len(tok) > 0 && bytes.Equal(tok, etag) {
			return true
		}
	}
	return false
}

// parseHTTPTime reads a date the way nginx's ngx_parse_http_time does:
// RFC 1123, RFC 850 or asctime form, with the weekday and the zone never
// checked and anything after the seconds (or the asctime year) ignored,
// so "...GMT; length=12" is still a date.
func parseHTTPTime(v []byte) (int64, error) {
	bad := errors.New("bad date")
	at := func(i int) byte { // 0 past the end, which no check accepts
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	digits := func(i, n int) (int, bool) {
		x := 0
		for k := i; k < i+n; k++ {
			c := at(k)
			if c < '0' || c > '9' {
				return 0, false
			}
			x = x*10 + int(c-'0')
		}
		return x, true
	}
	const (
		rfc1123 = iota
		rfc850
		asctime
	)
	form := rfc1123
	p := 0
	for ; p < len(v); p++ {
		if v[p] == ',' {
			break
		}
		if v[p] == ' ' {
			form = asctime
			break
		}
	}
	for p++; p < len(v) && v[p] == ' '; p++ {
	}
	if len(v)-p < 18 {
		return 0, bad
	}
	var day, month, year int
	var ok bool
	if form != asctime {
		if day, ok = digits(p, 2); !ok {
			return 0, bad
		}
		p += 2
		switch at(p) {
		case ' ':
			form = rfc1123
		case '-':
			form = rfc850
		default:
			return 0, bad
		}
		p++
	}
	switch at(p) {
	case 'J':
		switch {
		case at(p+1) == 'a':
			month = 1
		case at(p+2) == 'n':
			month = 6
		default:
			month = 7
		}
	case 'F':
		month = 2
	case 'M':
		month = 5
		if at(p+2) == 'r' {
			month = 3
		}
	case 'A':
		month = 8
		if at(p+1) == 'p' {
			month = 4
		}
	case 'S':
		month = 9
	case 'O':
		month = 10
	case 'N':
		month = 11
	case 'D':
		month = 12
	default:
		return 0, bad
	}
	p += 3
	if (form == rfc1123 && at(p) != ' ') || (form == rfc850 && at(p) != '-') {
		return 0, bad
	}
	p++
	switch form {
	case rfc1123:
		if year, ok = digits(p, 4); !ok {
			return 0, bad
		}
		p += 4
	case rfc850:
		if year, ok = digits(p, 2); !ok {
			return 0, bad
		}
		year += 1900
		if year < 1970 {
			year += 100
		}
		p += 2
	case asctime:
		if at(p) == ' ' {
			p++
		}
		if day, ok = digits(p, 1); !ok {
			return 0, bad
		}
		p++
		if at(p) != ' ' {
			d, ok := digits(p, 1)
			if !ok {
				return 0, bad
			}
			day = day*10 + d
			p++
		}
		if len(v)-p < 14 {
			return 0, bad
		}
	}
	if at(p) != ' ' || at(p+3) != ':' || at(p+6) != ':' {
		return 0, bad
	}
	hour, ok1 := digits(p+1, 2)
	minute, ok2 := digits(p+4, 2)
	sec, ok3 := digits(p+7, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, bad
	}
	p += 9
	if form == asctime {
		if at(p) != ' ' {
			return 0, bad
		}
		if year, ok = digits(p+1, 4); !ok {
			return 0, bad
		}
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return 0, bad
	}
	// Days past the month's end are refused; 29 February only in a leap
	// year. A day 00 is not checked, as in nginx.
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, bad
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix(), nil
}

// byteRange is [start, end) of the file.
type byteRange struct{ start, end int64 }

type rangeSet struct{ ranges []byteRange }

// maxRangeCount bounds how many ranges one request may list before wisp
// answers the whole file instead, as nginx does once the ranges add up
// to more than the file.
const maxRangeCount = 1024

// parseRanges applies nginx's range filter to a 200 response: the ranges
// to send, or 416, or nothing (send the whole file).
func (c *clientConn) parseRanges(out *outHead, m *contentConf) (rangeSet, int) {
	r := &c.req
	v, ok := r.headerValue([]byte("Range"))
	if !ok || out.status != 200 || out.length < 0 || len(v) < 7 || !strings.EqualFold(string(v[:6]), "bytes=") {
		return rangeSet{}, 0
	}
	if ir, ok := r.headerValue([]byte("If-Range")); ok {
		if len(ir) >= 2 && ir[0] == '"' || len(ir) >= 2 && ir[0] == 'W' && ir[1] == '/' {
			if !bytes.Equal(ir, out.etag) {
				return rangeSet{}, 0
			}
		} else if t, err := parseHTTPTime(ir); err != nil || t != out.lastMod {
			return rangeSet{}, 0
		}
	}
	if m.maxRanges == 0 {
		return rangeSet{}, 0
	}
	size := out.length
	p := v[6:]
	var set rangeSet
	var total int64
	left := m.maxRanges
	const cutoff = (1<<63 - 1) / 10
	for {
		var start, end int64
		suffix := false
		p = bytes.TrimLeft(p, " ")
		if len(p) > 0 && p[0] != '-' {
			if p[0] < '0' || p[0] > '9' {
				return rangeSet{}, 416
			}
			for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
				if start >= cutoff {
					return rangeSet{}, 416
				}
				start = start*10 + int64(p[0]-'0')
				p = p[1:]
			}
			p = bytes.TrimLeft(p, " ")
			if len(p) == 0 || p[0] != '-' {
				return rangeSet{}, 416
			}
			p = bytes.TrimLeft(p[1:], " ")
			if len(p) == 0 || p[0] == ',' {
				end = size
				goto found
			}
		} else {
			suffix = true
			if len(p) > 0 {
				p = p[1:]
			}
		}
		if len(p) == 0 || p[0] < '0' || p[0] > '9' {
			return rangeSet{}, 416
		}
		for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
			if end >= cutoff {
				return rangeSet{}, 416
			}
			end = end*10 + int64(p[0]-'0')
			p = p[1:]
		}
		p = bytes.TrimLeft(p, " ")
		if len(p) > 0 && p[0] != ',' {
			return rangeSet{}, 416
		}
		if suffix {
			start = 0
			if end < size {
				start = size - end
			}
			end = size - 1
		}
		if end >= size {
			end = size
		} else {
			end++
		}
	found:
		if start < end {
			total += end - start
			if left == 0 {
				return rangeSet{}, 0
			}
			left--
			if len(set.ranges) >= maxRangeCount {
				return rangeSet{}, 0
			}
			set.ranges = append(set.ranges, byteRange{start, end})
		} else if start == 0 {
			return rangeSet{}, 0
		}
		if len(p) == 0 || p[0] != ',' {
			break
		}
		p = p[1:]
	}
	if len(set.ranges) == 0 {
		return rangeSet{}, 416
	}
	if total > size {
		return rangeSet{}, 0
	}
	return set, 0
}

// sendRangeError answers 416 with nginx's page and Content-Range. nginx's
// range filter finds the range unsatisfiable after the header filters have
// already run over the 200 response, and its error page keeps the header
// lines they added: expires and every add_header as for a 200, then
// Content-Range, then the 416's own add_header ... always lines.
func (c *clientConn) sendRangeError(ec *evalCtx, m *contentConf, out *outHead, keep bool) bool {
	ec.status = 200
	lines := c.expiresFor(ec, &m.hdr).appendLines(nil, time.Now(), out.lastMod)
	lines = m.hdr.appendAdded(lines, ec, 200)
	lines = append(lines, "Content-Range: "...)
	lines = append(lines, out.contentRange...)
	ec.out.rangeLines = append(lines, "\r\n"...)
	return c.sendError(416, ec, keep)
}

// writeMultipart sends several ranges as multipart/byteranges.
func (c *clientConn) writeMultipart(ec *evalCtx, m *contentConf, out *outHead, set rangeSet, f *os.File, keep bool) bool {
	boundary := strconv.FormatUint(m.boundary.Add(1), 10)
	boundary = strings.Repeat("0", max(0, 20-len(boundary))) + boundary
	size := out.length
	ctype := m.hdr.withCharset(out.ctype)
	partHead := func(rg byteRange) string {
		s := "\r\n--" + boundary + "\r\n"
		if ctype != "" {
			s += "Content-Type: " + ctype + "\r\n"
		}
		return s + "Content-Range: bytes " + strconv.FormatInt(rg.start, 10) + "-" + strconv.FormatInt(rg.end-1, 10) + "/" + strconv.FormatInt(size, 10) + "\r\n\r\n"
	}
	tail := "\r\n--" + boundary + "--\r\n"
	length := int64(len(tail))
	for _, rg := range set.ranges {
		length += int64(len(partHead(rg))) + rg.end - rg.start
	}
	out.status = 206
	out.ctype = "multipart/byteranges; boundary=" + boundary
	out.length = length
	out.noAcceptRanges = true
	var body io.Reader
	if f != nil {
		rs := make([]io.Reader, 0, 2*len(set.ranges)+1)
		for _, rg := range set.ranges {
			rs = append(rs, strings.NewReader(partHead(rg)), io.NewSectionReader(f, rg.start, rg.end-rg.start))
		}
		body = io.MultiReader(append(rs, strings.NewReader(tail))...)
	}
	return c.writeOut(ec, m, out, body, keep)
}
