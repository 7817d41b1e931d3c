package redis_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/redis"
	"github.com/marquee/marquee/internal/redistest"
)

func publish(t *testing.T, l data.Lists, runID string, lists ...data.ListEntry) {
	t.Helper()
	ctx := t.Context()
	w, err := l.NewRun(ctx, runID)
	if err != nil {
		t.Fatalf("NewRun(%s): %v", runID, err)
	}
	if err := w.Put(ctx, lists); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := w.PutArtifact(ctx, "factors", []byte(runID)); err != nil {
		t.Fatalf("PutArtifact: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func userList(key string, ids ...string) data.ListEntry {
	items := make([]data.ScoredItem, len(ids))
	for i, id := range ids {
		items[i] = data.ScoredItem{ID: id, Score: float32(len(ids) - i)}
	}
	return data.ListEntry{Kind: data.ListUser, Key: key, Items: items}
}

func runIDs(t *testing.T, l data.Lists) []string {
	t.Helper()
	runs, err := l.Runs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

// countKeys returns the number of keys under prefix.
func countKeys(t *testing.T, addr, pattern string) int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	keys, err := c.Keys(t.Context(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

func TestPruneKeepsNewestAndCurrent(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var minutes atomic.Int64
	clock := func() time.Time { return start.Add(time.Duration(minutes.Load()) * time.Minute) }
	// Commits prune in the background, so l keeps every run and pruner
	// prunes.
	l := openLists(t, addr, prefix, redis.WithKeep(100), redis.WithBuckets(8), redis.WithClock(clock))
	pruner := openLists(t, addr, prefix, redis.WithKeep(2), redis.WithClock(clock))
	ctx := t.Context()

	for i := 1; i <= 5; i++ {
		minutes.Add(1)
		publish(t, l, fmt.Sprintf("r%d", i), userList("u1", fmt.Sprintf("item-of-r%d", i)))
	}
	// Roll back to r1, then write a run that stops half way, then one that
	// is abandoned: its writer started more than a day before pruning.
	if err := l.Activate(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	fresh, err := l.NewRun(ctx, "writing")
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Put(ctx, []data.ListEntry{userList("u1", "x")}); err != nil {
		t.Fatal(err)
	}
	minutes.Add(-2 * 24 * 60)
	abandoned, err := l.NewRun(ctx, "abandoned")
	if err != nil {
		t.Fatal(err)
	}
	if err := abandoned.Put(ctx, []data.ListEntry{userList("u1", "y")}); err != nil {
		t.Fatal(err)
	}
	minutes.Add(2 * 24 * 60)

	deleted, err := pruner.Prune(ctx)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	slices.Sort(deleted)
	// The background pruning that l's commits started may delete the
	// abandoned run first; the runs left are checked below either way.
	deleted = slices.DeleteFunc(deleted, func(id string) bool { return id == "abandoned" })
	if want := []string{"r2", "r3"}; !slices.Equal(deleted, want) {
		t.Errorf("Prune deleted %q, want %q", deleted, want)
	}
	if got, want := runIDs(t, l), []string{"writing", "r5", "r4", "r1"}; !slices.Equal(got, want) {
		t.Errorf("Runs after Prune: got %q, want %q (the newest two, the current one and the one being written)", got, want)
	}
	for _, id := range []string{"r2", "r3"} {
		if _, err := l.List(ctx, id, data.ListUser, "u1"); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("List of pruned run %s: got %v, want ErrNotFound", id, err)
		}
	}
	if _, err := l.Artifact(ctx, "r1", "factors"); err != nil {
		t.Errorf("Artifact of the current run r1 after Prune: %v", err)
	}
	// 4 runs left: r1, r4, r5 with one bucket and one artifact hash each,
	// "writing" with one bucket.
	if got := countKeys(t, addr, prefix+":[la]:*"); got != 7 {
		t.Errorf("data keys after Prune: got %d, want 7", got)
	}
	if got := countKeys(t, addr, prefix+":{runs}:trash"); got != 0 {
		t.Errorf("the trash set is left with %d keys, want none", got)
	}
}

func TestCommitPrunesInBackground(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	l, err := redis.OpenLists(t.Context(), "redis://"+addr+"?prefix="+prefix+"&keep=1&buckets=4")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		publish(t, l, fmt.Sprintf("r%d", i), userList("u1", "a"))
	}
	// Close waits for the pruning that the last Commit asked for.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := runIDs(t, openLists(t, addr, prefix)); !slices.Equal(got, []string{"r3"}) {
		t.Errorf("Runs after three commits with keep=1: got %q, want [r3]", got)
	}
}

func TestDeleteRunFinishesFromTrash(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	l := openLists(t, addr, prefix, redis.WithKeep(10), redis.WithBuckets(4))
	publish(t, l, "r1", userList("u1", "a"))
	publish(t, l, "r2", userList("u1", "b"))

	// A deletion that dies after taking the run off the registry leaves its
	// generation in the trash set; simulate that by putting r1's keys back.
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	before, _ := c.Keys(t.Context(), prefix+":l:*").Result()
	if err := l.DeleteRun(t.Context(), "r1"); err != nil {
		t.Fatal(err)
	}
	for _, k := range before {
		c.HSet(t.Context(), k, "zombie", "x")
	}
	c.SAdd(t.Context(), prefix+":{runs}:trash", "1:4", "not an entry")

	if _, err := l.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, addr, prefix+":l:1:*"); got != 0 {
		t.Errorf("keys of generation 1 after Prune: got %d, want 0", got)
	}
	if got := countKeys(t, addr, prefix+":{runs}:trash"); got != 0 {
		t.Errorf("the trash set is left with %d keys, want none", got)
	}
	if _, err := l.List(t.Context(), "r2", data.ListUser, "u1"); err != nil {
		t.Errorf("List of r2: %v", err)
	}
}

// TestRecreatedRunIsRead checks that a process that cached a complete run
// reads the run written again under the same ID after a deletion.
func TestRecreatedRunIsRead(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	var seconds atomic.Int64
	clock := func() time.Time { return time.Unix(1_800_000_000+seconds.Load(), 0) }
	reader := openLists(t, addr, prefix, redis.WithKeep(10), redis.WithClock(clock))
	writer := openLists(t, addr, prefix, redis.WithKeep(10))
	publish(t, writer, "r1", userList("u1", "old"))
	publish(t, writer, "r2", userList("u1", "other"))
	if _, err := reader.List(t.Context(), "r1", data.ListUser, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := writer.DeleteRun(t.Context(), "r1"); err != nil {
		t.Fatal(err)
	}
	publish(t, writer, "r1", userList("u1", "new"))

	// Within a second of reading the entry, the reader trusts it.
	if _, err := reader.List(t.Context(), "r1", data.ListUser, "u1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("List right after the run was written again: got %v, want ErrNotFound", err)
	}
	seconds.Add(2)
	got, err := reader.List(t.Context(), "r1", data.ListUser, "u1")
	if err != nil || len(got) != 1 || got[0].ID != "new" {
		t.Errorf("List of the run written again: got %v, %v, want [new]", got, err)
	}
}

func TestHistory(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	h := openLists(t, addr, prefix, redis.WithHistory(time.Hour, 3)).History()
	ctx := t.Context()
	at := func(ms int64) time.Time { return time.UnixMilli(1_700_000_000_000 + ms).UTC() }
	rating := func(content string, v float64, ms int64) data.Event {
		return data.Event{Type: data.EventRating, UserID: "u1", ContentID: content, Rating: v, Time: at(ms)}
	}
	watch := func(content string, kind data.WatchKind, ms int64) data.Event {
		return data.Event{Type: data.EventWatch, UserID: "u1", ContentID: content, WatchKind: kind, Time: at(ms)}
	}
	steps := []data.Event{
		rating("a", 4, 10),
		rating("a", 2, 5), // older: ignored
		rating("b", 3.5, 20),
		watch("b", data.WatchComplete, 30),
		watch("c", data.WatchProgress, 40), // not a completed viewing: ignored
		{Type: data.EventRatingDeleted, UserID: "u1", ContentID: "b", Time: at(25)},
		{Type: data.EventRatingDeleted, UserID: "u1", ContentID: "a", Time: at(1)}, // older than the rating
	}
	for _, e := range steps {
		if err := h.RecordEvent(ctx, e); err != nil {
			t.Fatalf("RecordEvent(%+v): %v", e, err)
		}
	}
	want := []data.Event{watch("b", data.WatchComplete, 30), rating("a", 4, 10)}
	if got, err := h.RecentEvents(ctx, "u1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RecentEvents:\n got %+v, %v\nwant %+v", got, err, want)
	}

	// Past three entries, the oldest go.
	for i, c := range []string{"d", "e"} {
		if err := h.RecordEvent(ctx, rating(c, 5, int64(50+i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := h.RecentEvents(ctx, "u1")
	if err != nil || len(got) != 3 || got[2].ContentID != "b" {
		t.Errorf("RecentEvents past the maximum: got %+v, %v, want e, d and b", got, err)
	}
	if got, err := h.RecentEvents(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("RecentEvents of an unknown user: got %v, %v, want none", got, err)
	}
	if err := h.RecordEvent(ctx, data.Event{Type: data.EventRating, UserID: "u1"}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("RecordEvent without a title: got %v, want ErrInvalid", err)
	}

	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	if ttl := c.PTTL(ctx, prefix+":h:u1").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL of the history: got %v, want at most an hour", ttl)
	}
}

func TestBusDeliversRunSwitches(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	l := openLists(t, addr, prefix)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	msgs := make(chan string, 10)
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Bus().Subscribe(ctx, func(m string) { msgs <- m }) })
	defer wg.Wait()
	defer cancel()

	next := func() string {
		select {
		case m := <-msgs:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no message after 5 s")
			return ""
		}
	}
	if m := next(); m != redis.Resubscribed {
		t.Fatalf("first message: got %q, want the subscription notice", m)
	}
	publish(t, l, "r1", userList("u1", "a"))
	publish(t, l, "r2", userList("u1", "a"))
	if err := l.Activate(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Bus().Publish(ctx, redis.MessageUser+"u 1"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"run r1", "run r2", "run r1", "user u 1"} {
		if got := next(); got != want {
			t.Errorf("message: got %q, want %q", got, want)
		}
	}
}

// TestBusSurvivesRestart restarts a Redis of the test's own under a
// subscriber, which must report the new subscription and keep delivering.
func TestBusSurvivesRestart(t *testing.T) {
	srv := redistest.Start(t)
	l, err := redis.OpenLists(t.Context(), "redis://"+srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	msgs := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Bus().Subscribe(ctx, func(m string) { msgs <- m }) })
	defer wg.Wait()
	defer cancel()

	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if m == want {
					return
				}
			case <-deadline:
				t.Fatalf("no message %q after 10 s", want)
			}
		}
	}
	waitFor(redis.Resubscribed)
	srv.Restart()
	waitFor(redis.Resubscribed)
	if err := l.Bus().Publish(ctx, "user x"); err != nil {
		t.Fatal(err)
	}
	waitFor("user x")
}

func TestOpenListsURL(t *testing.T) {
	addr := testAddr(t)
	tests := []struct {
		name, url string
		wantErr   error
	}{
		{"unknown scheme", "http://" + addr, data.ErrInvalid},
		{"bad keep", "redis://" + addr + "?keep=many", data.ErrInvalid},
		{"bad autopipeline", "redis://" + addr + "?autopipeline=maybe", data.ErrInvalid},
		{"bad prefix", "redis://" + addr + "?prefix=a%7Bb%7D", data.ErrInvalid},
		{"unknown parameter", "redis://" + addr + "?colour=blue", data.ErrInvalid},
		{"nobody listening", "redis://127.0.0.1:1?dial_timeout=200ms", data.ErrUnavailable},
		{"no host", "redis://", data.ErrInvalid},
		{"port without host", "redis://:6379/0", data.ErrInvalid},
		{"cluster without host", "redis+cluster://", data.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := redis.OpenLists(t.Context(), tc.url)
			if err == nil {
				l.Close()
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("OpenLists(%s): got %v, want %v", tc.url, err, tc.wantErr)
			}
		})
	}
}

// TestListsOnCluster runs the conformance suite on a Redis Cluster of three
// masters of the test's own, through a ClusterClient: every multi-key
// operation must stay within one slot.
func TestListsOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starting a cluster takes seconds")
	}
	addrs := redistest.StartCluster(t, 3)
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	defer client.Close()
	l, err := redis.NewLists(client, redis.WithPrefix("mq"), redis.WithKeep(1), redis.WithBuckets(64))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		var lists []data.ListEntry
		for u := range 500 {
			lists = append(lists, userList(fmt.Sprintf("u%d", u), fmt.Sprintf("r%d-i%d", i, u)))
		}
		publish(t, l, fmt.Sprintf("r%d", i), lists...)
	}
	if _, err := l.Prune(t.Context()); err != nil {
		t.Fatalf("Prune on a cluster: %v", err)
	}
	if got := runIDs(t, l); !slices.Equal(got, []string{"r3"}) {
		t.Errorf("Runs: got %q, want [r3]", got)
	}
	got, err := l.List(t.Context(), "r3", data.ListUser, "u499")
	if err != nil || len(got) != 1 || got[0].ID != "r3-i499" {
		t.Errorf("List: got %v, %v, want [r3-i499]", got, err)
	}
	// The lists spread over every master.
	var masters atomic.Int32
	err = client.ForEachMaster(t.Context(), func(ctx context.Context, c *goredis.Client) error {
		if n := c.DBSize(ctx).Val(); n > 10 {
			masters.Add(1)
		}
		return nil
	})
	if err != nil || masters.Load() != 3 {
		t.Errorf("masters holding lists: got %d (%v), want 3", masters.Load(), err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}
