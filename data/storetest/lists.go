package storetest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// RunLists runs the data.Lists conformance suite. newLists is called once per
// subtest, with the subtest's t, and returns the Opener of a new, empty list
// store.
func RunLists(t *testing.T, newLists func(t *testing.T) Opener[data.Lists]) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener[data.Lists])
	}{
		{"NothingVisibleBeforeCommit", testNothingVisibleBeforeCommit},
		{"CommitSwitchesCurrent", testCommitSwitchesCurrent},
		{"ListByRunID", testListByRunID},
		{"ListMissing", testListMissing},
		{"ListRoundTrip", testListRoundTrip},
		{"PutReplacesList", testPutReplacesList},
		{"ActivateCompleteRunsOnly", testActivateCompleteRunsOnly},
		{"DeleteRun", testDeleteRun},
		{"RunsNewestFirst", testRunsNewestFirst},
		{"ResumeRun", testResumeRun},
		{"NewRunOnCompleteRun", testNewRunOnCompleteRun},
		{"AbortKeepsCurrent", testAbortKeepsCurrent},
		{"DurableAfterReopen", testListsDurableAfterReopen},
		{"ConcurrentReadersDuringPublish", testConcurrentReadersDuringPublish},
		{"ArtifactRoundTrip", testArtifactRoundTrip},
		{"ArtifactHiddenBeforeCommit", testArtifactHiddenBeforeCommit},
		{"ArtifactGoesWithRun", testArtifactGoesWithRun},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newLists(t))
		})
	}
}

func openLists(t *testing.T, open Opener[data.Lists]) data.Lists {
	t.Helper()
	l := open(t)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// items returns n items whose IDs start with prefix, by descending score.
func items(prefix string, n int) []data.ScoredItem {
	list := make([]data.ScoredItem, n)
	for i := range list {
		list[i] = data.ScoredItem{ID: fmt.Sprintf("%s/%d", prefix, i), Score: float32(n-i) / 3}
	}
	return list
}

func userList(key string, list []data.ScoredItem) data.ListEntry {
	return data.ListEntry{Kind: data.ListUser, Key: key, Items: list}
}

// publish writes a whole run and commits it.
func publish(t *testing.T, l data.Lists, runID string, lists ...data.ListEntry) {
	t.Helper()
	ctx := t.Context()
	w, err := l.NewRun(ctx, runID)
	must(t, "NewRun("+runID+")", err)
	must(t, "Put", w.Put(ctx, lists))
	must(t, "Commit", w.Commit(ctx))
}

func checkCurrent(t *testing.T, l data.Lists, want string) {
	t.Helper()
	got, err := l.Current(t.Context())
	if want == "" {
		wantErr(t, "Current", err, data.ErrNotFound)
		return
	}
	must(t, "Current", err)
	if got != want {
		t.Errorf("Current: got %q, want %q", got, want)
	}
}

// checkList compares a list with want, or expects ErrNotFound when want is
// nil. Use an empty, non-nil want for a stored empty list.
func checkList(t *testing.T, l data.Lists, runID string, kind data.ListKind, key string, want []data.ScoredItem) {
	t.Helper()
	call := fmt.Sprintf("List(%q, %s, %q)", runID, kind, key)
	got, err := l.List(t.Context(), runID, kind, key)
	if want == nil {
		wantErr(t, call, err, data.ErrNotFound)
		return
	}
	must(t, call, err)
	if !reflect.DeepEqual(nilIfEmpty(got), nilIfEmpty(want)) {
		t.Errorf("%s:\n got %v\nwant %v", call, got, want)
	}
}

func runsByID(t *testing.T, l data.Lists) map[string]data.PublishedRun {
	t.Helper()
	runs, err := l.Runs(t.Context())
	must(t, "Runs", err)
	byID := make(map[string]data.PublishedRun, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	return byID
}

func testNothingVisibleBeforeCommit(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	first := items("r1", 5)

	w, err := l.NewRun(ctx, "r1")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", first)}))
	checkCurrent(t, l, "")
	checkList(t, l, "r1", data.ListUser, "u1", nil)
	if r, ok := runsByID(t, l)["r1"]; !ok || r.Complete {
		t.Errorf("Runs before Commit: got r1 %+v (present %v), want it present and incomplete", r, ok)
	}

	must(t, "Commit", w.Commit(ctx))
	checkCurrent(t, l, "r1")
	checkList(t, l, "r1", data.ListUser, "u1", first)
	if r := runsByID(t, l)["r1"]; !r.Complete || r.Lists != 1 || r.PublishedAt.IsZero() {
		t.Errorf("Runs after Commit: got r1 %+v, want it complete with 1 list and a PublishedAt", r)
	}

	// A second run stays hidden while the first is current.
	w, err = l.NewRun(ctx, "r2")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("r2", 3))}))
	checkCurrent(t, l, "r1")
	checkList(t, l, "r2", data.ListUser, "u1", nil)
	checkList(t, l, "r1", data.ListUser, "u1", first)
}

func testCommitSwitchesCurrent(t *testing.T, open Opener[data.Lists]) {
	l := openLists(t, open)
	publish(t, l, "r1", userList("u1", items("r1", 4)))
	checkCurrent(t, l, "r1")
	publish(t, l, "r2", userList("u1", items("r2", 4)))
	checkCurrent(t, l, "r2")

	// The earlier run stays readable for rollback.
	checkList(t, l, "r1", data.ListUser, "u1", items("r1", 4))
}

func testListByRunID(t *testing.T, open Opener[data.Lists]) {
	l := openLists(t, open)
	publish(t, l, "r1", userList("u1", items("r1", 4)), data.ListEntry{Kind: data.ListTrending, Key: "all", Items: items("r1-all", 2)})
	publish(t, l, "r2", userList("u1", items("r2", 6)))

	checkList(t, l, "r1", data.ListUser, "u1", items("r1", 4))
	checkList(t, l, "r2", data.ListUser, "u1", items("r2", 6))
	checkList(t, l, "r1", data.ListTrending, "all", items("r1-all", 2))
	checkList(t, l, "r2", data.ListTrending, "all", nil)
}

func testListMissing(t *testing.T, open Opener[data.Lists]) {
	l := openLists(t, open)
	publish(t, l, "r1",
		userList("u1", items("user", 3)),
		data.ListEntry{Kind: data.ListSimilar, Key: "u1", Items: items("similar", 2)},
		userList("empty", []data.ScoredItem{}),
	)

	checkList(t, l, "r1", data.ListUser, "u1", items("user", 3))
	checkList(t, l, "r1", data.ListSimilar, "u1", items("similar", 2))
	checkList(t, l, "r1", data.ListUser, "empty", []data.ScoredItem{})
	checkList(t, l, "r1", data.ListUser, "u2", nil)
	checkList(t, l, "r1", data.ListTrending, "u1", nil)
	checkList(t, l, "unknown", data.ListUser, "u1", nil)
}

func testListRoundTrip(t *testing.T, open Opener[data.Lists]) {
	l := openLists(t, open)
	scores := []float32{0, -1.5, 1e-30, math.MaxFloat32, -math.MaxFloat32, 0.1, float32(math.Inf(1)), 3.4028e+38}
	var odd []data.ScoredItem
	for i, h := range hostile {
		odd = append(odd, data.ScoredItem{ID: h, Score: scores[i%len(scores)]})
	}
	odd = append(odd, data.ScoredItem{ID: "", Score: 1})
	long := items("long", 1000)

	var lists []data.ListEntry
	for _, h := range hostile {
		lists = append(lists, data.ListEntry{Kind: data.ListSimilar, Key: h, Items: odd})
	}
	lists = append(lists, userList("long", long))
	publish(t, l, "r1", lists...)

	for _, h := range hostile {
		checkList(t, l, "r1", data.ListSimilar, h, odd)
	}
	checkList(t, l, "r1", data.ListUser, "long", long)
	if r := runsByID(t, l)["r1"]; r.Lists != len(lists) {
		t.Errorf("Runs: got %d lists in r1, want %d", r.Lists, len(lists))
	}
}

func testPutReplacesList(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	w, err := l.NewRun(ctx, "r1")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("old", 5)), userList("u2", items("u2", 1))}))
	must(t, "Put again", w.Put(ctx, []data.ListEntry{userList("u1", items("new", 2))}))
	must(t, "Commit", w.Commit(ctx))

	checkList(t, l, "r1", data.ListUser, "u1", items("new", 2))
	if r := runsByID(t, l)["r1"]; r.Lists != 2 {
		t.Errorf("Runs: got %d lists in r1 after rewriting one, want 2", r.Lists)
	}
}

func testActivateCompleteRunsOnly(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	publish(t, l, "r1", userList("u1", items("r1", 2)))
	publish(t, l, "r2", userList("u1", items("r2", 2)))
	w, err := l.NewRun(ctx, "r3")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("r3", 2))}))

	wantErr(t, "Activate of an incomplete run", l.Activate(ctx, "r3"), data.ErrNotFound)
	wantErr(t, "Activate of an unknown run", l.Activate(ctx, "r9"), data.ErrNotFound)
	checkCurrent(t, l, "r2")

	must(t, "Activate(r1)", l.Activate(ctx, "r1"))
	checkCurrent(t, l, "r1")
	checkList(t, l, "r1", data.ListUser, "u1", items("r1", 2))
	must(t, "Activate(r2)", l.Activate(ctx, "r2"))
	checkCurrent(t, l, "r2")
}

func testDeleteRun(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	publish(t, l, "r1", userList("u1", items("r1", 2)))
	publish(t, l, "r2", userList("u1", items("r2", 2)))

	wantErr(t, "DeleteRun of the current run", l.DeleteRun(ctx, "r2"), data.ErrConflict)
	checkList(t, l, "r2", data.ListUser, "u1", items("r2", 2))

	must(t, "DeleteRun(r1)", l.DeleteRun(ctx, "r1"))
	checkList(t, l, "r1", data.ListUser, "u1", nil)
	wantErr(t, "Activate of a deleted run", l.Activate(ctx, "r1"), data.ErrNotFound)
	must(t, "DeleteRun(r1) again", l.DeleteRun(ctx, "r1"))
	must(t, "DeleteRun of an unknown run", l.DeleteRun(ctx, "r9"))

	w, err := l.NewRun(ctx, "r3")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("r3", 2))}))
	must(t, "DeleteRun of an incomplete run", l.DeleteRun(ctx, "r3"))

	runs := runsByID(t, l)
	if _, ok := runs["r2"]; len(runs) != 1 || !ok {
		t.Errorf("Runs after deletes: got %v, want only r2", runs)
	}
	checkCurrent(t, l, "r2")
}

func testRunsNewestFirst(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	order := []string{"m", "z", "a"}
	for i, id := range order {
		var lists []data.ListEntry
		for k := range i + 1 {
			lists = append(lists, userList(fmt.Sprint(k), items(id, 2)))
		}
		publish(t, l, id, lists...)
		// PublishedAt may be kept in milliseconds, so sleeping keeps the
		// commits in distinct ones.
		time.Sleep(3 * time.Millisecond)
	}
	w, err := l.NewRun(ctx, "incomplete")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("x", 1))}))
	must(t, "Activate(m)", l.Activate(ctx, "m"))

	runs, err := l.Runs(ctx)
	must(t, "Runs", err)
	var complete []string
	for i, r := range runs {
		if i > 0 && r.PublishedAt.After(runs[i-1].PublishedAt) {
			t.Errorf("Runs: %q published at %v follows %q published at %v", r.ID, r.PublishedAt, runs[i-1].ID, runs[i-1].PublishedAt)
		}
		if r.Complete {
			complete = append(complete, r.ID)
		}
	}
	if want := []string{"a", "z", "m"}; !slices.Equal(complete, want) {
		t.Errorf("Runs: got complete runs %q, want %q, newest first", complete, want)
	}

	byID := runsByID(t, l)
	for i, id := range order {
		if got := byID[id].Lists; got != i+1 {
			t.Errorf("Runs: got %d lists in %q, want %d", got, id, i+1)
		}
	}
	if r, ok := byID["incomplete"]; !ok || r.Complete || r.Lists != 1 {
		t.Errorf("Runs: got incomplete run %+v (present %v), want it incomplete with 1 list", r, ok)
	}
}

func testResumeRun(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	a, b := userList("a", items("a", 3)), userList("b", items("b", 3))

	crashed, err := l.NewRun(ctx, "r1")
	must(t, "NewRun", err)
	must(t, "Put", crashed.Put(ctx, []data.ListEntry{a}))

	// A second writer of the same run carries on where the first stopped.
	resumed, err := l.NewRun(ctx, "r1")
	must(t, "NewRun resuming r1", err)
	must(t, "Put", resumed.Put(ctx, []data.ListEntry{b, a}))
	must(t, "Commit", resumed.Commit(ctx))

	checkCurrent(t, l, "r1")
	checkList(t, l, "r1", data.ListUser, "a", a.Items)
	checkList(t, l, "r1", data.ListUser, "b", b.Items)
	if r := runsByID(t, l)["r1"]; r.Lists != 2 || !r.Complete {
		t.Errorf("Runs: got r1 %+v, want it complete with 2 lists", r)
	}
}

func testNewRunOnCompleteRun(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	publish(t, l, "r1", userList("u1", items("r1", 2)))

	_, err := l.NewRun(ctx, "r1")
	wantErr(t, "NewRun of a complete run", err, data.ErrConflict)
	checkList(t, l, "r1", data.ListUser, "u1", items("r1", 2))
}

func testAbortKeepsCurrent(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	w, err := l.NewRun(ctx, "r0")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("r0", 2))}))
	must(t, "Abort before any commit", w.Abort(ctx))
	checkCurrent(t, l, "")

	publish(t, l, "r1", userList("u1", items("r1", 2)))
	w, err = l.NewRun(ctx, "r2")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("r2", 2)), userList("u2", items("r2", 1))}))
	must(t, "Abort", w.Abort(ctx))

	checkCurrent(t, l, "r1")
	checkList(t, l, "r1", data.ListUser, "u1", items("r1", 2))
	checkList(t, l, "r2", data.ListUser, "u1", nil)
	if runs := runsByID(t, l); len(runs) != 1 {
		t.Errorf("Runs after Abort: got %v, want only r1", runs)
	}

	// The aborted run left nothing behind for a new writer of its ID.
	publish(t, l, "r2", userList("u1", items("again", 1)))
	checkList(t, l, "r2", data.ListUser, "u2", nil)
	if r := runsByID(t, l)["r2"]; r.Lists != 1 {
		t.Errorf("Runs: got %d lists in r2 written after an abort, want 1", r.Lists)
	}
}

func testListsDurableAfterReopen(t *testing.T, open Opener[data.Lists]) {
	ctx := t.Context()
	first := open(t)
	t.Cleanup(func() { _ = first.Close() })
	publish(t, first, "r1", userList("u1", items("r1", 3)))
	publish(t, first, "r2", userList("u1", items("r2", 3)))
	must(t, "Activate(r1)", first.Activate(ctx, "r1"))
	must(t, "Close", first.Close())

	l := openLists(t, open)
	checkCurrent(t, l, "r1")
	checkList(t, l, "r1", data.ListUser, "u1", items("r1", 3))
	checkList(t, l, "r2", data.ListUser, "u1", items("r2", 3))
	if runs := runsByID(t, l); len(runs) != 2 || !runs["r1"].Complete || !runs["r2"].Complete {
		t.Errorf("Runs after reopen: got %v, want r1 and r2, complete", runs)
	}
}

// testConcurrentReadersDuringPublish publishes many runs while readers look
// up the current run's lists, probe the run being written and list the
// runs. No reader may see a list of a run before its Commit began, a list
// mixing runs, or a complete run missing lists.
func testConcurrentReadersDuringPublish(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	const runs, keys, readers = 12, 8, 4
	listOf := func(runID string, key int) []data.ScoredItem { return items(fmt.Sprintf("%s/k%d", runID, key), 10) }

	var (
		writing    atomic.Value // ID of the run being written
		committing sync.Map     // IDs of the runs whose Commit began
		done       atomic.Bool
		wg         sync.WaitGroup
		reads      atomic.Int64
	)
	writing.Store("")
	check := func(runID string, key int, got []data.ScoredItem, err error) bool {
		switch {
		case errors.Is(err, data.ErrNotFound):
			return true
		case err != nil:
			t.Errorf("List(%q, k%d): %v", runID, key, err)
			return false
		}
		if _, ok := committing.Load(runID); !ok {
			t.Errorf("List(%q, k%d): got a list of a run before its Commit", runID, key)
			return false
		}
		if !reflect.DeepEqual(got, listOf(runID, key)) {
			t.Errorf("List(%q, k%d): got %v, want the list written for that run", runID, key, got)
			return false
		}
		return true
	}
	for r := range readers {
		wg.Go(func() {
			for i := r; !done.Load(); i++ {
				key := i % keys
				if current, err := l.Current(ctx); err == nil {
					got, err := l.List(ctx, current, data.ListUser, fmt.Sprintf("k%d", key))
					if err != nil {
						t.Errorf("List of the current run %q: %v", current, err)
						return
					}
					if !check(current, key, got, nil) {
						return
					}
				} else if !errors.Is(err, data.ErrNotFound) {
					t.Errorf("Current: %v", err)
					return
				}

				probe := writing.Load().(string)
				got, err := l.List(ctx, probe, data.ListUser, fmt.Sprintf("k%d", key))
				if !check(probe, key, got, err) {
					return
				}

				all, err := l.Runs(ctx)
				if err != nil {
					t.Errorf("Runs: %v", err)
					return
				}
				for _, run := range all {
					if run.Complete && run.Lists != keys {
						t.Errorf("Runs: got complete run %q with %d lists, want %d", run.ID, run.Lists, keys)
						return
					}
				}
				reads.Add(1)
			}
		})
	}

	for i := range runs {
		runID := fmt.Sprintf("run-%02d", i)
		writing.Store(runID)
		w, err := l.NewRun(ctx, runID)
		if err == nil {
			for half := range 2 {
				var lists []data.ListEntry
				for k := half * keys / 2; k < (half+1)*keys/2; k++ {
					lists = append(lists, userList(fmt.Sprintf("k%d", k), listOf(runID, k)))
				}
				if err = w.Put(ctx, lists); err != nil {
					break
				}
			}
		}
		if err == nil {
			committing.Store(runID, true)
			err = w.Commit(ctx)
		}
		if err != nil {
			t.Errorf("publish %s: %v", runID, err)
			break
		}
	}
	done.Store(true)
	wg.Wait()

	checkCurrent(t, l, fmt.Sprintf("run-%02d", runs-1))
	if reads.Load() == 0 {
		t.Error("readers made no complete pass while runs were published")
	}
}

func checkArtifact(t *testing.T, l data.Lists, runID, name string, want []byte) {
	t.Helper()
	call := fmt.Sprintf("Artifact(%q, %q)", runID, name)
	got, err := l.Artifact(t.Context(), runID, name)
	if want == nil {
		wantErr(t, call, err, data.ErrNotFound)
		return
	}
	must(t, call, err)
	if string(got) != string(want) {
		t.Errorf("%s: got %d bytes %.20q, want %d bytes %.20q", call, len(got), got, len(want), want)
	}
}

func testArtifactRoundTrip(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	big := make([]byte, 5<<20) // the item factors of 10,000 titles and 128 factors
	for i := range big {
		big[i] = byte(i * 7919 >> 3)
	}
	odd := []byte("\x00\xff" + hostile[0])

	w, err := l.NewRun(ctx, "r1")
	must(t, "NewRun", err)
	must(t, "Put", w.Put(ctx, []data.ListEntry{userList("u1", items("r1", 2))}))
	must(t, "PutArtifact(big)", w.PutArtifact(ctx, "big", big))
	must(t, "PutArtifact(odd)", w.PutArtifact(ctx, hostile[6], []byte("first")))
	must(t, "PutArtifact(odd) again", w.PutArtifact(ctx, hostile[6], odd))
	must(t, "PutArtifact(empty)", w.PutArtifact(ctx, "empty", []byte{}))
	must(t, "Commit", w.Commit(ctx))

	checkArtifact(t, l, "r1", "big", big)
	checkArtifact(t, l, "r1", hostile[6], odd)
	checkArtifact(t, l, "r1", "empty", []byte{})
	checkArtifact(t, l, "r1", "missing", nil)
	checkArtifact(t, l, "unknown", "big", nil)
	if r := runsByID(t, l)["r1"]; r.Lists != 1 {
		t.Errorf("Runs: got %d lists in r1, want 1: artifacts are not lists", r.Lists)
	}
}

func testArtifactHiddenBeforeCommit(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	w, err := l.NewRun(ctx, "r1")
	must(t, "NewRun", err)
	must(t, "PutArtifact", w.PutArtifact(ctx, "factors", []byte("r1")))
	checkArtifact(t, l, "r1", "factors", nil)

	// A resumed writer's artifact stays hidden too, and it replaces the
	// first writer's.
	w, err = l.NewRun(ctx, "r1")
	must(t, "NewRun resuming r1", err)
	must(t, "PutArtifact", w.PutArtifact(ctx, "factors", []byte("r1 again")))
	checkArtifact(t, l, "r1", "factors", nil)
	must(t, "Commit", w.Commit(ctx))
	checkArtifact(t, l, "r1", "factors", []byte("r1 again"))

	_, err = l.NewRun(ctx, "r1")
	wantErr(t, "NewRun of a complete run", err, data.ErrConflict)
}

func testArtifactGoesWithRun(t *testing.T, open Opener[data.Lists]) {
	l, ctx := openLists(t, open), t.Context()
	for _, id := range []string{"r1", "r2"} {
		w, err := l.NewRun(ctx, id)
		must(t, "NewRun", err)
		must(t, "PutArtifact", w.PutArtifact(ctx, "factors", []byte(id)))
		must(t, "Commit", w.Commit(ctx))
	}
	w, err := l.NewRun(ctx, "r3")
	must(t, "NewRun", err)
	must(t, "PutArtifact", w.PutArtifact(ctx, "factors", []byte("r3")))
	must(t, "Abort", w.Abort(ctx))
	must(t, "DeleteRun(r1)", l.DeleteRun(ctx, "r1"))

	checkArtifact(t, l, "r1", "factors", nil)
	checkArtifact(t, l, "r2", "factors", []byte("r2"))
	publish(t, l, "r3")
	checkArtifact(t, l, "r3", "factors", nil)
}
