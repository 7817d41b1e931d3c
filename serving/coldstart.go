package serving

import (
	"context"
	"slices"
	"strings"

	"github.com/marquee/marquee/data"
)

// maxGenres bounds the preferred genres a cold start reads lists for.
const maxGenres = 8

// coldStart returns trending titles for a user without a list in the run.
// They are the trending lists of the user's preferred genres merged by
// score, or the trending list over the whole catalog when the user has no
// preferred genre with a list in the run.
func (s *Service) coldStart(ctx context.Context, run, userID string) (listing, error) {
	genres, degraded := s.preferredGenres(ctx, userID)
	var lists [][]data.ScoredItem
	for _, g := range compactGenres(genres) {
		for _, key := range genreKeys(g) {
			v, d, err := s.list(ctx, run, data.ListTrending, key)
			degraded = degraded || d || err != nil
			if err == nil && v.found {
				lists = append(lists, v.items)
				break
			}
		}
	}
	if len(lists) > 0 {
		return listing{run: run, source: SourceTrending, list: mergeByScore(lists), degraded: degraded}, nil
	}

	all, d, err := s.list(ctx, run, data.ListTrending, TrendingAll)
	if err == nil && !all.found {
		err = errRunGone
	}
	return listing{run: run, source: SourceTrending, list: all.items, degraded: degraded || d}, err
}

// compactGenres drops empty genres and genres repeated without regard to
// case, and keeps the first maxGenres.
func compactGenres(genres []string) []string {
	var out []string
	for _, g := range genres {
		if g != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, g) }) && len(out) < maxGenres {
			out = append(out, g)
		}
	}
	return out
}

// mergeByScore merges lists sorted by descending score into one, keeping
// the first occurrence of each title. Ties go to the earlier list. The
// trending lists of one run share one scale, so their scores compare.
func mergeByScore(lists [][]data.ScoredItem) []data.ScoredItem {
	if len(lists) == 1 {
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]data.ScoredItem, 0, n)
	seen := make(map[string]bool, n)
	pos := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if pos[i] < len(l) && (best < 0 || l[pos[i]].Score > lists[best][pos[best]].Score) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		it := lists[best][pos[best]]
		pos[best]++
		if !seen[it.ID] {
			seen[it.ID] = true
			out = append(out, it)
		}
	}
}
