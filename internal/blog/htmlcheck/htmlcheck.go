// Package htmlcheck is a small well-formedness check for the HTML the
// theme emits, used by tests: every non-void element is closed in order,
// ids are unique, and <html> carries a lang attribute.
package htmlcheck

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	tagRE   = regexp.MustCompile(`(?s)<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`)
	idRE    = regexp.MustCompile(`\sid="([^"]*)"`)
	langRE  = regexp.MustCompile(`\slang="[^"]+"`)
	rawText = map[string]bool{"script": true, "style": true}
	void    = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
		"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}
)

// Check returns the first problem found in doc, or nil.
func Check(doc string) error {
	if !strings.HasPrefix(strings.TrimSpace(doc), "<!DOCTYPE html>") {
		return fmt.Errorf("missing <!DOCTYPE html>")
	}
	var stack []string
	ids := map[string]bool{}
	sawLang := false
	rest := doc
	for {
		loc := tagRE.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		m := rest[loc[0]:loc[1]]
		if strings.HasPrefix(m, "<!--") {
			rest = rest[loc[1]:]
			continue
		}
		closing := rest[loc[2]:loc[3]] == "/"
		name := strings.ToLower(rest[loc[4]:loc[5]])
		attrs := rest[loc[6]:loc[7]]
		rest = rest[loc[1]:]
		switch {
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return fmt.Errorf("</%s> does not close the open element (open: %v)", name, stack)
			}
			stack = stack[:len(stack)-1]
		case void[name]:
		default:
			if name == "html" {
				sawLang = langRE.MatchString(attrs)
			}
			if id := idRE.FindStringSubmatch(attrs); id != nil {
				if ids[id[1]] {
					return fmt.Errorf("duplicate id %q", id[1])
				}
				ids[id[1]] = true
			}
			if rawText[name] {
				end := strings.Index(strings.ToLower(rest), "</"+name+">")
				if end < 0 {
					return fmt.Errorf("<%s> is never closed", name)
				}
				rest = rest[end+len(name)+3:]
				continue
			}
			stack = append(stack, name)
		}
	}
	if len(stack) != 0 {
		return fmt.Errorf("unclosed elements: %v", stack)
	}
	if !sawLang {
		return fmt.Errorf("<html> has no lang attribute")
	}
	return nil
}
