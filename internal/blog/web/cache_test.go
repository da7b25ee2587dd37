package web

import "testing"

func TestPageCacheServesOnlyTheCurrentGeneration(t *testing.T) {
	c := newPageCache(100)
	small := &page{body: make([]byte, 40)}
	c.put(1, "/a/", small)
	tests := []struct {
		name string
		gen  int64
		key  string
		want bool
	}{
		{"hit in the same generation", 1, "/a/", true},
		{"miss for another key", 1, "/b/", false},
		{"miss after the data changed", 2, "/a/", false},
	}
	for _, tt := range tests {
		if _, ok := c.get(tt.gen, tt.key); ok != tt.want {
			t.Errorf("%s: hit = %v, want %v", tt.name, ok, tt.want)
		}
	}
}

func TestPageCacheStaysWithinItsByteBudget(t *testing.T) {
	c := newPageCache(100)
	c.put(1, "/a/", &page{body: make([]byte, 60)})
	c.put(1, "/b/", &page{body: make([]byte, 60)})
	if _, ok := c.get(1, "/b/"); ok {
		t.Error("page over the budget was cached")
	}
	c.put(2, "/b/", &page{body: make([]byte, 60)})
	if _, ok := c.get(2, "/b/"); !ok {
		t.Error("a new generation did not free the budget")
	}
	if _, ok := c.get(2, "/a/"); ok {
		t.Error("page of the old generation survived")
	}
}
