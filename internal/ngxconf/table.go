package ngxconf

// ctxMask is a set of contexts a directive may appear in, nginx's
// NGX_*_CONF bits.
type ctxMask uint16

const (
	ctxMain        ctxMask = 1 << iota // top level
	ctxEvents                          // events {}
	ctxHTTP                            // http {}
	ctxServer                          // server {}
	ctxLocation                        // location {}, also nested
	ctxUpstream                        // upstream {}
	ctxIfServer                        // if () {} directly in server
	ctxIfLocation                      // if () {} in a location
	ctxLimitExcept                     // limit_except {}

	// ctxIf is a block body marker, not a context: an if block's body is
	// ctxIfServer or ctxIfLocation depending on where the if is.
	ctxIf

	ctxAny = ctxMain | ctxEvents | ctxHTTP | ctxServer | ctxLocation | ctxUpstream |
		ctxIfServer | ctxIfLocation | ctxLimitExcept
)

// Shorthands keep the table one line per directive.
const (
	cM   = ctxMain
	cE   = ctxEvents
	cH   = ctxHTTP
	cS   = ctxServer
	cL   = ctxLocation
	cU   = ctxUpstream
	cSIF = ctxIfServer
	cLIF = ctxIfLocation
	cLMT = ctxLimitExcept
	cHSL = cH | cS | cL
)

// argRule is nginx's argument-count rule: NGX_CONF_NOARGS, TAKE1..TAKE7
// (as bits), FLAG, 1MORE, 2MORE, ANY.
type argRule uint16

const (
	arg0 argRule = 1 << iota
	arg1
	arg2
	arg3
	arg4
	arg5
	arg6
	arg7
	argFlag
	arg1More
	arg2More
	argAny

	take12   = arg1 | arg2
	take13   = arg1 | arg3
	take123  = arg1 | arg2 | arg3
	take1234 = arg1 | arg2 | arg3 | arg4
	take23   = arg2 | arg3
	take34   = arg3 | arg4
)

// allows reports whether n arguments (the directive name not counted)
// satisfy the rule, in ngx_conf_handler's order of tests.
func (r argRule) allows(n int) bool {
	switch {
	case r&argAny != 0:
		return true
	case r&argFlag != 0:
		return n == 1
	case r&arg1More != 0:
		return n >= 1
	case r&arg2More != 0:
		return n >= 2
	case n > 7:
		return false
	default:
		return r&(1<<n) != 0
	}
}

// entryKind marks blocks whose lines are data, parsed by their module's own
// handler rather than as directives.
type entryKind int

const (
	entriesNone         entryKind = iota
	entriesMap                    // map: "key value", or a lone hostnames/volatile
	entriesTypes                  // types: "mime/type ext..."
	entriesGeo                    // geo: "net value", default, include, ranges...
	entriesSplitClients           // split_clients: "N% value"
	entriesCharsetMap             // charset_map: "code code"
)

// check words an entry's argument-count error as its module does; "" if fine.
func (k entryKind) check(d *Directive) string {
	n := len(d.Args) + 1
	switch k {
	case entriesMap:
		if n == 1 && (d.Name == "hostnames" || d.Name == "volatile") {
			return ""
		}
		if n != 2 {
			return "invalid number of the map parameters"
		}
	case entriesGeo:
		if n > 2 {
			return "invalid number of the geo parameters"
		}
	case entriesSplitClients:
		if n != 2 {
			return "invalid number of the split_clients parameters"
		}
	case entriesCharsetMap:
		if n != 2 {
			return "invalid parameters number"
		}
	}
	return ""
}

// spec is one entry of a directive's module table.
type spec struct {
	ctx  ctxMask
	args argRule
	// block: written "name args { ... }"; body is the context inside it.
	block   bool
	body    ctxMask
	entries entryKind
	// unique: a second occurrence at the same level is `"X" directive is
	// duplicate`, as nginx's slot handlers report.
	unique bool
}

// inner is the context of the block's body, given the block's own context.
func (s spec) inner(parent ctxMask) ctxMask {
	if s.body != ctxIf {
		return s.body
	}
	if parent == ctxServer {
		return ctxIfServer
	}
	return ctxIfLocation
}

// specFor picks the entry for ctx; a name may have one per context, as
// "server" does (a block in http, a peer in upstream).
func specFor(specs []spec, ctx ctxMask) (spec, bool) {
	for _, s := range specs {
		if s.ctx&ctx != 0 {
			return s, true
		}
	}
	return spec{}, false
}

// ignorable is the allow-list of directives that are harmless to skip: each
// tunes how nginx itself uses processes, the kernel or its own hash tables,
// with no effect a client or an upstream can observe from a Go server.
// Load validates them like any other directive, then hands them over in
// Config.Ignored instead of Config.Main. Read-only after initialisation.
var ignorable = map[string]bool{
	// Process model: wisp is one process with goroutines, no workers.
	"user":                    true, // wisp never changes user; run it as the user you want
	"worker_processes":        true,
	"worker_cpu_affinity":     true,
	"worker_priority":         true,
	"worker_rlimit_nofile":    true,
	"worker_rlimit_core":      true,
	"worker_shutdown_timeout": true, // the drain timeout of the proxy applies instead
	"pcre_jit":                true, // Go's regexp has no JIT switch
	"timer_resolution":        true,
	"lock_file":               true, // no accept mutex between workers
	"thread_pool":             true, // no thread pools; goroutines do the I/O
	// The Go runtime's netpoller replaces nginx's event loop.
	"events":              true,
	"worker_connections":  true,
	"use":                 true,
	"multi_accept":        true,
	"accept_mutex":        true,
	"accept_mutex_delay":  true,
	"epoll_events":        true,
	"worker_aio_requests": true,
	"debug_connection":    true,
	// Modules are compiled in; a module's directives stay unknown if absent.
	"load_module": true,
	// Kernel send paths: Go picks sendfile/splice itself and sets
	// TCP_NODELAY by default.
	"sendfile":           true,
	"sendfile_max_chunk": true,
	"tcp_nopush":         true,
	"tcp_nodelay":        true,
	"aio":                true,
	"aio_write":          true,
	"directio":           true,
	"directio_alignment": true,
	"read_ahead":         true,
	"output_buffers":     true,
	"postpone_output":    true,
	// Sizes of nginx's own hash tables and memory pools: Go maps and the
	// garbage collector need no tuning.
	"types_hash_max_size":            true,
	"types_hash_bucket_size":         true,
	"server_names_hash_max_size":     true,
	"server_names_hash_bucket_size":  true,
	"variables_hash_max_size":        true,
	"variables_hash_bucket_size":     true,
	"map_hash_max_size":              true,
	"map_hash_bucket_size":           true,
	"proxy_headers_hash_max_size":    true,
	"proxy_headers_hash_bucket_size": true,
	"connection_pool_size":           true,
	"request_pool_size":              true,
	// Logging switches that only add or drop nginx's own debug lines.
	"rewrite_log":                 true,
	"uninitialized_variable_warn": true,
	"log_subrequest":              true,
}
