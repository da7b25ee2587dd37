package render

import (
	"bytes"
	"fmt"
	"html"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// codeBlocks renders fenced code blocks with chroma on the server, as
// spans with chroma's short class names, so that a post's code is coloured
// without any JavaScript; the theme's stylesheet gives the classes their
// colours in light and dark mode. The <code> keeps Ghost's
// class="language-X", which themes written for Prism look for.
type codeBlocks struct{}

func (codeBlocks) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, renderCodeBlock)
}

func renderCodeBlock(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	lang := string(n.Language(src))
	var code bytes.Buffer
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		code.Write(seg.Value(src))
	}
	if lexer := lexers.Get(lang); lang != "" && lexer != nil {
		it, err := chroma.Coalesce(lexer).Tokenise(nil, code.String())
		if err == nil {
			f := chromahtml.New(chromahtml.WithClasses(true), chromahtml.WithPreWrapper(preWrapper{lang: lang}))
			var out bytes.Buffer
			if err := f.Format(&out, styles.Fallback, it); err == nil {
				_, err = w.Write(out.Bytes())
				return ast.WalkSkipChildren, err
			}
		}
	}
	// An unknown or missing language, or a lexer that failed: plain code,
	// as goldmark itself writes it.
	w.WriteString("<pre><code")
	if lang != "" {
		fmt.Fprintf(w, ` class="language-%s"`, html.EscapeString(lang))
	}
	w.WriteString(">")
	w.WriteString(html.EscapeString(code.String()))
	_, err := w.WriteString("</code></pre>\n")
	return ast.WalkSkipChildren, err
}

// preWrapper opens the block the way the theme styles it.
type preWrapper struct{ lang string }

func (p preWrapper) Start(code bool, _ string) string {
	if !code {
		return `<pre class="chroma">`
	}
	return fmt.Sprintf(`<pre class="chroma"><code class="language-%s">`, html.EscapeString(p.lang))
}

func (p preWrapper) End(code bool) string {
	if !code {
		return "</pre>"
	}
	return "</code></pre>"
}
