// Package storetest is the conformance suite of Marquee's storage ports. Every
// adapter of data.Store calls [Run], and every adapter of data.Lists calls
// [RunLists], from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Opener[data.Store] {
//			path := filepath.Join(t.TempDir(), "marquee.db")
//			return func(t *testing.T) data.Store {
//				s, err := sqlite.Open(t.Context(), path)
//				if err != nil {
//					t.Fatal(err)
//				}
//				return s
//			}
//		})
//	}
//
// The suite checks the contracts in the doc comments of package data, and
// these rules that the doc comments imply:
//   - an empty user or title ID is invalid (data.ErrInvalid);
//   - times read back are in UTC, truncated to data.Precision, and a zero
//     CreatedAt or UpdatedAt reads back as the zero time;
//   - nil and empty slices are equal, and lookups by an unknown key that
//     return a collection return an empty one without an error, while
//     RatingStats of an unrated title is zero;
//   - every string, quotes and SQL or CQL fragments included, round-trips
//     unchanged.
//
// Subtests run one after another, each on a new, empty store. The suite uses
// fixed times, never the clock, except that RunLists sleeps a few
// milliseconds between commits so that PublishedAt orders the runs.
package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// Opener opens a handle on one store. Every call opens the same underlying
// store: the suite closes a handle and opens another to check that
// acknowledged writes persist, and holds two handles at once, as two
// processes would. The suite closes every handle it opens. An Opener that
// cannot open calls t.Fatal.
type Opener[S any] func(t *testing.T) S

// Run runs the data.Store conformance suite. newStore is called once per
// subtest, with the subtest's t, and returns the Opener of a new, empty store.
func Run(t *testing.T, newStore func(t *testing.T) Opener[data.Store]) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener[data.Store])
	}{
		{"UserRoundTrip", testUserRoundTrip},
		{"UserUnknown", testUserUnknown},
		{"UserEmptyID", testUserEmptyID},
		{"CreateUserTakenID", testCreateUserTakenID},
		{"CreateUserTakenEmail", testCreateUserTakenEmail},
		{"CreateUserConcurrentEmail", testCreateUserConcurrentEmail},
		{"UsersWithoutEmail", testUsersWithoutEmail},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserTakenEmail", testUpdateUserTakenEmail},
		{"DeleteUserFreesEmail", testDeleteUserFreesEmail},
		{"PutUsersIdempotent", testPutUsersIdempotent},
		{"PutUsersTakenEmail", testPutUsersTakenEmail},

		{"TitleRoundTrip", testTitleRoundTrip},
		{"TitleUnknown", testTitleUnknown},
		{"PutTitlesUpsert", testPutTitlesUpsert},
		{"TitlesInOrder", testTitlesInOrder},
		{"ListTitlesFilters", testListTitlesFilters},
		{"ListTitlesPages", testListTitlesPages},
		{"ListTitlesDefaultLimit", testListTitlesDefaultLimit},
		{"ListTitlesForgedCursor", testListTitlesForgedCursor},
		{"DeleteTitle", testDeleteTitle},

		{"RatingRoundTrip", testRatingRoundTrip},
		{"RatingUnknown", testRatingUnknown},
		{"RatingLatestWins", testRatingLatestWins},
		{"RatingSameMillisecond", testRatingSameMillisecond},
		{"PutRatingsIdempotent", testPutRatingsIdempotent},
		{"DeleteRating", testDeleteRating},
		{"DeleteRatingNothing", testDeleteRatingNothing},
		{"DeleteRatingOlder", testDeleteRatingOlder},
		{"RatingAfterDeletion", testRatingAfterDeletion},
		{"RatingsNewestFirst", testRatingsNewestFirst},
		{"RatingStatsExact", testRatingStatsExact},
		{"RatingStatsConcurrent", testRatingStatsConcurrent},
		{"RatingInvalid", testRatingInvalid},

		{"WatchRoundTrip", testWatchRoundTrip},
		{"WatchIdempotentByID", testWatchIdempotentByID},
		{"WatchByID", testWatchByID},
		{"WatchesNewestFirst", testWatchesNewestFirst},
		{"WatchInvalid", testWatchInvalid},

		{"ScanEventsWindow", testScanEventsWindow},
		{"ScanEventsStops", testScanEventsStops},
		{"TimesMillisecondUTC", testTimesMillisecondUTC},
		{"HostileStrings", testHostileStrings},
		{"DurableAfterReopen", testDurableAfterReopen},
		{"ClosedStoreFails", testClosedStoreFails},
		{"TwoHandles", testTwoHandles},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// openStore opens a handle and closes it when the test ends. A test that
// closes the handle itself checks the error of that Close. The second Close
// may fail, so its error is ignored.
func openStore(t *testing.T, open Opener[data.Store]) data.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// base is the time all test events are relative to.
var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns base plus ms milliseconds.
func at(ms int) time.Time {
	return base.Add(time.Duration(ms) * time.Millisecond)
}

// hostile holds strings that break stores that build queries by string
// concatenation or mishandle quoting, wildcards or Unicode.
var hostile = []string{
	`'); DROP TABLE users; --`,
	`"); DROP TABLE titles; --`,
	`x' OR '1'='1`,
	`'; TRUNCATE marquee.ratings; --`,
	`O'Brien said "hi" \ 'quoted' \'`,
	`100% _match_ [a-z]* ?`,
	`Amélie — 日本語 🎬 Ωμέγα`,
	"tab\tand\nnewline\r\n",
	`$1 :name @p {{x}} ${y}`,
}

// wantErr reports an error unless err wraps target.
func wantErr(t *testing.T, call string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", call, err, target)
	}
}

// must stops the test when err is not nil.
func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
}

// canonUser returns u as a store must read it back: times normalized, empty
// slices nil.
func canonUser(u data.User) data.User {
	u.CreatedAt, u.UpdatedAt = data.Normalize(u.CreatedAt), data.Normalize(u.UpdatedAt)
	u.PreferredGenres, u.PreferredTypes = nilIfEmpty(u.PreferredGenres), nilIfEmpty(u.PreferredTypes)
	return u
}

func canonTitle(t data.Title) data.Title {
	t.CreatedAt, t.UpdatedAt = data.Normalize(t.CreatedAt), data.Normalize(t.UpdatedAt)
	t.Genres = nilIfEmpty(t.Genres)
	return t
}

func canonRating(r data.Rating) data.Rating {
	r.Time = data.Normalize(r.Time)
	return r
}

func canonWatch(w data.WatchEvent) data.WatchEvent {
	w.Time = data.Normalize(w.Time)
	return w
}

func canonEvent(e data.Event) data.Event {
	e.Time = data.Normalize(e.Time)
	return e
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func checkUser(t *testing.T, call string, got, want data.User) {
	t.Helper()
	if g, w := canonUser(got), canonUser(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", call, g, w)
	}
}

func checkTitles(t *testing.T, call string, got, want []data.Title) {
	t.Helper()
	g, w := mapSlice(got, canonTitle), mapSlice(want, canonTitle)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", call, g, w)
	}
}

func checkRatings(t *testing.T, call string, got, want []data.Rating) {
	t.Helper()
	g, w := mapSlice(got, canonRating), mapSlice(want, canonRating)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", call, g, w)
	}
}

func checkWatches(t *testing.T, call string, got, want []data.WatchEvent) {
	t.Helper()
	g, w := mapSlice(got, canonWatch), mapSlice(want, canonWatch)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", call, g, w)
	}
}

// checkEvents compares two sets of events, in any order.
func checkEvents(t *testing.T, call string, got, want []data.Event) {
	t.Helper()
	g, w := sortEvents(mapSlice(got, canonEvent)), sortEvents(mapSlice(want, canonEvent))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %d events, want %d\n got %s\nwant %s", call, len(g), len(w), formatEvents(g), formatEvents(w))
	}
}

func sortEvents(events []data.Event) []data.Event {
	slices.SortFunc(events, func(a, b data.Event) int {
		return cmp.Or(
			a.Time.Compare(b.Time),
			strings.Compare(string(a.Type), string(b.Type)),
			strings.Compare(a.UserID, b.UserID),
			strings.Compare(a.ContentID, b.ContentID),
			strings.Compare(a.ID, b.ID),
		)
	})
	return events
}

func formatEvents(events []data.Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "\n\t%s %s user=%q content=%q id=%q rating=%v kind=%s pos=%v dur=%v",
			e.Time.Format(time.RFC3339Nano), e.Type, e.UserID, e.ContentID, e.ID, e.Rating, e.WatchKind, e.Position, e.Duration)
	}
	return b.String()
}

func mapSlice[T any](s []T, f func(T) T) []T {
	if len(s) == 0 {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// scanAll returns every event of the store in w.
func scanAll(t *testing.T, s data.Store, w data.Window) []data.Event {
	t.Helper()
	var events []data.Event
	err := s.ScanEvents(t.Context(), w, func(e data.Event) error {
		events = append(events, e)
		return nil
	})
	must(t, "ScanEvents", err)
	return events
}

// checkStats compares RatingStats of a title with want.
func checkStats(t *testing.T, s data.Store, contentID string, want data.RatingStats) {
	t.Helper()
	got, err := s.RatingStats(t.Context(), contentID)
	must(t, "RatingStats", err)
	if got != want {
		t.Errorf("RatingStats(%q): got %+v, want %+v", contentID, got, want)
	}
}
