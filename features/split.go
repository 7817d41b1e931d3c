package features

import (
	"math"
	"sort"
)

// SplitConfig sets the per-user temporal holdout.
type SplitConfig struct {
	// TestFraction is the share of each user's most recent ratings held out.
	TestFraction float64 `json:"test_fraction"`
	// MinRatings is the number of ratings a user needs to be split at all;
	// users with fewer stay wholly in training.
	MinRatings int `json:"min_ratings"`
}

// DefaultSplit is Marquee's evaluation protocol: for each user with at least
// 5 ratings, the most recent 20% are test.
var DefaultSplit = SplitConfig{TestFraction: 0.2, MinRatings: 5}

// TestCount returns how many of a user's n ratings are held out: the
// fraction of n rounded to the nearest whole number (halves round up), and at
// least one, for users with at least MinRatings ratings; 0 otherwise.
func (c SplitConfig) TestCount(n int) int {
	if n < c.MinRatings || n == 0 {
		return 0
	}
	k := int(math.Floor(c.TestFraction*float64(n) + 0.5))
	return min(max(k, 1), n)
}

// Split holds out each user's most recent interactions as test and returns
// the rest as train. Order within a user is by time, ties broken by item ID
// (plain string order), so the split is the same on every run and in every
// tool that applies the same rule. Both outputs are sorted by user, then item.
func Split(xs []Interaction, c SplitConfig) (train, test []Interaction) {
	byUser := make(map[string][]Interaction)
	for _, x := range xs {
		byUser[x.UserID] = append(byUser[x.UserID], x)
	}
	for _, hist := range byUser {
		sort.Slice(hist, func(a, b int) bool {
			if !hist[a].Time.Equal(hist[b].Time) {
				return hist[a].Time.Before(hist[b].Time)
			}
			return hist[a].ItemID < hist[b].ItemID
		})
		cut := len(hist) - c.TestCount(len(hist))
		train = append(train, hist[:cut]...)
		test = append(test, hist[cut:]...)
	}
	SortInteractions(train)
	SortInteractions(test)
	return train, test
}
