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

// Constructors for the table, one per kind of directive.
func one(ctx ctxMask, args argRule) []spec { return []spec{{ctx: ctx, args: args, unique: true}} }
func many(ctx ctxMask, args argRule) []spec {
	return []spec{{ctx: ctx, args: args}}
}
func flag(ctx ctxMask) []spec { return one(ctx, argFlag) }
func blk(ctx ctxMask, args argRule, body ctxMask) spec {
	return spec{ctx: ctx, args: args, block: true, body: body}
}
func data(ctx ctxMask, args argRule, k entryKind) []spec {
	return []spec{{ctx: ctx, args: args, block: true, entries: k}}
}

// table lists the directives of the nginx 1.22 modules that Debian's
// /usr/sbin/nginx has built in and that web and blog configs meet, with
// nginx's own context and argument rules (checked against the real binary
// by TestTableMatchesNginx). It is read-only after initialisation.
var table = map[string][]spec{
	// core (main) and events
	"daemon":                  flag(cM),
	"master_process":          flag(cM),
	"timer_resolution":        one(cM, arg1),
	"pid":                     one(cM, arg1),
	"lock_file":               one(cM, arg1),
	"worker_processes":        one(cM, arg1),
	"debug_points":            one(cM, arg1),
	"user":                    one(cM, take12),
	"worker_priority":         one(cM, arg1),
	"worker_cpu_affinity":     one(cM, arg1More),
	"worker_rlimit_nofile":    one(cM, arg1),
	"worker_rlimit_core":      one(cM, arg1),
	"worker_shutdown_timeout": one(cM, arg1),
	"working_directory":       one(cM, arg1),
	"env":                     many(cM, arg1),
	"load_module":             many(cM, arg1),
	"pcre_jit":                flag(cM),
	"thread_pool":             many(cM, take23),
	"ssl_engine":              one(cM, arg1),
	"include":                 many(ctxAny, arg1),
	"error_log":               many(cM|cHSL, arg1More),
	"events":                  {{ctx: cM, args: arg0, block: true, body: cE, unique: true}},
	"worker_connections":      one(cE, arg1),
	"use":                     one(cE, arg1),
	"multi_accept":            flag(cE),
	"accept_mutex":            flag(cE),
	"accept_mutex_delay":      one(cE, arg1),
	"debug_connection":        many(cE, arg1),
	"worker_aio_requests":     one(cE, arg1),
	"epoll_events":            one(cE, arg1),

	// http core
	"http":                          {{ctx: cM, args: arg0, block: true, body: cH, unique: true}},
	"server":                        {blk(cH, arg0, cS), {ctx: cU, args: arg1More}},
	"location":                      {blk(cS|cL, take12, cL)},
	"limit_except":                  {blk(cL, arg1More, cLMT)},
	"listen":                        many(cS, arg1More),
	"server_name":                   many(cS, arg1More),
	"types":                         data(cHSL, arg0, entriesTypes),
	"variables_hash_max_size":       one(cH, arg1),
	"variables_hash_bucket_size":    one(cH, arg1),
	"server_names_hash_max_size":    one(cH, arg1),
	"server_names_hash_bucket_size": one(cH, arg1),
	"connection_pool_size":          one(cH|cS, arg1),
	"request_pool_size":             one(cH|cS, arg1),
	"client_header_timeout":         one(cH|cS, arg1),
	"client_header_buffer_size":     one(cH|cS, arg1),
	"large_client_header_buffers":   one(cH|cS, arg2),
	"ignore_invalid_headers":        flag(cH | cS),
	"merge_slashes":                 flag(cH | cS),
	"underscores_in_headers":        flag(cH | cS),
	"types_hash_max_size":           one(cHSL, arg1),
	"types_hash_bucket_size":        one(cHSL, arg1),
	"default_type":                  one(cHSL, arg1),
	"root":                          one(cHSL|cLIF, arg1),
	"alias":                         one(cL, arg1),
	"client_max_body_size":          one(cHSL, arg1),
	"client_body_buffer_size":       one(cHSL, arg1),
	"client_body_timeout":           one(cHSL, arg1),
	"client_body_temp_path":         one(cHSL, take1234),
	"client_body_in_file_only":      one(cHSL, arg1),
	"client_body_in_single_buffer":  flag(cHSL),
	"sendfile":                      flag(cHSL | cLIF),
	"sendfile_max_chunk":            one(cHSL, arg1),
	"subrequest_output_buffer_size": one(cHSL, arg1),
	"aio":                           one(cHSL, arg1),
	"aio_write":                     flag(cHSL),
	"read_ahead":                    one(cHSL, arg1),
	"directio":                      one(cHSL, arg1),
	"directio_alignment":            one(cHSL, arg1),
	"tcp_nopush":                    flag(cHSL),
	"tcp_nodelay":                   flag(cHSL),
	"send_timeout":                  one(cHSL, arg1),
	"send_lowat":                    one(cHSL, arg1),
	"postpone_output":               one(cHSL, arg1),
	"limit_rate":                    one(cHSL|cLIF, arg1),
	"limit_rate_after":              one(cHSL|cLIF, arg1),
	"keepalive_time":                {{ctx: cHSL, args: arg1, unique: true}, {ctx: cU, args: arg1, unique: true}},
	"keepalive_timeout":             {{ctx: cHSL, args: take12, unique: true}, {ctx: cU, args: arg1, unique: true}},
	"keepalive_requests":            {{ctx: cHSL, args: arg1, unique: true}, {ctx: cU, args: arg1, unique: true}},
	"keepalive_disable":             one(cHSL, take12),
	"satisfy":                       one(cHSL, arg1),
	"auth_delay":                    one(cHSL, arg1),
	"internal":                      one(cL, arg0),
	"lingering_close":               one(cHSL, arg1),
	"lingering_time":                one(cHSL, arg1),
	"lingering_timeout":             one(cHSL, arg1),
	"reset_timedout_connection":     flag(cHSL),
	"absolute_redirect":             flag(cHSL),
	"server_name_in_redirect":       flag(cHSL),
	"port_in_redirect":              flag(cHSL),
	"msie_padding":                  flag(cHSL),
	"msie_refresh":                  flag(cHSL),
	"log_not_found":                 flag(cHSL),
	"log_subrequest":                flag(cHSL),
	"recursive_error_pages":         flag(cHSL),
	"server_tokens":                 one(cHSL, arg1),
	"if_modified_since":             one(cHSL, arg1),
	"max_ranges":                    one(cHSL, arg1),
	"chunked_transfer_encoding":     flag(cHSL),
	"etag":                          flag(cHSL),
	"error_page":                    many(cHSL|cLIF, arg2More),
	"post_action":                   one(cHSL|cLIF, arg1),
	"open_file_cache":               one(cHSL, take12),
	"open_file_cache_valid":         one(cHSL, arg1),
	"open_file_cache_min_uses":      one(cHSL, arg1),
	"open_file_cache_errors":        flag(cHSL),
	"open_file_cache_events":        flag(cHSL),
	"resolver":                      one(cHSL, arg1More),
	"resolver_timeout":              one(cHSL, arg1),
	"gzip_vary":                     flag(cHSL),
	"gzip_http_version":             one(cHSL, arg1),
	"gzip_proxied":                  one(cHSL, arg1More),
	"gzip_disable":                  many(cHSL, arg1More),
	"disable_symlinks":              one(cHSL, take12),
	"output_buffers":                one(cHSL, arg2),
	"try_files":                     one(cS|cL, arg2More),

	// upstream
	"upstream":   {blk(cH, arg1, cU)},
	"zone":       one(cU, take12),
	"hash":       one(cU, take12),
	"ip_hash":    one(cU, arg0),
	"least_conn": one(cU, arg0),
	"random":     one(cU, arg0|take12),

	// proxy
	"proxy_pass":                     one(cL|cLIF|cLMT, arg1),
	"proxy_redirect":                 many(cHSL, take12),
	"proxy_cookie_domain":            many(cHSL, take12),
	"proxy_cookie_path":              many(cHSL, take12),
	"proxy_cookie_flags":             many(cHSL, arg1More),
	"proxy_store":                    one(cHSL, arg1),
	"proxy_store_access":             one(cHSL, take123),
	"proxy_buffering":                flag(cHSL),
	"proxy_request_buffering":        flag(cHSL),
	"proxy_ignore_client_abort":      flag(cHSL),
	"proxy_bind":                     one(cHSL, take12),
	"proxy_socket_keepalive":         flag(cHSL),
	"proxy_connect_timeout":          one(cHSL, arg1),
	"proxy_send_timeout":             one(cHSL, arg1),
	"proxy_send_lowat":               one(cHSL, arg1),
	"proxy_intercept_errors":         flag(cHSL),
	"proxy_set_header":               many(cHSL, arg2),
	"proxy_headers_hash_max_size":    one(cHSL, arg1),
	"proxy_headers_hash_bucket_size": one(cHSL, arg1),
	"proxy_set_body":                 one(cHSL, arg1),
	"proxy_method":                   one(cHSL, arg1),
	"proxy_pass_request_headers":     flag(cHSL),
	"proxy_pass_request_body":        flag(cHSL),
	"proxy_buffer_size":              one(cHSL, arg1),
	"proxy_read_timeout":             one(cHSL, arg1),
	"proxy_buffers":                  one(cHSL, arg2),
	"proxy_busy_buffers_size":        one(cHSL, arg1),
	"proxy_force_ranges":             flag(cHSL),
	"proxy_limit_rate":               one(cHSL, arg1),
	"proxy_cache":                    one(cHSL, arg1),
	"proxy_cache_key":                one(cHSL, arg1),
	"proxy_cache_path":               many(cH, arg2More),
	"proxy_cache_bypass":             many(cHSL, arg1More),
	"proxy_no_cache":                 many(cHSL, arg1More),
	"proxy_cache_valid":              many(cHSL, arg1More),
	"proxy_cache_min_uses":           one(cHSL, arg1),
	"proxy_cache_max_range_offset":   one(cHSL, arg1),
	"proxy_cache_use_stale":          one(cHSL, arg1More),
	"proxy_cache_methods":            one(cHSL, arg1More),
	"proxy_cache_lock":               flag(cHSL),
	"proxy_cache_lock_timeout":       one(cHSL, arg1),
	"proxy_cache_lock_age":           one(cHSL, arg1),
	"proxy_cache_revalidate":         flag(cHSL),
	"proxy_cache_convert_head":       flag(cHSL),
	"proxy_cache_background_update":  flag(cHSL),
	"proxy_temp_path":                one(cHSL, take1234),
	"proxy_max_temp_file_size":       one(cHSL, arg1),
	"proxy_temp_file_write_size":     one(cHSL, arg1),
	"proxy_next_upstream":            one(cHSL, arg1More),
	"proxy_next_upstream_tries":      one(cHSL, arg1),
	"proxy_next_upstream_timeout":    one(cHSL, arg1),
	"proxy_pass_header":              many(cHSL, arg1),
	"proxy_hide_header":              many(cHSL, arg1),
	"proxy_ignore_headers":           one(cHSL, arg1More),
	"proxy_http_version":             one(cHSL, arg1),
	"proxy_ssl_session_reuse":        flag(cHSL),
	"proxy_ssl_protocols":            one(cHSL, arg1More),
	"proxy_ssl_ciphers":              one(cHSL, arg1),
	"proxy_ssl_name":                 one(cHSL, arg1),
	"proxy_ssl_server_name":          flag(cHSL),
	"proxy_ssl_verify":               flag(cHSL),
	"proxy_ssl_verify_depth":         one(cHSL, arg1),
	"proxy_ssl_trusted_certificate":  one(cHSL, arg1),
	"proxy_ssl_crl":                  one(cHSL, arg1),
	"proxy_ssl_certificate":          one(cHSL, arg1),
	"proxy_ssl_certificate_key":      one(cHSL, arg1),
	"proxy_ssl_password_file":        one(cHSL, arg1),
	"proxy_ssl_conf_command":         many(cHSL, arg2),

	// rewrite
	"rewrite":                     many(cS|cL|cSIF|cLIF, take23),
	"return":                      many(cS|cL|cSIF|cLIF, take12),
	"break":                       many(cS|cL|cSIF|cLIF, arg0),
	"if":                          {blk(cS|cL, arg1More, ctxIf)},
	"set":                         many(cS|cL|cSIF|cLIF, arg2),
	"rewrite_log":                 flag(cHSL | cSIF | cLIF),
	"uninitialized_variable_warn": flag(cHSL | cSIF | cLIF),

	// map, geo, split_clients, charset
	"map":                  data(cH, arg2, entriesMap),
	"map_hash_max_size":    one(cH, arg1),
	"map_hash_bucket_size": one(cH, arg1),
	"geo":                  data(cH, take12, entriesGeo),
	"split_clients":        data(cH, arg2, entriesSplitClients),
	"charset":              one(cHSL|cLIF, arg1),
	"source_charset":       one(cHSL|cLIF, arg1),
	"override_charset":     flag(cHSL | cLIF),
	"charset_types":        one(cHSL, arg1More),
	"charset_map":          data(cH, arg2, entriesCharsetMap),

	// headers, index, autoindex, access, log
	"add_header":           many(cHSL|cLIF, take23),
	"add_trailer":          many(cHSL|cLIF, take23),
	"expires":              one(cHSL|cLIF, take12),
	"index":                many(cHSL, arg1More),
	"autoindex":            flag(cHSL),
	"autoindex_format":     one(cHSL, arg1),
	"autoindex_localtime":  flag(cHSL),
	"autoindex_exact_size": flag(cHSL),
	"allow":                many(cHSL|cLMT, arg1),
	"deny":                 many(cHSL|cLMT, arg1),
	"log_format":           many(cH, arg2More),
	"access_log":           many(cHSL|cLIF|cLMT, arg1More),
	"open_log_file_cache":  one(cHSL, take1234),

	// gzip
	"gzip":            flag(cHSL | cLIF),
	"gzip_buffers":    one(cHSL, arg2),
	"gzip_types":      one(cHSL, arg1More),
	"gzip_comp_level": one(cHSL, arg1),
	"gzip_window":     one(cHSL, arg1),
	"gzip_hash":       one(cHSL, arg1),
	"gzip_min_length": one(cHSL, arg1),
	"gzip_static":     one(cHSL, arg1),
	"gunzip":          flag(cHSL),
	"gunzip_buffers":  one(cHSL, arg2),

	// ssl and http2
	"ssl":                          flag(cH | cS),
	"ssl_certificate":              many(cH|cS, arg1),
	"ssl_certificate_key":          many(cH|cS, arg1),
	"ssl_password_file":            one(cH|cS, arg1),
	"ssl_dhparam":                  one(cH|cS, arg1),
	"ssl_ecdh_curve":               one(cH|cS, arg1),
	"ssl_protocols":                one(cH|cS, arg1More),
	"ssl_ciphers":                  one(cH|cS, arg1),
	"ssl_buffer_size":              one(cH|cS, arg1),
	"ssl_verify_client":            one(cH|cS, arg1),
	"ssl_verify_depth":             one(cH|cS, arg1),
	"ssl_client_certificate":       one(cH|cS, arg1),
	"ssl_trusted_certificate":      one(cH|cS, arg1),
	"ssl_prefer_server_ciphers":    flag(cH | cS),
	"ssl_session_cache":            one(cH|cS, take12),
	"ssl_session_tickets":          flag(cH | cS),
	"ssl_session_ticket_key":       many(cH|cS, arg1),
	"ssl_session_timeout":          one(cH|cS, arg1),
	"ssl_crl":                      one(cH|cS, arg1),
	"ssl_ocsp":                     one(cH|cS, arg1),
	"ssl_ocsp_cache":               one(cH|cS, arg1),
	"ssl_ocsp_responder":           one(cH|cS, arg1),
	"ssl_stapling":                 flag(cH | cS),
	"ssl_stapling_file":            one(cH|cS, arg1),
	"ssl_stapling_responder":       one(cH|cS, arg1),
	"ssl_stapling_verify":          flag(cH | cS),
	"ssl_early_data":               flag(cH | cS),
	"ssl_conf_command":             many(cH|cS, arg2),
	"ssl_reject_handshake":         flag(cH | cS),
	"http2_recv_buffer_size":       one(cH, arg1),
	"http2_pool_size":              one(cH|cS, arg1),
	"http2_max_concurrent_streams": one(cH|cS, arg1),
	"http2_max_concurrent_pushes":  one(cH|cS, arg1),
	"http2_max_requests":           one(cH|cS, arg1),
	"http2_max_field_size":         one(cH|cS, arg1),
	"http2_max_header_size":        one(cH|cS, arg1),
	"http2_streams_index_size":     one(cH|cS, arg1),
	"http2_recv_timeout":           one(cH|cS, arg1),
	"http2_idle_timeout":           one(cH|cS, arg1),
	"http2_chunk_size":             one(cHSL, arg1),
	"http2_body_preread_size":      one(cH|cS, arg1),
	"http2_push_preload":           flag(cHSL),
	"http2_push":                   many(cHSL, arg1),

	// realip, limits, auth, status
	"set_real_ip_from":         many(cHSL, arg1),
	"real_ip_header":           one(cHSL, arg1),
	"real_ip_recursive":        flag(cHSL),
	"limit_req_zone":           many(cH, take34),
	"limit_req":                many(cHSL, take123),
	"limit_req_log_level":      one(cHSL, arg1),
	"limit_req_status":         one(cHSL, arg1),
	"limit_req_dry_run":        flag(cHSL),
	"limit_conn_zone":          many(cH, arg2),
	"limit_conn":               many(cHSL, arg2),
	"limit_conn_log_level":     one(cHSL, arg1),
	"limit_conn_status":        one(cHSL, arg1),
	"limit_conn_dry_run":       flag(cHSL),
	"auth_basic":               one(cHSL|cLMT, arg1),
	"auth_basic_user_file":     one(cHSL|cLMT, arg1),
	"auth_request":             one(cHSL, arg1),
	"auth_request_set":         many(cHSL, arg2),
	"stub_status":              one(cS|cL, arg0|arg1),
	"valid_referers":           many(cS|cL, arg1More),
	"sub_filter":               many(cHSL, arg2),
	"sub_filter_once":          flag(cHSL),
	"sub_filter_types":         one(cHSL, arg1More),
	"sub_filter_last_modified": flag(cHSL),
	"mirror":                   many(cHSL, arg1),
	"mirror_request_body":      flag(cHSL),
	"ssi":                      flag(cHSL | cLIF),
	"empty_gif":                one(cL, arg0),

	// fastcgi and friends, common enough in hand-written configs that
	// "unknown directive" would be the wrong message for them
	"fastcgi_pass":             one(cL|cLIF, arg1),
	"fastcgi_param":            many(cHSL, take23),
	"fastcgi_index":            one(cHSL, arg1),
	"fastcgi_split_path_info":  one(cL, arg1),
	"fastcgi_read_timeout":     one(cHSL, arg1),
	"fastcgi_intercept_errors": flag(cHSL),
	"fastcgi_buffers":          one(cHSL, arg2),
	"fastcgi_buffer_size":      one(cHSL, arg1),
	"uwsgi_pass":               one(cL|cLIF, arg1),
	"uwsgi_param":              many(cHSL, take23),
	"scgi_pass":                one(cL|cLIF, arg1),
	"scgi_param":               many(cHSL, take23),
	"grpc_pass":                one(cL|cLIF, arg1),
	"grpc_set_header":          many(cHSL, arg2),
	"memcached_pass":           one(cL|cLIF, arg1),
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
