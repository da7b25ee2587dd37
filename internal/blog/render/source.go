package render

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sources are a post's editor sources; Ghost keeps one of Lexical and
// Mobiledoc, Wisp's own posts keep Markdown.
type Sources struct {
	Markdown, Lexical, Mobiledoc string
}

// ErrUnsupported is returned for an editor format Wisp cannot render yet.
var ErrUnsupported = errors.New("rendering this editor format is not supported yet")

var shared = NewMarkdown()

// Source renders a post's html from its source. Markdown is rendered;
// Lexical and Mobiledoc are only checked, because their renderers are not
// written yet: a caller keeps the stored html, as Ghost always stores it.
func Source(s Sources) (string, error) {
	switch {
	case s.Markdown != "":
		return shared.HTML(s.Markdown)
	case s.Lexical != "":
		return "", checkJSON("lexical", s.Lexical)
	case s.Mobiledoc != "":
		return "", checkJSON("mobiledoc", s.Mobiledoc)
	}
	return "", nil
}

func checkJSON(format, doc string) error {
	var v map[string]any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return fmt.Errorf("%s is malformed: %w", format, err)
	}
	return fmt.Errorf("%s: %w", format, ErrUnsupported)
}
