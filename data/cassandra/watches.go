package cassandra

import (
	"context"
	"fmt"
	"slices"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// watchKey identifies a watch event: IDs are unique per user.
type watchKey struct{ user, id string }

// AppendWatches records watch events, with up to cfg.Concurrency writes in
// flight, ignoring events whose ID is already stored for their user, and
// all but the first copy of an ID within the call.
//
// No lightweight transaction is used. Every table an event goes to has the
// event ID in its primary key, so writing an event twice is harmless. The
// event's ID goes to watch_ids only after the event is in every other
// table, and each call first reads watch_ids to skip the IDs already
// there. An event retried after a failure is therefore written whole, and
// an ID sent again later with other fields is ignored.
//
// NOTE: two calls that send one ID with different fields at the same
// moment may both be written.
func (s *Store) AppendWatches(ctx context.Context, events []data.WatchEvent) error {
	for i, w := range events {
		if err := data.ValidateWatch(w); err != nil {
			return wrap("append watches", fmt.Errorf("watch event %d: %w", i, err))
		}
	}
	events = firstCopies(events)
	for chunk := range slices.Chunk(events, chunkSize) {
		if err := s.appendWatches(ctx, chunk); err != nil {
			return wrap("append watches", err)
		}
	}
	return nil
}

// firstCopies returns events without later copies of an ID, times
// normalized.
func firstCopies(events []data.WatchEvent) []data.WatchEvent {
	seen := make(map[watchKey]bool, len(events))
	out := make([]data.WatchEvent, 0, len(events))
	for _, w := range events {
		k := watchKey{w.UserID, w.ID}
		if !seen[k] {
			seen[k] = true
			w.Time = data.Normalize(w.Time)
			out = append(out, w)
		}
	}
	return out
}

func (s *Store) appendWatches(ctx context.Context, events []data.WatchEvent) error {
	stored, err := s.storedWatchIDs(ctx, events)
	if err != nil {
		return err
	}
	events = slices.DeleteFunc(slices.Clone(events), func(w data.WatchEvent) bool {
		return stored[watchKey{w.UserID, w.ID}]
	})
	times := make([]time.Time, len(events))
	for i, w := range events {
		times[i] = w.Time
	}
	if err := s.recordDays(ctx, times); err != nil {
		return err
	}
	days, users := newGrouper(), newGrouper()
	for _, w := range events {
		days.add(s.eventStatement(data.WatchEventOf(w)))
		user := "u" + w.UserID
		users.add(user, statement{s.q.insertWatch, []any{w.UserID, w.Time, w.ID, w.ContentID, string(w.Kind), w.Position, w.Duration, micros(w.Time)}})
		users.add(user, statement{s.q.insertWatchID, []any{w.UserID, w.ID, w.Time}})
	}
	// The log by day first: a batch of one user's partition, which holds
	// both the event and its ID, applies whole or not at all.
	if err := s.execAll(ctx, days.batches()); err != nil {
		return err
	}
	return s.execAll(ctx, users.batches())
}

// storedWatchIDs returns which events already have their ID in watch_ids.
func (s *Store) storedWatchIDs(ctx context.Context, events []data.WatchEvent) (map[watchKey]bool, error) {
	ids := newByUser[string]()
	for _, w := range events {
		ids.add(w.UserID, w.ID)
	}
	stored := make(map[watchKey]bool)
	err := lookup(ctx, s, s.q.selectWatchIDs, ids, func(user string, iter *gocql.Iter) {
		var id string
		for iter.Scan(&id) {
			stored[watchKey{user, id}] = true
		}
	})
	return stored, err
}

// Watch returns the user's stored watch event with the ID eventID, or an
// error wrapping ErrNotFound: its time from watch_ids, then the event from
// watches_by_user. AppendWatches writes the event before its ID, so an ID
// found names an event that is stored.
func (s *Store) Watch(ctx context.Context, userID, eventID string) (data.WatchEvent, error) {
	if userID == "" || eventID == "" {
		// Cassandra refuses an empty partition key, and no event has one.
		return data.WatchEvent{}, wrap("watch", data.ErrNotFound)
	}
	w := data.WatchEvent{UserID: userID, ID: eventID}
	err := s.session.Query(s.q.selectWatchID, userID, eventID).Idempotent(true).ScanContext(ctx, &w.Time)
	if err == nil {
		var kind string
		err = s.session.Query(s.q.selectWatch, userID, w.Time, eventID).Idempotent(true).
			ScanContext(ctx, &w.Time, &w.ID, &w.ContentID, &kind, &w.Position, &w.Duration)
		w.Kind = data.WatchKind(kind)
	}
	if err != nil {
		return data.WatchEvent{}, wrap("watch", err)
	}
	return w, nil
}

// Watches returns the user's watch events, newest first, at most limit of
// them (all when limit <= 0).
func (s *Store) Watches(ctx context.Context, userID string, limit int) ([]data.WatchEvent, error) {
	q := s.session.Query(s.q.selectWatches, userID)
	if limit > 0 {
		q = s.session.Query(s.q.selectWatchesLimit, userID, limit)
	}
	iter := q.Idempotent(true).IterContext(ctx)
	var out []data.WatchEvent
	w := data.WatchEvent{UserID: userID}
	var kind string
	for iter.Scan(&w.Time, &w.ID, &w.ContentID, &kind, &w.Position, &w.Duration) {
		w.Kind = data.WatchKind(kind)
		out = append(out, w)
	}
	if err := iter.Close(); err != nil {
		return nil, wrap("watches", err)
	}
	return out, nil
}
