// Package slug holds Ghost's slug rules in one place: how a title becomes
// a URL segment, and how a taken slug is de-duplicated with -2, -3, ...
package slug

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// Kind is the model a slug is for; it changes a few of Ghost's rules.
type Kind string

// The kinds Ghost distinguishes.
const (
	Post Kind = "post"
	Tag  Kind = "tag"
	User Kind = "user"
)

// MaxLen is Ghost's cut-off for generated slugs.
const MaxLen = 185

// Make returns the slug of text for a model of the given kind, following
// @tryghost/string's slugify plus Ghost's generateSlug rules.
func Make(text string, kind Kind) string {
	var b strings.Builder
	internal := kind == Tag && strings.HasPrefix(strings.TrimSpace(text), "#")
	for _, r := range text {
		switch {
		case r == '\'' || r == '’' || r == '‘':
			// apostrophes vanish: "it's" -> "its"
		case unicode.Is(unicode.Cf, r) || (unicode.IsControl(r) && !unicode.IsSpace(r)):
			// invisible formatting and control characters vanish
		case r == '£' || unicode.IsSpace(r) || strings.ContainsRune(reserved, r):
			b.WriteByte('-')
		case r < 0x80:
			b.WriteRune(unicode.ToLower(r))
		default:
			// Characters without an ASCII form are dropped; Ghost's unidecode
			// covers more scripts than this table does.
			b.WriteString(fold(unicode.ToLower(r)))
		}
	}
	s := collapse(b.String())
	if len(s) > MaxLen {
		s = strings.TrimRight(s[:MaxLen], "-")
	}
	if internal {
		s = "hash-" + s
	}
	switch {
	case s == "":
		return string(kind)
	case len(s) == 1:
		return string(kind) + "-" + s
	case s == "ghost" || s == "rss" || s == "amp":
		return s + "-" + string(kind)
	}
	return s
}

// reserved are the characters Ghost replaces with a hyphen.
const reserved = ".@:/?#[]!$&()*+,;=\\%<>|^~\"{}`–—"

// collapse squeezes runs of hyphens and trims them from both ends.
func collapse(s string) string {
	var b strings.Builder
	prevDash := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if !prevDash {
				b.WriteByte('-')
			}
			prevDash = true
			continue
		}
		b.WriteByte(c)
		prevDash = false
	}
	return strings.TrimRight(b.String(), "-")
}

// ErrExhausted is returned when no free slug was found within the bound.
var ErrExhausted = errors.New("slug: no free variant found")

// maxTries bounds the -N search; a site with this many equal titles has a
// different problem.
const maxTries = 10000

// Unique returns base if it is free, else the first free base-2, base-3,
// ... as Ghost does. A numeric suffix already on base is replaced, not
// extended.
func Unique(ctx context.Context, base string, taken func(context.Context, string) (bool, error)) (string, error) {
	used, err := taken(ctx, base)
	if err != nil || !used {
		return base, err
	}
	stem := base
	if i := strings.LastIndexByte(base, '-'); i > 0 {
		if _, err := strconv.Atoi(base[i+1:]); err == nil {
			stem = base[:i]
		}
	}
	for n := 2; n < maxTries; n++ {
		cand := stem + "-" + strconv.Itoa(n)
		used, err := taken(ctx, cand)
		if err != nil {
			return "", err
		}
		if !used {
			return cand, nil
		}
	}
	return "", ErrExhausted
}

// fold maps a lowercase non-ASCII letter to ASCII (Latin scripts only).
func fold(r rune) string {
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return "a"
	case 'æ':
		return "ae"
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return "c"
	case 'ď', 'đ', 'ð':
		return "d"
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return "e"
	case 'ĝ', 'ğ', 'ġ', 'ģ':
		return "g"
	case 'ĥ', 'ħ':
		return "h"
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı':
		return "i"
	case 'ĳ':
		return "ij"
	case 'ĵ':
		return "j"
	case 'ķ':
		return "k"
	case 'ĺ', 'ļ', 'ľ', 'ŀ', 'ł':
		return "l"
	case 'ñ', 'ń', 'ņ', 'ň':
		return "n"
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ŏ', 'ő':
		return "o"
	case 'œ':
		return "oe"
	case 'ŕ', 'ŗ', 'ř':
		return "r"
	case 'ś', 'ŝ', 'ş', 'š', 'ș':
		return "s"
	case 'ß':
		return "ss"
	case 'ţ', 'ť', 'ŧ', 'ț':
		return "t"
	case 'þ':
		return "th"
	case 'ù', 'ú', 'û', 'ü', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų':
		return "u"
	case 'ŵ':
		return "w"
	case 'ý', 'ÿ', 'ŷ':
		return "y"
	case 'ź', 'ż', 'ž':
		return "z"
	}
	return ""
}
