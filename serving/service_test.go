package serving_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/sqlite"
	"github.com/marquee/marquee/models/foldin"
	"github.com/marquee/marquee/serving"
)

// start is the time of the fixtures.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a manual clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return start.Add(time.Duration(c.ns.Load())) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// flakyLists is a data.Lists that fails reads while down is set, and reads
// as a store that lost every run while empty is set.
type flakyLists struct {
	data.Lists
	down  atomic.Bool
	empty atomic.Bool
	hang  atomic.Pointer[chan struct{}] // when set, List waits for it to close
	reads atomic.Int64
}

var errDown = fmt.Errorf("fake redis: %w", data.ErrUnavailable)

func (f *flakyLists) Current(ctx context.Context) (string, error) {
	f.reads.Add(1)
	switch {
	case f.down.Load():
		return "", errDown
	case f.empty.Load():
		return "", fmt.Errorf("fake redis: current run: %w", data.ErrNotFound)
	}
	return f.Lists.Current(ctx)
}

func (f *flakyLists) Runs(ctx context.Context) ([]data.PublishedRun, error) {
	f.reads.Add(1)
	switch {
	case f.down.Load():
		return nil, errDown
	case f.empty.Load():
		return nil, nil
	}
	return f.Lists.Runs(ctx)
}

func (f *flakyLists) List(ctx context.Context, run string, kind data.ListKind, key string) ([]data.ScoredItem, error) {
	f.reads.Add(1)
	switch {
	case f.down.Load():
		return nil, errDown
	case f.empty.Load():
		return nil, fmt.Errorf("fake redis: list: %w", data.ErrNotFound)
	}
	if hang := f.hang.Load(); hang != nil {
		<-*hang // a server that stopped replying, and a client that ignores ctx
	}
	return f.Lists.List(ctx, run, kind, key)
}

// memHistory is a History in memory.
type memHistory struct {
	mu     sync.Mutex
	events map[string][]data.Event
	down   atomic.Bool
}

func (h *memHistory) RecordEvent(_ context.Context, e data.Event) error {
	if h.down.Load() {
		return errDown
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events == nil {
		h.events = map[string][]data.Event{}
	}
	h.events[e.UserID] = append([]data.Event{e}, h.events[e.UserID]...)
	return nil
}

func (h *memHistory) RecentEvents(_ context.Context, userID string) ([]data.Event, error) {
	if h.down.Load() {
		return nil, errDown
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events[userID]), nil
}

// memBus delivers every message to every subscriber synchronously.
type memBus struct {
	mu   sync.Mutex
	subs []func(string)
}

func (b *memBus) Publish(_ context.Context, msg string) error {
	b.mu.Lock()
	subs := slices.Clone(b.subs)
	b.mu.Unlock()
	for _, fn := range subs {
		fn(msg)
	}
	return nil
}

func (b *memBus) Subscribe(ctx context.Context, fn func(string)) error {
	b.mu.Lock()
	b.subs = append(b.subs, fn)
	b.mu.Unlock()
	fn(serving.MessageResubscribed)
	<-ctx.Done()
	return ctx.Err()
}

// env is a catalog, a user store and a list store on SQLite, with fakes
// for history and bus.
type env struct {
	t       *testing.T
	store   *sqlite.Store
	lists   *flakyLists
	history *memHistory
	bus     *memBus
	clock   *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvTB(t)
	e.t = t
	return e
}

// newBenchEnv is newEnv for a benchmark, with 100 users of 100 titles in
// run r1.
func newBenchEnv(b *testing.B) *env {
	e := newEnvTB(b)
	w, err := e.lists.NewRun(b.Context(), "r1")
	if err != nil {
		b.Fatal(err)
	}
	var lists []data.ListEntry
	for u := range 100 {
		var titles []string
		for i := range 100 {
			titles = append(titles, fmt.Sprintf("t%d", (u+i)%8))
		}
		lists = append(lists, user(fmt.Sprintf("u%d", u), titles...))
	}
	lists = append(lists, trending(serving.TrendingAll, "t0"))
	if err := w.Put(b.Context(), lists); err != nil {
		b.Fatal(err)
	}
	if err := w.Commit(b.Context()); err != nil {
		b.Fatal(err)
	}
	return e
}

func newEnvTB(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "marquee.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	lists, err := sqlite.OpenLists(t.Context(), filepath.Join(dir, "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lists.Close() })
	e := &env{store: store, lists: &flakyLists{Lists: lists}, history: &memHistory{}, bus: &memBus{}, clock: &clock{}}

	var titles []data.Title
	for i, g := range []string{"Drama", "Drama", "Comedy", "Comedy", "Horror", "Drama", "Comedy", "Horror"} {
		titles = append(titles, data.Title{ID: fmt.Sprintf("t%d", i), Name: fmt.Sprintf("Title %d", i), Genres: []string{g}})
	}
	if err := store.PutTitles(t.Context(), titles); err != nil {
		t.Fatal(err)
	}
	return e
}

// service opens a Service on the env; change adjusts its settings.
func (e *env) service(change func(*serving.Config)) *serving.Service {
	e.t.Helper()
	cfg := serving.Config{
		Lists: e.lists, Catalog: e.store, Users: e.store, Events: e.store, History: e.history, Bus: e.bus,
		Now: e.clock.now, BreakerFailures: 2, BreakerCooldown: time.Second,
		// Reads fail fast in these tests; a timeout would only catch a
		// busy machine.
		Timeout: 5 * time.Second, FoldInTimeout: 5 * time.Second,
	}
	if change != nil {
		change(&cfg)
	}
	s, err := serving.Open(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	// Subscribing happens in the background; the bus reports it as the
	// first message applied.
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Invalidations == 0; {
		if time.Now().After(deadline) {
			e.t.Fatal("the service did not subscribe to the bus within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	return s
}

func ids(items ...string) []data.ScoredItem {
	out := make([]data.ScoredItem, len(items))
	for i, id := range items {
		out[i] = data.ScoredItem{ID: id, Score: float32(100 - i)}
	}
	return out
}

func (e *env) publish(run string, model *foldin.Model, lists ...data.ListEntry) {
	e.t.Helper()
	ctx := e.t.Context()
	w, err := e.lists.NewRun(ctx, run)
	if err == nil {
		err = w.Put(ctx, lists)
	}
	if err == nil && model != nil {
		var b []byte
		if b, err = model.MarshalBinary(); err == nil {
			err = w.PutArtifact(ctx, foldin.Artifact, b)
		}
	}
	if err == nil {
		err = w.Commit(ctx)
	}
	if err != nil {
		e.t.Fatalf("publish %s: %v", run, err)
	}
	e.bus.Publish(ctx, serving.MessageRun+run)
}

// putTitles adds titles of the given IDs to the catalog, with no genre.
func (e *env) putTitles(ids ...string) {
	e.t.Helper()
	titles := make([]data.Title, len(ids))
	for i, id := range ids {
		titles[i] = data.Title{ID: id, Name: "Title " + id}
	}
	if err := e.store.PutTitles(e.t.Context(), titles); err != nil {
		e.t.Fatal(err)
	}
}

func user(id string, items ...string) data.ListEntry {
	return data.ListEntry{Kind: data.ListUser, Key: id, Items: ids(items...)}
}

func trending(key string, items ...string) data.ListEntry {
	return data.ListEntry{Kind: data.ListTrending, Key: key, Items: ids(items...)}
}

func pageIDs(p serving.Page) string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.ContentID)
	}
	return strings.Join(out, " ")
}

func TestRecommendationsSources(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil,
		user("known", "t0", "t1", "t2"),
		trending(serving.TrendingAll, "t4", "t2", "t0"),
		trending("Drama", "t5", "t0", "t1"),
		trending("Comedy", "t3", "t6", "t2"),
	)
	ctx := t.Context()
	if err := e.store.PutUsers(ctx, []data.User{
		{ID: "drama-fan", PreferredGenres: []string{"Drama", "Comedy", "Drama", "Western"}},
		{ID: "no-taste"},
	}); err != nil {
		t.Fatal(err)
	}
	s := e.service(nil)

	tests := []struct {
		user       string
		wantSource serving.Source
		wantIDs    string
	}{
		{"known", serving.SourcePersonal, "t0 t1 t2"},
		// Trending of Drama and Comedy merged by score; Western has no list.
		{"drama-fan", serving.SourceTrending, "t5 t3 t0 t6 t1 t2"},
		{"no-taste", serving.SourceTrending, "t4 t2 t0"},
		{"stranger", serving.SourceTrending, "t4 t2 t0"},
	}
	for _, tc := range tests {
		p, err := s.Recommendations(ctx, tc.user, serving.Query{Limit: 10})
		if err != nil {
			t.Fatalf("%s: %v", tc.user, err)
		}
		if p.Source != tc.wantSource || pageIDs(p) != tc.wantIDs || p.RunID != "r1" || p.Degraded {
			t.Errorf("%s: got %s %q from %s (degraded %v), want %s %q from r1", tc.user, p.Source, pageIDs(p), p.RunID, p.Degraded, tc.wantSource, tc.wantIDs)
		}
	}
	if p, _ := s.Recommendations(ctx, "known", serving.Query{Limit: 1}); p.Items[0].Title == nil || p.Items[0].Title.Name != "Title 0" {
		t.Errorf("first item has no title metadata: %+v", p.Items[0])
	}
}

func TestRecommendationsFilters(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"), trending(serving.TrendingAll, "t0"))
	s := e.service(nil)
	ctx := t.Context()
	if err := s.RecordInteraction(ctx, data.RatingEvent(data.Rating{UserID: "u", ContentID: "t1", Value: 4, Time: start})); err != nil {
		t.Fatal(err)
	}
	watch := data.WatchEvent{ID: "w", UserID: "u", ContentID: "t2", Kind: data.WatchComplete, Time: start}
	if err := s.RecordInteraction(ctx, data.WatchEventOf(watch)); err != nil {
		t.Fatal(err)
	}
	watch.ContentID, watch.Kind = "t3", data.WatchProgress // a viewing not finished keeps the title
	if err := s.RecordInteraction(ctx, data.WatchEventOf(watch)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		q    serving.Query
		want string
	}{
		{"rated and watched titles are left out", serving.Query{Limit: 10}, "t0 t3 t4 t5 t6 t7"},
		{"exclude", serving.Query{Limit: 10, Exclude: []string{"t0", "t7", "nope"}}, "t3 t4 t5 t6"},
		{"genre, without case", serving.Query{Limit: 10, Genre: "comedy"}, "t3 t6"},
		{"genre and exclude", serving.Query{Limit: 10, Genre: "Drama", Exclude: []string{"t0"}}, "t5"},
		{"offset counts kept titles", serving.Query{Limit: 2, Offset: 2}, "t4 t5"},
	}
	for _, tc := range tests {
		p, err := s.Recommendations(ctx, "u", tc.q)
		if err != nil || pageIDs(p) != tc.want {
			t.Errorf("%s: got %q, %v, want %q", tc.name, pageIDs(p), err, tc.want)
		}
	}
}

// TestCursorPages pages through a list while the user rates a title of a
// later page and a new run is published: no title repeats, none is skipped
// but the rated one, and every page comes from the first run.
func TestCursorPages(t *testing.T) {
	e := newEnv(t)
	var all []string
	for i := range 25 {
		all = append(all, fmt.Sprintf("x%02d", i))
	}
	e.putTitles(append(slices.Clone(all), "y0", "y1")...)
	e.publish("r1", nil, user("u", all...), trending(serving.TrendingAll, "x00"))
	s := e.service(nil)
	ctx := t.Context()

	var got []string
	q := serving.Query{Limit: 10, Exclude: []string{"x03"}}
	for page := 0; ; page++ {
		p, err := s.Recommendations(ctx, "u", q)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if p.RunID != "r1" {
			t.Fatalf("page %d from run %s, want r1", page, p.RunID)
		}
		for _, it := range p.Items {
			got = append(got, it.ContentID)
		}
		if page == 0 {
			// Between pages: a rating of a title of the next page, and a
			// new run with other titles.
			if err := s.RecordInteraction(ctx, data.RatingEvent(data.Rating{UserID: "u", ContentID: "x12", Value: 1, Time: start})); err != nil {
				t.Fatal(err)
			}
			e.publish("r2", nil, user("u", "y0", "y1"), trending(serving.TrendingAll, "y0"))
		}
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	want := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == "x03" || id == "x12" })
	if !slices.Equal(got, want) {
		t.Errorf("pages:\n got %v\nwant %v", got, want)
	}

	p, err := s.Recommendations(ctx, "u", serving.Query{Limit: 10})
	if err != nil || p.RunID != "r2" {
		t.Errorf("a first page after the switch: got run %s, %v, want r2", p.RunID, err)
	}
}

func TestCursorErrors(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1", "t2"), user("v", "t0", "t1", "t2"), trending(serving.TrendingAll, "t0"))
	s := e.service(nil)
	ctx := t.Context()
	p, err := s.Recommendations(ctx, "u", serving.Query{Limit: 1})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	tests := []struct {
		name string
		user string
		q    serving.Query
	}{
		{"garbage", "u", serving.Query{Limit: 1, Cursor: "garbage!"}},
		{"another user", "v", serving.Query{Limit: 1, Cursor: p.NextCursor}},
		{"other filters", "u", serving.Query{Limit: 1, Cursor: p.NextCursor, Genre: "Drama"}},
	}
	for _, tc := range tests {
		if _, err := s.Recommendations(ctx, tc.user, tc.q); !errors.Is(err, serving.ErrBadCursor) {
			t.Errorf("%s: got %v, want ErrBadCursor", tc.name, err)
		}
	}

	e.publish("r2", nil, user("u", "t5"), trending(serving.TrendingAll, "t5"))
	if err := e.lists.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	e.clock.add(time.Hour) // past every TTL
	if _, err := s.Recommendations(ctx, "u", serving.Query{Limit: 1, Cursor: p.NextCursor}); !errors.Is(err, serving.ErrBadCursor) {
		t.Errorf("cursor of a deleted run: got %v, want ErrBadCursor", err)
	}
}

// testModel scores titles t0 to t7 in two dimensions: t0, t1, t5 lie on
// the first axis, t2, t3, t6 on the second, t4 and t7 between.
func testModel() *foldin.Model {
	return &foldin.Model{
		Kind: foldin.Implicit, Feedback: foldin.Ratings, Factors: 2, Reg: 0.1, Alpha: 2,
		Items:        []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"},
		Vectors:      []float32{1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9, 0.6, 0.5, 0.95, 0, 0.05, 0.95, 0.5, 0.6},
		TrainedUntil: start,
	}
}

func TestFoldIn(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", testModel(), user("old", "t2", "t3"), trending(serving.TrendingAll, "t7", "t6"))
	s := e.service(nil)
	ctx := t.Context()
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}

	rate := func(u, content string, v float64, at time.Time) {
		r := data.Rating{UserID: u, ContentID: content, Value: v, Time: at}
		if err := e.store.PutRatings(ctx, []data.Rating{r}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordInteraction(ctx, data.RatingEvent(r)); err != nil {
			t.Fatal(err)
		}
	}
	// A new user rates three titles of the first axis: the titles between
	// the axes come first, then those of the other axis, nearest first.
	for _, id := range []string{"t0", "t1", "t5"} {
		rate("new", id, 5, start.Add(time.Hour))
	}
	p, err := s.Recommendations(ctx, "new", serving.Query{Limit: 10})
	if err != nil || p.Source != serving.SourceFolded || pageIDs(p) != "t4 t7 t3 t6 t2" {
		t.Errorf("new user: got %s %q, %v, want folded t4 t7 t3 t6 t2", p.Source, pageIDs(p), err)
	}

	// A known user whose ratings are older than the run keeps the run's
	// list; one newer rating folds them in.
	rate("old", "t6", 4, start.Add(-time.Hour))
	if p, _ := s.Recommendations(ctx, "old", serving.Query{Limit: 10}); p.Source != serving.SourcePersonal || pageIDs(p) != "t2 t3" {
		t.Errorf("known user with old ratings: got %s %q, want personal t2 t3", p.Source, pageIDs(p))
	}
	rate("old", "t0", 5, start.Add(time.Hour))
	if p, _ := s.Recommendations(ctx, "old", serving.Query{Limit: 3}); p.Source != serving.SourceFolded || strings.Contains(pageIDs(p), "t6") || strings.Contains(pageIDs(p), "t0") {
		t.Errorf("known user with a new rating: got %s %q, want folded without t6 and t0", p.Source, pageIDs(p))
	}
	if got := s.Stats().FoldIns; got != 2 {
		t.Errorf("Stats().FoldIns: got %d, want 2", got)
	}
}

func TestFoldInWithoutModel(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, trending(serving.TrendingAll, "t7", "t6"))
	s := e.service(nil)
	ctx := t.Context()
	if err := s.RecordInteraction(ctx, data.RatingEvent(data.Rating{UserID: "new", ContentID: "t7", Value: 5, Time: start})); err != nil {
		t.Fatal(err)
	}
	p, err := s.Recommendations(ctx, "new", serving.Query{Limit: 10})
	if err != nil || p.Source != serving.SourceTrending || pageIDs(p) != "t6" {
		t.Errorf("got %s %q, %v, want trending t6", p.Source, pageIDs(p), err)
	}
}

// TestDegraded fails the list store. Responses come from the last good
// copies, marked degraded, then from the last good trending list. Once the
// store is back and the breaker's cooldown has passed, they are fresh.
func TestDegraded(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1"), trending(serving.TrendingAll, "t4", "t5"))
	s := e.service(func(c *serving.Config) { c.ListTTL, c.PointerTTL = time.Second, time.Second })
	ctx := t.Context()
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(u string) serving.Page {
		t.Helper()
		p, err := s.Recommendations(ctx, u, serving.Query{Limit: 10})
		if err != nil {
			t.Fatalf("Recommendations(%s): %v", u, err)
		}
		return p
	}
	if p := get("u"); p.Degraded || pageIDs(p) != "t0 t1" {
		t.Fatalf("before the outage: got %q degraded %v", pageIDs(p), p.Degraded)
	}

	e.lists.down.Store(true)
	e.history.down.Store(true)
	e.clock.add(time.Minute) // every copy is stale
	tests := []struct {
		user, want string
		source     serving.Source
	}{
		{"u", "t0 t1", serving.SourcePersonal}, // the last good copy of the user's list
		{"v", "t4 t5", serving.SourceTrending}, // no copy: the last good trending list
		{"u", "t0 t1", serving.SourcePersonal}, // the breaker is open now: no wait
		{"w", "t4 t5", serving.SourceTrending},
	}
	for _, tc := range tests {
		if p := get(tc.user); !p.Degraded || pageIDs(p) != tc.want || p.Source != tc.source || p.RunID != "r1" {
			t.Errorf("during the outage, %s: got %s %q from %s degraded %v, want degraded %s %q", tc.user, p.Source, pageIDs(p), p.RunID, p.Degraded, tc.source, tc.want)
		}
	}
	reads := e.lists.reads.Load()
	get("x")
	if got := e.lists.reads.Load() - reads; got != 0 {
		t.Errorf("with the breaker open, a request read the list store %d times, want 0", got)
	}

	e.lists.down.Store(false)
	e.history.down.Store(false)
	e.clock.add(2 * time.Second) // past the breaker's cooldown
	for range 3 {                // the first read probes; the breaker closes
		get("u")
	}
	if p := get("v"); p.Degraded || p.Source != serving.SourceTrending {
		t.Errorf("after the outage: got %+v, want a fresh response", p)
	}
	if st := s.Stats(); st.Degraded < 5 {
		t.Errorf("Stats().Degraded: got %d, want at least 5", st.Degraded)
	}
}

func TestNothingReadYet(t *testing.T) {
	e := newEnv(t)
	e.lists.down.Store(true)
	s := e.service(nil)
	_, err := s.Recommendations(t.Context(), "u", serving.Query{Limit: 10})
	if !errors.Is(err, data.ErrUnavailable) {
		t.Errorf("with nothing ever read: got %v, want ErrUnavailable", err)
	}
	e.lists.down.Store(false)
	if _, err := s.Recommendations(t.Context(), "u", serving.Query{Limit: 10}); !errors.Is(err, serving.ErrNoRun) {
		t.Errorf("before the first publish: got %v, want ErrNoRun", err)
	}
}

// TestInvalidationAcrossReplicas has two services share the history and
// the bus. A rating through one leaves the other's next response, while the
// TTLs are an hour long.
func TestInvalidationAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1", "t2"), trending(serving.TrendingAll, "t0"))
	long := func(c *serving.Config) { c.UserTTL, c.ListTTL, c.PointerTTL = time.Hour, time.Hour, time.Hour }
	a, b := e.service(long), e.service(long)
	ctx := t.Context()
	for _, s := range []*serving.Service{a, b} {
		if p, _ := s.Recommendations(ctx, "u", serving.Query{Limit: 1}); pageIDs(p) != "t0" {
			t.Fatalf("before the rating: got %q, want t0", pageIDs(p))
		}
	}
	if err := a.RecordInteraction(ctx, data.RatingEvent(data.Rating{UserID: "u", ContentID: "t0", Value: 3, Time: start})); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.Recommendations(ctx, "u", serving.Query{Limit: 1}); pageIDs(p) != "t1" {
		t.Errorf("the other replica after the rating: got %q, want t1", pageIDs(p))
	}

	// A run switch reaches both at once, too.
	e.publish("r2", nil, user("u", "t7"), trending(serving.TrendingAll, "t7"))
	for name, s := range map[string]*serving.Service{"a": a, "b": b} {
		if p, _ := s.Recommendations(ctx, "u", serving.Query{Limit: 1}); p.RunID != "r2" {
			t.Errorf("replica %s after a publish: got run %s, want r2", name, p.RunID)
		}
	}
}

func TestRecordInteractionErrors(t *testing.T) {
	e := newEnv(t)
	s := e.service(nil)
	ctx := t.Context()
	if err := s.RecordInteraction(ctx, data.Event{Type: data.EventRating, UserID: "u"}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("without a title: got %v, want ErrInvalid", err)
	}
	e.history.down.Store(true)
	if err := s.RecordInteraction(ctx, data.RatingEvent(data.Rating{UserID: "u", ContentID: "t", Value: 1, Time: start})); !errors.Is(err, data.ErrUnavailable) {
		t.Errorf("with the history down: got %v, want ErrUnavailable", err)
	}
}

func TestSimilarAndTrending(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, data.ListEntry{Kind: data.ListSimilar, Key: "t0", Items: ids("t1", "t2", "t3")},
		trending(serving.TrendingAll, "t4", "t5"), trending("Drama", "t5"))
	s := e.service(nil)
	ctx := t.Context()
	p, err := s.Similar(ctx, "t0", serving.Query{Limit: 2})
	if err != nil || pageIDs(p) != "t1 t2" || p.NextCursor == "" {
		t.Fatalf("Similar: got %q %v", pageIDs(p), err)
	}
	p, err = s.Similar(ctx, "t0", serving.Query{Limit: 2, Cursor: p.NextCursor})
	if err != nil || pageIDs(p) != "t3" || p.NextCursor != "" {
		t.Errorf("Similar, second page: got %q next %q, %v, want t3 and no next", pageIDs(p), p.NextCursor, err)
	}
	if _, err := s.Similar(ctx, "t9", serving.Query{Limit: 2}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Similar of a title without a list: got %v, want ErrNotFound", err)
	}
	if p, err := s.Trending(ctx, "Drama", serving.Query{Limit: 5}); err != nil || pageIDs(p) != "t5" {
		t.Errorf("Trending(Drama): got %q, %v", pageIDs(p), err)
	}
	if _, err := s.Trending(ctx, "Western", serving.Query{Limit: 5}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Trending of a genre without a list: got %v, want ErrNotFound", err)
	}
}

// TestNoCacheReadsEveryTime checks that NoCache reads the list from the
// list store on every request, and the current run ID only once.
func TestNoCacheReadsEveryTime(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0"), trending(serving.TrendingAll, "t0"))
	cached, uncached := e.service(nil), e.service(func(c *serving.Config) { c.NoCache = true })
	for _, tc := range []struct {
		name     string
		s        *serving.Service
		min, max int64
	}{{"cached", cached, 1, 2}, {"NoCache", uncached, 10, 12}} {
		if err := tc.s.Warm(t.Context()); err != nil {
			t.Fatal(err)
		}
		before := e.lists.reads.Load()
		for range 10 {
			if _, err := tc.s.Recommendations(t.Context(), "u", serving.Query{Limit: 1}); err != nil {
				t.Fatal(err)
			}
		}
		// A warm-up in the background may add a read of the trending list,
		// and without the cache one of the pointer too.
		if got := e.lists.reads.Load() - before; got < tc.min || got > tc.max {
			t.Errorf("%s: 10 requests read the list store %d times, want %d to %d", tc.name, got, tc.min, tc.max)
		}
	}
}

// TestSlowStoreTimesOut has List block past the timeout, ignoring its
// context: the response comes from the last good copy at the timeout.
func TestSlowStoreTimesOut(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1"), trending(serving.TrendingAll, "t4"))
	s := e.service(func(c *serving.Config) { c.Timeout, c.ListTTL = 30*time.Millisecond, time.Second })
	ctx := t.Context()
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recommendations(ctx, "u", serving.Query{Limit: 10}); err != nil {
		t.Fatal(err)
	}

	hang := make(chan struct{})
	e.lists.hang.Store(&hang)
	defer close(hang)
	e.clock.add(time.Minute)
	start := time.Now()
	p, err := s.Recommendations(ctx, "u", serving.Query{Limit: 10})
	elapsed := time.Since(start)
	if err != nil || !p.Degraded || pageIDs(p) != "t0 t1" {
		t.Errorf("with a hung list store: got %q degraded %v, %v, want the last good copy, degraded", pageIDs(p), p.Degraded, err)
	}
	if elapsed > time.Second {
		t.Errorf("with a hung list store the response took %v, want about the 30 ms timeout", elapsed)
	}
}

// BenchmarkRecommendations serves a page of 10 titles from memory, the
// common case, and with every list and history read from the stores.
func BenchmarkRecommendations(b *testing.B) {
	for _, noCache := range []bool{false, true} {
		b.Run(fmt.Sprint("noCache=", noCache), func(b *testing.B) {
			e := newBenchEnv(b)
			s, err := serving.Open(serving.Config{Lists: e.lists, Catalog: e.store, Users: e.store, Events: e.store,
				History: e.history, NoCache: noCache, Timeout: 5 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := b.Context()
			if err := s.Warm(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.Recommendations(ctx, fmt.Sprintf("u%d", i%100), serving.Query{Limit: 10}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFoldInWatchModelTakesRatings checks that a model of watch strengths
// folds in a new user who only rated titles, each rating counting as one
// viewing.
func TestFoldInWatchModelTakesRatings(t *testing.T) {
	e := newEnv(t)
	m := testModel()
	m.Feedback = foldin.Watches
	e.publish("r1", m, trending(serving.TrendingAll, "t7", "t6"))
	s := e.service(nil)
	ctx := t.Context()
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"t0", "t1"} {
		r := data.Rating{UserID: "new", ContentID: id, Value: 2, Time: start.Add(time.Hour)}
		if err := e.store.PutRatings(ctx, []data.Rating{r}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordInteraction(ctx, data.RatingEvent(r)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Recommendations(ctx, "new", serving.Query{Limit: 3})
	if err != nil || p.Source != serving.SourceFolded || pageIDs(p) != "t5 t4 t7" {
		t.Errorf("got %s %q, %v, want folded t5 t4 t7", p.Source, pageIDs(p), err)
	}
}

// flakyCatalog is a data.Catalog whose Titles fails while down is set.
type flakyCatalog struct {
	data.Catalog
	down atomic.Bool
}

func (f *flakyCatalog) Titles(ctx context.Context, ids []string) ([]data.Title, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Catalog.Titles(ctx, ids)
}

// TestDeletedTitlesLeavePages deletes titles that a run lists. Every list
// leaves them out, its pages stay full and its cursors skip them, and a
// title dropped through one replica leaves the other's pages at once.
func TestDeletedTitlesLeavePages(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"),
		data.ListEntry{Kind: data.ListSimilar, Key: "t0", Items: ids("t1", "t2", "t3")},
		trending(serving.TrendingAll, "t3", "t2", "t1", "t0"), trending("Drama", "t1", "t5", "t0"))
	long := func(c *serving.Config) { c.TitleTTL, c.ListTTL, c.PointerTTL = time.Hour, time.Hour, time.Hour }
	a, b := e.service(long), e.service(long)
	ctx := t.Context()
	for _, s := range []*serving.Service{a, b} { // both cache every title
		if p, err := s.Recommendations(ctx, "u", serving.Query{Limit: 10}); err != nil || len(p.Items) != 8 {
			t.Fatalf("before the deletion: got %q, %v", pageIDs(p), err)
		}
	}

	for _, id := range []string{"t1", "t3"} {
		if err := e.store.DeleteTitle(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := a.InvalidateTitle(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range map[string]*serving.Service{"a": a, "b": b} {
		var got []string
		q := serving.Query{Limit: 2}
		for {
			p, err := s.Recommendations(ctx, "u", q)
			if err != nil {
				t.Fatalf("replica %s: %v", name, err)
			}
			if len(p.Items) != 2 && p.NextCursor != "" {
				t.Errorf("replica %s: a page of %d titles with a next page, want 2", name, len(p.Items))
			}
			for _, it := range p.Items {
				if it.Title == nil {
					t.Errorf("replica %s: %s without its title", name, it.ContentID)
				}
			}
			got = append(got, pageIDs(p))
			if p.NextCursor == "" {
				break
			}
			q.Cursor = p.NextCursor
		}
		if want := "t0 t2|t4 t5|t6 t7"; strings.Join(got, "|") != want {
			t.Errorf("replica %s: pages %q, want %q", name, strings.Join(got, "|"), want)
		}
		if p, _ := s.Recommendations(ctx, "u", serving.Query{Limit: 2, Offset: 2}); pageIDs(p) != "t4 t5" || p.NextOffset != 4 {
			t.Errorf("replica %s: offset 2: got %q next offset %d, want t4 t5 and 4", name, pageIDs(p), p.NextOffset)
		}
		if p, _ := s.Similar(ctx, "t0", serving.Query{Limit: 5}); pageIDs(p) != "t2" {
			t.Errorf("replica %s: similar: got %q, want t2", name, pageIDs(p))
		}
		if p, _ := s.Trending(ctx, "", serving.Query{Limit: 5}); pageIDs(p) != "t2 t0" {
			t.Errorf("replica %s: trending: got %q, want t2 t0", name, pageIDs(p))
		}
		if p, _ := s.Recommendations(ctx, "u", serving.Query{Limit: 5, Genre: "drama"}); pageIDs(p) != "t0 t5" {
			t.Errorf("replica %s: genre: got %q, want t0 t5", name, pageIDs(p))
		}
	}
}

// TestCatalogDownKeepsTitles fails the catalog: a page keeps its titles,
// without metadata, and is marked degraded, rather than dropping titles it
// cannot check.
func TestCatalogDownKeepsTitles(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1", "t2"), trending(serving.TrendingAll, "t0"))
	catalog := &flakyCatalog{Catalog: e.store}
	s := e.service(func(c *serving.Config) { c.Catalog = catalog })
	catalog.down.Store(true)
	p, err := s.Recommendations(t.Context(), "u", serving.Query{Limit: 2})
	if err != nil || pageIDs(p) != "t0 t1" || !p.Degraded || p.NextCursor == "" {
		t.Fatalf("with the catalog down: got %q degraded %v next %q, %v, want t0 t1, degraded, with a next page", pageIDs(p), p.Degraded, p.NextCursor, err)
	}
	if p.Items[0].Title != nil {
		t.Errorf("with the catalog down: title %+v, want none", p.Items[0].Title)
	}
}

// TestListStoreLostItsData empties the list store, as a Redis without
// persistence that restarts does. Responses come from the last known run
// in memory, marked degraded, never an error, until a run is published
// again.
func TestListStoreLostItsData(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1"), user("v", "t2", "t3"),
		data.ListEntry{Kind: data.ListSimilar, Key: "t0", Items: ids("t1", "t2")},
		trending(serving.TrendingAll, "t4", "t5"))
	s := e.service(func(c *serving.Config) { c.ListTTL, c.PointerTTL = time.Second, time.Second })
	ctx := t.Context()
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := s.Recommendations(ctx, "u", serving.Query{Limit: 1})
	if err != nil || pageIDs(first) != "t0" || first.NextCursor == "" {
		t.Fatalf("before the loss: got %q, %v", pageIDs(first), err)
	}

	e.lists.empty.Store(true)
	e.clock.add(time.Minute) // every copy is stale
	tests := []struct {
		name, want string
		get        func() (serving.Page, error)
	}{
		{"a user's cached list", "t0 t1", func() (serving.Page, error) { return s.Recommendations(ctx, "u", serving.Query{Limit: 10}) }},
		{"the next page of a cursor", "t1", func() (serving.Page, error) {
			return s.Recommendations(ctx, "u", serving.Query{Limit: 1, Cursor: first.NextCursor})
		}},
		{"a user never read: the last good trending list", "t4 t5", func() (serving.Page, error) {
			return s.Recommendations(ctx, "v", serving.Query{Limit: 10})
		}},
		{"trending", "t4 t5", func() (serving.Page, error) { return s.Trending(ctx, "", serving.Query{Limit: 10}) }},
		{"similar never read: the last good trending list", "t4 t5", func() (serving.Page, error) {
			return s.Similar(ctx, "t0", serving.Query{Limit: 10})
		}},
	}
	for _, tc := range tests {
		p, err := tc.get()
		if err != nil || pageIDs(p) != tc.want || !p.Degraded || p.RunID != "r1" {
			t.Errorf("%s: got %q from %s degraded %v, %v, want %q from r1, degraded", tc.name, pageIDs(p), p.RunID, p.Degraded, err, tc.want)
		}
	}

	// Data comes back with a new publish, and responses from it are fresh.
	e.lists.empty.Store(false)
	e.publish("r2", nil, user("u", "t6"), trending(serving.TrendingAll, "t6"))
	p, err := s.Recommendations(ctx, "u", serving.Query{Limit: 10})
	if err != nil || p.RunID != "r2" || p.Degraded || pageIDs(p) != "t6" {
		t.Errorf("after a new publish: got %q from %s degraded %v, %v, want t6 from r2, fresh", pageIDs(p), p.RunID, p.Degraded, err)
	}
}

// TestCursorIntoDeletedRunOnEveryReplica pages into a run that is deleted
// after another run became current. A replica that kept the run's list in
// memory rejects the cursor with ErrBadCursor, as a replica that never read
// it does. While the store still holds the run, every replica serves it.
func TestCursorIntoDeletedRunOnEveryReplica(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil, user("u", "t0", "t1", "t2", "t3"), trending(serving.TrendingAll, "t0"))
	long := func(c *serving.Config) { c.ListTTL = time.Hour }
	warm, cold := e.service(long), e.service(long)
	ctx := t.Context()
	first, err := warm.Recommendations(ctx, "u", serving.Query{Limit: 1})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	second := serving.Query{Limit: 1, Cursor: first.NextCursor}
	if p, err := warm.Recommendations(ctx, "u", second); err != nil || pageIDs(p) != "t1" {
		t.Fatalf("second page: %q, %v", pageIDs(p), err)
	}

	e.publish("r2", nil, user("u", "t5"), trending(serving.TrendingAll, "t5"))
	for name, s := range map[string]*serving.Service{"warm": warm, "cold": cold} {
		if p, err := s.Recommendations(ctx, "u", second); err != nil || pageIDs(p) != "t1" || p.RunID != "r1" {
			t.Errorf("%s replica, run r1 still held: got %q from %s, %v, want t1 from r1", name, pageIDs(p), p.RunID, err)
		}
	}
	if err := e.lists.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*serving.Service{"warm": warm, "cold": cold, "new": e.service(long)} {
		if p, err := s.Recommendations(ctx, "u", second); !errors.Is(err, serving.ErrBadCursor) {
			t.Errorf("%s replica, run r1 deleted: got %q from %s, %v, want ErrBadCursor", name, pageIDs(p), p.RunID, err)
		}
	}
}

// TestGenresMatchWithoutCase publishes trending lists under the lower-case
// keys the pipeline writes, and looks them up in other cases, as a genre
// filter and as preferred genres.
func TestGenresMatchWithoutCase(t *testing.T) {
	e := newEnv(t)
	e.publish("r1", nil,
		trending(serving.TrendingAll, "t4", "t2", "t0"),
		trending("drama", "t5", "t0"),
		trending("sci-fi", "t3", "t6"),
	)
	ctx := t.Context()
	if err := e.store.PutUsers(ctx, []data.User{{ID: "fan", PreferredGenres: []string{"DRAMA", "Sci-Fi", "drama"}}}); err != nil {
		t.Fatal(err)
	}
	s := e.service(nil)

	for _, genre := range []string{"drama", "Drama", "DRAMA"} {
		if p, err := s.Trending(ctx, genre, serving.Query{Limit: 5}); err != nil || pageIDs(p) != "t5 t0" {
			t.Errorf("Trending(%s): got %q, %v, want t5 t0", genre, pageIDs(p), err)
		}
	}
	p, err := s.Recommendations(ctx, "fan", serving.Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != serving.SourceTrending || pageIDs(p) != "t5 t3 t0 t6" {
		t.Errorf("cold start of a user preferring DRAMA and Sci-Fi: got %s %q, want trending %q", p.Source, pageIDs(p), "t5 t3 t0 t6")
	}
}
