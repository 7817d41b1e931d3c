package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// RunSessions runs the data.Sessions conformance suite. newSessions is
// called once per subtest and returns the Opener of a new, empty store. The
// handles it opens must also implement io.Closer when they hold resources;
// the suite closes those that do.
func RunSessions(t *testing.T, newSessions func(t *testing.T) Opener[data.Sessions]) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener[data.Sessions])
	}{
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionInvalid", testSessionInvalid},
		{"SessionTakenID", testSessionTakenID},
		{"RotateSession", testRotateSession},
		{"RotateSessionConcurrent", testRotateSessionConcurrent},
		{"RevokeSession", testRevokeSession},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"SessionDurableAfterReopen", testSessionDurableAfterReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newSessions(t))
		})
	}
}

// RunEraser runs the data.EventEraser conformance suite on a store that
// implements both data.Store and data.EventEraser.
func RunEraser(t *testing.T, newStore func(t *testing.T) Opener[data.Store]) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener[data.Store])
	}{
		{"EraseUserEvents", testEraseUserEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func openSessions(t *testing.T, open Opener[data.Sessions]) data.Sessions {
	t.Helper()
	s := open(t)
	if c, ok := s.(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	return s
}

// session returns a session that expires an hour from now. Stores may drop
// sessions some time after they expire by the wall clock, as the Cassandra
// store does with a TTL, so an expiry in the past of base would let a
// session vanish while a test runs.
func session(id, userID, hash string) data.Session {
	return data.Session{ID: id, UserID: userID, TokenHash: hash, CreatedAt: at(0), ExpiresAt: data.Normalize(time.Now().Add(time.Hour))}
}

func canonSession(s data.Session) data.Session {
	s.CreatedAt, s.ExpiresAt, s.RevokedAt = data.Normalize(s.CreatedAt), data.Normalize(s.ExpiresAt), data.Normalize(s.RevokedAt)
	return s
}

func checkSession(t *testing.T, s data.Sessions, want data.Session) {
	t.Helper()
	got, err := s.Session(t.Context(), want.ID)
	must(t, "Session("+want.ID+")", err)
	if g, w := canonSession(got), canonSession(want); !reflect.DeepEqual(g, w) {
		t.Errorf("Session(%s):\n got %+v\nwant %+v", want.ID, g, w)
	}
}

func testSessionRoundTrip(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	want := session("s1", "u1", "h1")
	want.CreatedAt = at(5).Add(300) // below the kept precision
	must(t, "CreateSession", s.CreateSession(ctx, want))
	checkSession(t, s, want)

	_, err := s.Session(ctx, "nothing")
	wantErr(t, "Session(nothing)", err, data.ErrNotFound)
	if !want.Active(at(10)) || want.Active(want.ExpiresAt) {
		t.Errorf("Active: a session is active before ExpiresAt only")
	}
}

func testSessionInvalid(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	for name, bad := range map[string]data.Session{
		"no id":      session("", "u1", "h"),
		"no user":    session("s1", "", "h"),
		"no hash":    session("s1", "u1", ""),
		"no expiry":  {ID: "s1", UserID: "u1", TokenHash: "h"},
		"all zeroes": {},
	} {
		wantErr(t, "CreateSession with "+name, s.CreateSession(ctx, bad), data.ErrInvalid)
	}
	_, err := s.Session(ctx, "s1")
	wantErr(t, "Session(s1) after rejected writes", err, data.ErrNotFound)
}

func testSessionTakenID(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	first := session("s1", "u1", "h1")
	must(t, "CreateSession", s.CreateSession(ctx, first))
	wantErr(t, "CreateSession with a taken ID", s.CreateSession(ctx, session("s1", "u2", "h2")), data.ErrConflict)
	checkSession(t, s, first)
}

func testRotateSession(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	sess := session("s1", "u1", "h1")
	must(t, "CreateSession", s.CreateSession(ctx, sess))

	must(t, "RotateSession(h1 to h2)", s.RotateSession(ctx, "s1", "h1", "h2"))
	sess.TokenHash = "h2"
	checkSession(t, s, sess)

	// The replaced hash no longer rotates, and nothing changes.
	wantErr(t, "RotateSession with a replaced hash", s.RotateSession(ctx, "s1", "h1", "h3"), data.ErrConflict)
	checkSession(t, s, sess)
	wantErr(t, "RotateSession of an unknown session", s.RotateSession(ctx, "nothing", "h1", "h2"), data.ErrNotFound)

	must(t, "RevokeSession", s.RevokeSession(ctx, "s1", at(100)))
	wantErr(t, "RotateSession of a revoked session", s.RotateSession(ctx, "s1", "h2", "h3"), data.ErrConflict)
	sess.RevokedAt = at(100)
	checkSession(t, s, sess)
}

func testRotateSessionConcurrent(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	must(t, "CreateSession", s.CreateSession(ctx, session("s1", "u1", "h0")))

	const callers = 8
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			errs[i] = s.RotateSession(ctx, "s1", "h0", "h"+string(rune('a'+i)))
		})
	}
	wg.Wait()

	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantErr(t, "RotateSession that lost the race", err, data.ErrConflict)
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent rotations of one hash succeeded, want exactly 1", won, callers)
	}
}

func testRevokeSession(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	sess := session("s1", "u1", "h1")
	must(t, "CreateSession", s.CreateSession(ctx, sess))

	must(t, "RevokeSession", s.RevokeSession(ctx, "s1", at(100)))
	must(t, "RevokeSession again, later", s.RevokeSession(ctx, "s1", at(200)))
	must(t, "RevokeSession of an unknown session", s.RevokeSession(ctx, "nothing", at(100)))
	sess.RevokedAt = at(100)
	checkSession(t, s, sess)
	if sess.Active(at(150)) {
		t.Errorf("Active of a revoked session: got true, want false")
	}
}

func testRevokeUserSessions(t *testing.T, open Opener[data.Sessions]) {
	s, ctx := openSessions(t, open), t.Context()
	a, b, other := session("s1", "u1", "h1"), session("s2", "u1", "h2"), session("s3", "u2", "h3")
	revoked := session("s4", "u1", "h4")
	for _, sess := range []data.Session{a, b, other, revoked} {
		must(t, "CreateSession", s.CreateSession(ctx, sess))
	}
	must(t, "RevokeSession", s.RevokeSession(ctx, "s4", at(50)))

	must(t, "RevokeUserSessions(u1)", s.RevokeUserSessions(ctx, "u1", at(100)))
	must(t, "RevokeUserSessions(u1) again", s.RevokeUserSessions(ctx, "u1", at(200)))
	must(t, "RevokeUserSessions of an unknown user", s.RevokeUserSessions(ctx, "nobody", at(100)))

	a.RevokedAt, b.RevokedAt, revoked.RevokedAt = at(100), at(100), at(50)
	for _, want := range []data.Session{a, b, other, revoked} {
		checkSession(t, s, want)
	}
}

func testSessionDurableAfterReopen(t *testing.T, open Opener[data.Sessions]) {
	first := open(t)
	sess := session("s1", "u1", "h1")
	must(t, "CreateSession", first.CreateSession(t.Context(), sess))
	if c, ok := first.(interface{ Close() error }); ok {
		must(t, "Close", c.Close())
	}

	checkSession(t, openSessions(t, open), sess)
}

func testEraseUserEvents(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	eraser, ok := s.(data.EventEraser)
	if !ok {
		t.Fatalf("%T does not implement data.EventEraser", s)
	}
	must(t, "PutRatings", s.PutRatings(ctx, []data.Rating{
		{UserID: "gone", ContentID: "c1", Value: 5, Time: at(10)},
		{UserID: "gone", ContentID: "c2", Value: 1, Time: at(10)},
		{UserID: "kept", ContentID: "c1", Value: 3, Time: at(10)},
	}))
	must(t, "DeleteRating", s.DeleteRating(ctx, "gone", "c2", at(20)))
	must(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{
		watch("w1", "gone", "c1", data.WatchComplete, 30),
		watch("w2", "kept", "c1", data.WatchStart, 30),
	}))

	must(t, "EraseUserEvents(gone)", eraser.EraseUserEvents(ctx, "gone"))
	must(t, "EraseUserEvents(gone) again", eraser.EraseUserEvents(ctx, "gone"))
	must(t, "EraseUserEvents of a user without events", eraser.EraseUserEvents(ctx, "nobody"))

	checkStats(t, s, "c1", data.RatingStats{Count: 1, Sum: 3})
	checkStats(t, s, "c2", data.RatingStats{})
	ratings, err := s.Ratings(ctx, "gone")
	must(t, "Ratings(gone)", err)
	checkRatings(t, "Ratings(gone) after erasure", ratings, nil)
	checkWatchesOf(t, s, "gone", 0, nil)
	checkEvents(t, "ScanEvents after erasure", scanAll(t, s, data.Window{}), []data.Event{
		data.RatingEvent(data.Rating{UserID: "kept", ContentID: "c1", Value: 3, Time: at(10)}),
		data.WatchEventOf(watch("w2", "kept", "c1", data.WatchStart, 30)),
	})

	// The erased user can rate again from scratch, at a time after the
	// erased events, because the contract leaves older times undefined.
	must(t, "PutRatings after erasure", s.PutRatings(ctx, []data.Rating{{UserID: "gone", ContentID: "c1", Value: 4, Time: at(40)}}))
	checkStats(t, s, "c1", data.RatingStats{Count: 2, Sum: 7})
}
