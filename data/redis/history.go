package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee/marquee/data"
)

// History keeps each user's recent interactions, written when the API
// accepts them, so that serving can filter titles a user rated or watched
// after the current run was trained, and fold new ratings in. It keeps
// ratings and completed viewings only, the newest event per user, title and
// kind. A user's entries expire a TTL after the last write, and past a
// maximum count the oldest go first. It is safe for concurrent use and valid
// until its Lists is closed.
type History struct {
	lists *Lists
}

// History returns the history store of l's Redis.
func (l *Lists) History() *History { return &History{lists: l} }

// RecordEvent records a rating, the deletion of a rating, or a completed
// viewing; other watch events are ignored. An event older than the one
// recorded for the same user, title and kind changes nothing, so recording
// is idempotent and order-insensitive. It returns an error wrapping
// ErrInvalid for an event without user or title.
func (h *History) RecordEvent(ctx context.Context, e data.Event) error {
	op := "record event of user " + quote(e.UserID)
	if e.UserID == "" || e.ContentID == "" {
		return wrap(op, fmt.Errorf("%w: user or content id is empty", data.ErrInvalid))
	}
	field, value, del := "r:"+e.ContentID, strconv.FormatFloat(e.Rating, 'g', -1, 64), "0"
	switch {
	case e.Type == data.EventRatingDeleted:
		value, del = "", "1"
	case e.Type == data.EventWatch && e.WatchKind == data.WatchComplete:
		field, value = "w:"+e.ContentID, ""
	case e.Type != data.EventRating:
		return nil
	}
	cfg := h.lists.cfg
	err := recordScript.Run(ctx, h.lists.rdb, []string{h.lists.keys.history(e.UserID)},
		field, e.Time.UnixMilli(), value, del, cfg.historyTTL.Milliseconds(), cfg.historyMax).Err()
	return wrap(op, err)
}

// RecentEvents returns the user's recorded interactions, newest first: for
// each title, the current rating (EventRating) and the last completed
// viewing (EventWatch). An unknown user has none.
func (h *History) RecentEvents(ctx context.Context, userID string) ([]data.Event, error) {
	op := "recent events of user " + quote(userID)
	fields, err := h.lists.reads.HGetAll(ctx, h.lists.keys.history(userID)).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	events := make([]data.Event, 0, len(fields))
	for f, v := range fields {
		e, err := parseHistory(userID, f, v)
		if err != nil {
			return nil, wrap(op, err)
		}
		events = append(events, e)
	}
	slices.SortFunc(events, func(a, b data.Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ContentID, b.ContentID)
	})
	return events, nil
}

// parseHistory reads one field of a history hash: "r:<content>" or
// "w:<content>", holding "<ms>:<rating>" or "<ms>:".
func parseHistory(userID, field, value string) (data.Event, error) {
	kind, contentID, ok1 := strings.Cut(field, ":")
	msText, rating, ok2 := strings.Cut(value, ":")
	ms, err := strconv.ParseInt(msText, 10, 64)
	if !ok1 || !ok2 || err != nil || (kind != "r" && kind != "w") {
		return data.Event{}, fmt.Errorf("malformed history entry %s = %s", quote(field), quote(value))
	}
	e := data.Event{UserID: userID, ContentID: contentID, Time: time.UnixMilli(ms).UTC()}
	if kind == "w" {
		e.Type, e.WatchKind = data.EventWatch, data.WatchComplete
		return e, nil
	}
	e.Type = data.EventRating
	if e.Rating, err = strconv.ParseFloat(rating, 64); err != nil {
		return data.Event{}, fmt.Errorf("malformed rating in history entry %s = %s", quote(field), quote(value))
	}
	return e, nil
}
