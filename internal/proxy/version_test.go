package proxy

import (
	"strings"
	"testing"
)

func TestVersionTextNamesWhatIsMissing(t *testing.T) {
	tests := []struct {
		name      string
		configure bool
		want      []string
		notWant   []string
	}{
		{"-v prints only the version line", false, []string{"nginx version: wisp/1.2.3\n"}, []string{"configure arguments"}},
		{"-V marks unimplemented default modules", true,
			[]string{"configure arguments:", "--without-http_ssi_module", "--without-http_fastcgi_module", "--with-http_ssl_module", "--with-http_v2_module"},
			[]string{"--without-http_proxy_module", "--without-http_rewrite_module", "--without-http_gzip_module", "--without-http_map_module"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := VersionText("nginx", "1.2.3", tc.configure)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in:\n%s", w, got)
				}
			}
		})
	}
}
