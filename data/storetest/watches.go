package storetest

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

func watch(id, userID, contentID string, kind data.WatchKind, ms int) data.WatchEvent {
	return data.WatchEvent{
		ID: id, UserID: userID, ContentID: contentID, Kind: kind,
		Position: 600.5, Duration: 5400, Time: at(ms),
	}
}

func checkWatchesOf(t *testing.T, s data.Store, userID string, limit int, want []data.WatchEvent) {
	t.Helper()
	got, err := s.Watches(t.Context(), userID, limit)
	must(t, "Watches", err)
	checkWatches(t, "Watches("+userID+")", got, want)
}

func testWatchRoundTrip(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	w := data.WatchEvent{
		ID: "w1", UserID: "u1", ContentID: "c1", Kind: data.WatchProgress,
		Position: 1234.25, Duration: 7200.5, Time: at(100).Add(250 * time.Microsecond),
	}
	zero := data.WatchEvent{ID: "w2", UserID: "u1", ContentID: "c1", Kind: data.WatchStart, Time: at(50)}
	must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{w, zero}))

	checkWatchesOf(t, s, "u1", 0, []data.WatchEvent{w, zero})
	checkEvents(t, "ScanEvents", scanAll(t, s, data.Window{}), []data.Event{data.WatchEventOf(w), data.WatchEventOf(zero)})
	checkWatchesOf(t, s, "unknown", 0, nil)
	must(t, "AppendWatches with no events", s.AppendWatches(ctx, nil))
}

func testWatchIdempotentByID(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	first := watch("w1", "u1", "c1", data.WatchStart, 100)
	must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{first}))

	// A second event with the same ID is ignored, even when it differs.
	replay := watch("w1", "u1", "c2", data.WatchComplete, 200)
	must(t, "AppendWatches with a stored ID", s.AppendWatches(ctx, []data.WatchEvent{replay, first}))
	checkWatchesOf(t, s, "u1", 0, []data.WatchEvent{first})

	// IDs are scoped to a user.
	other := watch("w1", "u2", "c1", data.WatchStart, 100)
	must(t, "AppendWatches for another user", s.AppendWatches(ctx, []data.WatchEvent{other}))
	checkWatchesOf(t, s, "u2", 0, []data.WatchEvent{other})
	checkWatchesOf(t, s, "u1", 0, []data.WatchEvent{first})

	// Twice in one batch: the first is kept.
	a, b := watch("w2", "u3", "c1", data.WatchStart, 10), watch("w2", "u3", "c9", data.WatchProgress, 20)
	must(t, "AppendWatches with an ID twice", s.AppendWatches(ctx, []data.WatchEvent{a, b}))
	checkWatchesOf(t, s, "u3", 0, []data.WatchEvent{a})

	checkEvents(t, "ScanEvents", scanAll(t, s, data.Window{}), []data.Event{
		data.WatchEventOf(first), data.WatchEventOf(other), data.WatchEventOf(a),
	})
}

func testWatchByID(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	first, second := watch("w1", "u1", "c1", data.WatchStart, 100), watch("w2", "u1", "c2", data.WatchComplete, 300)
	must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{first, second}))

	// A replay with another body leaves the first event, which Watch returns.
	must(t, "AppendWatches with a stored ID", s.AppendWatches(ctx, []data.WatchEvent{watch("w1", "u1", "c9", data.WatchComplete, 200)}))
	for _, want := range []data.WatchEvent{first, second} {
		got, err := s.Watch(ctx, want.UserID, want.ID)
		must(t, "Watch", err)
		checkWatches(t, "Watch("+want.ID+")", []data.WatchEvent{got}, []data.WatchEvent{want})
	}
	for _, key := range [][2]string{{"u1", "w3"}, {"u2", "w1"}, {"", "w1"}} {
		_, err := s.Watch(ctx, key[0], key[1])
		wantErr(t, "Watch("+key[0]+", "+key[1]+")", err, data.ErrNotFound)
	}
}

func testWatchesNewestFirst(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	w1, w2, w3, w4 := watch("a", "u1", "c1", data.WatchStart, 100), watch("b", "u1", "c1", data.WatchProgress, 400),
		watch("c", "u1", "c1", data.WatchComplete, 300), watch("d", "u1", "c2", data.WatchStart, 200)
	must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{w1, w2, w3}))
	must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{w4, watch("e", "u2", "c1", data.WatchStart, 500)}))

	tests := []struct {
		limit int
		want  []data.WatchEvent
	}{
		{0, []data.WatchEvent{w2, w3, w4, w1}},
		{-1, []data.WatchEvent{w2, w3, w4, w1}},
		{2, []data.WatchEvent{w2, w3}},
		{4, []data.WatchEvent{w2, w3, w4, w1}},
		{10, []data.WatchEvent{w2, w3, w4, w1}},
	}
	for _, tc := range tests {
		got, err := s.Watches(ctx, "u1", tc.limit)
		must(t, "Watches", err)
		checkWatches(t, "Watches(u1, limit "+strconv.Itoa(tc.limit)+")", got, tc.want)
	}
}

func testWatchInvalid(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	valid := watch("ok", "u1", "c1", data.WatchStart, 100)
	with := func(change func(*data.WatchEvent)) data.WatchEvent {
		w := watch("bad", "u1", "c1", data.WatchProgress, 100)
		change(&w)
		return w
	}
	tests := []struct {
		name string
		bad  data.WatchEvent
	}{
		{"empty id", with(func(w *data.WatchEvent) { w.ID = "" })},
		{"empty user", with(func(w *data.WatchEvent) { w.UserID = "" })},
		{"empty content", with(func(w *data.WatchEvent) { w.ContentID = "" })},
		{"unknown kind", with(func(w *data.WatchEvent) { w.Kind = "pause" })},
		{"empty kind", with(func(w *data.WatchEvent) { w.Kind = "" })},
		{"negative position", with(func(w *data.WatchEvent) { w.Position = -1 })},
		{"NaN position", with(func(w *data.WatchEvent) { w.Position = math.NaN() })},
		{"infinite position", with(func(w *data.WatchEvent) { w.Position = math.Inf(1) })},
		{"negative duration", with(func(w *data.WatchEvent) { w.Duration = -0.5 })},
		{"NaN duration", with(func(w *data.WatchEvent) { w.Duration = math.NaN() })},
		{"zero time", with(func(w *data.WatchEvent) { w.Time = time.Time{} })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{valid, tc.bad}), data.ErrInvalid)
			checkWatchesOf(t, s, "u1", 0, nil)
		})
	}
	checkEvents(t, "ScanEvents after rejected batches", scanAll(t, s, data.Window{}), nil)
}
