package render

import (
	"strings"
	"testing"
)

func TestMarkdownSupportsGhostExtensions(t *testing.T) {
	md := NewMarkdown()
	tests := []struct{ name, src, want string }{
		{"heading ids", "## Hello World", `<h2 id="hello-world">Hello World</h2>`},
		{"tables", "| a | b |\n|---|---|\n| 1 | 2 |", "<table>"},
		{"strikethrough", "~~gone~~", "<del>gone</del>"},
		{"footnotes", "Text[^1]\n\n[^1]: Note.", `class="footnotes"`},
		{"fenced code keeps language", "```go\nx := 1\n```", `<code class="language-go">`},
		{"raw html kept", "<div class=\"x\">hi</div>", `<div class="x">hi</div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := md.HTML(tt.src)
			if err != nil || !strings.Contains(got, tt.want) {
				t.Errorf("HTML(%q) = %q, %v; want it to contain %q", tt.src, got, err, tt.want)
			}
		})
	}
}

func TestPlaintextStripsTagsAndDecodesEntities(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs become lines", "<p>One <b>two</b></p><p>three</p>", "One two\nthree"},
		{"entities decoded", "<p>a &amp; b &lt;c&gt;</p>", "a & b <c>"},
		{"scripts dropped", "<p>x</p><script>alert(1)</script>", "x"},
		{"whitespace collapsed", "<p>  a \n\n  b  </p>", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plaintext(tt.in); got != tt.want {
				t.Errorf("Plaintext = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExcerptCutsAtAWordBoundary(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"short text unchanged", "one two", 10, "one two"},
		{"newlines become spaces", "one\ntwo", 10, "one two"},
		{"long text cut with ellipsis", "alpha beta gamma delta", 13, "alpha beta…"},
		{"multibyte counted as runes", "éééééééééé", 8, "éééééééé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Excerpt(tt.in, tt.max); got != tt.want {
				t.Errorf("Excerpt = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadingTimeMatchesGhost(t *testing.T) {
	words := func(n int) string { return "<p>" + strings.Repeat("word ", n) + "</p>" }
	tests := []struct {
		name    string
		html    string
		feature bool
		want    int
	}{
		{"empty", "", false, 0},
		{"137 words round down", words(137), false, 0},
		{"138 words round up", words(138), false, 1},
		{"550 words", words(550), false, 2},
		{"images add 12, 11, 10 seconds", words(100) + strings.Repeat(`<img src="x">`, 3), false, 1},
		{"feature image counts", words(130), true, 1},
		{"CJK counts characters", "<p>" + strings.Repeat("漢", 550) + "</p>", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReadingTime(tt.html, tt.feature); got != tt.want {
				t.Errorf("ReadingTime = %d, want %d (words %d)", got, tt.want, CountWords(tt.html))
			}
		})
	}
}
