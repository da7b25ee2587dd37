package proxy

// Differential hunt over the rewrite module, map, error_page, named
// locations and proxy_pass URI rules: configs of the kind blog owners
// write, each run through real nginx and wisp with a dozen requests.
// Every row that once differed stays as a regression row.

import (
	"strings"
	"testing"
)

// escapedInputs are request paths with escapes, pluses and odd bytes that
// redirects and proxy_pass must carry as nginx does.
var escapedInputs = []struct{ name, path string }{
	{"plain", "/old/a/b?x=1"},
	{"space escape", "/old/a%20b"},
	{"plus", "/old/a+b?y=a+b"},
	{"escaped slash", "/old/a%2Fb"},
	{"escaped question mark", "/old/a%3Fb?q=1"},
	{"escaped hash", "/old/a%23b"},
	{"escaped percent", "/old/100%25"},
	{"escaped ampersand and equals", "/old/a%26b%3Dc"},
	{"utf-8 escaped", "/old/caf%C3%A9"},
	{"utf-8 raw", "/old/caf\xc3\xa9"},
	{"escaped letters", "/old/%61%62c"},
	{"double slash", "/old//a//b"},
	{"dot segments", "/x/../old/./a"},
	{"escaped dot segments", "/old/a/%2e%2e/b"},
	{"quote and angle brackets", "/old/a%22b%3Cc%3E"},
	{"escaped semicolon and comma", "/old/a%3Bb%2Cc"},
	{"escaped tilde and star", "/old/a%7Eb%2Ac"},
	{"escaped control byte", "/old/a%01b"},
	{"escaped apostrophe and brackets", "/old/a%27b%5Bc%5D"},
}

// escapedCases runs every input under /PREFIX/. A return sends its
// captures unescaped, so a control byte would make a header neither side
// can parse: those prefixes skip it.
func escapedCases(prefix string, unescaped bool) []diffCase {
	var cs []diffCase
	for _, in := range escapedInputs {
		if unescaped && in.name == "escaped control byte" {
			continue
		}
		cs = append(cs, diffCase{name: prefix + " " + in.name, raw: get(prefixPath(prefix, in.path))})
	}
	return cs
}

// prefixPath swaps the leading /old/ of an input for /PREFIX/.
func prefixPath(prefix, path string) string {
	const old = "/old/"
	for i := 0; i+len(old) <= len(path); i++ {
		if path[i:i+len(old)] == old {
			return path[:i] + "/" + prefix + "/" + path[i+len(old):]
		}
	}
	return path
}

func TestRedirectCapturesEscapeAsNginx(t *testing.T) {
	var cases []diffCase
	for _, p := range []string{"old", "perm", "ext", "ret", "retq", "retcap", "rwargs", "last", "brk", "rq", "loc", "setv", "named"} {
		cases = append(cases, escapedCases(p, strings.HasPrefix(p, "ret"))...)
	}
	runFlowDiff(t, `
server {
    listen LISTEN;
    server_name flow.test;
    rewrite ^/old/(.*)$ /new/$1 redirect;
    rewrite ^/perm/(.*)$ /new/$1 permanent;
    rewrite ^/ext/(.*)$ https://example.com/$1;
    location /ret/ {
        rewrite ^/ret/(.*)$ /x;
        return 301 https://example.com/$1;
    }
    location ~ ^/retq/(.*)$ { return 301 https://example.com/q?u=$1; }
    location ~ ^/retcap/(?<rest>.*)$ { return 302 /new/$rest$is_args$args; }
    location /rwargs/ { rewrite ^/rwargs/(.*)$ /new?path=$1 redirect; }
    location /last/ { rewrite ^/last/(.*)$ /new/$1 last; }
    location /brk/ {
        rewrite ^/brk/(.*)$ /b/$1 break;
        proxy_pass http://unix:SOCK:/up/;
    }
    location /rq/ { rewrite ^/rq/(.*)$ /new/$1?k=$1 last; }
    location ~ ^/loc/(.*)$ { proxy_pass http://unix:SOCK:/l/$1; }
    location /setv/ {
        if ($uri ~ ^/setv/(.*)$) { set $rest $1; }
        return 200 "rest=$rest uri=$uri ru=$request_uri";
    }
    location /named/ {
        try_files /nonexistent @n;
    }
    location @n { rewrite ^/named/(.*)$ /new/$1?n=$1 redirect; }
    location /new/ { proxy_pass http://unix:SOCK:/backend/; }
    location = /new { proxy_pass http://unix:SOCK; }
}
`, cases)
}
