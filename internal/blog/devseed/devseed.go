// Package devseed fills a site's database with generated, realistic
// content for development and benchmarks: posts of varied length written
// in Markdown and rendered as the site renders them, tags with a long tail
// of popularity, several authors, and publication dates spread over years.
// The same Options give the same content.
package devseed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"wisp/internal/blog/render"
	"wisp/internal/blog/slug"
	"wisp/internal/blog/store"
)

// Options say what to generate; zero values take the defaults.
type Options struct {
	Posts   int // number of posts (required, > 0)
	Tags    int // distinct tags [50]
	Authors int // authors besides the Owner [5]
	Seed    uint64
	// End is the newest publication time; posts spread back Years from it.
	// The default is a fixed date, so that a seed always gives the same
	// site and no post lies in the future.
	End   time.Time
	Years int // [8]
	// BatchSize is the number of posts per transaction [2000].
	BatchSize int
	// Workers render Markdown in parallel [GOMAXPROCS].
	Workers int
}

// DefaultEnd is the newest publication time when Options.End is zero.
var DefaultEnd = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// Progress is told how many posts have been written so far.
type Progress interface {
	Advance(done, total int)
}

// Summary is what Run wrote.
type Summary struct {
	Posts, Drafts, Pages, Tags, Authors int
	Elapsed                             time.Duration
}

func (o *Options) defaults() error {
	if o.Posts <= 0 {
		return fmt.Errorf("the number of posts must be positive, not %d", o.Posts)
	}
	if o.Tags < 0 || o.Authors < 0 {
		return errors.New("the numbers of tags and authors cannot be negative")
	}
	if o.Tags == 0 {
		o.Tags = 50
	}
	if o.Authors == 0 {
		o.Authors = 5
	}
	if o.End.IsZero() {
		o.End = DefaultEnd
	}
	if o.Years <= 0 {
		o.Years = 8
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// Run generates o.Posts posts into st, one transaction per batch, and
// reports progress after each batch. A cancelled ctx stops it between
// batches; what was committed stays.
func Run(ctx context.Context, st *store.Store, o Options, progress Progress) (Summary, error) {
	started := time.Now()
	if err := o.defaults(); err != nil {
		return Summary{}, err
	}
	g := newGenerator(o)
	sum := Summary{Tags: o.Tags, Authors: o.Authors}
	authors := g.authors()
	// Rendering the next batch overlaps writing this one: the writer is
	// one SQLite connection, rendering uses the other cores.
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan rendered, 1)
	var wg sync.WaitGroup
	wg.Go(func() { g.renderBatches(ctx, render.NewMarkdown(), batches) })
	defer func() {
		cancel()
		for range batches {
		}
		wg.Wait()
	}()
	bulk, err := st.OpenBulk(ctx)
	if err != nil {
		return sum, err
	}
	defer bulk.Close()
	done := 0
	for b := range batches {
		if b.err != nil {
			return sum, b.err
		}
		batch := store.Batch{Posts: b.posts}
		if done == 0 {
			batch.Authors = authors
		}
		if err := bulk.Insert(ctx, batch); err != nil {
			return sum, err
		}
		for _, p := range b.posts {
			switch {
			case p.Type == store.TypePage:
				sum.Pages++
			case p.Status == store.StatusDraft:
				sum.Drafts++
			default:
				sum.Posts++
			}
		}
		done += len(b.posts)
		if progress != nil {
			progress.Advance(done, o.Posts)
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	sum.Elapsed = time.Since(started)
	return sum, nil
}

// rendered is one batch of posts ready to insert, or the error that
// stopped the rendering.
type rendered struct {
	posts []store.BulkPost
	err   error
}

// renderBatches generates and renders every batch in order into out, and
// closes it at the end or when ctx is done.
func (g *generator) renderBatches(ctx context.Context, md *render.Markdown, out chan<- rendered) {
	defer close(out)
	for first := 0; first < g.o.Posts; first += g.o.BatchSize {
		posts := make([]store.BulkPost, min(g.o.BatchSize, g.o.Posts-first))
		for i := range posts {
			posts[i] = g.post(first + i)
		}
		err := renderAll(ctx, md, posts, g.o.Workers)
		select {
		case out <- rendered{posts, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// renderAll fills in HTML and plaintext from each post's Markdown, spread
// over workers; the results do not depend on the scheduling.
func renderAll(ctx context.Context, md *render.Markdown, posts []store.BulkPost, workers int) error {
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				if errs[w] != nil {
					continue // drain, so the feeder never blocks
				}
				h, err := md.HTML(posts[i].Markdown)
				if err != nil {
					errs[w] = fmt.Errorf("post %q: %w", posts[i].Title, err)
					continue
				}
				posts[i].HTML, posts[i].Plaintext = h, render.Plaintext(h)
			}
		})
	}
feed:
	for i := range posts {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// generator makes the i-th post from its own random stream, so a post
// does not depend on the batch size or on how many posts came before.
type generator struct {
	o         Options
	tags      []string
	tagZipf   func(r *rand.Rand) int
	authorIDs []string
	start     time.Time
	step      time.Duration
}

func newGenerator(o Options) *generator {
	g := &generator{o: o}
	for i := range o.Tags {
		g.tags = append(g.tags, tagName(i))
	}
	// Tag popularity has a long tail: a few tags are on thousands of posts.
	g.tagZipf = func(r *rand.Rand) int {
		z := rand.NewZipf(r, 1.1, 2, uint64(len(g.tags)-1))
		return int(z.Uint64())
	}
	g.start = o.End.AddDate(-o.Years, 0, 0)
	g.step = o.End.Sub(g.start) / time.Duration(o.Posts)
	return g
}

// authors are the generated staff users; authorIDs keeps their slugs.
func (g *generator) authors() []store.BulkAuthor {
	out := make([]store.BulkAuthor, g.o.Authors)
	g.authorIDs = make([]string, g.o.Authors)
	r := rand.New(rand.NewPCG(g.o.Seed, 0xa07))
	for i := range out {
		name := authorName(i)
		sl := slug.Make(name, slug.User)
		out[i] = store.BulkAuthor{Name: name, Slug: sl, Email: sl + "@example.com", Bio: paragraph(r)}
		g.authorIDs[i] = sl
	}
	return out
}

func (g *generator) post(i int) store.BulkPost {
	r := rand.New(rand.NewPCG(g.o.Seed, uint64(i)+1))
	p := store.BulkPost{Title: title(r), Markdown: body(r)}
	// Dates rise with i, as ids do, with jitter inside each post's slot.
	p.PublishedAt = g.start.Add(time.Duration(i)*g.step + time.Duration(r.Int64N(int64(max(g.step, time.Second))))).Truncate(time.Second)
	switch k := r.IntN(1000); {
	case k < 5:
		p.Type = store.TypePage
	case k < 45:
		p.Status = store.StatusDraft
	}
	p.Featured = r.IntN(40) == 0
	if r.IntN(5) == 0 {
		p.CustomExcerpt = sentence(r)
	}
	if len(g.authorIDs) > 0 {
		p.Authors = []string{g.authorIDs[r.IntN(len(g.authorIDs))]}
		if r.IntN(10) == 0 && len(g.authorIDs) > 1 {
			second := g.authorIDs[r.IntN(len(g.authorIDs))]
			if second != p.Authors[0] {
				p.Authors = append(p.Authors, second)
			}
		}
	}
	if p.Type != store.TypePage {
		seen := map[int]bool{}
		for range r.IntN(5) {
			t := g.tagZipf(r)
			if !seen[t] {
				seen[t] = true
				p.Tags = append(p.Tags, g.tags[t])
			}
		}
	}
	if p.Status == store.StatusDraft {
		p.CreatedAt, p.PublishedAt = p.PublishedAt, time.Time{}
	}
	return p
}
