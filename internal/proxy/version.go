package proxy

import (
	"fmt"
	"runtime"
	"strings"
)

// withoutModules are the http modules that nginx builds by default and wisp
// does not implement. Tools that probe `nginx -V` for a feature look for
// --without-<module>, so the list must stay true: remove a module from it in
// the commit that implements it.
var withoutModules = []string{
	"http_ssi_module", "http_userid_module", "http_auth_basic_module",
	"http_mirror_module", "http_autoindex_module", "http_geo_module",
	"http_split_clients_module", "http_referer_module", "http_fastcgi_module",
	"http_uwsgi_module", "http_scgi_module", "http_grpc_module",
	"http_memcached_module", "http_limit_conn_module", "http_limit_req_module",
	"http_empty_gif_module", "http_browser_module",
}

// withModules are the modules nginx builds only on request that wisp has;
// the ones it does not have (mail, stream, realip, ...) are simply absent,
// as in an nginx built without them.
var withModules = []string{"http_ssl_module", "http_v2_module"}

// VersionText is what `-v` (configure false) or `-V` (configure true)
// prints, in nginx's layout, with the program name it was invoked as.
func VersionText(name, version string, configure bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s version: wisp/%s\n", name, version)
	if !configure {
		return b.String()
	}
	fmt.Fprintf(&b, "built with Go %s (crypto/tls)\n", runtime.Version())
	b.WriteString("TLS SNI support enabled\n")
	b.WriteString("configure arguments:")
	for _, m := range withModules {
		b.WriteString(" --with-" + m)
	}
	for _, m := range withoutModules {
		b.WriteString(" --without-" + m)
	}
	b.WriteString("\n")
	return b.String()
}
