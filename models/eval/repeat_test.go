package eval

import (
	"testing"
	"time"

	"github.com/marquee/marquee/features"
)

// TestRepeatedItemCountsOnce scores a list that repeats the one relevant
// item at all 20 ranks. Each metric must be 1, not the sum over repeated ranks.
func TestRepeatedItemCountsOnce(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	train := []features.Interaction{
		{UserID: "u1", ItemID: "seen", Value: 4, Time: t0},
		{UserID: "u2", ItemID: "hit", Value: 4, Time: t0},
		{UserID: "u2", ItemID: "other", Value: 4, Time: t0},
	}
	test := []features.Interaction{{UserID: "u1", ItemID: "hit", Value: 5, Time: t0.Add(time.Hour)}}
	list := make([]string, 20)
	for i := range list {
		list[i] = "hit"
	}

	r := Rank(map[string][]string{"u1": list}, train, test, Config{})
	if r.Users != 1 {
		t.Errorf("Users = %d, expected 1", r.Users)
	}
	for name, got := range map[string]float64{"NDCG": r.NDCG, "Recall": r.Recall, "HitRate": r.HitRate, "MAP": r.MAP} {
		if got != 1 {
			t.Errorf("%s = %v, expected 1", name, got)
		}
	}
}
