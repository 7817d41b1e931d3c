package storetest

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

func rating(userID, contentID string, value float64, ms int) data.Rating {
	return data.Rating{UserID: userID, ContentID: contentID, Value: value, Time: at(ms)}
}

func deletion(userID, contentID string, ms int) data.Event {
	return data.Event{Type: data.EventRatingDeleted, UserID: userID, ContentID: contentID, Time: at(ms)}
}

func putRatings(t *testing.T, s data.Store, ratings ...data.Rating) {
	t.Helper()
	must(t, "PutRatings", s.PutRatings(t.Context(), ratings))
}

// checkRating compares the current rating of a user and title with want, or
// expects none when want is nil.
func checkRating(t *testing.T, s data.Store, userID, contentID string, want *data.Rating) {
	t.Helper()
	got, err := s.Rating(t.Context(), userID, contentID)
	call := fmt.Sprintf("Rating(%s, %s)", userID, contentID)
	if want == nil {
		wantErr(t, call, err, data.ErrNotFound)
		return
	}
	must(t, call, err)
	checkRatings(t, call, []data.Rating{got}, []data.Rating{*want})
}

func testRatingRoundTrip(t *testing.T, open Opener[data.Store]) {
	s := openStore(t, open)
	r := data.Rating{UserID: "u1", ContentID: "c1", Value: 4.5, Time: at(100).Add(123 * time.Microsecond)}
	putRatings(t, s, r)

	checkRating(t, s, "u1", "c1", &r)
	got, err := s.Ratings(t.Context(), "u1")
	must(t, "Ratings", err)
	checkRatings(t, "Ratings(u1)", got, []data.Rating{r})
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 4.5})
	checkEvents(t, "ScanEvents", scanAll(t, s, data.Window{}), []data.Event{data.RatingEvent(r)})
}

func testRatingUnknown(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	putRatings(t, s, rating("u1", "c1", 3, 0))

	checkRating(t, s, "u1", "c2", nil)
	checkRating(t, s, "u2", "c1", nil)
	got, err := s.Ratings(ctx, "u2")
	must(t, "Ratings(u2)", err)
	if len(got) != 0 {
		t.Errorf("Ratings of an unknown user: got %+v, want none", got)
	}
	checkStats(t, s, "c2", data.RatingStats{})
	must(t, "PutRatings with no ratings", s.PutRatings(ctx, nil))
}

func testRatingLatestWins(t *testing.T, open Opener[data.Store]) {
	s := openStore(t, open)
	newer, older, newest := rating("u1", "c1", 4, 200), rating("u1", "c1", 2, 100), rating("u1", "c1", 1, 300)

	putRatings(t, s, newer)
	putRatings(t, s, older)
	checkRating(t, s, "u1", "c1", &newer)
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 4})

	putRatings(t, s, newest)
	checkRating(t, s, "u1", "c1", &newest)
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 1})

	// Within one batch, too, the newest event wins whatever its position.
	batchNewer, batchOlder := rating("u1", "c2", 3, 20), rating("u1", "c2", 5, 10)
	putRatings(t, s, batchNewer, batchOlder)
	checkRating(t, s, "u1", "c2", &batchNewer)
	checkStats(t, s, "c2", data.RatingStats{Count: 1, Sum: 3})

	checkEvents(t, "ScanEvents keeps the older events", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(newer), data.RatingEvent(older), data.RatingEvent(newest),
		data.RatingEvent(batchNewer), data.RatingEvent(batchOlder),
	})
}

func testRatingSameMillisecond(t *testing.T, open Opener[data.Store]) {
	s := openStore(t, open)
	first := data.Rating{UserID: "u1", ContentID: "c1", Value: 3, Time: at(100).Add(100 * time.Microsecond)}
	again := data.Rating{UserID: "u1", ContentID: "c1", Value: 5, Time: at(100).Add(900 * time.Microsecond)}

	putRatings(t, s, first)
	putRatings(t, s, again)
	checkRating(t, s, "u1", "c1", &first)
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 3})

	firstInBatch, againInBatch := first, again
	firstInBatch.ContentID, againInBatch.ContentID = "c2", "c2"
	putRatings(t, s, firstInBatch, againInBatch)
	checkRating(t, s, "u1", "c2", &firstInBatch)
	checkStats(t, s, "c2", data.RatingStats{Count: 1, Sum: 3})

	checkEvents(t, "ScanEvents", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(first), data.RatingEvent(firstInBatch),
	})
}

func testPutRatingsIdempotent(t *testing.T, open Opener[data.Store]) {
	s := openStore(t, open)
	batch := []data.Rating{
		rating("u1", "c1", 4, 10), rating("u2", "c1", 3.5, 11), rating("u1", "c2", 1, 12),
		rating("u1", "c1", 2, 5), rating("u3", "c1", 0.5, 13),
	}
	putRatings(t, s, batch...)
	putRatings(t, s, batch...)
	putRatings(t, s, batch[2], batch[0])

	checkStats(t, s, "c1", data.RatingStats{Count: 3, Sum: 8})
	checkStats(t, s, "c2", data.RatingStats{Count: 1, Sum: 1})
	var want []data.Event
	for _, r := range batch {
		want = append(want, data.RatingEvent(r))
	}
	checkEvents(t, "ScanEvents after putting a batch twice", scanAll(t, s, data.Window{}), want)
}

func testDeleteRating(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	r1, r2 := rating("u1", "c1", 4, 100), rating("u2", "c1", 2, 100)
	putRatings(t, s, r1, r2)

	must(t, "DeleteRating", s.DeleteRating(ctx, "u1", "c1", at(200)))
	checkRating(t, s, "u1", "c1", nil)
	checkRating(t, s, "u2", "c1", &r2)
	got, err := s.Ratings(ctx, "u1")
	must(t, "Ratings", err)
	if len(got) != 0 {
		t.Errorf("Ratings(u1) after deleting the only rating: got %+v, want none", got)
	}
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 2})
	checkEvents(t, "ScanEvents records the deletion", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(r1), data.RatingEvent(r2), deletion("u1", "c1", 200),
	})
}

func testDeleteRatingNothing(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	wantErr(t, "DeleteRating of no rating", s.DeleteRating(ctx, "u1", "c1", at(100)), data.ErrNotFound)
	checkEvents(t, "ScanEvents after deleting nothing", scanAll(t, s, data.Window{}), nil)

	r := rating("u1", "c1", 3, 100)
	putRatings(t, s, r)
	must(t, "DeleteRating", s.DeleteRating(ctx, "u1", "c1", at(200)))
	wantErr(t, "DeleteRating of a deleted rating", s.DeleteRating(ctx, "u1", "c1", at(300)), data.ErrNotFound)
	wantErr(t, "DeleteRating of another title", s.DeleteRating(ctx, "u1", "c2", at(300)), data.ErrNotFound)
	checkEvents(t, "ScanEvents", scanAll(t, s, data.Window{}), []data.Event{data.RatingEvent(r), deletion("u1", "c1", 200)})
	checkStats(t, s, "c1", data.RatingStats{})
}

func testDeleteRatingOlder(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	r := rating("u1", "c1", 4, 200)
	putRatings(t, s, r)

	must(t, "DeleteRating older than the rating", s.DeleteRating(ctx, "u1", "c1", at(100)))
	checkRating(t, s, "u1", "c1", &r)
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 4})
	checkEvents(t, "ScanEvents records the older deletion", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(r), deletion("u1", "c1", 100),
	})

	// At the same millisecond a deletion wins over a rating.
	must(t, "DeleteRating at the rating's millisecond", s.DeleteRating(ctx, "u1", "c1", at(200).Add(500*time.Microsecond)))
	checkRating(t, s, "u1", "c1", nil)
	checkStats(t, s, "c1", data.RatingStats{})
}

func testRatingAfterDeletion(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	putRatings(t, s, rating("u1", "c1", 3, 100))
	must(t, "DeleteRating", s.DeleteRating(ctx, "u1", "c1", at(200)))

	older := rating("u1", "c1", 5, 150)
	putRatings(t, s, older)
	checkRating(t, s, "u1", "c1", nil)
	checkStats(t, s, "c1", data.RatingStats{})

	sameMillisecond := rating("u1", "c1", 4, 200)
	putRatings(t, s, sameMillisecond)
	checkRating(t, s, "u1", "c1", nil)
	checkStats(t, s, "c1", data.RatingStats{})

	newer := rating("u1", "c1", 2, 250)
	putRatings(t, s, newer)
	checkRating(t, s, "u1", "c1", &newer)
	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 2})

	checkEvents(t, "ScanEvents", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(rating("u1", "c1", 3, 100)), deletion("u1", "c1", 200),
		data.RatingEvent(older), data.RatingEvent(sameMillisecond), data.RatingEvent(newer),
	})
}

func testRatingsNewestFirst(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	putRatings(t, s,
		rating("u1", "c1", 1, 100), rating("u1", "c2", 2, 300), rating("u1", "c3", 3, 200),
		rating("u1", "c4", 4, 50), rating("u2", "c1", 5, 400), rating("u1", "c1", 1.5, 20),
	)
	must(t, "DeleteRating", s.DeleteRating(ctx, "u1", "c3", at(250)))

	got, err := s.Ratings(ctx, "u1")
	must(t, "Ratings", err)
	checkRatings(t, "Ratings(u1)", got, []data.Rating{
		rating("u1", "c2", 2, 300), rating("u1", "c1", 1, 100), rating("u1", "c4", 4, 50),
	})
}

func testRatingStatsExact(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	put := func(r data.Rating) func() error {
		return func() error { return s.PutRatings(ctx, []data.Rating{r}) }
	}
	del := func(userID string, ms int) func() error {
		return func() error { return s.DeleteRating(ctx, userID, "t", at(ms)) }
	}

	steps := []struct {
		name string
		do   func() error
		want data.RatingStats
	}{
		{"first rating", put(rating("u1", "t", 4, 10)), data.RatingStats{Count: 1, Sum: 4}},
		{"second user", put(rating("u2", "t", 2.5, 10)), data.RatingStats{Count: 2, Sum: 6.5}},
		{"change", put(rating("u1", "t", 1, 20)), data.RatingStats{Count: 2, Sum: 3.5}},
		{"older change ignored", put(rating("u1", "t", 5, 15)), data.RatingStats{Count: 2, Sum: 3.5}},
		{"deletion", del("u2", 30), data.RatingStats{Count: 1, Sum: 1}},
		{"rating older than the deletion", put(rating("u2", "t", 0.5, 25)), data.RatingStats{Count: 1, Sum: 1}},
		{"third user", put(rating("u3", "t", 5, 40)), data.RatingStats{Count: 2, Sum: 6}},
		{"rating after the deletion", put(rating("u2", "t", 3, 40)), data.RatingStats{Count: 3, Sum: 9}},
		{"same event again", put(rating("u3", "t", 5, 40)), data.RatingStats{Count: 3, Sum: 9}},
		{"deletion older than the rating", del("u1", 5), data.RatingStats{Count: 3, Sum: 9}},
		{"other title", put(rating("u1", "other", 3, 50)), data.RatingStats{Count: 3, Sum: 9}},
	}
	for _, step := range steps {
		must(t, step.name, step.do())
		got, err := s.RatingStats(ctx, "t")
		must(t, "RatingStats", err)
		if got != step.want {
			t.Errorf("RatingStats after %s: got %+v, want %+v", step.name, got, step.want)
		}
	}
}

// testRatingStatsConcurrent rates one title from many goroutines at once:
// each owns a user and changes and deletes its rating, and a second group
// writes the events of one shared user out of time order.
func testRatingStatsConcurrent(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	const owners, steps, sharers, shared = 12, 23, 6, 60
	value := func(i, j int) float64 { return float64((i+j)%10+1) / 2 }

	var wg sync.WaitGroup
	for i := range owners {
		user := fmt.Sprintf("owner%02d", i)
		wg.Go(func() {
			for j := range steps {
				var err error
				if j%5 == 4 {
					err = s.DeleteRating(ctx, user, "t", at(j))
				} else {
					err = s.PutRatings(ctx, []data.Rating{rating(user, "t", value(i, j), j)})
				}
				if err != nil {
					t.Errorf("%s step %d: %v", user, j, err)
					return
				}
			}
		})
	}
	// Sharer g writes the events k = g, g+sharers, ... of user "shared",
	// newest first, so the events of one user arrive out of order.
	for g := range sharers {
		wg.Go(func() {
			for k := shared - sharers + g; k >= 0; k -= sharers {
				if err := s.PutRatings(ctx, []data.Rating{rating("shared", "t", value(0, k), k)}); err != nil {
					t.Errorf("shared event %d: %v", k, err)
					return
				}
			}
		})
	}
	wg.Wait()

	// The last step of every owner is a rating, and the newest shared event
	// is the one at shared-1.
	want := data.RatingStats{Count: owners + 1, Sum: value(0, shared-1)}
	for i := range owners {
		want.Sum += value(i, steps-1)
		last := rating(fmt.Sprintf("owner%02d", i), "t", value(i, steps-1), steps-1)
		checkRating(t, s, last.UserID, "t", &last)
	}
	newestShared := rating("shared", "t", value(0, shared-1), shared-1)
	checkRating(t, s, "shared", "t", &newestShared)
	checkStats(t, s, "t", want)

	events := scanAll(t, s, data.Window{})
	if wantEvents := owners*steps + shared; len(events) != wantEvents {
		t.Errorf("ScanEvents: got %d events, want %d", len(events), wantEvents)
	}
}

func testRatingInvalid(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	valid := rating("u1", "c1", 4, 100)
	tests := []struct {
		name string
		bad  data.Rating
	}{
		{"value 0", rating("u1", "c2", 0, 100)},
		{"value 5.5", rating("u1", "c2", 5.5, 100)},
		{"value 3.25", rating("u1", "c2", 3.25, 100)},
		{"value -1", rating("u1", "c2", -1, 100)},
		{"value NaN", rating("u1", "c2", math.NaN(), 100)},
		{"value +Inf", rating("u1", "c2", math.Inf(1), 100)},
		{"empty user", rating("", "c2", 3, 100)},
		{"empty content", rating("u1", "", 3, 100)},
		{"zero time", data.Rating{UserID: "u1", ContentID: "c2", Value: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutRatings(ctx, []data.Rating{valid, tc.bad})
			wantErr(t, "PutRatings", err, data.ErrInvalid)
			checkRating(t, s, "u1", "c1", nil)
			checkStats(t, s, "c1", data.RatingStats{})
		})
	}
	checkEvents(t, "ScanEvents after rejected batches", scanAll(t, s, data.Window{}), nil)
}
