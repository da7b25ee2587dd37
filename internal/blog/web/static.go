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
)

// serveStatic serves /content/images/... from the content folder and
// /assets/... from the active theme, and reports whether rel was one of
// them. Files are opened through os.Root and fs.FS, which refuse ".."
// and symlinks that lead outside their folder.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, rel string) bool {
	var name string
	var open func(string) (fs.File, error)
	switch {
	case strings.HasPrefix(rel, "/content/images/"):
		name = strings.TrimPrefix(rel, "/content/images/")
		open = h.openImage
	case strings.HasPrefix(rel, "/assets/"):
		name = strings.TrimPrefix(rel, "/assets/")
		open = func(name string) (fs.File, error) {
			s, err := h.src.Settings(r.Context())
			if err != nil {
				return nil, err
			}
			th, err := h.themes.get(s.Get("active_theme", ""), h.log)
			if err != nil {
				return nil, err
			}
			return th.Assets.Open(name)
		}
	default:
		return false
	}
	// The router sees the decoded path; a name that still holds "%"
	// or ".." segments is refused rather than interpreted again.
	if name == "" || !fs.ValidPath(name) || strings.HasSuffix(name, ".hbs") {
		http.Error(w, "Not Found", http.StatusNotFound)
		return true
	}
	f, err := open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, fs.ErrPermission) {
			h.log.Warn("static file", "path", rel, "err", err)
		}
		http.Error(w, "Not Found", http.StatusNotFound)
		return true
	}
	defer f.Close()
	st, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || st.IsDir() || !seekable {
		http.Error(w, "Not Found", http.StatusNotFound)
		return true
	}
	w.Header().Set("Cache-Control", h.ccStatic)
	modified := st.ModTime()
	if modified.Unix() <= 0 {
		modified = time.Time{} // embedded files have no time
	}
	http.ServeContent(w, r, path.Base(name), modified, rs)
	return true
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
