package pipeline

import (
	"slices"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
)

// TestTrendingGenreKeys checks that trending lists are keyed by
// data.GenreKey, so that genres spelled in different cases share one list,
// and that a title listing a genre twice enters it once.
func TestTrendingGenreKeys(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ratings := []features.Interaction{
		{UserID: "u1", ItemID: "a", Value: 4, Time: t0},
		{UserID: "u2", ItemID: "a", Value: 4, Time: t0},
		{UserID: "u1", ItemID: "b", Value: 4, Time: t0},
	}
	titles := []data.Title{
		{ID: "a", Genres: []string{"Drama", "drama", "Sci-Fi"}},
		{ID: "b", Genres: []string{"DRAMA"}},
	}
	lists := map[string][]string{}
	for _, l := range trendingLists(ratings, nil, titles, PublishConfig{}.withDefaults()) {
		var ids []string
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		lists[l.Key] = ids
	}

	want := map[string][]string{"all": {"a", "b"}, "drama": {"a", "b"}, "sci-fi": {"a"}}
	if len(lists) != len(want) {
		t.Errorf("trending keys = %v, want %v", lists, want)
	}
	for key, ids := range want {
		if !slices.Equal(lists[key], ids) {
			t.Errorf("trending %q = %v, want %v", key, lists[key], ids)
		}
	}
}
