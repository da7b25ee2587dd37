package web

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"wisp/internal/blog/theme"
)

// serveStatic serves /content/images/... from the content folder and
// /assets/... from the active theme, and reports whether rel was one of
// them. Files are opened through os.Root and fs.FS, which refuse ".."
// and symlinks that lead outside their folder.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, rel string) bool {
	var name string
	var open func(string) (fs.File, error)
	switch {
	case rel == "/favicon.ico" || rel == "/favicon.png":
		return h.serveFavicon(w, r, rel)
	case strings.HasPrefix(rel, "/content/images/"):
		name = strings.TrimPrefix(rel, "/content/images/")
		open = h.openImage
	case strings.HasPrefix(rel, "/assets/"):
		name = strings.TrimPrefix(rel, "/assets/")
		open = func(name string) (fs.File, error) {
			th, err := h.activeTheme(r)
			if err != nil {
				return nil, err
			}
			return th.Assets.Open(name)
		}
	default:
		return false
	}
	// The path is already decoded, so an encoded "%2e%2e" arrives here as
	// ".." and fs.ValidPath refuses it like a plain one.
	if name == "" || !fs.ValidPath(name) || strings.HasSuffix(name, ".hbs") {
		http.Error(w, "Not Found", http.StatusNotFound)
		return true
	}
	h.serveFile(w, r, rel, name, open, h.ccStatic)
	return true
}

// activeTheme is the theme the settings name.
func (h *Handler) activeTheme(r *http.Request) (*theme.Theme, error) {
	s, err := h.src.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	return h.themes.get(s.Get("active_theme", ""), h.log)
}

// cacheControlFavicon is Ghost's caching.favicon.maxAge.
const cacheControlFavicon = "public, max-age=86400"

// serveFavicon serves Ghost's /favicon.ico and /favicon.png: the site
// icon when one is set (by redirect), else the theme's default icon.
func (h *Handler) serveFavicon(w http.ResponseWriter, r *http.Request, rel string) bool {
	s, err := h.src.Settings(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return true
	}
	if icon := s.Get("icon", ""); icon != "" {
		w.Header().Set("Cache-Control", cacheControlFavicon)
		http.Redirect(w, r, h.absMedia(icon), http.StatusFound)
		return true
	}
	h.serveFile(w, r, rel, strings.TrimPrefix(rel, "/"), func(name string) (fs.File, error) {
		th, err := h.activeTheme(r)
		if err != nil {
			return nil, err
		}
		return th.Root.Open(name)
	}, cacheControlFavicon)
	return true
}

// serveFile serves name through open, or a plain 404.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, rel, name string, open func(string) (fs.File, error), cacheControl string) {
	f, err := open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, fs.ErrPermission) {
			h.log.Warn("static file", "path", rel, "err", err)
		}
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || st.IsDir() || !seekable {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", cacheControl)
	modified := st.ModTime()
	if modified.Unix() <= 0 {
		modified = time.Time{} // embedded files have no time
	}
	http.ServeContent(w, r, path.Base(name), modified, rs)
}

// openImage opens a file under <contentPath>/images.
func (h *Handler) openImage(name string) (fs.File, error) {
	if h.contentPath == "" {
		return nil, fs.ErrNotExist
	}
	root, err := os.OpenRoot(filepath.Join(h.contentPath, "images"))
	if err != nil {
		return nil, err
	}
	defer root.Close() // an open file outlives its root
	return root.Open(name)
}
