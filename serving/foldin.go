package serving

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/foldin"
)

// modelLoadTimeout bounds the read of a run's fold-in artifact, several
// megabytes, which happens once per run and off the request path.
const modelLoadTimeout = 10 * time.Second

// modelCache holds the fold-in models of the runs recently current, loaded
// in the background. It is safe for concurrent use.
type modelCache struct {
	mu    sync.Mutex
	slots map[string]*modelSlot
	order []string // runs, oldest first
}

type modelSlot struct {
	ready chan struct{} // closed once model and err are set
	model *foldin.Model // nil when the run has no artifact or loading failed
	err   error
}

// maxModels is the number of runs whose models are kept: the current one
// and the one before, for pages that continue through a run switch.
const maxModels = 2

func newModelCache() *modelCache { return &modelCache{slots: map[string]*modelSlot{}} }

// foldModel returns the fold-in model of a run, waiting for it to load
// until ctx is done. It reports false when the run has none, when loading
// failed (a later call tries again) or when ctx ends first.
func (s *Service) foldModel(ctx context.Context, run string) (*foldin.Model, bool) {
	slot := s.models.slot(run, func(slot *modelSlot) {
		s.wg.Go(func() { s.loadModel(run, slot) })
	})
	select {
	case <-slot.ready:
		return slot.model, slot.model != nil
	case <-ctx.Done():
		return nil, false
	}
}

// slot returns the slot of run, creating it and calling start when there is
// none or the last load failed.
func (c *modelCache) slot(run string, start func(*modelSlot)) *modelSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slot := c.slots[run]; slot != nil {
		select {
		case <-slot.ready:
			if slot.err == nil {
				return slot
			}
		default:
			return slot
		}
	}
	slot := &modelSlot{ready: make(chan struct{})}
	c.slots[run] = slot
	c.order = append(slices.DeleteFunc(c.order, func(r string) bool { return r == run }), run)
	for len(c.order) > maxModels {
		delete(c.slots, c.order[0])
		c.order = c.order[1:]
	}
	start(slot)
	return slot
}

func (s *Service) loadModel(run string, slot *modelSlot) {
	defer close(slot.ready)
	ctx, cancel := context.WithTimeout(context.Background(), modelLoadTimeout)
	defer cancel()
	b, err := s.cfg.Lists.Artifact(ctx, run, foldin.Artifact)
	if errors.Is(err, data.ErrNotFound) {
		s.log.Info("the run has no fold-in model; users newer than the run get trending titles", "run_id", run)
		return
	}
	if err == nil {
		slot.model, err = foldin.Unmarshal(b)
	}
	if err != nil {
		slot.err = err
		s.log.Warn("loading the fold-in model failed; retrying on the next request that needs it", "run_id", run, "err", err)
		return
	}
	s.log.Info("fold-in model loaded", "run_id", run, "items", len(slot.model.Items), "factors", slot.model.Factors)
}

// tryFoldIn returns a list folded in from the run's model for a user who
// wants one (see wantsFoldIn), and false otherwise. known reports whether
// the run has a list of the user. It waits up to FoldInTimeout for a model
// that is still loading.
func (s *Service) tryFoldIn(ctx context.Context, run, userID string, history []data.Event, known bool) ([]data.ScoredItem, bool, bool) {
	if !slices.ContainsFunc(history, func(e data.Event) bool { return e.Type == data.EventRating || e.Type == data.EventWatch }) {
		return nil, false, false
	}
	mctx, cancel := context.WithTimeout(ctx, s.cfg.FoldInTimeout)
	m, ok := s.foldModel(mctx, run)
	cancel()
	if !ok || !wantsFoldIn(m, history, known) {
		return nil, false, false
	}
	return s.foldIn(ctx, run, userID, m, history)
}

// foldedValue is a cached folded-in list of a user.
type foldedValue struct {
	run     string
	version uint64
	items   []data.ScoredItem
}

// feedback is the value of a user's feedback on a title, on the model's
// scale, and its time.
type feedback struct {
	value float64
	time  time.Time
}

// wantsFoldIn reports whether a user gets a list folded in from the
// model: a user the run does not know who has feedback of the model's kind,
// or one whose feedback is newer than the model.
func wantsFoldIn(m *foldin.Model, history []data.Event, known bool) bool {
	for _, e := range history {
		if !matches(m, e) {
			continue
		}
		if !known || e.Time.After(m.TrainedUntil) {
			return true
		}
	}
	return false
}

// matches reports whether e is feedback for m. A model of watches takes a
// rating as a viewing too, so that a new user who rates titles gets a list
// of their own from it.
func matches(m *foldin.Model, e data.Event) bool {
	if m.Feedback == foldin.Watches {
		return e.Type == data.EventWatch || e.Type == data.EventRating
	}
	return e.Type == data.EventRating
}

// foldIn returns the user's list solved from the run's model, from the
// cache while the user's history is unchanged. It reports false when it
// cannot make one in time, and degraded when it had to leave out the
// store's older feedback.
func (s *Service) foldIn(ctx context.Context, run, userID string, m *foldin.Model, history []data.Event) ([]data.ScoredItem, bool, bool) {
	version := historyVersion(history)
	if v, fresh, ok := s.folded.get(userID); ok && fresh && v.run == run && v.version == version {
		return v.items, true, false
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FoldInTimeout)
	defer cancel()
	fb, degraded := s.allFeedback(ctx, userID, m, history)
	items, err := s.fold(ctx, m, fb)
	if err != nil || len(items) == 0 {
		if err != nil {
			s.log.Debug("fold-in failed", "user_id", userID, "run_id", run, "err", err)
		}
		return nil, false, degraded
	}
	s.stats.foldIns.Add(1)
	s.folded.put(userID, foldedValue{run: run, version: version, items: items}, 1)
	return items, true, degraded
}

// allFeedback merges the user's feedback from the store with the recent
// history, the newer value winning. When the store fails it uses the
// history alone and reports degraded.
func (s *Service) allFeedback(ctx context.Context, userID string, m *foldin.Model, history []data.Event) (map[string]feedback, bool) {
	fb := map[string]feedback{}
	degraded := false
	if s.cfg.Events != nil {
		stored, err := s.storedFeedback(ctx, userID, m)
		if err != nil {
			s.failed("feedback", err)
			degraded = true
		}
		fb = stored
	}
	for _, e := range history {
		if !matches(m, e) {
			continue
		}
		v := e.Rating
		if m.Feedback == foldin.Watches {
			// A completed viewing, or a rating, has strength 1 at least.
			v = max(1, fb[e.ContentID].value)
		}
		if old, ok := fb[e.ContentID]; !ok || !old.time.After(e.Time) {
			fb[e.ContentID] = feedback{value: v, time: e.Time}
		}
	}
	return fb, degraded
}

func (s *Service) storedFeedback(ctx context.Context, userID string, m *foldin.Model) (map[string]feedback, error) {
	fb := map[string]feedback{}
	if m.Feedback == foldin.Ratings {
		ratings, err := s.cfg.Events.Ratings(ctx, userID)
		for _, r := range ratings {
			fb[r.ContentID] = feedback{value: r.Value, time: r.Time}
		}
		return fb, err
	}
	ratings, rerr := s.cfg.Events.Ratings(ctx, userID)
	for _, r := range ratings {
		fb[r.ContentID] = feedback{value: 1, time: r.Time}
	}
	watches, err := s.cfg.Events.Watches(ctx, userID, 0)
	events := make([]data.Event, len(watches))
	for i, w := range watches {
		events[i] = data.WatchEventOf(w)
	}
	for _, x := range features.WatchStrength(events) {
		f := feedback{value: x.Value, time: x.Time}
		if old, ok := fb[x.ItemID]; ok {
			f.value = max(f.value, old.value)
			if old.time.After(f.time) {
				f.time = old.time
			}
		}
		fb[x.ItemID] = f
	}
	return fb, errors.Join(rerr, err)
}

// fold solves the user's vector from the newest FoldInMaxFeedback items of
// fb that are in the model, and ranks the items without feedback.
func (s *Service) fold(ctx context.Context, m *foldin.Model, fb map[string]feedback) ([]data.ScoredItem, error) {
	type entry struct {
		row int32
		feedback
	}
	entries := make([]entry, 0, len(fb))
	skip := make(map[int32]bool, len(fb))
	for id, f := range fb {
		if row, ok := m.Index(id); ok {
			entries = append(entries, entry{row, f})
			skip[row] = true
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := b.time.Compare(a.time); c != 0 {
			return c
		}
		return int(a.row - b.row)
	})
	entries = entries[:min(len(entries), s.cfg.FoldInMaxFeedback)]
	rows, values := make([]int32, len(entries)), make([]float64, len(entries))
	for i, e := range entries {
		rows[i], values[i] = e.row, e.value
	}

	u, err := m.Fold(rows, values)
	if err != nil {
		return nil, err
	}
	top, err := m.Top(ctx, u, s.cfg.FoldInN, func(row int32) bool { return skip[row] })
	if err != nil {
		return nil, err
	}
	items := make([]data.ScoredItem, len(top))
	for i, t := range top {
		items[i] = data.ScoredItem{ID: m.Items[t.Row], Score: t.Score}
	}
	return items, nil
}

// historyVersion identifies the content of a history.
func historyVersion(history []data.Event) uint64 {
	h := fnv.New64a()
	var buf []byte
	for _, e := range history {
		buf = append(buf[:0], e.Type...)
		buf = append(buf, 0)
		buf = append(buf, e.ContentID...)
		buf = append(buf, 0)
		buf = e.Time.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, byte(e.Rating*2))
		h.Write(buf)
	}
	return h.Sum64()
}

// sortNewestFirst sorts events by time, newest first, then by title.
func sortNewestFirst(events []data.Event) {
	slices.SortFunc(events, func(a, b data.Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		if a.ContentID < b.ContentID {
			return -1
		}
		if a.ContentID > b.ContentID {
			return 1
		}
		return 0
	})
}
