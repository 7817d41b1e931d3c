package serving

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/marquee/marquee/data"
)

// errOpen is the error of a call that a breaker refused.
var errOpen = fmt.Errorf("serving: %w: breaker open after repeated failures", data.ErrUnavailable)

// read calls fn with the read timeout, through breaker b, and collapses
// concurrent calls with the same key into one. A missing record
// (data.ErrNotFound) counts as a success of the dependency. It returns at
// the timeout even when fn does not, because a client may not watch its
// context while it waits for a reply. fn then finishes in the background.
func (s *Service) read(ctx context.Context, b *breaker, key string, fn func(context.Context) (any, error)) (any, error) {
	if !b.allow() {
		return nil, errOpen
	}
	ch := s.flight.DoChan(key, func() (any, error) {
		// The call outlives a cancelled caller, since other callers may
		// share it, but not the timeout.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		defer cancel()
		return fn(ctx)
	})
	timer := time.NewTimer(s.cfg.Timeout)
	defer timer.Stop()
	var v any
	var err error
	select {
	case r := <-ch:
		v, err = r.Val, r.Err
	case <-timer.C:
		err = fmt.Errorf("read timed out after %v: %w", s.cfg.Timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.record(err == nil || errors.Is(err, data.ErrNotFound))
	return v, err
}

// pointer is the cached ID of the current run. A fetch that began before
// an expiry stores its result as stale, so that a run switch announced
// during the fetch is not hidden for a TTL. It is safe for concurrent use.
type pointer struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	run     string    // "" before the first successful read
	fetched time.Time // zero when stale
	gen     uint64    // incremented by expire
	// lost is set while the list store has no current run although run
	// was read from it before: it lost its data, as a Redis that restarts
	// without persistence does. Cleared by the next successful read.
	lost bool
}

func (p *pointer) get() (run string, fresh bool, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run, !p.fetched.IsZero() && p.now().Sub(p.fetched) < p.ttl, p.gen
}

// set stores the run read when the generation was gen. It reports whether
// the run differs from the one stored before, and whether the pointer was
// lost until now.
func (p *pointer) set(run string, gen uint64) (changed, found bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed, found = run != p.run, p.lost
	p.run, p.fetched, p.lost = run, time.Time{}, false
	if gen == p.gen {
		p.fetched = p.now()
	}
	return changed, found
}

// markLost records that the list store has no current run, and reports
// whether it had one until now.
func (p *pointer) markLost() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := !p.lost
	p.lost = true
	return first
}

// lostRun reports whether the list store lost its pointer to run, the last
// run read from it.
func (p *pointer) lostRun(run string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lost && p.run == run
}

// current returns the last run read, "" before the first.
func (p *pointer) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

func (p *pointer) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetched = time.Time{}
	p.gen++
}

// currentRun returns the ID of the current run: the cached one while it is
// fresh, else the one Lists names. When Lists fails, it returns the last
// known run and degraded; with none known, an error wrapping
// data.ErrUnavailable. When Lists has no current run although one was read
// before, it lost its data, and the last known run is returned, degraded,
// as in an outage: its copies in memory serve until a run is published
// again. Before the first publish it returns ErrNoRun.
func (s *Service) currentRun(ctx context.Context) (string, bool, error) {
	run, fresh, gen := s.pointer.get()
	if fresh {
		return run, false, nil
	}
	v, err := s.read(ctx, s.listsBreaker, "pointer", func(ctx context.Context) (any, error) {
		return s.cfg.Lists.Current(ctx)
	})
	switch {
	case err == nil:
		changed, found := s.pointer.set(v.(string), gen)
		if found {
			s.log.Info("the list store has a current run again", "run_id", v.(string))
		}
		if changed {
			s.requestWarm()
		}
		return v.(string), false, nil
	case errors.Is(err, data.ErrNotFound) && run != "":
		if s.pointer.markLost() {
			s.log.Warn("the list store lost its current run, as after a restart without persistence; "+
				"serving the last known run from memory, degraded, until a run is published", "run_id", run)
		}
		return run, true, nil
	case errors.Is(err, data.ErrNotFound):
		return "", false, ErrNoRun
	case run != "":
		s.failed("current run", err)
		return run, true, nil
	}
	return "", true, fmt.Errorf("serving: current run: %w", unavailable(err))
}

// errListsLost means the list store no longer holds a list of the run that
// was current when it was last read: it lost its data.
var errListsLost = errors.New("the list store lost the lists of the current run")

// unavailable makes err wrap data.ErrUnavailable, so that the API responds
// 503 and not 500 for a dependency that timed out.
func unavailable(err error) error {
	if errors.Is(err, data.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", data.ErrUnavailable, err)
}

// failed logs a failed read at debug level, because under an outage every
// request fails and the degraded counter already reports it.
func (s *Service) failed(what string, err error) {
	s.log.Debug("read failed; responding from the last good copy", "what", what, "err", err)
}

type listKey struct {
	run  string
	kind data.ListKind
	key  string
}

// listValue is a cached list, or the fact that the run has none under the
// key.
type listValue struct {
	items []data.ScoredItem
	found bool
}

func (v listValue) cost() int64 {
	n := int64(96)
	for _, it := range v.items {
		n += 24 + int64(len(it.ID))
	}
	return n
}

// list returns a list of a run, from the cache while fresh. When Lists
// fails it returns the cached copy, however old, and degraded; with no copy,
// an error wrapping data.ErrUnavailable.
func (s *Service) list(ctx context.Context, run string, kind data.ListKind, key string) (listValue, bool, error) {
	k := listKey{run, kind, key}
	cached, fresh, ok := s.lists.get(k)
	if ok && fresh && !s.cfg.NoCache {
		s.stats.hits.Add(1)
		return cached, false, nil
	}
	s.stats.misses.Add(1)
	v, err := s.read(ctx, s.listsBreaker, "list\x00"+run+"\x00"+string(kind)+"\x00"+key, func(ctx context.Context) (any, error) {
		items, err := s.cfg.Lists.List(ctx, run, kind, key)
		if errors.Is(err, data.ErrNotFound) {
			return listValue{}, nil
		}
		return listValue{items: items, found: err == nil}, err
	})
	if err == nil && !v.(listValue).found && run == s.pointer.current() && (ok && cached.found || s.pointer.lostRun(run)) {
		// A published run never changes, and the current one is never
		// deleted: a list of it that was there and is gone, or any list of
		// it once the pointer is gone too, was lost with the store's data.
		// The next request reads the pointer again.
		s.pointer.expire()
		err = errListsLost
	}
	if err != nil {
		if ok {
			s.failed("list", err)
			return cached, true, nil
		}
		return listValue{}, true, fmt.Errorf("serving: %s list %q of run %q: %w", kind, key, run, unavailable(err))
	}
	lv := v.(listValue)
	s.lists.put(k, lv, lv.cost())
	if kind == data.ListTrending && key == TrendingAll && lv.found {
		s.trending.set(run, lv.items)
	}
	return lv, false, nil
}

// recentEvents returns the user's recent interactions. When History fails
// it returns the cached copy or none, and degraded.
func (s *Service) recentEvents(ctx context.Context, userID string) ([]data.Event, bool) {
	cached, fresh, ok := s.recent.get(userID)
	if ok && fresh && !s.cfg.NoCache && s.cacheHistory {
		return cached, false
	}
	v, err := s.read(ctx, s.historyBreaker, "recent\x00"+userID, func(ctx context.Context) (any, error) {
		return s.cfg.History.RecentEvents(ctx, userID)
	})
	if err != nil {
		s.failed("history", err)
		return cached, true
	}
	events := v.([]data.Event)
	s.recent.put(userID, events, 1)
	return events, false
}

// preferredGenres returns the genres a user prefers, none for an unknown
// user. When the store fails it returns the cached copy or none, and
// degraded.
func (s *Service) preferredGenres(ctx context.Context, userID string) ([]string, bool) {
	if s.cfg.Users == nil {
		return nil, false
	}
	cached, fresh, ok := s.prefs.get(userID)
	if ok && fresh {
		return cached, false
	}
	v, err := s.read(ctx, s.storeBreaker, "user\x00"+userID, func(ctx context.Context) (any, error) {
		u, err := s.cfg.Users.User(ctx, userID)
		return u.PreferredGenres, err
	})
	switch {
	case errors.Is(err, data.ErrNotFound):
		s.prefs.put(userID, nil, 1)
		return nil, false
	case err != nil:
		s.failed("user", err)
		return cached, true
	}
	genres := v.([]string)
	s.prefs.put(userID, genres, 1)
	return genres, false
}

// titleValue is a cached title, or nil for an ID the catalog lacks.
type titleValue struct {
	title *data.Title
}

// lookUpTitles stores in out the catalog entry of each of ids, nil for an
// ID the catalog lacks. When the store fails it stores only the entries it
// has copies of, and reports the lookup degraded.
func (s *Service) lookUpTitles(ctx context.Context, ids []string, out map[string]*data.Title) bool {
	var missing []string
	s.titles.getMany(ids, func(id string, v titleValue, fresh bool) {
		out[id] = v.title
		if !fresh {
			missing = append(missing, id)
		}
	})
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return false
	}
	v, err := s.read(ctx, s.storeBreaker, "titles\x00"+strings.Join(missing, "\x00"), func(ctx context.Context) (any, error) {
		return s.cfg.Catalog.Titles(ctx, missing)
	})
	if err != nil {
		s.failed("titles", err)
		return true
	}
	found := map[string]*data.Title{}
	for _, t := range v.([]data.Title) {
		found[t.ID] = &t
	}
	for _, id := range missing {
		out[id] = found[id]
		s.titles.put(id, titleValue{found[id]}, 1)
	}
	return false
}

// lastTrending is the last trending list over the whole catalog read from
// any run. It is safe for concurrent use.
type lastTrending struct {
	mu    sync.Mutex
	run   string
	items []data.ScoredItem
}

func (t *lastTrending) set(run string, items []data.ScoredItem) {
	t.mu.Lock()
	t.run, t.items = run, items
	t.mu.Unlock()
}

func (t *lastTrending) get() (string, []data.ScoredItem) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.run, t.items
}
