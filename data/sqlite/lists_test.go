package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/sqlite"
	"github.com/marquee/marquee/data/storetest"
)

// listsAt returns an Opener of the list store in the file at path.
func listsAt(path string) storetest.Opener[data.Lists] {
	return func(t *testing.T) data.Lists {
		t.Helper()
		l, err := sqlite.OpenLists(t.Context(), path)
		if err != nil {
			t.Fatalf("OpenLists(%s): %v", path, err)
		}
		return l
	}
}

func TestLists(t *testing.T) {
	storetest.RunLists(t, func(t *testing.T) storetest.Opener[data.Lists] {
		return listsAt(filepath.Join(t.TempDir(), "cache.db"))
	})
}

func TestListsPublishedAtFromClock(t *testing.T) {
	start := time.Date(2024, 5, 1, 3, 0, 0, 0, time.UTC)
	var ticks atomic.Int64
	clock := func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Minute) }
	l, err := sqlite.OpenLists(t.Context(), filepath.Join(t.TempDir(), "cache.db"), sqlite.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	w, err := l.NewRun(t.Context(), "r1") // stamped at minute 1
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil { // stamped again at minute 2
		t.Fatal(err)
	}
	runs, err := l.Runs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(2 * time.Minute); len(runs) != 1 || !runs[0].PublishedAt.Equal(want) {
		t.Errorf("Runs: got %+v, want r1 published at %v, the time of its Commit", runs, want)
	}
}

// BenchmarkListsList reads random user lists of 100 items from a run of
// 10,000 lists.
func BenchmarkListsList(b *testing.B) {
	const lists, size = 10_000, 100
	l, err := sqlite.OpenLists(b.Context(), filepath.Join(b.TempDir(), "cache.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	publishBench(b, l, lists, size)

	keys := make([]string, lists)
	for i := range keys {
		keys[i] = fmt.Sprintf("u%d", i)
	}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := readBenchList(b, l, keys[i*7919%lists], size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if err := readBenchList(b, l, keys[i*7919%lists], size); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func publishBench(b *testing.B, l data.Lists, lists, size int) {
	w, err := l.NewRun(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]data.ListEntry, lists)
	for i := range entries {
		items := make([]data.ScoredItem, size)
		for j := range items {
			items[j] = data.ScoredItem{ID: fmt.Sprintf("tt%07d", (i+j*31)%50000), Score: float32(size-j) / float32(size)}
		}
		entries[i] = data.ListEntry{Kind: data.ListUser, Key: fmt.Sprintf("u%d", i), Items: items}
	}
	if err := w.Put(b.Context(), entries); err != nil {
		b.Fatal(err)
	}
	if err := w.Commit(b.Context()); err != nil {
		b.Fatal(err)
	}
}

func readBenchList(b *testing.B, l data.Lists, key string, size int) error {
	items, err := l.List(b.Context(), "bench", data.ListUser, key)
	if err != nil {
		return err
	}
	if len(items) != size {
		return fmt.Errorf("List(%s): got %d items, want %d", key, len(items), size)
	}
	return nil
}
