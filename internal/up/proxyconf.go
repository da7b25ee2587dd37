package up

import (
	"fmt"
	"regexp"
	"strings"
)

// ProxyConfig writes the proxy's config for sites: a bare site file in the
// seed's style, one upstream and one server per site, every server on
// listenAddr and the first one the default. It sends the headers a Ghost
// behind nginx needs (ghost-compat §8.4): without Host the site would see
// the upstream's name, without X-Forwarded-Proto it would redirect https
// visitors in a loop.
func ProxyConfig(dir, listenAddr string, sites []Site) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by wisp up from the site folders of %s at every start;\n", dir)
	b.WriteString("# edits here are lost. To run a config of your own, use wisp proxy -c FILE.\n")
	for i, s := range sites {
		upstream := fmt.Sprintf("site%d_%s", i+1, nonName.ReplaceAllString(s.Name, "_"))
		def := ""
		if i == 0 {
			def = " default_server"
		}
		fmt.Fprintf(&b, `
upstream %s {
    server %s;
}

server {
    listen %s%s;
    server_name %s;
    location / {
        proxy_pass http://%s;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
`, upstream, quote(s.Socket.String()), quote(listenAddr), def, quote(s.Host()), upstream)
	}
	return b.String()
}

// nonName matches what an upstream name had better not contain.
var nonName = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// quote writes an nginx argument, in double quotes when it holds
// characters the lexer would otherwise take as syntax.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}\"'\\$#") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
