package render

import (
	"errors"
	"strings"
	"testing"
)

func TestSourceRendersMarkdownAndChecksEditorJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      Sources
		want    string
		wantErr string
	}{
		{"markdown", Sources{Markdown: "*hi*"}, "<em>hi</em>", ""},
		{"nothing", Sources{}, "", ""},
		{"malformed lexical", Sources{Lexical: `{"root":`}, "", "lexical is malformed"},
		{"malformed mobiledoc", Sources{Mobiledoc: `[`}, "", "mobiledoc is malformed"},
		{"well-formed lexical is not rendered yet", Sources{Lexical: `{"root":{"children":[]}}`}, "", ErrUnsupported.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Source(tt.in)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("html = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := Source(Sources{Lexical: `{}`}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
}
