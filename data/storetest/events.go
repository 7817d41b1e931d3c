package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

func testScanEventsWindow(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	moonLanding := time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	ratings := []data.Rating{
		rating("u1", "c1", 2, 50), rating("u1", "c1", 3, 100), rating("u1", "c2", 4, 200),
		{UserID: "u2", ContentID: "c3", Value: 1, Time: moonLanding},
	}
	watches := []data.WatchEvent{
		watch("w1", "u1", "c1", data.WatchStart, 99), watch("w2", "u1", "c1", data.WatchProgress, 100),
		watch("w3", "u1", "c1", data.WatchProgress, 299), watch("w4", "u2", "c2", data.WatchComplete, 300),
		watch("w5", "u2", "c2", data.WatchStart, 1000),
	}
	putRatings(t, s, ratings...)
	must(t, "AppendWatches", s.AppendWatches(ctx, watches))
	must(t, "DeleteRating", s.DeleteRating(ctx, "u1", "c2", at(300)))

	all := []data.Event{deletion("u1", "c2", 300)}
	for _, r := range ratings {
		all = append(all, data.RatingEvent(r))
	}
	for _, w := range watches {
		all = append(all, data.WatchEventOf(w))
	}

	zone := time.FixedZone("UTC-07:00", -7*3600)
	tests := []struct {
		name string
		w    data.Window
	}{
		{"zero bounds", data.Window{}},
		{"from only", data.Window{From: at(100)}},
		{"to only", data.Window{To: at(300)}},
		{"from and to", data.Window{From: at(100), To: at(300)}},
		{"one millisecond", data.Window{From: at(300), To: at(301)}},
		{"empty", data.Window{From: at(300), To: at(300)}},
		{"reversed", data.Window{From: at(1000), To: at(100)}},
		{"from inside a millisecond", data.Window{From: at(99).Add(500 * time.Microsecond)}},
		{"to inside a millisecond", data.Window{To: at(299).Add(500 * time.Microsecond)}},
		{"bounds in another zone", data.Window{From: at(100).In(zone), To: at(300).In(zone)}},
		{"before 1970", data.Window{To: time.Unix(0, 0)}},
		{"after everything", data.Window{From: at(1001)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []data.Event
			for _, e := range all {
				if tc.w.Contains(data.Normalize(e.Time)) {
					want = append(want, e)
				}
			}
			checkEvents(t, fmt.Sprintf("ScanEvents(%v, %v)", tc.w.From, tc.w.To), scanAll(t, s, tc.w), want)
		})
	}
}

func testScanEventsStops(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	for i := range 10 {
		putRatings(t, s, rating(fmt.Sprintf("u%d", i), "c1", 3, i))
		must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{watch(fmt.Sprintf("w%d", i), "u1", "c1", data.WatchStart, i)}))
	}

	errStop := errors.New("stop here")
	calls := 0
	err := s.ScanEvents(ctx, data.Window{}, func(data.Event) error {
		calls++
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("ScanEvents: got error %v, want the callback's error %v", err, errStop)
	}
	if calls != 3 {
		t.Errorf("ScanEvents: callback ran %d times, want 3, stopping at its first error", calls)
	}
}

func testTimesMillisecondUTC(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	zone := time.FixedZone("UTC+05:30", 5*3600+1800)
	times := []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 123456789, zone),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1895, 12, 28, 18, 0, 0, 500000, time.UTC),
		time.Date(2099, 1, 1, 0, 0, 0, 1, zone),
	}

	for i, tm := range times {
		id := fmt.Sprintf("id%d", i)
		must(t, "CreateUser", s.CreateUser(ctx, data.User{ID: id, CreatedAt: tm, UpdatedAt: tm}))
		must(t, "PutTitles", s.PutTitles(ctx, []data.Title{{ID: id, CreatedAt: tm, UpdatedAt: tm}}))
		putRatings(t, s, data.Rating{UserID: id, ContentID: id, Value: 3, Time: tm})
		must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{{ID: id, UserID: id, ContentID: id, Kind: data.WatchStart, Time: tm}}))

		u, err := s.User(ctx, id)
		must(t, "User", err)
		checkTime(t, "User.CreatedAt", u.CreatedAt, tm)
		checkTime(t, "User.UpdatedAt", u.UpdatedAt, tm)
		title, err := s.Title(ctx, id)
		must(t, "Title", err)
		checkTime(t, "Title.CreatedAt", title.CreatedAt, tm)
		checkTime(t, "Title.UpdatedAt", title.UpdatedAt, tm)
		r, err := s.Rating(ctx, id, id)
		must(t, "Rating", err)
		checkTime(t, "Rating.Time", r.Time, tm)
		ratings, err := s.Ratings(ctx, id)
		must(t, "Ratings", err)
		if len(ratings) == 1 {
			checkTime(t, "Ratings[0].Time", ratings[0].Time, tm)
		}
		watches, err := s.Watches(ctx, id, 0)
		must(t, "Watches", err)
		if len(watches) == 1 {
			checkTime(t, "Watches[0].Time", watches[0].Time, tm)
		}
	}

	events := scanAll(t, s, data.Window{})
	if len(events) != 2*len(times) {
		t.Fatalf("ScanEvents: got %d events, want %d", len(events), 2*len(times))
	}
	for _, e := range events {
		var i int
		if _, err := fmt.Sscanf(e.UserID, "id%d", &i); err != nil || i >= len(times) {
			t.Fatalf("ScanEvents: got an event of unknown user %q", e.UserID)
		}
		checkTime(t, "ScanEvents "+string(e.Type)+" time", e.Time, times[i])
	}

	u, err := s.User(ctx, "id0")
	must(t, "User", err)
	u.CreatedAt, u.UpdatedAt = time.Time{}, time.Time{}
	must(t, "UpdateUser with zero times", s.UpdateUser(ctx, u))
	u, err = s.User(ctx, "id0")
	must(t, "User", err)
	if !u.CreatedAt.IsZero() || !u.UpdatedAt.IsZero() {
		t.Errorf("User with zero times: got CreatedAt %v and UpdatedAt %v, want zero times", u.CreatedAt, u.UpdatedAt)
	}
}

// checkTime reports an error unless got is want in UTC, truncated to
// data.Precision.
func checkTime(t *testing.T, call string, got, want time.Time) {
	t.Helper()
	if !got.Equal(data.Normalize(want)) || got.Location() != time.UTC {
		t.Errorf("%s: got %v, want %v", call, got, data.Normalize(want))
	}
}

func testHostileStrings(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	for i, h := range hostile {
		u := data.User{
			ID: h, Email: h + "@example.com", Name: h, PasswordHash: h, Role: data.Role(h),
			PreferredGenres: []string{h, "plain"}, PreferredTypes: []string{h},
		}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		title := data.Title{ID: h, Name: h, Genres: []string{h}, Type: h, Description: h, Year: 2000 + i}
		must(t, "PutTitles", s.PutTitles(ctx, []data.Title{title}))
		r := rating(h, h, 3.5, i)
		putRatings(t, s, r)
		w := watch(h, h, h, data.WatchStart, i)
		must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{w}))

		got, err := s.User(ctx, h)
		must(t, "User", err)
		checkUser(t, fmt.Sprintf("User(%q)", h), got, u)
		got, err = s.UserByEmail(ctx, u.Email)
		must(t, "UserByEmail", err)
		checkUser(t, fmt.Sprintf("UserByEmail(%q)", u.Email), got, u)
		gotTitle, err := s.Title(ctx, h)
		must(t, "Title", err)
		checkTitles(t, fmt.Sprintf("Title(%q)", h), []data.Title{gotTitle}, []data.Title{title})
		checkRating(t, s, h, h, &r)
		checkWatchesOf(t, s, h, 0, []data.WatchEvent{w})
		checkStats(t, s, h, data.RatingStats{Count: 1, Sum: 3.5})

		page, err := s.ListTitles(ctx, data.TitleQuery{Genre: h})
		must(t, "ListTitles", err)
		checkTitles(t, fmt.Sprintf("ListTitles(genre %q)", h), page.Titles, []data.Title{title})
		page, err = s.ListTitles(ctx, data.TitleQuery{Text: h, Year: title.Year})
		must(t, "ListTitles", err)
		checkTitles(t, fmt.Sprintf("ListTitles(text %q)", h), page.Titles, []data.Title{title})
	}

	// Every record is still there: no fragment ran as a statement.
	page, err := s.ListTitles(ctx, data.TitleQuery{Limit: 100})
	must(t, "ListTitles", err)
	if len(page.Titles) != len(hostile) {
		t.Errorf("ListTitles: got %d titles, want %d", len(page.Titles), len(hostile))
	}
	if events := scanAll(t, s, data.Window{}); len(events) != 2*len(hostile) {
		t.Errorf("ScanEvents: got %d events, want %d", len(events), 2*len(hostile))
	}
	for _, h := range hostile {
		if _, err := s.User(ctx, h); err != nil {
			t.Errorf("User(%q) after all writes: %v", h, err)
		}
	}
}

func testDurableAfterReopen(t *testing.T, open Opener[data.Store]) {
	ctx := t.Context()
	first := open(t)
	t.Cleanup(func() { _ = first.Close() })

	u := fullUser("u1", "ann@example.com")
	title := data.Title{ID: "t1", Name: "Kept", Genres: []string{"Drama"}, CreatedAt: at(1)}
	r1, r2 := rating("u1", "t1", 4, 100), rating("u2", "t1", 2, 100)
	w := watch("w1", "u1", "t1", data.WatchComplete, 150)
	must(t, "CreateUser", first.CreateUser(ctx, u))
	must(t, "PutTitles", first.PutTitles(ctx, []data.Title{title}))
	must(t, "PutRatings", first.PutRatings(ctx, []data.Rating{r1, r2}))
	must(t, "DeleteRating", first.DeleteRating(ctx, "u2", "t1", at(200)))
	must(t, "AppendWatches", first.AppendWatches(ctx, []data.WatchEvent{w}))
	must(t, "Close", first.Close())

	s := openStore(t, open)
	got, err := s.UserByEmail(ctx, "ANN@example.com")
	must(t, "UserByEmail after reopen", err)
	checkUser(t, "UserByEmail after reopen", got, u)
	wantErr(t, "CreateUser with the e-mail after reopen", s.CreateUser(ctx, fullUser("u9", "ann@example.com")), data.ErrConflict)
	page, err := s.ListTitles(ctx, data.TitleQuery{Genre: "drama"})
	must(t, "ListTitles after reopen", err)
	checkTitles(t, "ListTitles after reopen", page.Titles, []data.Title{title})
	checkRating(t, s, "u1", "t1", &r1)
	checkRating(t, s, "u2", "t1", nil)
	checkStats(t, s, "t1", data.RatingStats{Count: 1, Sum: 4})
	checkWatchesOf(t, s, "u1", 0, []data.WatchEvent{w})
	checkEvents(t, "ScanEvents after reopen", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(r1), data.RatingEvent(r2), deletion("u2", "t1", 200), data.WatchEventOf(w),
	})
}

func testClosedStoreFails(t *testing.T, open Opener[data.Store]) {
	ctx := t.Context()
	s := open(t)
	must(t, "PutRatings", s.PutRatings(ctx, []data.Rating{rating("u1", "c1", 3, 1)}))
	must(t, "Close", s.Close())

	if _, err := s.Rating(ctx, "u1", "c1"); err == nil {
		t.Error("Rating after Close: got no error")
	}
	if err := s.PutRatings(ctx, []data.Rating{rating("u1", "c1", 4, 2)}); err == nil {
		t.Error("PutRatings after Close: got no error")
	}
	if err := s.ScanEvents(ctx, data.Window{}, func(data.Event) error { return nil }); err == nil {
		t.Error("ScanEvents after Close: got no error")
	}
}

// testTwoHandles writes through two handles of one store at once, as two
// processes would, and reads every acknowledged write through both.
func testTwoHandles(t *testing.T, open Opener[data.Store]) {
	ctx := t.Context()
	handles := []data.Store{openStore(t, open), openStore(t, open)}
	const writers, steps, racers = 3, 20, 6

	var wg sync.WaitGroup
	created := make([][]error, len(handles))
	for h, s := range handles {
		created[h] = make([]error, racers)
		for g := range writers {
			user := fmt.Sprintf("h%d-g%d", h, g)
			wg.Go(func() {
				for j := range steps {
					err := s.PutRatings(ctx, []data.Rating{rating(user, "t", float64(j%10+1)/2, j)})
					if err == nil {
						err = s.AppendWatches(ctx, []data.WatchEvent{watch(fmt.Sprint(j), user, "t", data.WatchStart, j)})
					}
					if err != nil {
						t.Errorf("handle %d, %s, step %d: %v", h, user, j, err)
						return
					}
				}
			})
		}
		for r := range racers {
			wg.Go(func() {
				created[h][r] = s.CreateUser(ctx, fullUser(fmt.Sprintf("h%d-r%d", h, r), "shared@example.com"))
			})
		}
	}
	wg.Wait()

	successes := 0
	for h := range created {
		for r, err := range created[h] {
			if err == nil {
				successes++
			} else {
				wantErr(t, fmt.Sprintf("CreateUser(h%d-r%d)", h, r), err, data.ErrConflict)
			}
		}
	}
	if successes != 1 {
		t.Errorf("CreateUser with one e-mail through two handles: %d calls succeeded, want 1", successes)
	}

	last := float64((steps-1)%10+1) / 2
	want := data.RatingStats{Count: len(handles) * writers, Sum: float64(len(handles)*writers) * last}
	for h, s := range handles {
		checkStats(t, s, "t", want)
		if events := scanAll(t, s, data.Window{}); len(events) != 2*len(handles)*writers*steps {
			t.Errorf("ScanEvents through handle %d: got %d events, want %d", h, len(events), 2*len(handles)*writers*steps)
		}
		if _, err := s.UserByEmail(ctx, "shared@example.com"); err != nil {
			t.Errorf("UserByEmail through handle %d: %v", h, err)
		}
	}
}
