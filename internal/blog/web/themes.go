package web

import (
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"wisp/internal/blog/theme"
)

// themes loads the active theme named by the settings, once per name:
// <contentPath>/themes/<name>/ over the built-in theme.
type themes struct {
	fixed       *theme.Theme
	builtin     *theme.Theme
	contentPath string

	mu     sync.Mutex
	loaded map[string]*theme.Theme
}

func newThemes(fixed *theme.Theme, contentPath string) (*themes, error) {
	builtin, err := theme.Default()
	if err != nil {
		return nil, err
	}
	return &themes{fixed: fixed, builtin: builtin, contentPath: contentPath, loaded: map[string]*theme.Theme{}}, nil
}

// get returns the theme called name. A name that is not a plain folder
// name, or a theme that fails to parse, gives the built-in theme and a
// logged error: a bad theme must not take the site down.
func (t *themes) get(name string, log *slog.Logger) (*theme.Theme, error) {
	if t.fixed != nil {
		return t.fixed, nil
	}
	if t.contentPath == "" || name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return t.builtin, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if th, ok := t.loaded[name]; ok {
		return th, nil
	}
	th, err := theme.Load(filepath.Join(t.contentPath, "themes", name))
	if err != nil {
		log.Error("theme failed to load; using the built-in theme", "theme", name, "err", err)
		th = t.builtin
	}
	t.loaded[name] = th
	return th, nil
}
