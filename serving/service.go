package serving

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/marquee/marquee/data"
)

// Source is the origin of the titles of a response.
type Source string

// Sources of a response.
const (
	SourcePersonal Source = "personal" // the user's own list of the run
	SourceFolded   Source = "folded"   // solved now from the user's newest feedback and the run's model
	SourceTrending Source = "trending" // trending titles, narrowed by the user's genres when known
	SourceSimilar  Source = "similar"  // titles similar to one title
)

// TrendingAll is the key of the trending list over the whole catalog; other
// trending lists are keyed by genre.
const TrendingAll = "all"

// Item is one recommended title.
type Item struct {
	ContentID string
	Score     float32
	Title     *data.Title // nil when the catalog does not have the title or could not be read
}

// Page is one page of a response. Every title of a page comes from the
// one run it names.
type Page struct {
	RunID      string
	Source     Source
	Items      []Item
	NextOffset int    // 0 when there is no next page
	NextCursor string // empty when there is no next page
	// Degraded is set when a dependency failed or was too slow, so the
	// response came from an older copy or a fallback.
	Degraded bool
}

// Query selects a page of a response.
type Query struct {
	Limit   int      // 1 to MaxLimit
	Offset  int      // >= 0: kept titles to skip; 0 when Cursor is set
	Cursor  string   // NextCursor of the previous page; empty for the first
	Exclude []string // content IDs to leave out
	Genre   string   // keep only titles of this genre, compared without case; empty keeps all
}

// MaxLimit is the largest page a lookup returns.
const MaxLimit = 100

// errRunGone means the run a response was reading lost its lists, because
// it was deleted after the pointer to it was read.
var errRunGone = errors.New("serving: the run was deleted")

// listing is the list a response pages through, and its origin.
type listing struct {
	run      string
	source   Source
	list     []data.ScoredItem
	degraded bool
}

// Recommendations returns a page of the user's recommendations, never with
// a title the user rated or watched to the end, as far as the store and the
// recent history tell. In order of preference the list is one folded in
// from the run's model when the user's feedback is newer than the run, the
// user's list of the run, or trending titles narrowed by the user's
// preferred genres. A page that follows a cursor continues the same list of
// the same run.
func (s *Service) Recommendations(ctx context.Context, userID string, q Query) (Page, error) {
	return s.serve(ctx, "u\x00"+userID, q, func(ctx context.Context, c *cursor) (listing, map[string]bool, error) {
		history, degraded := s.recentEvents(ctx, userID)
		seen := make(map[string]bool, len(history))
		for _, e := range history {
			seen[e.ContentID] = true
		}
		var a listing
		var err error
		if c != nil {
			a, err = s.continued(ctx, *c, userID, history)
		} else {
			a, err = s.recommend(ctx, userID, history)
		}
		a.degraded = a.degraded || degraded
		return a, seen, err
	})
}

// Similar returns a page of titles similar to contentID. It returns
// data.ErrNotFound when the current run has no list for that title. When
// the list cannot be read and no copy is kept, the page contains the last
// good trending titles, marked degraded, as for every lookup.
func (s *Service) Similar(ctx context.Context, contentID string, q Query) (Page, error) {
	return s.serve(ctx, "s\x00"+contentID, q, func(ctx context.Context, c *cursor) (listing, map[string]bool, error) {
		a, err := s.stored(ctx, c, data.ListSimilar, []string{contentID}, SourceSimilar)
		return a, nil, err
	})
}

// Trending returns a page of trending titles, over the whole catalog when
// genre is empty. Genres match without regard to case. It returns
// data.ErrNotFound for a genre without a list.
func (s *Service) Trending(ctx context.Context, genre string, q Query) (Page, error) {
	keys := []string{TrendingAll}
	if genre != "" {
		keys = genreKeys(genre)
	}
	return s.serve(ctx, "t\x00"+keys[0], q, func(ctx context.Context, c *cursor) (listing, map[string]bool, error) {
		a, err := s.stored(ctx, c, data.ListTrending, keys, SourceTrending)
		return a, nil, err
	})
}

// genreKeys returns the keys under which a run may hold the trending list
// of genre: data.GenreKey, and the genre as given, under which runs
// published before genre keys were folded hold it.
func genreKeys(genre string) []string {
	if key := data.GenreKey(genre); key != genre {
		return []string{key, genre}
	}
	return []string{genre}
}

// resolver finds the list a response pages through, and the titles the
// subject has seen, from the cursor of the previous page or, when it is
// nil, from the current run.
type resolver func(ctx context.Context, c *cursor) (listing, map[string]bool, error)

// serve decodes the cursor, resolves the listing, falls back when its list
// cannot be read, and cuts the page. A run deleted under a stale pointer is
// looked up once more.
func (s *Service) serve(ctx context.Context, subject string, q Query, resolve resolver) (Page, error) {
	s.stats.requests.Add(1)
	var c *cursor
	if q.Cursor != "" {
		dc, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		if dc.query != queryHash(subject, q) {
			return Page{}, fmt.Errorf("%w: it was issued for another user, title or filter", ErrBadCursor)
		}
		if err := s.checkCursorRun(ctx, dc.run); err != nil {
			return Page{}, err
		}
		c = &dc
	}

	a, seen, err := resolve(ctx, c)
	if errors.Is(err, errRunGone) && c == nil {
		s.pointer.expire()
		a, seen, err = resolve(ctx, c)
	}
	start := 0
	if c != nil {
		start = c.pos
	}
	switch {
	case errors.Is(err, errRunGone) && c != nil:
		return Page{}, fmt.Errorf("%w: the run it pages through was deleted; start again without a cursor", ErrBadCursor)
	case errors.Is(err, errRunGone):
		err = nil // the current run has no such list, so the page is empty
	case errors.Is(err, data.ErrUnavailable):
		a, err = s.fallback(err)
		start = 0 // another list than the cursor's
	}
	if err != nil {
		return Page{}, err
	}
	p := s.page(ctx, a, seen, subject, q, start)
	if p.Degraded {
		s.stats.degraded.Add(1)
	}
	return p, nil
}

// checkCursorRun returns an error wrapping ErrBadCursor when a cursor names
// a run that is not current and that the list store no longer holds. The
// check reads the store, not the lists this process keeps in memory, so
// every replica rejects such a cursor, whichever copies it kept. When the
// store cannot be read, the cursor is honoured from memory like any read in
// an outage.
func (s *Service) checkCursorRun(ctx context.Context, run string) error {
	current, _, err := s.currentRun(ctx)
	if err != nil || current == run {
		return nil
	}
	v, err := s.read(ctx, s.listsBreaker, "runs", func(ctx context.Context) (any, error) {
		return s.cfg.Lists.Runs(ctx)
	})
	if err != nil {
		s.failed("runs", err)
		return nil
	}
	for _, r := range v.([]data.PublishedRun) {
		if r.ID == run && r.Complete {
			return nil
		}
	}
	return fmt.Errorf("%w: the run %q it pages through is no longer held; start again without a cursor", ErrBadCursor, run)
}

// fallback returns the last good trending list when the list of a
// response could not be read. With none, it returns err.
func (s *Service) fallback(err error) (listing, error) {
	run, items := s.trending.get()
	if run == "" {
		return listing{}, err
	}
	s.failed("list", err)
	return listing{run: run, source: SourceTrending, list: items, degraded: true}, nil
}

// recommend picks the list of a user's first page.
func (s *Service) recommend(ctx context.Context, userID string, history []data.Event) (listing, error) {
	run, degraded, err := s.currentRun(ctx)
	if err != nil {
		return listing{}, err
	}
	own, d, err := s.list(ctx, run, data.ListUser, userID)
	if err != nil {
		return listing{}, err
	}
	degraded = degraded || d

	if items, ok, d := s.tryFoldIn(ctx, run, userID, history, own.found); ok {
		return listing{run: run, source: SourceFolded, list: items, degraded: degraded || d}, nil
	}
	if own.found {
		return listing{run: run, source: SourcePersonal, list: own.items, degraded: degraded}, nil
	}
	a, err := s.coldStart(ctx, run, userID)
	a.degraded = a.degraded || degraded
	return a, err
}

// continued finds the list that the cursor of a user's page pages through.
func (s *Service) continued(ctx context.Context, c cursor, userID string, history []data.Event) (listing, error) {
	switch c.source {
	case SourcePersonal:
		own, d, err := s.list(ctx, c.run, data.ListUser, userID)
		if err == nil && !own.found {
			err = errRunGone
		}
		return listing{run: c.run, source: c.source, list: own.items, degraded: d}, err
	case SourceFolded:
		if items, ok, d := s.tryFoldIn(ctx, c.run, userID, history, false); ok {
			return listing{run: c.run, source: c.source, list: items, degraded: d}, nil
		}
		// The fold-in failed or timed out: the run's own list, or trending
		// titles, at the cursor's position, marked degraded since the
		// list is not the one the earlier pages came from.
		own, _, err := s.list(ctx, c.run, data.ListUser, userID)
		if err == nil && own.found {
			return listing{run: c.run, source: SourcePersonal, list: own.items, degraded: true}, nil
		}
		a, err := s.coldStart(ctx, c.run, userID)
		a.degraded = true
		return a, err
	case SourceTrending:
		return s.coldStart(ctx, c.run, userID)
	}
	return listing{}, fmt.Errorf("%w: unknown source %q", ErrBadCursor, c.source)
}

// stored finds a list of the current run, or of the cursor's run, for the
// similar and trending routes. A list missing from the current run is
// data.ErrNotFound.
func (s *Service) stored(ctx context.Context, c *cursor, kind data.ListKind, keys []string, source Source) (listing, error) {
	run, degraded := "", false
	if c != nil {
		run = c.run
	} else {
		var err error
		if run, degraded, err = s.currentRun(ctx); err != nil {
			return listing{}, err
		}
	}
	for _, key := range keys {
		v, d, err := s.list(ctx, run, kind, key)
		if err != nil {
			return listing{}, err
		}
		if v.found {
			return listing{run: run, source: source, list: v.items, degraded: degraded || d}, nil
		}
	}
	if c != nil {
		return listing{}, errRunGone
	}
	return listing{}, fmt.Errorf("serving: %s %q: %w", kind, keys[0], data.ErrNotFound)
}

// RecordInteraction records an interaction that the store accepted: a
// rating (data.RatingEvent), the deletion of a rating (an Event of type
// data.EventRatingDeleted) or a watch event (data.WatchEventOf). The API's
// write routes call it after the store's write succeeded. It records
// ratings and completed viewings in the History, so that the user's next
// responses, from any replica, leave the title out and fold the rating in.
// It drops the user's cached entries in this process before it returns, and
// announces the change on the Bus so that other replicas drop theirs within
// the Bus's delivery time. Watch events that are not complete change
// nothing.
//
// It returns an error wrapping data.ErrInvalid for an event without user or
// title, and one wrapping data.ErrUnavailable when the History or the Bus
// failed or took longer than Config.WriteTimeout. The store's write stands
// either way, so the caller should log the error and still report success;
// until the next run is published the title may then come back in other
// replicas' responses. It is safe for concurrent use.
func (s *Service) RecordInteraction(ctx context.Context, e data.Event) error {
	if e.UserID == "" || e.ContentID == "" {
		return fmt.Errorf("serving: record interaction: %w: user or content id is empty", data.ErrInvalid)
	}
	if e.Type == data.EventWatch && e.WatchKind != data.WatchComplete {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	err := s.cfg.History.RecordEvent(ctx, e)
	s.dropUser(e.UserID)
	return s.announce(ctx, e.UserID, err)
}

// InvalidateUser drops every cached entry of a user, here and, through the
// Bus, in the other replicas. The API calls it when a user's preferred
// genres change. It returns an error wrapping data.ErrUnavailable when the
// Bus failed. It is safe for concurrent use.
func (s *Service) InvalidateUser(ctx context.Context, userID string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	s.dropUser(userID)
	return s.announce(ctx, userID, nil)
}

// InvalidateTitle drops the cached catalog entry of a title, here and,
// through the Bus, in the other replicas, so that their next pages leave out
// a deleted title and show a changed one. The API calls it after every
// write of the catalog. It returns an error wrapping data.ErrUnavailable
// when the Bus failed. Other replicas then see the change within
// Config.TitleTTL. It is safe for concurrent use.
func (s *Service) InvalidateTitle(ctx context.Context, contentID string) error {
	s.titles.delete(contentID)
	if s.cfg.Bus == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	if err := s.cfg.Bus.Publish(ctx, MessageTitle+contentID); err != nil {
		return fmt.Errorf("serving: invalidate title %q: %w", contentID, unavailable(err))
	}
	return nil
}

// announce publishes the change of a user on the Bus and joins its error
// with err.
func (s *Service) announce(ctx context.Context, userID string, err error) error {
	if s.cfg.Bus != nil {
		err = errors.Join(err, s.cfg.Bus.Publish(ctx, MessageUser+userID))
	}
	if err != nil {
		return fmt.Errorf("serving: record interaction of %q: %w", userID, unavailable(err))
	}
	return nil
}

// Warm reads the current run's pointer and trending list and loads its
// fold-in model, so that the first requests after a start or a run switch
// find them in memory. It returns the first error.
func (s *Service) Warm(ctx context.Context) error {
	run, _, err := s.currentRun(ctx)
	if err != nil {
		return err
	}
	if _, _, err := s.list(ctx, run, data.ListTrending, TrendingAll); err != nil {
		return err
	}
	s.foldModel(ctx, run)
	return nil
}

// Stats are counters since the Service started.
type Stats struct {
	Requests      uint64 // pages requested
	Degraded      uint64 // pages marked degraded
	CacheHits     uint64 // list reads served from memory
	CacheMisses   uint64 // list reads that went to the list store
	Invalidations uint64 // Bus messages applied
	FoldIns       uint64 // lists folded in
}

type counters struct {
	requests, degraded, hits, misses, invalidations, foldIns atomic.Uint64
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests: c.requests.Load(), Degraded: c.degraded.Load(), CacheHits: c.hits.Load(),
		CacheMisses: c.misses.Load(), Invalidations: c.invalidations.Load(), FoldIns: c.foldIns.Load(),
	}
}
