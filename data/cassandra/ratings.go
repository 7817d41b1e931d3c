package cassandra

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// PutRatings records rating events, with up to cfg.Concurrency writes in
// flight. Each event goes to four tables: the current rating by title, the
// log by day, and, in one batch of the user's partition, the current
// rating by user and the user's rating history.
//
// Every write carries the event time as its write timestamp, so a rating
// replaces the current one only when it is newer, without reading it.
// Repeated and out-of-order calls therefore converge to the same state.
//
// Two events of one user and title at the same millisecond are one event,
// and the first one stored is kept: a call keeps the first copy of each,
// and reads the user's history to skip those already recorded there. The
// history is written last, so an event whose write failed half-way is
// written whole when it is sent again. Two calls that send one event with
// different values at the same moment may both pass the check, and then
// Cassandra keeps the greater value, in every table alike.
func (s *Store) PutRatings(ctx context.Context, ratings []data.Rating) error {
	for i, r := range ratings {
		if err := data.ValidateRating(r); err != nil {
			return wrap("put ratings", fmt.Errorf("rating %d: %w", i, err))
		}
	}
	for chunk := range slices.Chunk(firstRatings(ratings), chunkSize) {
		if err := s.putRatings(ctx, chunk); err != nil {
			return wrap("put ratings", err)
		}
	}
	return nil
}

// ratingKey identifies a rating event.
type ratingKey struct {
	user, content string
	ms            int64
}

func keyOf(r data.Rating) ratingKey {
	return ratingKey{r.UserID, r.ContentID, r.Time.UnixMilli()}
}

// firstRatings returns ratings with times normalized and without later
// copies of an event.
func firstRatings(ratings []data.Rating) []data.Rating {
	seen := make(map[ratingKey]bool, len(ratings))
	out := make([]data.Rating, 0, len(ratings))
	for _, r := range ratings {
		r.Time = data.Normalize(r.Time)
		if k := keyOf(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func (s *Store) putRatings(ctx context.Context, ratings []data.Rating) error {
	recorded, err := s.recordedRatings(ctx, ratings)
	if err != nil {
		return err
	}
	ratings = slices.DeleteFunc(slices.Clone(ratings), func(r data.Rating) bool { return recorded[keyOf(r)] })
	times := make([]time.Time, len(ratings))
	for i, r := range ratings {
		times[i] = r.Time
	}
	if err := s.recordDays(ctx, times); err != nil {
		return err
	}
	others, users := newGrouper(), newGrouper()
	for _, r := range ratings {
		ts := micros(r.Time)
		others.add("t"+r.ContentID, statement{s.q.upsertRatingByTitle, []any{r.ContentID, r.UserID, r.Value, ts}})
		others.add(s.eventStatement(data.RatingEvent(r)))
		user := "u" + r.UserID
		users.add(user, statement{s.q.upsertRatingByUser, []any{r.UserID, r.ContentID, r.Value, r.Time, ts}})
		users.add(user, statement{s.q.insertRatingEvent, []any{r.UserID, r.Time, r.ContentID, string(data.EventRating), r.Value, ts}})
	}
	if err := s.execAll(ctx, others.batches()); err != nil {
		return err
	}
	return s.execAll(ctx, users.batches())
}

// recordedRatings returns which events are already in the users' rating
// history.
func (s *Store) recordedRatings(ctx context.Context, ratings []data.Rating) (map[ratingKey]bool, error) {
	times := newByUser[time.Time]()
	seen := make(map[ratingKey]bool)
	for _, r := range ratings {
		if k := (ratingKey{r.UserID, "", r.Time.UnixMilli()}); !seen[k] {
			seen[k] = true
			times.add(r.UserID, r.Time)
		}
	}
	recorded := make(map[ratingKey]bool)
	err := lookup(ctx, s, s.q.selectRatingEvents, times, func(user string, iter *gocql.Iter) {
		var t time.Time
		var content, typ string
		for iter.Scan(&t, &content, &typ) {
			if typ == string(data.EventRating) {
				recorded[ratingKey{user, content, t.UnixMilli()}] = true
			}
		}
	})
	return recorded, err
}

// DeleteRating records the deletion of a user's current rating of a title
// at time t. The deletion is written one microsecond after t, so it wins
// over a rating of the same millisecond and loses to any later one. The
// user's partition is written last, so that a retry after a failure finds
// the rating still current and writes the deletion whole. It returns
// data.ErrNotFound when there is no current rating.
func (s *Store) DeleteRating(ctx context.Context, userID, contentID string, t time.Time) error {
	if userID == "" || contentID == "" || t.IsZero() {
		return wrap("delete rating", invalidf("rating deletion: user id, content id and time are required"))
	}
	if _, err := s.rating(ctx, userID, contentID); err != nil {
		return wrap("delete rating", err)
	}
	t = data.Normalize(t)
	if err := s.recordDays(ctx, []time.Time{t}); err != nil {
		return wrap("delete rating", err)
	}
	ts := micros(t) + deletionTiebreak
	e := data.Event{Type: data.EventRatingDeleted, UserID: userID, ContentID: contentID, Time: t}
	_, event := s.eventStatement(e)
	others := []group{{{s.q.deleteRatingByTitle, []any{ts, contentID, userID}}}, {event}}
	user := group{
		{s.q.deleteRatingByUser, []any{ts, userID, contentID}},
		{s.q.insertRatingEvent, []any{userID, t, contentID, string(data.EventRatingDeleted), gocql.UnsetValue, ts}},
	}
	if err := s.execAll(ctx, others); err != nil {
		return wrap("delete rating", err)
	}
	return wrap("delete rating", s.exec(ctx, user))
}

// Rating returns the user's current rating of a title, or data.ErrNotFound.
func (s *Store) Rating(ctx context.Context, userID, contentID string) (data.Rating, error) {
	r, err := s.rating(ctx, userID, contentID)
	return r, wrap("rating", err)
}

func (s *Store) rating(ctx context.Context, userID, contentID string) (data.Rating, error) {
	r := data.Rating{UserID: userID, ContentID: contentID}
	err := s.session.Query(s.q.selectRating, userID, contentID).Idempotent(true).ScanContext(ctx, &r.Value, &r.Time)
	return r, err
}

// Ratings returns the user's current ratings, newest first, and ratings of
// the same millisecond by content ID.
func (s *Store) Ratings(ctx context.Context, userID string) ([]data.Rating, error) {
	iter := s.session.Query(s.q.selectRatings, userID).Idempotent(true).IterContext(ctx)
	var out []data.Rating
	r := data.Rating{UserID: userID}
	for iter.Scan(&r.ContentID, &r.Value, &r.Time) {
		out = append(out, r)
	}
	if err := iter.Close(); err != nil {
		return nil, wrap("ratings", err)
	}
	slices.SortFunc(out, func(a, b data.Rating) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ContentID, b.ContentID)
	})
	return out, nil
}

// RatingStats returns the count and sum of the current ratings of a title,
// aggregated by the replicas over the title's partition of
// ratings_by_title at read time, so every accepted change is counted.
func (s *Store) RatingStats(ctx context.Context, contentID string) (data.RatingStats, error) {
	var count int64
	var sum float64
	err := s.session.Query(s.q.ratingStats, contentID).Idempotent(true).ScanContext(ctx, &count, &sum)
	if err != nil {
		return data.RatingStats{}, wrap("rating stats", err)
	}
	return data.RatingStats{Count: int(count), Sum: sum}, nil
}
