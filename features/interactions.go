package features

import (
	"sort"
	"time"

	"github.com/marquee/marquee/data"
)

// Interaction is one user-item pair of training input after the event log
// is resolved: a current rating, or the strength of implicit feedback.
type Interaction struct {
	UserID string
	ItemID string
	Value  float64
	Time   time.Time
}

// CurrentRatings resolves a rating log into each user's current rating per
// title: the newest event wins, and a deletion newer than every rating
// removes the pair. Events of other types are ignored. When a rating and a
// deletion share a millisecond, the deletion wins. The result is sorted by
// user, then item.
func CurrentRatings(events []data.Event) []Interaction {
	type key struct{ user, item string }
	type state struct {
		value   float64
		time    time.Time
		deleted bool
	}
	latest := make(map[key]state)
	for _, e := range events {
		if e.Type != data.EventRating && e.Type != data.EventRatingDeleted {
			continue
		}
		k := key{e.UserID, e.ContentID}
		s, seen := latest[k]
		deleted := e.Type == data.EventRatingDeleted
		newer := !seen || e.Time.After(s.time) || (e.Time.Equal(s.time) && deleted)
		if newer {
			latest[k] = state{value: e.Rating, time: e.Time, deleted: deleted}
		}
	}

	out := make([]Interaction, 0, len(latest))
	for k, s := range latest {
		if !s.deleted {
			out = append(out, Interaction{UserID: k.user, ItemID: k.item, Value: s.value, Time: s.time})
		}
	}
	SortInteractions(out)
	return out
}

// WatchStrength turns watch events into implicit feedback per user and title:
// the largest share of the title watched in any event (0 to 1), plus 1 for
// every completed viewing after the first, since rewatching is a stronger
// signal than any single viewing. Pairs whose strength is 0 are left out. The
// time is that of the newest event. The result is sorted by user, then item.
func WatchStrength(events []data.Event) []Interaction {
	type key struct{ user, item string }
	type state struct {
		best      float64
		completes int
		time      time.Time
	}
	pairs := make(map[key]*state)
	for _, e := range events {
		if e.Type != data.EventWatch {
			continue
		}
		k := key{e.UserID, e.ContentID}
		s := pairs[k]
		if s == nil {
			s = &state{}
			pairs[k] = s
		}
		w := data.WatchEvent{Kind: e.WatchKind, Position: e.Position, Duration: e.Duration}
		s.best = max(s.best, w.Fraction())
		if e.WatchKind == data.WatchComplete {
			s.completes++
		}
		if e.Time.After(s.time) {
			s.time = e.Time
		}
	}

	out := make([]Interaction, 0, len(pairs))
	for k, s := range pairs {
		strength := s.best + float64(max(0, s.completes-1))
		if strength > 0 {
			out = append(out, Interaction{UserID: k.user, ItemID: k.item, Value: strength, Time: s.time})
		}
	}
	SortInteractions(out)
	return out
}

// SortInteractions sorts by user, then item, then time.
func SortInteractions(xs []Interaction) {
	sort.Slice(xs, func(a, b int) bool {
		if xs[a].UserID != xs[b].UserID {
			return xs[a].UserID < xs[b].UserID
		}
		if xs[a].ItemID != xs[b].ItemID {
			return xs[a].ItemID < xs[b].ItemID
		}
		return xs[a].Time.Before(xs[b].Time)
	})
}
