package synth

import (
	"math"
	"strconv"
	"time"

	"github.com/marquee/marquee/data"
)

// Shape of the events drawn for an interaction.
const (
	ratingMean       = 2.7 // stars at affinity 0, before biases
	ratingSlope      = 2.0 // stars per unit of affinity
	completeSlope    = 4.0 // logistic slope of the chance to watch to the end
	completeOffset   = -1.0
	minPartialShare  = 0.05 // a partial view stops between these shares
	maxPartialShare  = 0.9
	progressMarks    = 4 // progress events at each quarter reached
	endMarginSeconds = 1
)

// userEvents draws one user's events. The user's interactions are distinct
// titles sampled without replacement, with probability proportional to
// Popularity × exp(TasteWeight × Affinity). Each becomes a rating with
// probability RatingShare, or else a watch session. The draws come from the
// user's own stream, so they do not depend on any other user.
func (w *World) userEvents(u int) ([]data.Rating, []data.WatchEvent) {
	r := newRNG(w.cfg.Seed, streamEvents+uint64(u))
	chosen := w.choose(r, u, w.interactions[u])

	var ratings []data.Rating
	var watches []data.WatchEvent
	for _, t := range chosen {
		if r.float() < w.cfg.RatingShare {
			ratings = append(ratings, w.rating(r, u, t))
			continue
		}
		watches = w.appendSession(watches, r, u, t)
	}
	return ratings, watches
}

// choose samples k distinct titles for user u by the Gumbel top-k trick:
// the k largest of log weight + Gumbel noise are a sample without
// replacement in proportion to the weights.
func (w *World) choose(r rng, u, k int) []int {
	top := newTopK(k)
	for t := range w.titles {
		top.push(w.cfg.TasteWeight*w.affinity(u, t)+w.logPop[t]+r.gumbel(), t)
	}
	return top.items()
}

// rating draws a rating from the affinity, the user's and the title's
// biases and noise, rounded to a half star within [0.5, 5].
func (w *World) rating(r rng, u, t int) data.Rating {
	stars := ratingMean + ratingSlope*w.affinity(u, t) + w.userBias[u] + w.titleBias[t] + ratingNoiseSD*r.normal()
	stars = math.Max(0.5, math.Min(5, math.Round(stars*2)/2))
	return data.Rating{
		UserID:    w.users[u].ID,
		ContentID: w.titles[t].ID,
		Value:     stars,
		Time:      time.Unix(w.eventStart(r, u, 0), 0).UTC(),
	}
}

// appendSession appends the watch events of one viewing. They are a start
// at position 0 and a progress event at each quarter of the title reached.
// A complete viewing ends with a complete event at the end, and a partial
// one with a progress event where the viewer stopped. Positions and times
// advance together, as for a viewer who does not pause.
func (w *World) appendSession(dst []data.WatchEvent, r rng, u, t int) []data.WatchEvent {
	duration := int64(w.titles[t].DurationSec)
	start := w.eventStart(r, u, duration)
	complete := r.float() < completionChance(w.affinity(u, t))
	stop := duration
	if !complete {
		share := minPartialShare + (maxPartialShare-minPartialShare)*r.float()
		stop = max(1, int64(share*float64(duration)))
	}

	event := func(kind data.WatchKind, position int64) data.WatchEvent {
		return data.WatchEvent{
			ID:        w.watchID(u, len(dst)),
			UserID:    w.users[u].ID,
			ContentID: w.titles[t].ID,
			Kind:      kind,
			Position:  float64(position),
			Duration:  float64(duration),
			Time:      time.Unix(start+position, 0).UTC(),
		}
	}
	dst = append(dst, event(data.WatchStart, 0))
	for q := int64(1); q < progressMarks; q++ {
		if mark := duration * q / progressMarks; mark < stop {
			dst = append(dst, event(data.WatchProgress, mark))
		}
	}
	if complete {
		return append(dst, event(data.WatchComplete, duration))
	}
	return append(dst, event(data.WatchProgress, stop))
}

// completionChance is the logistic chance of watching a title to the end.
func completionChance(affinity float64) float64 {
	return 1 / (1 + math.Exp(-(completeSlope*affinity + completeOffset)))
}

// eventStart draws the Unix second an interaction starts at: after the
// user joined, and early enough for a viewing of length seconds to end
// before the end of the span.
func (w *World) eventStart(r rng, u int, length int64) int64 {
	joined := w.users[u].CreatedAt.Unix()
	latest := max(joined, w.endSec-length-endMarginSeconds)
	return joined + int64(r.intN(int(latest-joined+1)))
}

// watchID returns the ID of the user's n-th watch event. It is unique across
// users and datasets with other seeds, and the same on every run.
func (w *World) watchID(u, n int) string {
	return w.idPrefix + w.users[u].ID + "-" + strconv.Itoa(n)
}

// topK keeps the k items with the largest keys in a min-heap.
type topK struct {
	keys []float64
	idx  []int
	k    int
}

func newTopK(k int) *topK {
	return &topK{keys: make([]float64, 0, k), idx: make([]int, 0, k), k: k}
}

func (h *topK) push(key float64, item int) {
	if len(h.keys) < h.k {
		h.keys = append(h.keys, key)
		h.idx = append(h.idx, item)
		h.up(len(h.keys) - 1)
		return
	}
	if h.k == 0 || key <= h.keys[0] {
		return
	}
	h.keys[0], h.idx[0] = key, item
	h.down(0)
}

func (h *topK) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h.keys[parent] <= h.keys[i] {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *topK) down(i int) {
	for {
		least := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(h.keys) && h.keys[c] < h.keys[least] {
				least = c
			}
		}
		if least == i {
			return
		}
		h.swap(i, least)
		i = least
	}
}

func (h *topK) swap(i, j int) {
	h.keys[i], h.keys[j] = h.keys[j], h.keys[i]
	h.idx[i], h.idx[j] = h.idx[j], h.idx[i]
}

// items returns the kept items in heap order, which depends only on the
// order of the pushes.
func (h *topK) items() []int { return h.idx }
