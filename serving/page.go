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
	genre   string                 // lower case; empty keeps every genre
	titles  map[string]*data.Title // for the genre filter
}

func (f *filter) keep(id string) bool {
	if f.seen[id] || f.exclude[id] {
		return false
	}
	if f.genre == "" {
		return true
	}
	t := f.titles[id]
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

// window returns the entries of list that keep accepts, from position
// start on: it skips the first skip of them and takes up to limit. next is
// the position after the last entry taken when an accepted entry follows
// it, and -1 otherwise.
func window(list []data.ScoredItem, start, skip, limit int, keep func(string) bool) ([]data.ScoredItem, int) {
	var out []data.ScoredItem
	last := -1
	for i := start; i < len(list); i++ {
		switch {
		case !keep(list[i].ID):
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

// page filters a listing, cuts the page from position start and attaches
// title metadata.
func (s *Service) page(ctx context.Context, a listing, seen map[string]bool, subject string, q Query, start int) Page {
	p := Page{RunID: a.run, Source: a.source, Degraded: a.degraded}
	if start > len(a.list) {
		start = len(a.list)
	}
	f := &filter{seen: seen, genre: strings.ToLower(q.Genre)}
	if len(q.Exclude) > 0 {
		f.exclude = make(map[string]bool, len(q.Exclude))
		for _, id := range q.Exclude {
			f.exclude[id] = true
		}
	}
	if f.genre != "" {
		var degraded bool
		f.titles, degraded = s.titleMap(ctx, ids(a.list[start:]))
		p.Degraded = p.Degraded || degraded
	}

	items, next := window(a.list, start, q.Offset, q.Limit, f.keep)
	if next >= 0 {
		p.NextCursor = cursor{run: a.run, source: a.source, pos: next, query: queryHash(subject, q)}.encode()
		if q.Cursor == "" {
			p.NextOffset = q.Offset + len(items)
		}
	}

	titles := f.titles
	if titles == nil {
		var degraded bool
		titles, degraded = s.titleMap(ctx, ids(items))
		p.Degraded = p.Degraded || degraded
	}
	p.Items = make([]Item, len(items))
	for i, it := range items {
		p.Items[i] = Item{ContentID: it.ID, Score: it.Score, Title: titles[it.ID]}
	}
	return p
}

func ids(items []data.ScoredItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}
