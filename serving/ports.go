package serving

import (
	"context"
	"errors"
	"fmt"

	"github.com/marquee/marquee/data"
)

// History contains each user's recent interactions, written when the API
// accepts a rating or a watch event, so that responses leave out titles a
// user rated or watched to the end after the current run was trained. The
// Redis adapter (data/redis.History) implements it; [EventsHistory] reads
// the event store instead. Implementations are safe for concurrent use.
type History interface {
	// RecordEvent records a rating, the deletion of a rating or a
	// completed viewing; other watch events may be ignored. It is
	// idempotent.
	RecordEvent(ctx context.Context, e data.Event) error

	// RecentEvents returns the user's recorded ratings (EventRating) and
	// completed viewings (EventWatch), newest first, at most one of each
	// kind per title. An unknown user has none.
	RecentEvents(ctx context.Context, userID string) ([]data.Event, error)
}

// Bus carries cache invalidations between API replicas and from the
// publish stage. Delivery is at most once. Implementations are safe for
// concurrent use; data/redis.Bus is one.
type Bus interface {
	// Publish sends msg to every subscriber, the sender included.
	Publish(ctx context.Context, msg string) error

	// Subscribe calls fn with every message until ctx is done, and with
	// MessageResubscribed each time the subscription starts or is renewed,
	// since messages sent meanwhile are lost.
	Subscribe(ctx context.Context, fn func(msg string)) error
}

// Messages on a Bus: a prefix and an ID. data/redis.Lists publishes
// MessageRun after a commit or a rollback; Service publishes MessageUser
// when a user's history or profile changes, and MessageTitle when a title
// of the catalog is created, changed or deleted.
const (
	MessageRun          = "run "
	MessageUser         = "user "
	MessageTitle        = "title "
	MessageResubscribed = ""
)

// EventsHistory is a History that reads the event store, for a single
// machine without Redis: every rating and completed viewing of the store
// counts as recent, and RecordEvent does nothing, since the store already
// holds the event. It is safe for concurrent use.
type EventsHistory struct {
	Events data.Events
}

// RecordEvent does nothing: the store already holds the event.
func (h EventsHistory) RecordEvent(context.Context, data.Event) error { return nil }

// RecentEvents returns the user's current ratings and completed viewings
// from the store, newest first.
func (h EventsHistory) RecentEvents(ctx context.Context, userID string) ([]data.Event, error) {
	if h.Events == nil {
		return nil, nil
	}
	ratings, err := h.Events.Ratings(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("ratings: %w", err)
	}
	watches, err := h.Events.Watches(ctx, userID, 0)
	if err != nil {
		return nil, fmt.Errorf("watches: %w", err)
	}
	events := make([]data.Event, 0, len(ratings)+len(watches))
	for _, r := range ratings {
		events = append(events, data.RatingEvent(r))
	}
	for _, w := range watches {
		if w.Kind == data.WatchComplete {
			events = append(events, data.WatchEventOf(w))
		}
	}
	sortNewestFirst(events)
	return events, nil
}

// ErrBadCursor means a page cursor could not be decoded, was issued for
// another query, or names a run that the list store no longer holds.
var ErrBadCursor = errors.New("serving: invalid cursor")

// ErrNoRun means nothing has been published yet.
var ErrNoRun = errors.New("serving: no published run yet: run `marquee pipeline run` first")
