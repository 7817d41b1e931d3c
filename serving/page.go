package serving

import (
	"context"
	"strings"

	"github.com/marquee/marquee/data"
)

// filter selects the titles of a list that a response keeps.
type filter struct {
	seen    map[string]bool
	exclude map[string]bool
	genre   string // lower case; empty keeps every genre
}

// keep reports whether the filter keeps the title id, whose catalog entry
// is t: nil when the catalog lacks it or could not be read.
func (f *filter) keep(id string, t *data.Title) bool {
	if f.seen[id] || f.exclude[id] {
		return false
	}
	if f.genre == "" {
		return true
	}
	if t == nil {
		return false
	}
	for _, g := range t.Genres {
		if strings.ToLower(g) == f.genre {
			return true
		}
	}
	return false
}

// window returns the entries of list whose position keep accepts, from
// position start on: it skips the first skip of them and takes up to
// limit. next is the position after the last entry taken when an accepted
// entry follows it, and -1 otherwise.
func window(list []data.ScoredItem, start, skip, limit int, keep func(i int) bool) ([]data.ScoredItem, int) {
	var out []data.ScoredItem
	last := -1
	for i := start; i < len(list); i++ {
		switch {
		case !keep(i):
		case skip > 0:
			skip--
		case len(out) == limit:
			return out, last + 1
		default:
			out = append(out, list[i])
			last = i
		}
	}
	return out, -1
}

// catalogView looks up the titles of a list in the catalog in batches, as
// a page reaches them, so that titles deleted from the catalog since the
// run was published are left out and the page is still full.
type catalogView struct {
	s     *Service
	ctx   context.Context
	list  []data.ScoredItem
	batch int // titles looked up at once; doubles with each lookup
	// skip reports the titles a page leaves out whatever the catalog
	// holds (seen or excluded), which are therefore never looked up.
	skip func(id string) bool

	titles   map[string]*data.Title // looked up; nil when the catalog lacks the title
	failed   map[string]bool        // the lookup failed: kept, without metadata; nil until one fails
	degraded bool
}

// title returns the catalog entry of the title at position i, and whether
// a page may show the title. It may when the catalog has it, and when the
// catalog could not be read: the title is then kept without metadata and
// the page is degraded.
func (v *catalogView) title(i int) (*data.Title, bool) {
	id := v.list[i].ID
	t, looked := v.titles[id]
	if !looked && !v.failed[id] {
		v.lookUp(i)
		t = v.titles[id]
	}
	return t, t != nil || v.failed[id]
}

// lookUp reads the next batch of titles from position i on, passing over
// those that skip leaves out and those already looked up.
func (v *catalogView) lookUp(i int) {
	ids := make([]string, 0, v.batch)
	for _, it := range v.list[i:] {
		if len(ids) == v.batch {
			break
		}
		if _, ok := v.titles[it.ID]; ok || v.failed[it.ID] || v.skip(it.ID) {
			continue
		}
		ids = append(ids, it.ID)
	}
	v.batch *= 2
	if !v.s.lookUpTitles(v.ctx, ids, v.titles) {
		return
	}
	v.degraded = true
	for _, id := range ids {
		if _, ok := v.titles[id]; !ok {
			if v.failed == nil {
				v.failed = map[string]bool{}
			}
			v.failed[id] = true
		}
	}
}

// page filters a listing, cuts the page from position start and attaches
// title metadata. Titles the catalog no longer has are left out like
// filtered ones, so the page stays full and its cursor points past them.
func (s *Service) page(ctx context.Context, a listing, seen map[string]bool, subject string, q Query, start int) Page {
	p := Page{RunID: a.run, Source: a.source, Degraded: a.degraded}
	start = min(start, len(a.list))
	f := &filter{seen: seen, genre: strings.ToLower(q.Genre)}
	if len(q.Exclude) > 0 {
		f.exclude = make(map[string]bool, len(q.Exclude))
		for _, id := range q.Exclude {
			f.exclude[id] = true
		}
	}
	// One lookup covers the page and the title after it, which decides
	// whether another page follows, unless the catalog lost some of them.
	// A genre filter may pass over most of the list, so it reads the rest
	// of the list at once.
	skip := func(id string) bool { return f.seen[id] || f.exclude[id] }
	v := &catalogView{s: s, ctx: ctx, list: a.list, batch: max(1, q.Offset+q.Limit+1), skip: skip,
		titles: make(map[string]*data.Title, q.Offset+q.Limit+1)}
	if f.genre != "" {
		v.batch = len(a.list)
	}
	keep := func(i int) bool {
		id := a.list[i].ID
		if skip(id) {
			return false
		}
		t, ok := v.title(i)
		return ok && f.keep(id, t)
	}

	items, next := window(a.list, start, q.Offset, q.Limit, keep)
	if next >= 0 {
		p.NextCursor = cursor{run: a.run, source: a.source, pos: next, query: queryHash(subject, q)}.encode()
		if q.Cursor == "" {
			p.NextOffset = q.Offset + len(items)
		}
	}
	p.Degraded = p.Degraded || v.degraded
	p.Items = make([]Item, len(items))
	for i, it := range items {
		p.Items[i] = Item{ContentID: it.ID, Score: it.Score, Title: v.titles[it.ID]}
	}
	return p
}
