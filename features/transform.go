package features

import (
	"fmt"
	"math"
	"time"
)

// Transform turns interaction values into model input. It keeps every
// user-item pair, so a model trained on transformed values has the same
// users, items and already-seen items as one trained on the raw values.
// The zero value leaves values as they are.
type Transform struct {
	// Binary replaces every value by 1, before Offset and HalfLife apply.
	Binary bool
	// Offset is subtracted from every value, so that ratings below it count
	// against an item: with ratings of 0.5 to 5 and Offset 2.5, a 1 becomes
	// -1.5 and a 5 becomes 2.5.
	Offset float64
	// HalfLife, when positive, discounts a value by its age relative to the
	// same user's newest interaction: an interaction HalfLife older than that
	// one counts half. Relative ages keep the weights of a user's history
	// independent of when training runs, and use no data newer than the
	// user's own.
	HalfLife time.Duration
}

// Validate reports a field whose value is out of range.
func (t Transform) Validate() error {
	switch {
	case math.IsNaN(t.Offset) || math.IsInf(t.Offset, 0):
		return fmt.Errorf("features: Offset is %v, want a finite value", t.Offset)
	case t.HalfLife < 0:
		return fmt.Errorf("features: HalfLife is %v, want >= 0", t.HalfLife)
	}
	return nil
}

// Identity reports whether t leaves values as they are.
func (t Transform) Identity() bool { return t == Transform{} }

// Apply returns a copy of xs with transformed values, in the same order.
func (t Transform) Apply(xs []Interaction) []Interaction {
	out := append([]Interaction(nil), xs...)
	if t.Identity() {
		return out
	}
	var newest map[string]time.Time
	if t.HalfLife > 0 {
		newest = newestByUser(xs)
	}
	for k := range out {
		v := out[k].Value
		if t.Binary {
			v = 1
		}
		v -= t.Offset
		if t.HalfLife > 0 {
			age := newest[out[k].UserID].Sub(out[k].Time)
			v *= math.Exp2(-age.Hours() / t.HalfLife.Hours())
		}
		out[k].Value = v
	}
	return out
}

func newestByUser(xs []Interaction) map[string]time.Time {
	newest := make(map[string]time.Time)
	for _, x := range xs {
		if t, ok := newest[x.UserID]; !ok || x.Time.After(t) {
			newest[x.UserID] = x.Time
		}
	}
	return newest
}
