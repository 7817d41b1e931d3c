package cassandra

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// syntheticRatings returns n rating events shaped like a MovieLens export:
// sorted by user, about 100 ratings per user given over a few sessions,
// titles drawn from a catalog of 20,000 with a Zipf popularity. prefix
// makes the user IDs of one call distinct from those of another.
func syntheticRatings(n int, prefix string, seed uint64) []data.Rating {
	rng := rand.New(rand.NewPCG(seed, 1))
	zipf := rand.NewZipf(rng, 1.1, 4, 19999)
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]data.Rating, 0, n)
	for u := 0; len(out) < n; u++ {
		user := fmt.Sprintf("%s%07d", prefix, u)
		at := start.Add(time.Duration(rng.Int64N(int64(5 * 365 * 24 * time.Hour))))
		seen := make(map[uint64]bool)
		for range 20 + rng.IntN(160) {
			title := zipf.Uint64()
			if seen[title] || len(out) == n {
				continue
			}
			seen[title] = true
			at = at.Add(time.Duration(rng.Int64N(int64(10*time.Minute))) + time.Second)
			if rng.IntN(20) == 0 {
				at = at.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
			}
			out = append(out, data.Rating{
				UserID: user, ContentID: fmt.Sprintf("t%05d", title),
				Value: float64(1+rng.IntN(10)) / 2, Time: at,
			})
		}
	}
	return out
}

// BenchmarkPutRatings imports synthetic rating events into the test node
// in calls of 5,000, as the MovieLens importer does, and reports rows/s.
// Run with -benchtime=1x: every iteration imports the whole set again
// under new user IDs.
func BenchmarkPutRatings(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			if testing.Short() && n > 100_000 {
				b.Skip("skipped in -short mode: the import takes about a minute")
			}
			s := openFresh(b, "bench")
			ctx := context.Background()
			b.ReportAllocs()
			var total time.Duration
			iters := 0
			for i := 0; b.Loop(); i++ {
				iters++
				b.StopTimer()
				ratings := syntheticRatings(n, fmt.Sprintf("r%d-", i), uint64(i))
				b.StartTimer()
				start := time.Now()
				for batch := range slices.Chunk(ratings, 5000) {
					if err := s.PutRatings(ctx, batch); err != nil {
						b.Fatalf("PutRatings: %v", err)
					}
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(n*iters)/total.Seconds(), "rows/s")
		})
	}
}
