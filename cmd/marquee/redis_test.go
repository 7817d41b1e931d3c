package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee/marquee/api"
	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/internal/redistest"
	"github.com/marquee/marquee/serving"
)

// replica is one API process: a Service of its own behind an HTTP server.
type replica struct {
	svc *serving.Service
	url string
}

// newReplica starts an API replica on the list cache at cacheURL and the
// store, with the serving settings of flags. It serves users' lists by ID
// without a token, as for trusted internal callers.
func newReplica(t *testing.T, cacheURL string, store data.Store, flags servingFlags) replica {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	svc, closeServing, err := flags.openServing(t.Context(), cacheURL, store, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{PublicUserRecommendations: true}, svc, log))
	t.Cleanup(func() {
		srv.Close()
		closeServing()
	})
	return replica{svc: svc, url: srv.URL}
}

// defaultServing are the flags' defaults.
func defaultServing() servingFlags {
	return servingFlags{timeout: 50 * time.Millisecond, cacheMiB: 64, pointerTTL: time.Second, listTTL: time.Minute,
		userTTL: 10 * time.Second, foldInTimeout: 50 * time.Millisecond}
}

func testStore(t *testing.T) data.Store {
	t.Helper()
	store, err := openStore(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "marquee.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// runItems returns n titles whose IDs name the run, so that a response can
// be checked for mixing runs.
func runItems(runID, kind string, n int) []data.ScoredItem {
	items := make([]data.ScoredItem, n)
	for i := range items {
		items[i] = data.ScoredItem{ID: fmt.Sprintf("%s-%s%02d", runID, kind, i), Score: float32(n - i)}
	}
	return items
}

// publishRun writes a run with a list of 20 titles for each user and a
// trending list, as the publish stage does, and commits it.
func publishRun(t *testing.T, lists data.Lists, runID string, users int) {
	t.Helper()
	ctx := context.Background()
	entries := []data.ListEntry{{Kind: data.ListTrending, Key: serving.TrendingAll, Items: runItems(runID, "t", 20)}}
	for u := range users {
		entries = append(entries, data.ListEntry{Kind: data.ListUser, Key: fmt.Sprintf("u%d", u), Items: runItems(runID, "i", 20)})
	}
	w, err := lists.NewRun(ctx, runID)
	if err == nil {
		err = w.Put(ctx, entries)
	}
	if err == nil {
		err = w.Commit(ctx)
	}
	if err != nil {
		t.Errorf("publish %s: %v", runID, err)
	}
}

// catalogRun stores the titles that publishRun lists for runID, since
// serving leaves out titles the catalog does not have.
func catalogRun(t *testing.T, store data.Store, runIDs ...string) {
	t.Helper()
	var titles []data.Title
	for _, runID := range runIDs {
		for _, kind := range []string{"t", "i"} {
			for _, it := range runItems(runID, kind, 20) {
				titles = append(titles, data.Title{ID: it.ID, Name: it.ID, Type: "movie"})
			}
		}
	}
	if err := store.PutTitles(t.Context(), titles); err != nil {
		t.Fatal(err)
	}
}

type response struct {
	status   int
	degraded bool
	page     pageJSONBody
}

type pageJSONBody struct {
	RunID  string `json:"run_id"`
	Source string `json:"source"`
	Items  []struct {
		ContentID string `json:"content_id"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
	Errors     []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

var client = &http.Client{Timeout: 5 * time.Second}

func get(base, path string) (response, error) {
	resp, err := client.Get(base + path)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode, degraded: resp.Header.Get("X-Marquee-Degraded") == "true"}
	if err := json.Unmarshal(body, &r.page); err != nil {
		return r, fmt.Errorf("GET %s: %d %s: %w", path, resp.StatusCode, body, err)
	}
	return r, nil
}

// mixed returns the first item of a page that is not of the page's run.
func mixed(p pageJSONBody) string {
	for _, it := range p.Items {
		if !strings.HasPrefix(it.ContentID, p.RunID+"-") {
			return it.ContentID
		}
	}
	return ""
}

// TestNoMixedRunsUnderPublishAndRollback has readers page through two API
// replicas while 20 runs are published to the shared Redis and rolled back
// in between, with older runs pruned in the background. No page may contain
// titles of two runs, and the pages of one cursor chain stay on one run.
func TestNoMixedRunsUnderPublishAndRollback(t *testing.T) {
	addr := redistest.Shared(t)
	cacheURL := "redis://" + addr + "?prefix=" + redistest.Prefix(t, addr) + "&keep=3&buckets=16"
	ctx := t.Context()
	publisher, err := openLists(ctx, cacheURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()
	publishRun(t, publisher, "run-00", 5)
	store := testStore(t)
	for i := 0; i <= 20; i++ {
		catalogRun(t, store, fmt.Sprintf("run-%02d", i))
	}
	replicas := []replica{newReplica(t, cacheURL, store, defaultServing()), newReplica(t, cacheURL, store, defaultServing())}

	var (
		done                          atomic.Bool
		pages, chains, expired, other atomic.Int64
		runsSeen                      sync.Map
		wg                            sync.WaitGroup
	)
	for r := range 6 {
		wg.Go(func() {
			for i := 0; !done.Load(); i++ {
				base := replicas[(r+i)%2].url
				path := fmt.Sprintf("/v1/users/u%d/recommendations?limit=7", (r+i)%7) // u5 and u6 get trending titles
				run := ""
				for path != "" {
					resp, err := get(base, path)
					switch {
					case err != nil:
						t.Errorf("reader %d: %v", r, err)
						return
					case resp.status == http.StatusBadRequest && len(resp.page.Errors) == 1 && resp.page.Errors[0].Field == "cursor":
						expired.Add(1) // the run of the chain was pruned: start again
						path = ""
						continue
					case resp.status != http.StatusOK:
						other.Add(1)
						t.Errorf("reader %d: GET %s: status %d", r, path, resp.status)
						return
					}
					p := resp.page
					if m := mixed(p); m != "" {
						t.Errorf("reader %d: a page of run %s holds %s", r, p.RunID, m)
						return
					}
					if run != "" && p.RunID != run {
						t.Errorf("reader %d: a cursor chain went from run %s to %s", r, run, p.RunID)
						return
					}
					run = p.RunID
					runsSeen.Store(run, true)
					pages.Add(1)
					path = ""
					if p.NextCursor != nil {
						path = fmt.Sprintf("/v1/users/u%d/recommendations?limit=7&cursor=%s", (r+i)%7, url.QueryEscape(*p.NextCursor))
					}
				}
				chains.Add(1)
			}
		})
	}

	for i := 1; i <= 20; i++ {
		publishRun(t, publisher, fmt.Sprintf("run-%02d", i), 5)
		time.Sleep(40 * time.Millisecond)
		if i%4 == 0 {
			prev := fmt.Sprintf("run-%02d", i-1)
			if err := publisher.Activate(ctx, prev); err != nil {
				t.Errorf("roll back to %s: %v", prev, err)
			}
			time.Sleep(40 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond)
	done.Store(true)
	wg.Wait()

	distinct := 0
	runsSeen.Range(func(any, any) bool { distinct++; return true })
	t.Logf("%d pages in %d cursor chains from %d runs; %d chains restarted after their run was pruned", pages.Load(), chains.Load(), distinct, expired.Load())
	if pages.Load() < 100 || distinct < 5 {
		t.Errorf("readers saw %d pages from %d runs, want at least 100 pages from 5 runs", pages.Load(), distinct)
	}
	// The last step rolled run-20 back to run-19.
	current, err := publisher.Current(ctx)
	if err != nil || current != "run-19" {
		t.Errorf("current run at the end: got %q, %v, want run-19", current, err)
	}
}

// twoReplicas publishes run r1 to a Redis of its own key prefix and starts
// two API replicas on it and on one store, with hour-long TTLs, so that
// only invalidation through Redis can refresh one replica's caches.
func twoReplicas(t *testing.T) (a, b replica, store data.Store) {
	t.Helper()
	addr := redistest.Shared(t)
	cacheURL := "redis://" + addr + "?prefix=" + redistest.Prefix(t, addr)
	publisher, err := openLists(t.Context(), cacheURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()
	publishRun(t, publisher, "r1", 1)
	store = testStore(t)
	catalogRun(t, store, "r1")
	long := defaultServing()
	long.pointerTTL, long.listTTL, long.userTTL = time.Hour, time.Hour, time.Hour
	return newReplica(t, cacheURL, store, long), newReplica(t, cacheURL, store, long), store
}

// TestReplicasShareRatings has two API replicas, each with its own Service
// and caches, on one Redis. A title rated through the first leaves the next
// response of the second. The caches' TTLs are an hour, so only the
// invalidation through Redis can make that happen.
func TestReplicasShareRatings(t *testing.T) {
	a, b, _ := twoReplicas(t)

	first := func(rep replica) string {
		t.Helper()
		resp, err := get(rep.url, "/v1/users/u0/recommendations?limit=3")
		if err != nil || resp.status != http.StatusOK || len(resp.page.Items) == 0 {
			t.Fatalf("GET: %+v, %v", resp, err)
		}
		return resp.page.Items[0].ContentID
	}
	top := first(b)
	if first(a) != top {
		t.Fatal("the replicas disagree before the rating")
	}

	// The rating route of the API calls this hook after the store accepted
	// the rating; the test calls it on replica A directly.
	before := b.svc.Stats().Invalidations
	rating := data.Rating{UserID: "u0", ContentID: top, Value: 4.5, Time: time.Now()}
	if err := a.svc.RecordInteraction(t.Context(), data.RatingEvent(rating)); err != nil {
		t.Fatal(err)
	}
	if got := first(a); got == top {
		t.Errorf("replica A still recommends %s after recording its rating", top)
	}
	// B applies the invalidation when Redis delivers it.
	start := time.Now()
	for b.svc.Stats().Invalidations == before {
		if time.Since(start) > 2*time.Second {
			t.Fatal("replica B got no invalidation within 2 s")
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Logf("replica B applied the invalidation %v after the rating was recorded", time.Since(start))
	resp, err := get(b.url, "/v1/users/u0/recommendations?limit=20")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range resp.page.Items {
		if it.ContentID == top {
			t.Errorf("replica B still recommends %s, rated through replica A", top)
		}
	}
	if len(resp.page.Items) != 19 || resp.degraded {
		t.Errorf("replica B: got %d items, degraded %v, want the 19 others, fresh", len(resp.page.Items), resp.degraded)
	}
}

// TestRedisOutageUnderLoad runs load against an API on a Redis of the
// test's own, then kills Redis, restarts it, pauses it (SIGSTOP) and
// resumes it. No request may get a 5xx, and responses during the outages
// are marked X-Marquee-Degraded. Once Redis is back they are fresh again,
// and a run published then reaches them.
func TestRedisOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the outage test takes several seconds")
	}
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	cacheURL := "redis://" + srv.Addr()
	publish := func(runID string) {
		lists, err := openLists(t.Context(), cacheURL, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		publishRun(t, lists, runID, 20)
		lists.Close()
	}
	publish("r1")
	store := testStore(t)
	catalogRun(t, store, "r1", "r2")
	api := newReplica(t, cacheURL, store, defaultServing())

	const (
		healthy = iota
		killed
		restarted
		paused
		resumed
	)
	type tally struct{ ok, degraded, failed, maxMillis atomic.Int64 }
	var (
		phase  atomic.Int32
		tallys [resumed + 1]tally
		lastOK atomic.Value // run_id of the last fresh response
		done   atomic.Bool
		wg     sync.WaitGroup
	)
	for r := range 4 {
		wg.Go(func() {
			for i := 0; !done.Load(); i++ {
				p := phase.Load()
				start := time.Now()
				resp, err := get(api.url, fmt.Sprintf("/v1/users/u%d/recommendations?limit=5", (r*7+i)%30)) // u20 to u29 get trending titles
				ms := time.Since(start).Milliseconds()
				tl := &tallys[p]
				for old := tl.maxMillis.Load(); ms > old && !tl.maxMillis.CompareAndSwap(old, ms); old = tl.maxMillis.Load() {
				}
				switch {
				case err != nil || resp.status != http.StatusOK:
					tl.failed.Add(1)
					t.Errorf("phase %d: status %d, %v", p, resp.status, err)
				case resp.degraded:
					tl.degraded.Add(1)
				default:
					tl.ok.Add(1)
					lastOK.Store(resp.page.RunID)
				}
			}
		})
	}
	waitFresh := func(what string, wantRun string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := get(api.url, "/v1/users/u1/recommendations?limit=5")
			if err == nil && resp.status == http.StatusOK && !resp.degraded && resp.page.RunID == wantRun {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no fresh answer from run %s within 10 s: last %+v, %v", what, wantRun, resp, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	time.Sleep(500 * time.Millisecond)
	phase.Store(killed)
	srv.Stop()
	time.Sleep(1500 * time.Millisecond)
	phase.Store(restarted)
	srv.Restart()
	waitFresh("after the restart", "r1")
	time.Sleep(300 * time.Millisecond)

	phase.Store(paused)
	srv.Pause()
	time.Sleep(time.Second)
	phase.Store(resumed)
	srv.Resume()
	resumedAt := time.Now()
	waitFresh("after the pause", "r1")
	t.Logf("fresh answers %v after the resume", time.Since(resumedAt))
	publish("r2")
	published := time.Now()
	waitFresh("after a new publish", "r2")
	t.Logf("answers from the new run %v after its publish", time.Since(published))
	done.Store(true)
	wg.Wait()

	names := []string{"healthy", "killed", "restarted", "paused", "resumed"}
	for p := range tallys {
		tl := &tallys[p]
		t.Logf("%-9s fresh %5d  degraded %5d  failed %d  slowest %d ms", names[p], tl.ok.Load(), tl.degraded.Load(), tl.failed.Load(), tl.maxMillis.Load())
	}
	for _, p := range []int{killed, paused} {
		if tallys[p].degraded.Load() == 0 {
			t.Errorf("%s: no response was marked degraded", names[p])
		}
		if tallys[p].maxMillis.Load() > 1000 {
			t.Errorf("%s: the slowest response took %d ms, want under a second", names[p], tallys[p].maxMillis.Load())
		}
	}
	if tallys[healthy].degraded.Load() != 0 {
		t.Errorf("healthy: %d responses were marked degraded, want none", tallys[healthy].degraded.Load())
	}
	if tallys[resumed].ok.Load() == 0 {
		t.Error("after the outages: no fresh answer")
	}
}

// TestRedisRestartedEmpty restarts the API's Redis without persistence,
// so that it comes back empty. Until a run is published again, every
// response comes from the last run in memory, marked degraded, and none is
// a 5xx. A publish then brings fresh responses.
func TestRedisRestartedEmpty(t *testing.T) {
	srv := redistest.Start(t) // no persistence: a restart loses every key
	cacheURL := "redis://" + srv.Addr()
	publish := func(runID string) {
		lists, err := openLists(t.Context(), cacheURL, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		publishRun(t, lists, runID, 10)
		lists.Close()
	}
	publish("r1")
	store := testStore(t)
	catalogRun(t, store, "r1", "r2")
	flags := defaultServing()
	flags.listTTL = 200 * time.Millisecond // the copies are stale during the loss
	rep := newReplica(t, cacheURL, store, flags)

	warm := []string{"/v1/users/u0/recommendations?limit=5", "/v1/users/u1/recommendations?limit=5", "/v1/trending?limit=5"}
	before := map[string]string{}
	for _, path := range warm {
		resp, err := get(rep.url, path)
		if err != nil || resp.status != http.StatusOK || resp.degraded || resp.page.RunID != "r1" {
			t.Fatalf("GET %s before the restart: %+v, %v", path, resp, err)
		}
		before[path] = fmt.Sprint(resp.page.Items)
	}

	srv.Restart()
	time.Sleep(300 * time.Millisecond) // past the list TTL
	// u7 has a list in r1 that this replica never read: the last good
	// trending titles stand in for it.
	for _, path := range append(warm, "/v1/users/u7/recommendations?limit=5", "/v1/items/r1-t00/similar") {
		for range 3 {
			resp, err := get(rep.url, path)
			switch {
			case err != nil || resp.status != http.StatusOK:
				t.Errorf("GET %s after Redis came back empty: status %d, %v, want 200", path, resp.status, err)
			case !resp.degraded || resp.page.RunID != "r1" || len(resp.page.Items) == 0:
				t.Errorf("GET %s after Redis came back empty: %+v, want titles of r1 marked degraded", path, resp)
			case before[path] != "" && fmt.Sprint(resp.page.Items) != before[path]:
				t.Errorf("GET %s after Redis came back empty: %v, want the copy of before %s", path, resp.page.Items, before[path])
			}
		}
	}

	publish("r2")
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := get(rep.url, "/v1/users/u0/recommendations?limit=5")
		if err == nil && resp.status == http.StatusOK && !resp.degraded && resp.page.RunID == "r2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fresh answer from r2 within 10 s of its publish: %+v, %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasShareTitleDeletion has two API replicas on one Redis, with
// hour-long TTLs. A title deleted from the catalog and invalidated through
// the first leaves the second's lists once Redis delivers the message.
func TestReplicasShareTitleDeletion(t *testing.T) {
	a, b, store := twoReplicas(t)

	resp, err := get(b.url, "/v1/trending?limit=3")
	if err != nil || resp.status != http.StatusOK || len(resp.page.Items) != 3 {
		t.Fatalf("GET trending: %+v, %v", resp, err)
	}
	top := resp.page.Items[0].ContentID

	// The title deletion route of the API deletes the title and calls this
	// hook; the test does both on replica A directly.
	before := b.svc.Stats().Invalidations
	if err := store.DeleteTitle(t.Context(), top); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.InvalidateTitle(t.Context(), top); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); b.svc.Stats().Invalidations == before; time.Sleep(time.Millisecond) {
		if time.Since(start) > 2*time.Second {
			t.Fatal("replica B got no invalidation within 2 s")
		}
	}
	resp, err = get(b.url, "/v1/trending?limit=3")
	if err != nil || resp.status != http.StatusOK {
		t.Fatalf("GET trending after the deletion: %+v, %v", resp, err)
	}
	for _, it := range resp.page.Items {
		if it.ContentID == top {
			t.Errorf("replica B still lists %s, deleted through replica A", top)
		}
	}
	if len(resp.page.Items) != 3 {
		t.Errorf("replica B: %d titles, want a full page of 3", len(resp.page.Items))
	}
}
