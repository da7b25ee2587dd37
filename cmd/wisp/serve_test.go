package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeRejectsBadInvocations(t *testing.T) {
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "config.production.json"), []byte("{\n  \"server\": {\"port\": 2369,}\n}"), 0o644)
	perm := t.TempDir()
	os.WriteFile(filepath.Join(perm, "config.production.json"), []byte(`{"server": {"socket": {"path": "x.sock", "permissions": "rw-rw-rw-"}}}`), 0o644)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"unexpected argument", []string{"extra"}, 2, []string{"unexpected argument"}},
		{"malformed config names file and line:col", []string{"--dir", bad}, 1, []string{"config.production.json:2:", "invalid JSON"}},
		{"non-octal permissions", []string{"--dir", perm}, 1, []string{"permissions", "rw-rw-rw-"}},
		{"help", []string{"-h"}, 0, []string{"Usage: wisp serve", "-dir", "-env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errb := testEnv("")
			code := dispatch(context.Background(), env, append([]string{"serve"}, tt.args...))
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tt.wantCode, errb)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String()+out.String(), w) {
					t.Errorf("output lacks %q: %s", w, errb)
				}
			}
		})
	}
}
