package render

import (
	"strings"
	"testing"
)

func TestFencedCodeIsHighlightedOnTheServer(t *testing.T) {
	tests := []struct {
		name, md string
		want     []string
		notWant  []string
	}{
		{"a known language gets chroma's classes and Ghost's language class",
			"```go\nfunc main() {} // hi\n```\n",
			[]string{`<pre class="chroma"><code class="language-go">`, `<span class="kd">func</span>`, `<span class="c1">// hi</span>`, "</code></pre>"}, nil},
		{"an unknown language stays plain and escaped",
			"```nosuchlang\na<b\n```\n",
			[]string{`<pre><code class="language-nosuchlang">a&lt;b`}, []string{"chroma"}},
		{"no language stays plain",
			"```\n<x>\n```\n",
			[]string{"<pre><code>&lt;x&gt;\n</code></pre>"}, []string{"chroma"}},
		{"a language name cannot inject markup",
			"```\"><script>\nx\n```\n",
			[]string{`class="language-&#34;&gt;&lt;script&gt;"`}, []string{"<script>"}},
	}
	md := NewMarkdown()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := md.HTML(tc.md)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in\n%s", w, got)
				}
			}
		})
	}
}
