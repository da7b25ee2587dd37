// Package render turns post sources into what the site shows: Markdown
// into HTML (goldmark with the extensions Ghost's Markdown card has), HTML
// into plaintext, excerpts, and Ghost's reading-time estimate.
package render

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Markdown converts Markdown to HTML. It is safe for concurrent use.
type Markdown struct {
	md goldmark.Markdown
}

// NewMarkdown returns a converter with GFM tables, strikethrough,
// autolinks, task lists, footnotes and heading ids. Raw HTML is kept, as
// Ghost's Markdown card keeps it: the author is trusted.
func NewMarkdown() *Markdown {
	return &Markdown{md: goldmark.New(
		goldmark.WithExtensions(extension.GFM, extension.Footnote),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		goldmark.WithRendererOptions(gmhtml.WithUnsafe(),
			renderer.WithNodeRenderers(util.Prioritized(codeBlocks{}, 100))),
	)}
}

// HTML renders src.
func (m *Markdown) HTML(src string) (string, error) {
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(src), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return buf.String(), nil
}

var (
	// Ghost's helpers count with <(?:.|\n)*?>; this matches the same
	// text without backtracking. Good enough for HTML we rendered
	// ourselves or Ghost stored.
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	imgRE   = regexp.MustCompile(`<img(?:.|\n)*?>`)
	dropRE  = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>`)
	blockRE = regexp.MustCompile(`(?i)</?(p|div|h[1-6]|li|ul|ol|blockquote|pre|table|tr|br|hr|figure|figcaption|section|article|header|footer)\b[^>]*>`)
)

// Plaintext strips HTML to text: block elements become line breaks,
// entities are decoded and runs of whitespace collapse.
func Plaintext(h string) string {
	s := dropRE.ReplaceAllString(h, "")
	s = blockRE.ReplaceAllString(s, "\n")
	s = tagRE.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	return strings.TrimSpace(collapseSpace(s))
}

// collapseSpace turns each run of ASCII whitespace into one line break if
// the run holds one, else into one space. It is one pass over the text
// (two regexp replacements took half the time of a bulk import).
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isASCIISpace(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		sep := byte(' ')
		for ; i < len(s) && isASCIISpace(s[i]); i++ {
			if s[i] == '\n' {
				sep = '\n'
			}
		}
		b.WriteByte(sep)
	}
	return b.String()
}

// isASCIISpace is true for the bytes \s and \v match; they never occur
// inside a multi-byte UTF-8 sequence, so scanning bytes is safe.
func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// Excerpt returns at most maxRunes runes of plaintext, cut at a word
// boundary when one is near, as the Content API's excerpt (500 chars).
func Excerpt(plaintext string, maxRunes int) string {
	s := strings.Join(strings.Fields(plaintext), " ")
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	cut := 0
	for i := range s {
		if cut == maxRunes {
			s = s[:i]
			break
		}
		cut++
	}
	if i := strings.LastIndexByte(s, ' '); i > len(s)*3/4 {
		s = s[:i]
	}
	return strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) }) + "…"
}

var (
	wordRE = regexp.MustCompile(`[a-zA-ZÀ-ÿ0-9_\x{0392}-\x{03c9}\x{0410}-\x{04F9}]+|[\x{4E00}-\x{9FFF}\x{3400}-\x{4dbf}\x{f900}-\x{faff}\x{3040}-\x{309f}\x{ac00}-\x{d7af}]+`)
	rtlRE  = regexp.MustCompile(`[\x{0600}-\x{06ff}]+|[\x{0591}-\x{05F4}]+`)
)

// CountWords counts words in HTML the way Ghost's helpers do: CJK runs
// count per character, and Arabic/Hebrew only when nothing else matched.
func CountWords(h string) int {
	text := tagRE.ReplaceAllString(h, " ")
	matches := wordRE.FindAllString(text, -1)
	if matches == nil {
		matches = rtlRE.FindAllString(text, -1)
	}
	n := 0
	for _, m := range matches {
		if r, _ := utf8.DecodeRuneInString(m); r >= 0x4E00 {
			n += utf8.RuneCountInString(m)
		} else {
			n++
		}
	}
	return n
}

// ReadingTime is Ghost's estimate in whole minutes: 275 words a minute,
// plus 12 s for the first image, 11 s for the second, down to 3 s each.
// A feature image counts as one more image.
func ReadingTime(h string, hasFeatureImage bool) int {
	images := len(imgRE.FindAllStringIndex(h, -1))
	if hasFeatureImage {
		images++
	}
	seconds := float64(CountWords(h)) / (275.0 / 60.0)
	for i := 0; i < images; i++ {
		seconds += float64(max(12-i, 3))
	}
	// JavaScript's Math.round rounds halves up, unlike math.Round.
	return int(math.Floor(seconds/60 + 0.5))
}
