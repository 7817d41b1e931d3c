package synth

import (
	"context"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

var testEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func generate(t *testing.T, cfg Config, opts Options) (*World, *fakeStore, Report) {
	t.Helper()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatalf("NewWorld: %v", err)
	}
	store := newFakeStore()
	rep, err := w.Write(context.Background(), store, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return w, store, rep
}

func smallConfig(seed uint64) Config {
	return Config{Seed: seed, End: testEnd, Users: 200, Titles: 400, MeanInteractions: 30}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Config)
		wantField string
	}{
		{"no end", func(c *Config) { c.End = time.Time{} }, "End"},
		{"short span", func(c *Config) { c.Span = time.Hour }, "Span"},
		{"negative users", func(c *Config) { c.Users = -1 }, "Users"},
		{"too many titles", func(c *Config) { c.Titles = maxTitles + 1 }, "Titles"},
		{"dim 1", func(c *Config) { c.Dim = 1 }, "Dim"},
		{"mean above titles", func(c *Config) { c.MeanInteractions = 5000 }, "MeanInteractions"},
		{"rating share above 1", func(c *Config) { c.RatingShare = 1.5 }, "RatingShare"},
		{"negative series share", func(c *Config) { c.SeriesShare = -0.1 }, "SeriesShare"},
		{"negative zipf", func(c *Config) { c.Zipf = -1 }, "Zipf"},
		{"NaN taste weight", func(c *Config) { c.TasteWeight = math.NaN() }, "TasteWeight"},
		{"empty genre list", func(c *Config) { c.Genres = []string{} }, "Genres"},
		{"blank genre", func(c *Config) { c.Genres = []string{"Drama", " "} }, "Genres"},
		{"repeated genre", func(c *Config) { c.Genres = []string{"Drama", "drama"} }, "Genres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{End: testEnd}.WithDefaults()
			tt.edit(&cfg)
			err := cfg.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want a *ConfigError", err)
			}
			if ce.Field != tt.wantField {
				t.Errorf("field = %s, want %s", ce.Field, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantField+" is ") {
				t.Errorf("message %q does not name %s", err, tt.wantField)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := Config{End: testEnd}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v for the defaults", err)
	}
	if cfg.Users != 2000 || cfg.Titles != 3000 || cfg.Dim != 8 || cfg.Span != 180*24*time.Hour {
		t.Errorf("defaults = %+v, want 2000 users, 3000 titles, dimension 8, 180 days", cfg)
	}
	if len(cfg.Genres) != 18 {
		t.Errorf("default genres = %q, want 18", cfg.Genres)
	}
	if _, err := NewWorld(Config{}); err == nil {
		t.Error("NewWorld(Config{}) = nil error, want one for the missing End")
	}
}

func TestGenerateDeterministic(t *testing.T) {
	_, a, repA := generate(t, smallConfig(7), Options{})
	_, b, repB := generate(t, smallConfig(7), Options{BatchSize: 333})

	repA.Elapsed, repB.Elapsed = 0, 0
	if repA != repB {
		t.Errorf("reports differ: %+v and %+v", repA, repB)
	}
	compare := []struct {
		name string
		a, b any
	}{
		{"titles", a.titles, b.titles},
		{"users", a.users, b.users},
		{"ratings", a.ratings, b.ratings},
		{"watches", a.watches, b.watches},
	}
	for _, c := range compare {
		if !reflect.DeepEqual(c.a, c.b) {
			t.Errorf("%s differ between two runs with seed 7", c.name)
		}
	}

	_, other, _ := generate(t, smallConfig(8), Options{})
	if reflect.DeepEqual(a.ratings, other.ratings) || reflect.DeepEqual(a.titles, other.titles) {
		t.Error("seeds 7 and 8 gave the same data")
	}
}

func TestGenerateTwiceIsIdempotent(t *testing.T) {
	_, once, _ := generate(t, smallConfig(3), Options{})
	w, twice, _ := generate(t, smallConfig(3), Options{})
	if _, err := w.Write(context.Background(), twice, Options{BatchSize: 100}); err != nil {
		t.Fatalf("second Write: %v", err)
	}
	if !reflect.DeepEqual(once.ratings, twice.ratings) || !reflect.DeepEqual(once.watches, twice.watches) {
		t.Error("events differ after writing the same world twice")
	}
}

func TestGenerateCounts(t *testing.T) {
	cfg := smallConfig(1)
	_, store, rep := generate(t, cfg, Options{BatchSize: 1000})
	counts := []struct {
		name      string
		got, want int
	}{
		{"titles reported", rep.Titles, cfg.Titles},
		{"titles stored", len(store.titles), cfg.Titles},
		{"users reported", rep.Users, cfg.Users},
		{"users stored", len(store.users), cfg.Users},
		{"ratings stored", len(store.ratings), rep.Ratings},
		{"watches stored", len(store.watches), rep.Watches},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// TestGenerateDefaultConfig checks the shape of the default dataset.
func TestGenerateDefaultConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("the default dataset takes a few seconds with the fake store")
	}
	w, store, rep := generate(t, Config{Seed: 42, End: testEnd}, Options{})
	t.Logf("report: %+v", rep)

	checkCatalog(t, store)
	checkUsers(t, store)
	checkRatings(t, w, store)
	checkWatches(t, store)
	checkLongTail(t, store)
}

func checkCatalog(t *testing.T, store *fakeStore) {
	t.Helper()
	types := map[string]int{}
	for _, title := range store.titles {
		types[title.Type]++
		if n := len(title.Genres); n < 1 || n > 3 {
			t.Errorf("title %s has %d genres, want 1 to 3", title.ID, n)
		}
		if title.Name == "" || title.Year < firstYear || title.Year > testEnd.Year() || title.DurationSec <= 0 {
			t.Errorf("title %+v lacks a name, a year in %d..%d or a duration", title, firstYear, testEnd.Year())
		}
	}
	if movies, series := types["movie"], types["series"]; movies < 2*series || series == 0 || movies+series != len(store.titles) {
		t.Errorf("types = %v, want mostly movies, some series and nothing else", types)
	}
}

func checkUsers(t *testing.T, store *fakeStore) {
	t.Helper()
	for _, u := range store.users {
		if n := len(u.PreferredGenres); n < 1 || n > 3 {
			t.Errorf("user %s prefers %d genres, want 1 to 3", u.ID, n)
		}
		if !strings.HasPrefix(u.Email, "user") || !strings.HasSuffix(u.Email, "@example.com") || u.Name == "" {
			t.Errorf("user %+v, want a name and an e-mail like user123@example.com", u)
		}
		if !inSpan(u.CreatedAt) {
			t.Errorf("user %s created at %v, outside the span", u.ID, u.CreatedAt)
		}
	}
}

func checkRatings(t *testing.T, w *World, store *fakeStore) {
	t.Helper()
	var high, low []float64 // ratings of titles with affinity above 0.5 and below 0
	values := map[float64]int{}
	for _, r := range store.ratings {
		if err := data.ValidateRating(r); err != nil {
			t.Errorf("rating %+v: %v", r, err)
		}
		if !inSpan(r.Time) || r.Time.Before(store.users[r.UserID].CreatedAt) {
			t.Errorf("rating %+v outside the span or before the user joined", r)
		}
		values[r.Value]++
		a, _ := w.Affinity(r.UserID, r.ContentID)
		switch {
		case a > 0.5:
			high = append(high, r.Value)
		case a < 0:
			low = append(low, r.Value)
		}
	}
	if len(values) < 8 {
		t.Errorf("ratings use %d distinct values, want at least 8: %v", len(values), values)
	}
	if mh, ml := mean(high), mean(low); mh < ml+1 {
		t.Errorf("mean rating is %.2f at affinity > 0.5 and %.2f at affinity < 0, want a gap of at least 1", mh, ml)
	}
}

func checkWatches(t *testing.T, store *fakeStore) {
	t.Helper()
	kinds := map[data.WatchKind]int{}
	for _, e := range store.watches {
		kinds[e.Kind]++
		if e.Position < 0 || e.Position > e.Duration || e.Duration != float64(store.titles[e.ContentID].DurationSec) {
			t.Errorf("watch event %+v: position outside [0, duration] or duration not the title's", e)
		}
		if !inSpan(e.Time) || e.Time.Before(store.users[e.UserID].CreatedAt) {
			t.Errorf("watch event %+v outside the span or before the user joined", e)
		}
	}
	if kinds[data.WatchComplete] == 0 || kinds[data.WatchProgress] == 0 || kinds[data.WatchStart] <= kinds[data.WatchComplete] {
		t.Errorf("watch kinds = %v, want starts, progress, and completes for only some sessions", kinds)
	}
}

// checkLongTail checks that the 10% most chosen titles hold at least 40% of
// the interactions. A Zipf law with exponent 1 over 3,000 titles puts 73% of
// its weight there, and sampling without replacement lowers the share,
// because a user picks each title at most once.
func checkLongTail(t *testing.T, store *fakeStore) {
	t.Helper()
	perTitle := map[string]int{}
	for k := range store.ratings {
		perTitle[k.contentID]++
	}
	for _, e := range store.watches {
		if e.Kind == data.WatchStart {
			perTitle[e.ContentID]++
		}
	}
	counts := slices.Sorted(maps.Values(perTitle))
	slices.Reverse(counts)
	total, head := 0, 0
	for i, c := range counts {
		total += c
		if i < len(store.titles)/10 {
			head += c
		}
	}
	if share := float64(head) / float64(total); share < 0.4 {
		t.Errorf("top 10%% of titles hold %.0f%% of %d interactions, want at least 40%%", 100*share, total)
	}
}

func inSpan(ts time.Time) bool {
	return !ts.Before(testEnd.Add(-DefaultSpan)) && ts.Before(testEnd)
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func TestWatchSessionsAreOrdered(t *testing.T) {
	_, store, _ := generate(t, smallConfig(5), Options{})
	sessions := map[[2]string][]data.WatchEvent{}
	for _, e := range store.watches {
		key := [2]string{e.UserID, e.ContentID}
		sessions[key] = append(sessions[key], e)
	}
	for key, events := range sessions {
		slices.SortFunc(events, func(a, b data.WatchEvent) int { return a.Time.Compare(b.Time) })
		if events[0].Kind != data.WatchStart || events[0].Position != 0 {
			t.Errorf("session %v starts with %+v, want a start at position 0", key, events[0])
		}
		for i := 1; i < len(events); i++ {
			if events[i].Position <= events[i-1].Position || events[i].Kind == data.WatchStart {
				t.Errorf("session %v: event %+v after %+v", key, events[i], events[i-1])
			}
		}
		if last := events[len(events)-1]; last.Kind == data.WatchComplete && last.Position != last.Duration {
			t.Errorf("session %v completes at %v of %v", key, last.Position, last.Duration)
		}
	}
}

func TestGroundTruth(t *testing.T) {
	w, store, _ := generate(t, smallConfig(11), Options{})
	user := w.Users()[0].ID

	top := w.TopTitles(user, 10)
	if len(top) != 10 {
		t.Fatalf("TopTitles returned %d titles, want 10", len(top))
	}
	prev := math.Inf(1)
	for _, id := range top {
		a, ok := w.Affinity(user, id)
		if !ok || a > prev {
			t.Errorf("TopTitles not in decreasing affinity at %s: %v after %v", id, a, prev)
		}
		prev = a
	}
	if got := w.TopTitles("nobody", 10); got != nil {
		t.Errorf("TopTitles(unknown) = %v, want nil", got)
	}
	if _, ok := w.Affinity(user, "nothing"); ok {
		t.Error("Affinity of an unknown title reported ok")
	}

	var sum float64
	for _, title := range w.Titles() {
		p, _ := w.Popularity(title.ID)
		sum += p
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("popularities sum to %v, want 1", sum)
	}

	// Users choose titles they like: the mean affinity of the titles they
	// rated is well above the mean over all user-title pairs.
	var chosen, all []float64
	for k := range store.ratings {
		a, _ := w.Affinity(k.userID, k.contentID)
		chosen = append(chosen, a)
	}
	for _, u := range w.Users() {
		for _, title := range w.Titles() {
			a, _ := w.Affinity(u.ID, title.ID)
			all = append(all, a)
		}
	}
	if mc, ma := mean(chosen), mean(all); mc < ma+0.2 {
		t.Errorf("mean affinity of rated titles = %.2f, of all pairs %.2f, want a gap of at least 0.2", mc, ma)
	}
}

func TestWriteFailure(t *testing.T) {
	errDown := errors.New("store down")
	w, err := NewWorld(smallConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	store.failCall = 4 // titles in 1 call, users in 1, then event batches
	store.failErr = errDown

	rep, err := w.Write(context.Background(), store, Options{BatchSize: 400})
	if !errors.Is(err, errDown) {
		t.Fatalf("Write error = %v, want the store's error", err)
	}
	if !strings.Contains(err.Error(), "written before the failed batch of 400") {
		t.Errorf("Write error = %q, want it to say how much was written", err)
	}
	if rep.Titles != 400 || rep.Users != 200 {
		t.Errorf("report = %+v, want the 400 titles and 200 users written", rep)
	}

	store.failCall = 0
	if _, err := w.Write(context.Background(), store, Options{}); err != nil {
		t.Fatalf("second Write: %v", err)
	}
	_, clean, _ := generate(t, smallConfig(2), Options{})
	if !reflect.DeepEqual(store.ratings, clean.ratings) || !reflect.DeepEqual(store.watches, clean.watches) {
		t.Error("a rerun after a failure did not give the data of a clean run")
	}
}

func TestWriteCancelled(t *testing.T) {
	w, err := NewWorld(smallConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store := newFakeStore()
	if _, err := w.Write(ctx, store, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Write error = %v, want context.Canceled", err)
	}
	if store.calls != 0 {
		t.Errorf("store calls = %d, want 0", store.calls)
	}
}

func TestWriteProgress(t *testing.T) {
	var last Progress
	calls := 0
	_, _, rep := generate(t, smallConfig(4), Options{BatchSize: 500, Progress: func(p Progress) {
		calls++
		last = p
	}})
	want := Progress{Stage: StageEvents, Done: 200, Total: 200, Ratings: rep.Ratings, Watches: rep.Watches}
	if last != want {
		t.Errorf("last progress = %+v, want %+v", last, want)
	}
	if calls < 3 {
		t.Errorf("progress called %d times, want one per batch", calls)
	}
}

// discardStore accepts every write, to time the generator alone.
type discardStore struct{}

func (discardStore) PutTitles(context.Context, []data.Title) error          { return nil }
func (discardStore) PutUsers(context.Context, []data.User) error            { return nil }
func (discardStore) PutRatings(context.Context, []data.Rating) error        { return nil }
func (discardStore) AppendWatches(context.Context, []data.WatchEvent) error { return nil }

func BenchmarkGenerateDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(context.Background(), discardStore{}, Config{End: testEnd}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
