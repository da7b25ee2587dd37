package web

import (
	"sync"
	"time"
)

// page is a rendered response, ready to be served again.
type page struct {
	status       int
	contentType  string
	cacheControl string
	body         []byte
	etag         string
	modified     time.Time
	// lastModified is modified formatted for the header, or "" if unknown.
	lastModified string
}

// pageCache holds rendered pages for one data version of the database.
// A page is only served while the version it was rendered at is still
// current, so a write from any process invalidates every page at once.
type pageCache struct {
	maxBytes int

	mu    sync.RWMutex
	gen   int64
	bytes int
	pages map[string]*page
}

func newPageCache(maxBytes int) *pageCache {
	return &pageCache{maxBytes: maxBytes, pages: map[string]*page{}}
}

func (c *pageCache) get(gen int64, key string) (*page, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return nil, false
	}
	p, ok := c.pages[key]
	return p, ok
}

// put stores p as rendered at gen. A put from another generation starts
// the cache over; get's generation check keeps stale pages from ever
// being served.
func (c *pageCache) put(gen int64, key string, p *page) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		c.gen = gen
		c.bytes = 0
		clear(c.pages)
	}
	if _, dup := c.pages[key]; dup || c.bytes+len(p.body) > c.maxBytes {
		// Past the budget pages are rendered per request: slower, but a
		// large site's memory stays bounded.
		return
	}
	c.pages[key] = p
	c.bytes += len(p.body)
}
