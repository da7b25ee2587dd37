package ngxconf

// newerTable lists directives that nginx gained after the release
// table_gen.go was probed from (Debian's 1.22), written by hand as the
// nginx release that introduced them documents them. They are kept apart
// from the generated table so that regenerating it never drops them, and
// TestNewerTableIsNotInTheGeneratedOne flags an entry that a newer probed
// binary makes redundant. Read-only after initialisation.
var newerTable = map[string][]spec{
	// nginx 1.25.1, ngx_http_v2_module: "http2 on | off;", default off,
	// in http and server; a flag slot, so a second one at a level is
	// "is duplicate". It supersedes the listen directive's http2
	// parameter, which 1.25.1 and later still accept with a [warn].
	"http2": {{ctx: cH | cS, args: argFlag, unique: true}},
}

// lookupSpecs finds a directive in the generated table, then in the
// hand-written table of newer ones.
func lookupSpecs(name string) ([]spec, bool) {
	if specs, ok := table[name]; ok {
		return specs, true
	}
	specs, ok := newerTable[name]
	return specs, ok
}
