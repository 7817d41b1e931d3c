package eval

import (
	"context"
	"fmt"
	"sort"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models"
	"github.com/marquee/marquee/models/internal/parallel"
	"github.com/marquee/marquee/models/topn"
)

// Lists ranks the candidates of every user of test that has a row in d, the
// data s was trained on. The candidates are the items of d that the user has
// not rated in d. Each list holds the n candidates with the highest scores by
// s, best first, with ties broken by lower item index. Users of test absent
// from d get no list.
//
// It scores users on up to workers goroutines (0 means one per CPU); the
// lists do not depend on their number. When ctx is cancelled it returns an
// error that wraps ctx.Err().
func Lists(ctx context.Context, s models.Scorer, d *features.Dataset, test []features.Interaction, n, workers int) (map[string][]string, error) {
	users := testUsers(d, test)
	workers = parallel.Workers(workers)
	type scratch struct {
		scores []float64
		heap   topn.Heap
		top    []int
	}
	pool := make([]scratch, workers)
	out := make([][]string, len(users))

	err := parallel.Rows(ctx, len(users), workers, 16, func(w, lo, hi int) error {
		sc := &pool[w]
		if sc.scores == nil {
			sc.scores = make([]float64, d.Items.Len())
		}
		for k := lo; k < hi; k++ {
			u := users[k]
			seen, _ := d.R.Row(u)
			s.Score(u, sc.scores)
			sc.top = sc.heap.Select(sc.top[:0], sc.scores, n, seen)
			out[k] = itemIDs(d.Items, sc.top)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rank test users: %w", err)
	}

	lists := make(map[string][]string, len(users))
	for k, u := range users {
		lists[d.Users.ID(u)] = out[k]
	}
	return lists, nil
}

// testUsers returns the indexes in d of the users of test, in increasing
// order.
func testUsers(d *features.Dataset, test []features.Interaction) []int {
	seen := map[int]bool{}
	var users []int
	for _, x := range test {
		u, ok := d.Users.Index(x.UserID)
		if ok && !seen[u] {
			seen[u] = true
			users = append(users, u)
		}
	}
	sort.Ints(users)
	return users
}

func itemIDs(v *features.Vocab, idx []int) []string {
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = v.ID(i)
	}
	return ids
}
