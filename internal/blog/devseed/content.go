package devseed

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The vocabulary of generated posts: enough words that 100,000 titles
// rarely collide, technical enough to read like a developer's blog.
var (
	nouns = strings.Fields(`cache server socket proxy database index query schema migration thread
		process kernel buffer queue stream packet request response header cookie session token
		certificate domain route template theme layout font colour image gallery feed sitemap
		archive draft post page author tag editor compiler runtime garbage collector allocator
		benchmark profile trace metric log alert dashboard deployment container cluster node
		replica shard backup snapshot journal transaction lock latch mutex channel goroutine
		closure interface struct pointer slice map string byte rune parser lexer grammar token
		function method module package library framework toolchain pipeline workflow release
		version branch commit patch review test fixture mock stub budget deadline roadmap team
		garden kitchen bicycle mountain river coffee notebook keyboard monitor window terminal`)
	adjectives = strings.Fields(`fast slow small large quiet noisy simple complex hidden visible
		stale fresh broken robust lazy eager strict loose shared private public internal
		concurrent parallel sequential idle busy cold warm hot cheap expensive careful naive
		boring curious practical elegant ugly tiny huge modern legacy portable durable fragile`)
	verbs = strings.Fields(`build measure cache serve route parse render index migrate profile
		trace debug deploy release review test refactor benchmark compress encrypt schedule
		replace rewrite tune scale shard replicate monitor explain simplify document ship`)
	titleShapes = []string{
		"How to %[3]s a %[1]s %[2]s",
		"Why the %[2]s is %[1]s",
		"Notes on %[1]s %[2]s and the %[4]s",
		"A %[1]s guide to the %[2]s",
		"What I learned when I tried to %[3]s the %[2]s",
		"The %[1]s %[2]s, part %[5]d",
		"%[3]s your %[2]s, not your %[4]s",
		"On %[1]s %[2]s",
		"When the %[2]s meets the %[4]s",
		"Ten ways to %[3]s a %[2]s",
	}
	firstNames = strings.Fields(`Ada Alan Barbara Brian Claude Dennis Donald Edsger Frances Grace
		Guido Hedy Jean Ken Leslie Linus Margaret Niklaus Radia Rob Sophie Tim Vint Whitfield`)
	lastNames = strings.Fields(`Lovelace Turing Liskov Kernighan Shannon Ritchie Knuth Dijkstra
		Allen Hopper Rossum Lamarr Sammet Thompson Lamport Torvalds Hamilton Wirth Perlman Pike
		Wilson Berners-Lee Cerf Diffie`)
	codeLangs = []string{"go", "sql", "nginx", "sh", "json", "javascript", "python"}
)

// words draws n words of the vocabulary.
func words(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		switch r.IntN(4) {
		case 0:
			out[i] = adjectives[r.IntN(len(adjectives))]
		case 1:
			out[i] = verbs[r.IntN(len(verbs))]
		default:
			out[i] = nouns[r.IntN(len(nouns))]
		}
	}
	return out
}

func title(r *rand.Rand) string {
	shape := titleShapes[r.IntN(len(titleShapes))]
	t := fmt.Sprintf(shape, adjectives[r.IntN(len(adjectives))], nouns[r.IntN(len(nouns))],
		verbs[r.IntN(len(verbs))], nouns[r.IntN(len(nouns))], 1+r.IntN(12))
	// fmt's %! errors cannot happen: every shape uses only these five.
	return strings.ToUpper(t[:1]) + t[1:]
}

// sentence is 6 to 20 words, capitalised, with the odd bit of inline
// Markdown (emphasis, code, a link) the way people write.
func sentence(r *rand.Rand) string {
	w := words(r, 6+r.IntN(15))
	switch r.IntN(12) {
	case 0:
		i := r.IntN(len(w))
		w[i] = "**" + w[i] + "**"
	case 1:
		i := r.IntN(len(w))
		w[i] = "*" + w[i] + "*"
	case 2:
		i := r.IntN(len(w))
		w[i] = "`" + w[i] + "()`"
	case 3:
		i := r.IntN(len(w))
		w[i] = "[" + w[i] + "](https://example.com/" + w[i] + ")"
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func paragraph(r *rand.Rand) string {
	n := 2 + r.IntN(6)
	ss := make([]string, n)
	for i := range ss {
		ss[i] = sentence(r)
	}
	return strings.Join(ss, " ")
}

// body is a Markdown post of varied length: most posts are a few
// paragraphs, a few are long reads, as on a real blog. It uses the
// Markdown Ghost's editor produces: headings, lists, quotes, fenced code
// and now and then a table or a footnote.
func body(r *rand.Rand) string {
	// A skewed length: the square of a uniform draw puts most posts short.
	u := r.Float64()
	blocks := 2 + int(u*u*24)
	var b strings.Builder
	footnote := false
	for i := range blocks {
		if i > 0 {
			b.WriteString("\n\n")
		}
		switch k := r.IntN(20); {
		case k < 12 || i == 0:
			b.WriteString(paragraph(r))
		case k < 14:
			w := words(r, 2+r.IntN(4))
			fmt.Fprintf(&b, "## %s%s", strings.ToUpper(w[0][:1]), strings.Join(w, " ")[1:])
		case k < 16:
			for j := range 2 + r.IntN(4) {
				if j > 0 {
					b.WriteByte('\n')
				}
				fmt.Fprintf(&b, "- %s", sentence(r))
			}
		case k == 16:
			fmt.Fprintf(&b, "> %s", paragraph(r))
		case k == 17:
			lang := codeLangs[r.IntN(len(codeLangs))]
			fmt.Fprintf(&b, "```%s\n", lang)
			for range 2 + r.IntN(8) {
				w := words(r, 2+r.IntN(5))
				fmt.Fprintf(&b, "%s(%s)\n", w[0], strings.Join(w[1:], ", "))
			}
			b.WriteString("```")
		case k == 18:
			b.WriteString("| name | value | note |\n|---|---|---|\n")
			for range 2 + r.IntN(4) {
				w := words(r, 2)
				fmt.Fprintf(&b, "| %s | %d | %s |\n", w[0], r.IntN(10000), w[1])
			}
		default:
			if footnote {
				b.WriteString(paragraph(r))
				continue
			}
			footnote = true
			fmt.Fprintf(&b, "%s[^1]\n\n[^1]: %s", sentence(r), sentence(r))
		}
	}
	return b.String()
}

// authorName returns the i-th distinct author name.
func authorName(i int) string {
	name := firstNames[i%len(firstNames)] + " " + lastNames[(i/len(firstNames)+i)%len(lastNames)]
	if round := i / (len(firstNames) * len(lastNames)); round > 0 {
		name += fmt.Sprintf(" %d", round+1)
	}
	return name
}

// tagName returns the i-th distinct tag name; every tenth is an internal
// "#" tag, which Ghost keeps off the site.
func tagName(i int) string {
	base := nouns[i%len(nouns)]
	if round := i / len(nouns); round > 0 {
		base = adjectives[(round-1)%len(adjectives)] + " " + base
		if extra := (round - 1) / len(adjectives); extra > 0 {
			base += fmt.Sprintf(" %d", extra+1)
		}
	}
	name := strings.ToUpper(base[:1]) + base[1:]
	if i%10 == 9 {
		return "#" + name
	}
	return name
}
