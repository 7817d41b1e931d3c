package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/marquee/marquee/data"
)

// Source tells where the titles of an answer came from.
type Source string

// Sources of an answer.
const (
	SourcePersonal Source = "personal" // the user's own list of the current run
	SourceTrending Source = "trending" // trending titles, for users the run does not know
	SourceSimilar  Source = "similar"  // titles similar to one title
)

// TrendingAll is the key of the trending list over the whole catalog; other
// trending lists are keyed by genre.
const TrendingAll = "all"

// Item is one recommended title.
type Item struct {
	ContentID string
	Score     float32
	Title     *data.Title // nil when the catalog no longer has the title
}

// Page is one page of an answer.
type Page struct {
	RunID      string
	Source     Source
	Items      []Item
	NextOffset int // 0 when there is no next page
}

// Query selects a page of an answer.
type Query struct {
	Limit  int // 1 to MaxLimit
	Offset int // >= 0
}

// MaxLimit is the largest page a lookup returns.
const MaxLimit = 100

// Service answers lookups from published lists and the store.
type Service struct {
	lists   data.Lists
	catalog data.Catalog
	events  data.Events
	log     *slog.Logger
}

// New returns a Service reading published lists from lists and titles and
// user history from the store.
func New(lists data.Lists, catalog data.Catalog, events data.Events, log *slog.Logger) *Service {
	return &Service{lists: lists, catalog: catalog, events: events, log: log}
}

// ErrNoRun means nothing has been published yet.
var ErrNoRun = errors.New("serving: no published run yet: run `marquee pipeline run` first")

// Recommendations returns a page of the user's recommendations. A user the
// current run has no list for gets trending titles.
func (s *Service) Recommendations(ctx context.Context, userID string, q Query) (Page, error) {
	run, err := s.currentRun(ctx)
	if err != nil {
		return Page{}, err
	}
	source := SourcePersonal
	list, err := s.lists.List(ctx, run, data.ListUser, userID)
	if errors.Is(err, data.ErrNotFound) {
		source = SourceTrending
		list, err = s.lists.List(ctx, run, data.ListTrending, TrendingAll)
	}
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		return Page{}, fmt.Errorf("serving: recommendations for %q: %w", userID, err)
	}

	seen, err := s.seen(ctx, userID)
	if err != nil {
		return Page{}, fmt.Errorf("serving: recommendations for %q: %w", userID, err)
	}
	return s.page(ctx, run, source, list, seen, q)
}

// Similar returns a page of titles similar to contentID. It returns
// data.ErrNotFound when the current run has no list for that title.
func (s *Service) Similar(ctx context.Context, contentID string, q Query) (Page, error) {
	run, err := s.currentRun(ctx)
	if err != nil {
		return Page{}, err
	}
	list, err := s.lists.List(ctx, run, data.ListSimilar, contentID)
	if err != nil {
		return Page{}, fmt.Errorf("serving: similar to %q: %w", contentID, err)
	}
	return s.page(ctx, run, SourceSimilar, list, nil, q)
}

// Trending returns a page of trending titles, over the whole catalog when
// genre is empty. It returns data.ErrNotFound for a genre without a list.
func (s *Service) Trending(ctx context.Context, genre string, q Query) (Page, error) {
	run, err := s.currentRun(ctx)
	if err != nil {
		return Page{}, err
	}
	key := TrendingAll
	if genre != "" {
		key = genre
	}
	list, err := s.lists.List(ctx, run, data.ListTrending, key)
	if err != nil {
		return Page{}, fmt.Errorf("serving: trending %q: %w", key, err)
	}
	return s.page(ctx, run, SourceTrending, list, nil, q)
}

func (s *Service) currentRun(ctx context.Context) (string, error) {
	run, err := s.lists.Current(ctx)
	if errors.Is(err, data.ErrNotFound) {
		return "", ErrNoRun
	}
	if err != nil {
		return "", fmt.Errorf("serving: current run: %w", err)
	}
	return run, nil
}

// seen returns the titles the user rated or watched to the end.
func (s *Service) seen(ctx context.Context, userID string) (map[string]bool, error) {
	ratings, err := s.events.Ratings(ctx, userID)
	if err != nil {
		return nil, err
	}
	watches, err := s.events.Watches(ctx, userID, 0)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(ratings)+len(watches))
	for _, r := range ratings {
		seen[r.ContentID] = true
	}
	for _, w := range watches {
		if w.Kind == data.WatchComplete {
			seen[w.ContentID] = true
		}
	}
	return seen, nil
}

// page filters out seen titles, cuts the page and attaches title metadata.
func (s *Service) page(ctx context.Context, run string, source Source, list []data.ScoredItem, seen map[string]bool, q Query) (Page, error) {
	kept := list
	if len(seen) > 0 {
		kept = make([]data.ScoredItem, 0, len(list))
		for _, it := range list {
			if !seen[it.ID] {
				kept = append(kept, it)
			}
		}
	}

	p := Page{RunID: run, Source: source}
	if q.Offset >= len(kept) {
		return p, nil
	}
	end := min(len(kept), q.Offset+q.Limit)
	if end < len(kept) {
		p.NextOffset = end
	}
	window := kept[q.Offset:end]

	ids := make([]string, len(window))
	for i, it := range window {
		ids[i] = it.ID
	}
	titles, err := s.catalog.Titles(ctx, ids)
	if err != nil {
		return Page{}, fmt.Errorf("serving: titles: %w", err)
	}
	byID := make(map[string]*data.Title, len(titles))
	for i := range titles {
		byID[titles[i].ID] = &titles[i]
	}
	p.Items = make([]Item, len(window))
	for i, it := range window {
		p.Items[i] = Item{ContentID: it.ID, Score: it.Score, Title: byID[it.ID]}
	}
	return p, nil
}
