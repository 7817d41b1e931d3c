package cassandra

import (
	"context"
	"time"

	"github.com/marquee/marquee/data"
)

var _ data.EventEraser = (*Store)(nil)

// EraseUserEvents removes every rating event, rating deletion and watch
// event of a user, and the user's current ratings, for the deletion of an
// account. It reads the user's history, deletes the matching rows of the
// log by day and of the ratings by title, and deletes the user's own
// partitions last, so a call that fails part-way is completed by the next
// one. Rows that a failed write left only in shared partitions, with no
// trace in the user's history, are not found.
//
// Rows are deleted with the write timestamps of the events, never the
// server's clock. A later event of the user is therefore stored as usual,
// but an event dated at or before the newest erased event of the user stays
// hidden in the user's partitions, since its write timestamp is older than
// their tombstones.
func (s *Store) EraseUserEvents(ctx context.Context, userID string) error {
	if userID == "" {
		return wrap("erase user events", invalidf("user id is required"))
	}
	events, err := s.userRatingEvents(ctx, userID)
	if err != nil {
		return wrap("erase user events", err)
	}
	watches, err := s.Watches(ctx, userID, 0)
	if err != nil {
		return wrap("erase user events", err)
	}
	for _, w := range watches {
		events = append(events, data.WatchEventOf(w))
	}
	ratings, err := s.Ratings(ctx, userID)
	if err != nil {
		return wrap("erase user events", err)
	}

	shared := newGrouper()
	bucket := bucketOf(userID, s.cfg.Buckets)
	var newest int64
	byTitle := map[string]int64{} // the newest write timestamp of the user's ratings of each title
	for _, e := range events {
		ts := writeTimestamp(e)
		newest = max(newest, ts)
		day := dayOf(e.Time)
		shared.add(dayKey(day, bucket), statement{s.q.deleteEvent,
			[]any{ts, day, bucket, e.Time, userID, e.ContentID, string(e.Type), e.ID}})
		if e.Type != data.EventWatch {
			byTitle[e.ContentID] = max(byTitle[e.ContentID], ts)
		}
	}
	for _, r := range ratings {
		ts := micros(r.Time)
		newest = max(newest, ts)
		byTitle[r.ContentID] = max(byTitle[r.ContentID], ts)
	}
	for contentID, ts := range byTitle {
		shared.add("t"+contentID, statement{s.q.deleteRatingByTitle, []any{ts, contentID, userID}})
	}
	if err := s.execAll(ctx, shared.batches()); err != nil {
		return wrap("erase user events", err)
	}

	// watch_ids rows are written with the client's clock as their write
	// timestamp, so a deletion at the current time removes them.
	user := group{{s.q.deleteWatchIDs, []any{userID}}}
	if newest > 0 {
		user = append(user,
			statement{s.q.deleteUserRatings, []any{newest, userID}},
			statement{s.q.deleteRatingEvents, []any{newest, userID}},
			statement{s.q.deleteUserWatches, []any{newest, userID}})
	}
	return wrap("erase user events", s.exec(ctx, user))
}

// userRatingEvents returns every rating event and rating deletion in the
// user's history.
func (s *Store) userRatingEvents(ctx context.Context, userID string) ([]data.Event, error) {
	iter := s.session.Query(s.q.selectUserRatingEvents, userID).Idempotent(true).IterContext(ctx)
	var out []data.Event
	var t time.Time
	var contentID, typ string
	for iter.Scan(&t, &contentID, &typ) {
		out = append(out, data.Event{Type: data.EventType(typ), UserID: userID, ContentID: contentID, Time: t})
	}
	return out, iter.Close()
}

// writeTimestamp returns the write timestamp that the store gives the rows
// of event e, as eventStatement does.
func writeTimestamp(e data.Event) int64 {
	if e.Type == data.EventRatingDeleted {
		return micros(e.Time) + deletionTiebreak
	}
	return micros(e.Time)
}
