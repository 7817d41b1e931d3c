package redis_test

import (
	"context"
	"testing"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/redis"
	"github.com/marquee/marquee/data/storetest"
	"github.com/marquee/marquee/internal/redistest"
)

// testAddr returns the address of the Redis in MARQUEE_TEST_REDIS.
func testAddr(t testing.TB) string { return redistest.Shared(t) }

// newPrefix returns a key prefix of its own for one test and deletes the
// test's keys when it ends.
func newPrefix(t testing.TB, addr string) string { return redistest.Prefix(t, addr) }

// openLists opens Lists on the test Redis, closed when the test ends.
func openLists(t testing.TB, addr, prefix string, opts ...redis.Option) *redis.Lists {
	t.Helper()
	l, err := redis.OpenLists(context.Background(), "redis://"+addr+"/0?prefix="+prefix, opts...)
	if err != nil {
		t.Fatalf("OpenLists: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLists(t *testing.T) {
	addr := testAddr(t)
	storetest.RunLists(t, func(t *testing.T) storetest.Opener[data.Lists] {
		prefix := newPrefix(t, addr)
		return func(t *testing.T) data.Lists {
			t.Helper()
			// Runs are kept, so that pruning never deletes one the suite reads.
			l, err := redis.OpenLists(t.Context(), "redis://"+addr+"/0?prefix="+prefix+"&keep=1000&buckets=16")
			if err != nil {
				t.Fatalf("OpenLists: %v", err)
			}
			return l
		}
	})
}
