package redis_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/redis"
)

// BenchmarkPublish writes the lists of one million users, 100 titles each,
// as one run: Put in batches, then Commit. MARQUEE_BENCH_USERS changes the
// number of users. It reports lists/s; the goal is 200,000.
func BenchmarkPublish(b *testing.B) {
	addr := testAddr(b)
	users := 1_000_000
	if v := os.Getenv("MARQUEE_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("MARQUEE_BENCH_USERS=%q: %v", v, err)
		}
		users = n
	}
	pool := benchLists(1000, 100)
	for _, batch := range []int{1_000, 10_000} {
		for _, writers := range []int{1, 4, 8, 16} {
			b.Run(fmt.Sprintf("batch=%d/writers=%d", batch, writers), func(b *testing.B) {
				prefix := newPrefix(b, addr)
				l := openLists(b, addr, prefix, redis.WithKeep(0), redis.WithWriters(writers), redis.WithBuckets(benchBuckets()))
				b.ReportAllocs()
				run := 0
				for b.Loop() {
					run++
					publishBench(b, l, fmt.Sprintf("bench-%d", run), users, batch, pool)
				}
				b.ReportMetric(float64(users)*float64(run)/b.Elapsed().Seconds(), "lists/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// benchBuckets returns MARQUEE_BENCH_BUCKETS, or the default.
func benchBuckets() int {
	if n, err := strconv.Atoi(os.Getenv("MARQUEE_BENCH_BUCKETS")); err == nil {
		return n
	}
	return redis.DefaultBuckets
}

// benchLists returns n lists of size titles each, which the benchmark hands
// out in turn: their encoding, not their making, is what is measured. The
// titles come from a catalog of 50,000 IDs, each one string, as the publish
// stage takes them from its vocabulary.
func benchLists(n, size int) [][]data.ScoredItem {
	catalog := make([]string, 50_000)
	for i := range catalog {
		catalog[i] = fmt.Sprintf("tt%07d", i)
	}
	pool := make([][]data.ScoredItem, n)
	for i := range pool {
		pool[i] = make([]data.ScoredItem, size)
		for j := range pool[i] {
			pool[i][j] = data.ScoredItem{ID: catalog[(i*31+j*7919)%len(catalog)], Score: float32(size-j) / float32(size)}
		}
	}
	return pool
}

func publishBench(b *testing.B, l data.Lists, runID string, users, batch int, pool [][]data.ScoredItem) {
	ctx := b.Context()
	w, err := l.NewRun(ctx, runID)
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]data.ListEntry, 0, batch)
	for u := range users {
		entries = append(entries, data.ListEntry{Kind: data.ListUser, Key: "u" + strconv.Itoa(u), Items: pool[u%len(pool)]})
		if len(entries) == batch || u == users-1 {
			if err := w.Put(ctx, entries); err != nil {
				b.Fatal(err)
			}
			entries = entries[:0]
		}
	}
	if err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}
