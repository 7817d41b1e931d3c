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
	batch int // entries looked up at once; doubles with each lookup

	titles   map[string]*data.Title // looked up; nil when the catalog lacks the title
	failed   map[string]bool        // the lookup failed: kept, without metadata
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

// lookUp reads the titles of the next batch of entries from position i.
func (v *catalogView) lookUp(i int) {
	var ids []string
	for _, it := range v.list[i:min(len(v.list), i+v.batch)] {
		if _, ok := v.titles[it.ID]; !ok && !v.failed[it.ID] {
			ids = append(ids, it.ID)
		}
	}
	v.batch *= 2
	found, degraded := v.s.titleMap(v.ctx, ids)
	v.degraded = v.degraded || degraded
	for _, id := range ids {
		if t, ok := found[id]; ok {
			v.titles[id] = t
		} else {
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
	// One lookup usually covers the page and the entry after it, which
	// decides whether another page follows. A genre filter may pass over
	// most of the list, so it reads the rest of the list at once.
	v := &catalogView{s: s, ctx: ctx, list: a.list, batch: max(16, q.Offset+q.Limit+len(seen)+len(f.exclude)+1),
		titles: map[string]*data.Title{}, failed: map[string]bool{}}
	if f.genre != "" {
		v.batch = len(a.list)
	}
	keep := func(i int) bool {
		id := a.list[i].ID
		if f.seen[id] || f.exclude[id] {
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
