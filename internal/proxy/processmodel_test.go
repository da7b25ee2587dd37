package proxy

import (
	"context"
	"strings"
	"testing"

	"wisp/internal/ngxconf"
)

func TestProcessModelDirectivesHoldOrSayWhyNot(t *testing.T) {
	tests := []struct {
		name, main string
		wantErr    string // "" when the config must compile
	}{
		{"daemon off holds", "daemon off;", ""},
		{"master_process on is accepted: one process does both jobs", "master_process on;", ""},
		{"master_process off holds", "master_process off;", ""},
		{"daemon on is refused with the reason", "daemon on;", `"daemon on" is not supported by wisp: it runs in the foreground`},
		{"a bad flag is worded as nginx words it", "daemon maybe;", `invalid value "maybe" in "daemon" directive, it must be "on" or "off"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/nginx.conf"
			must(t, writeFile(path, tc.main+"\nevents {}\nhttp {\n server { listen 127.0.0.1:8000; }\n}\n"))
			checkConfError(t, path, tc.wantErr, "nginx.conf:1")
		})
	}
}

// checkConfError loads and compiles the config at path, as wisp proxy
// does, and fails unless it is accepted (wantErr "") or refused with an
// error holding wantErr and the place at ("file:line"). A malformed flag is
// the reader's error, a refused value the compiler's: either counts.
func checkConfError(t *testing.T, path, wantErr, at string) {
	t.Helper()
	src, err := ngxconf.Load(ngxconf.Options{ConfFile: path})
	if err == nil {
		_, err = Compile(context.Background(), src.Main, CompileOptions{Prefix: src.Prefix, DefaultPort: 8000})
	}
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("compile: %v", err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), at)):
		t.Fatalf("got %v, want %q in %s", err, wantErr, at)
	}
}
