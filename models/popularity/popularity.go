// Package popularity ranks items by how many users interacted with them,
// optionally discounting old interactions.
//
// A Model gives every user the same scores. It is immutable after training
// and safe for concurrent use. Training is deterministic and involves no
// randomness.
package popularity

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/marquee/marquee/features"
)

// Model scores an item by the number of distinct users who interacted with
// it in training, or by its decayed count.
type Model struct {
	counts []float64
}

// Train counts the distinct users of every column of r, a user-by-item
// matrix; the values of r are ignored.
func Train(ctx context.Context, r *features.CSR) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	counts := make([]float64, r.Cols)
	for _, c := range r.Indices {
		counts[c]++
	}
	return &Model{counts: counts}, nil
}

// Decay discounts an interaction by its age: one that happened HalfLife
// before Now counts one half, and one at Now or later counts 1.
type Decay struct {
	HalfLife time.Duration // for example 30 * 24 * time.Hour for 30 days
	Now      time.Time
}

// Validate reports a HalfLife that is not positive.
func (c Decay) Validate() error {
	if c.HalfLife <= 0 {
		return fmt.Errorf("popularity: HalfLife is %v, want > 0", c.HalfLife)
	}
	return nil
}

func (c Decay) weight(t time.Time) float64 {
	age := c.Now.Sub(t)
	if age <= 0 {
		return 1
	}
	return math.Exp2(-age.Hours() / c.HalfLife.Hours())
}

// TrainDecayed sums, over the distinct users of each item of items, the
// decayed weight of the user's newest interaction in xs. Interactions with
// items that items does not hold are ignored, so xs may be the interactions a
// features.Dataset was built from.
func TrainDecayed(ctx context.Context, items *features.Vocab, xs []features.Interaction, cfg Decay) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type pair struct {
		user string
		item int
	}
	newest := map[pair]time.Time{}
	for _, x := range xs {
		i, ok := items.Index(x.ItemID)
		if !ok {
			continue
		}
		p := pair{x.UserID, i}
		if t, seen := newest[p]; !seen || x.Time.After(t) {
			newest[p] = x.Time
		}
	}

	// Summing in a fixed order keeps the floating-point result the same
	// on every run; map order is random.
	keys := make([]pair, 0, len(newest))
	for p := range newest {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].item != keys[b].item {
			return keys[a].item < keys[b].item
		}
		return keys[a].user < keys[b].user
	})
	counts := make([]float64, items.Len())
	for _, p := range keys {
		counts[p.item] += cfg.weight(newest[p])
	}
	return &Model{counts: counts}, nil
}

// New returns a model with the given per-item scores, such as a stored copy
// of Counts.
func New(counts []float64) *Model {
	return &Model{counts: append([]float64(nil), counts...)}
}

// Counts returns the score of every item. The caller must not modify it.
func (m *Model) Counts() []float64 { return m.counts }

// Score writes the item scores, the same for every user, into dst.
func (m *Model) Score(u int, dst []float64) { copy(dst, m.counts) }
