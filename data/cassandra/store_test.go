package cassandra

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

func TestOpenUnreachable(t *testing.T) {
	// A listener that accepts connections and never responds.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silentPort := silent.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name string
		port int
	}{
		{"closed port", 1},
		{"no answer", silentPort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				Hosts: []string{"127.0.0.1"}, Port: tc.port, Keyspace: "unreachable",
				StartupTimeout: 2 * time.Second, ConnectTimeout: 300 * time.Millisecond,
			}
			start := time.Now()
			_, err := Open(t.Context(), cfg, nil)
			if !errors.Is(err, data.ErrUnavailable) {
				t.Fatalf("Open: got error %v, want data.ErrUnavailable", err)
			}
			want := fmt.Sprintf("hosts 127.0.0.1 on port %d", tc.port)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open: got error %q, want it to name %q", err, want)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Open: gave up after %v, want about the startup timeout of 2s", took)
			}
		})
	}
}

// TestCIRequiresNode runs a test that needs the node as a child process
// with CI=true and no address: it must fail, not skip.
func TestCIRequiresNode(t *testing.T) {
	if os.Getenv("MARQUEE_TEST_CHILD") != "" {
		t.Skip("child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateTwice$", "-test.count=1", "-test.v")
	cmd.Env = append(withoutEnv(os.Environ(), envAddr, "CI"), "CI=true", "MARQUEE_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "under CI=true the Cassandra tests must run") {
		t.Errorf("child test with CI=true and no %s: got error %v and output\n%s\nwant a failure naming the variable", envAddr, err, out)
	}
}

func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

func TestMigrateTwice(t *testing.T) {
	s := openFresh(t, "mig")
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	checkMigrated(t, s)
}

// checkMigrated checks that every migration is recorded once and that the
// tables accept writes.
func checkMigrated(t *testing.T, s *Store) {
	t.Helper()
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	iter := s.session.Query("SELECT version FROM " + s.cfg.Keyspace + ".schema_migrations").IterContext(t.Context())
	var versions []int
	var v int
	for iter.Scan(&v) {
		versions = append(versions, v)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if len(versions) != len(migrations) {
		t.Errorf("schema_migrations: got versions %v, want %d", versions, len(migrations))
	}
	if err := s.PutTitles(t.Context(), []data.Title{{ID: "t1", Name: "After migration"}}); err != nil {
		t.Errorf("PutTitles after migration: %v", err)
	}
}

func TestMigrateConcurrent(t *testing.T) {
	cfg := testConfig(t, "migc")
	const n = 4
	stores := make([]*Store, n)
	for i := range stores {
		s, err := Open(t.Context(), cfg, testLog(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		stores[i] = s
		if i == 0 {
			t.Cleanup(func() { dropKeyspace(t, s) })
		} else {
			t.Cleanup(func() { s.Close() })
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d of %d at once: %v", i, n, err)
		}
	}
	checkMigrated(t, stores[0])
}

// TestMigrateTwoProcesses runs Migrate in two child processes at once.
func TestMigrateTwoProcesses(t *testing.T) {
	if os.Getenv("MARQUEE_TEST_CHILD") != "" {
		t.Skip("child process")
	}
	cfg := testConfig(t, "migp")
	s, err := Open(t.Context(), cfg, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { dropKeyspace(t, s) })

	outputs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateChild$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "MARQUEE_TEST_CHILD=1", "MARQUEE_TEST_KEYSPACE="+cfg.Keyspace)
			outputs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || !strings.Contains(string(outputs[i]), "--- PASS: TestMigrateChild") {
			t.Errorf("child %d: %v\n%s", i, errs[i], outputs[i])
		}
	}
	checkMigrated(t, s)
}

// TestMigrateChild is the child process of TestMigrateTwoProcesses.
func TestMigrateChild(t *testing.T) {
	keyspace := os.Getenv("MARQUEE_TEST_KEYSPACE")
	if keyspace == "" {
		t.Skip("runs as a child of TestMigrateTwoProcesses")
	}
	cfg := testConfig(t, "child")
	cfg.Keyspace = keyspace
	s, err := Open(t.Context(), cfg, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

func TestBucketsFixedByFirstMigration(t *testing.T) {
	s := openFresh(t, "buckets")
	cfg := s.cfg
	cfg.Buckets = 4
	other, err := Open(t.Context(), cfg, testLog(t))
	if err == nil {
		other.Close()
		t.Fatal("Open with 4 buckets on a keyspace migrated with 8: got no error")
	}
	if !strings.Contains(err.Error(), "buckets 4 differs from the 8") {
		t.Errorf("Open with other buckets: got %q, want it to name both counts", err)
	}
}

func TestAcknowledgedWriteReadableFromNewSession(t *testing.T) {
	first := openFresh(t, "durable")
	ctx := t.Context()
	r := data.Rating{UserID: "u1", ContentID: "c1", Value: 4.5, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	w := data.WatchEvent{ID: "w1", UserID: "u1", ContentID: "c1", Kind: data.WatchComplete, Position: 10, Duration: 10, Time: r.Time}
	mustDo(t, "CreateUser", first.CreateUser(ctx, data.User{ID: "u1", Email: "u1@example.com"}))
	mustDo(t, "PutRatings", first.PutRatings(ctx, []data.Rating{r}))
	mustDo(t, "AppendWatches", first.AppendWatches(ctx, []data.WatchEvent{w}))

	second, err := Open(ctx, first.cfg, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer second.Close()
	if got, err := second.Rating(ctx, "u1", "c1"); err != nil || got != r {
		t.Errorf("Rating from a new session: got %+v, %v, want %+v", got, err, r)
	}
	if got, err := second.Watches(ctx, "u1", 0); err != nil || len(got) != 1 || got[0] != w {
		t.Errorf("Watches from a new session: got %+v, %v, want [%+v]", got, err, w)
	}
	if got, err := second.UserByEmail(ctx, "U1@example.com"); err != nil || got.ID != "u1" {
		t.Errorf("UserByEmail from a new session: got %+v, %v", got, err)
	}
}

func mustDo(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
}

// TestRatingsConvergeOutOfOrder writes rating events shuffled, from several
// goroutines, some twice, then deletions, and checks that the current
// ratings are the latest events.
func TestRatingsConvergeOutOfOrder(t *testing.T) {
	s := openFresh(t, "converge")
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	type pair struct{ user, content string }
	latest := make(map[pair]data.Rating)
	var events []data.Rating
	for u := range 15 {
		for c := range 8 {
			p := pair{fmt.Sprintf("u%d", u), fmt.Sprintf("c%d", c)}
			for _, ms := range rng.Perm(1000)[:6] {
				r := data.Rating{UserID: p.user, ContentID: p.content, Value: float64(1+rng.IntN(10)) / 2, Time: base.Add(time.Duration(ms) * time.Millisecond)}
				events = append(events, r)
				if r.Time.After(latest[p].Time) {
					latest[p] = r
				}
			}
		}
	}
	writeShuffled(t, s, rng, events)
	writeShuffled(t, s, rng, events[:len(events)/2])
	for p, want := range latest {
		if got, err := s.Rating(ctx, p.user, p.content); err != nil || got != want {
			t.Errorf("Rating(%s, %s): got %+v, %v, want %+v", p.user, p.content, got, err, want)
		}
	}

	// Deletions half-way through the events of a pair, then every event
	// again: a rating stays current only when it is newer than the deletion.
	deleted := base.Add(500 * time.Millisecond)
	for p := range latest {
		mustDo(t, "DeleteRating", s.DeleteRating(ctx, p.user, p.content, deleted))
	}
	writeShuffled(t, s, rng, events)
	stats := make(map[string]data.RatingStats)
	for p, want := range latest {
		got, err := s.Rating(ctx, p.user, p.content)
		if !want.Time.After(deleted) {
			if !errors.Is(err, data.ErrNotFound) {
				t.Errorf("Rating(%s, %s) after a newer deletion: got %+v, %v, want data.ErrNotFound", p.user, p.content, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Rating(%s, %s) after an older deletion: got %+v, %v, want %+v", p.user, p.content, got, err, want)
		}
		st := stats[p.content]
		st.Count++
		st.Sum += want.Value
		stats[p.content] = st
	}
	for c := range 8 {
		content := fmt.Sprintf("c%d", c)
		if got, err := s.RatingStats(ctx, content); err != nil || got != stats[content] {
			t.Errorf("RatingStats(%s): got %+v, %v, want %+v", content, got, err, stats[content])
		}
	}
}

// writeShuffled writes events in random order and random batch sizes from
// four goroutines.
func writeShuffled(t *testing.T, s *Store, rng *rand.Rand, events []data.Rating) {
	t.Helper()
	events = slices.Clone(events)
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	var batches [][]data.Rating
	for len(events) > 0 {
		n := min(len(events), 1+rng.IntN(40))
		batches = append(batches, events[:n])
		events = events[n:]
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(batches); i += 4 {
				if err := s.PutRatings(t.Context(), batches[i]); err != nil {
					t.Errorf("PutRatings: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestRetryAfterPartialWrite leaves events written to some tables only, as
// a write that failed half-way does, and checks that sending them again
// completes them.
func TestRetryAfterPartialWrite(t *testing.T) {
	s := openFresh(t, "partial")
	ctx := t.Context()
	r := data.Rating{UserID: "u1", ContentID: "c1", Value: 3, Time: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}
	w := data.WatchEvent{ID: "w1", UserID: "u1", ContentID: "c1", Kind: data.WatchStart, Time: r.Time}

	// The first group of each write: everything but the user's partition.
	_, event := s.eventStatement(data.RatingEvent(r))
	mustDo(t, "partial rating", s.exec(ctx, group{{s.q.upsertRatingByTitle, []any{r.ContentID, r.UserID, r.Value, micros(r.Time)}}}))
	mustDo(t, "partial rating event", s.exec(ctx, group{event}))
	_, watchEvent := s.eventStatement(data.WatchEventOf(w))
	mustDo(t, "partial watch event", s.exec(ctx, group{watchEvent}))

	mustDo(t, "PutRatings", s.PutRatings(ctx, []data.Rating{r}))
	mustDo(t, "AppendWatches", s.AppendWatches(ctx, []data.WatchEvent{w}))
	if got, err := s.Rating(ctx, "u1", "c1"); err != nil || got != r {
		t.Errorf("Rating after retry: got %+v, %v, want %+v", got, err, r)
	}
	if got, err := s.Watches(ctx, "u1", 0); err != nil || len(got) != 1 {
		t.Errorf("Watches after retry: got %+v, %v, want one", got, err)
	}
	if got, err := s.RatingStats(ctx, "c1"); err != nil || got != (data.RatingStats{Count: 1, Sum: 3}) {
		t.Errorf("RatingStats after retry: got %+v, %v", got, err)
	}
	events := scanEvents(t, s, data.Window{})
	if len(events) != 2 {
		t.Errorf("ScanEvents after retry: got %d events, want 2:\n%s", len(events), strings.Join(events, "\n"))
	}
}

func TestEmailClaimLeftBehind(t *testing.T) {
	s := openFresh(t, "claims")
	ctx := t.Context()
	claim := "INSERT INTO " + s.cfg.Keyspace + ".users_by_email (email, user_id, claimed_at) VALUES (?, ?, ?)"
	mustDo(t, "old claim", s.session.Query(claim, "ghost@example.com", "ghost", time.Now().Add(-2*staleClaimAge)).Exec())
	mustDo(t, "recent claim", s.session.Query(claim, "fresh@example.com", "ghost", time.Now()).Exec())

	if _, err := s.UserByEmail(ctx, "ghost@example.com"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("UserByEmail of a claim without a user: got %v, want data.ErrNotFound", err)
	}
	mustDo(t, "CreateUser with an e-mail claimed long ago by no user", s.CreateUser(ctx, data.User{ID: "u1", Email: "Ghost@example.com"}))
	if got, err := s.UserByEmail(ctx, "ghost@example.com"); err != nil || got.ID != "u1" {
		t.Errorf("UserByEmail after taking over the claim: got %+v, %v", got, err)
	}
	err := s.CreateUser(ctx, data.User{ID: "u2", Email: "fresh@example.com"})
	if !errors.Is(err, data.ErrConflict) {
		t.Errorf("CreateUser with an e-mail claimed a moment ago: got %v, want data.ErrConflict", err)
	}
}

func TestListTitlesMergesBuckets(t *testing.T) {
	s := openFresh(t, "titles")
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 3))
	var titles []data.Title
	var ids []string
	prefixes := []string{"a", "B", "z", "é", "日本", "'); DROP TABLE titles; --", "🎬"}
	for i := range 300 {
		id := fmt.Sprintf("%s%04d", prefixes[rng.IntN(len(prefixes))], rng.IntN(10000))
		if slices.Contains(ids, id) {
			continue
		}
		ids = append(ids, id)
		titles = append(titles, data.Title{ID: id, Name: fmt.Sprintf("Title %d", i), Year: 2000 + i%3})
	}
	mustDo(t, "PutTitles", s.PutTitles(ctx, titles))
	slices.Sort(ids) // byte order, as Cassandra orders text

	for _, limit := range []int{1, 37, 300} {
		var got []string
		q := data.TitleQuery{Limit: limit}
		for {
			page, err := s.ListTitles(ctx, q)
			mustDo(t, "ListTitles", err)
			for _, title := range page.Titles {
				got = append(got, title.ID)
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
		if !slices.Equal(got, ids) {
			t.Errorf("ListTitles by %d: got %d IDs, want all %d in byte order", limit, len(got), len(ids))
		}
	}
	if _, err := s.ListTitles(ctx, data.TitleQuery{Cursor: "not a cursor"}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("ListTitles with a bad cursor: got %v, want data.ErrInvalid", err)
	}
}

// scanEvents returns the events of w, each formatted on one line, sorted.
func scanEvents(t *testing.T, s *Store, w data.Window) []string {
	t.Helper()
	var out []string
	err := s.ScanEvents(t.Context(), w, func(e data.Event) error {
		out = append(out, formatEvent(e))
		return nil
	})
	mustDo(t, "ScanEvents", err)
	slices.Sort(out)
	return out
}

func formatEvent(e data.Event) string {
	return fmt.Sprintf("%s %s %q %q %q %v %s %v %v", e.Time.UTC().Format(time.RFC3339Nano), e.Type, e.UserID, e.ContentID, e.ID, e.Rating, e.WatchKind, e.Position, e.Duration)
}

// scanPartitions reads every partition of w with ScanPartition and returns
// the events, formatted and sorted.
func scanPartitions(t *testing.T, s *Store, w data.Window) ([]data.ScanPartition, []string) {
	t.Helper()
	parts, err := s.ScanPartitions(t.Context(), w)
	mustDo(t, "ScanPartitions", err)
	var out []string
	for _, p := range parts {
		err := s.ScanPartition(t.Context(), p, w, func(e data.Event) error {
			out = append(out, formatEvent(e))
			return nil
		})
		mustDo(t, "ScanPartition "+p.Key, err)
	}
	slices.Sort(out)
	return parts, out
}

func TestScanEventsMatchesWrites(t *testing.T) {
	cfg := testConfig(t, "scan")
	cfg.Buckets, cfg.TokenRanges, cfg.PageSize = 4, 16, 50
	s := openMigrated(t, cfg)
	ctx := t.Context()
	all, days := writeEventLog(t, s)

	windows := []struct {
		name string
		w    data.Window
	}{
		{"everything", data.Window{}},
		{"one day", data.Window{From: time.Date(2023, 3, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2023, 3, 6, 0, 0, 0, 0, time.UTC)}},
		{"bounds inside days", data.Window{From: time.Date(2023, 3, 10, 13, 17, 0, 500000, time.UTC), To: time.Date(2023, 3, 20, 7, 0, 0, 0, time.UTC)}},
		{"22 years", data.Window{From: time.Date(1996, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"1969 to 2030", data.Window{From: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"to only", data.Window{To: time.Unix(0, 0)}},
		{"from only", data.Window{From: time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range windows {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, e := range all {
				if tc.w.Contains(e.Time) {
					want = append(want, formatEvent(e))
				}
			}
			slices.Sort(want)
			if got := scanEvents(t, s, tc.w); !slices.Equal(got, want) {
				t.Errorf("ScanEvents: got %d events, want %d", len(got), len(want))
			}
			parts, got := scanPartitions(t, s, tc.w)
			if !slices.Equal(got, want) {
				t.Errorf("ScanPartition over %d partitions: got %d events, want %d", len(parts), len(got), len(want))
			}
			checkPartitionKeys(t, s, tc.w, parts, days)
		})
	}

	// A failing callback stops the scan with its error.
	stop := errors.New("stop")
	calls := 0
	err := s.ScanEvents(ctx, data.Window{}, func(data.Event) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ScanEvents with a failing callback: got %v after %d calls, want %v after 1", err, calls, stop)
	}
}

// checkPartitionKeys checks the kind and number of partitions of w.
func checkPartitionKeys(t *testing.T, s *Store, w data.Window, parts []data.ScanPartition, days map[time.Time]bool) {
	t.Helper()
	if w.From.IsZero() || w.To.IsZero() {
		if len(parts) != s.cfg.TokenRanges || !strings.HasPrefix(parts[0].Key, "token=") {
			t.Errorf("ScanPartitions without both bounds: got %d partitions starting %q, want %d token ranges", len(parts), parts[0].Key, s.cfg.TokenRanges)
		}
		return
	}
	n := 0
	for d := range days {
		if !d.Before(dayOf(w.From)) && d.Before(w.To) {
			n++
		}
	}
	if len(parts) != n*s.cfg.Buckets {
		t.Errorf("ScanPartitions: got %d partitions, want %d days with events times %d buckets", len(parts), n, s.cfg.Buckets)
	}
	for _, p := range parts {
		if !strings.HasPrefix(p.Key, "day=") {
			t.Fatalf("ScanPartitions of a bounded window: got key %q, want day=...", p.Key)
		}
	}
}

// writeEventLog writes ratings, deletions and watch events over 40 days of
// 2023 and a few in 1969, and returns them as events with the days written.
func writeEventLog(t *testing.T, s *Store) ([]data.Event, map[time.Time]bool) {
	t.Helper()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(11, 11))
	start := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	randomTime := func() time.Time {
		if rng.IntN(50) == 0 {
			return time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC).Add(time.Duration(rng.IntN(1000)) * time.Hour)
		}
		return start.Add(time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Millisecond)
	}
	var ratings []data.Rating
	var watches []data.WatchEvent
	seen := make(map[string]bool)
	for len(ratings) < 2000 {
		r := data.Rating{UserID: fmt.Sprintf("u%02d", rng.IntN(60)), ContentID: fmt.Sprintf("c%02d", rng.IntN(30)), Value: float64(1+rng.IntN(10)) / 2, Time: randomTime()}
		if k := fmt.Sprint(r.UserID, r.ContentID, r.Time.UnixMilli()); !seen[k] {
			seen[k] = true
			ratings = append(ratings, r)
		}
	}
	for i := range 600 {
		watches = append(watches, data.WatchEvent{
			ID: fmt.Sprintf("w%d", i), UserID: fmt.Sprintf("u%02d", rng.IntN(60)), ContentID: fmt.Sprintf("c%02d", rng.IntN(30)),
			Kind: data.WatchProgress, Position: float64(rng.IntN(100)), Duration: 100, Time: randomTime(),
		})
	}
	mustDo(t, "PutRatings", s.PutRatings(ctx, ratings))
	mustDo(t, "AppendWatches", s.AppendWatches(ctx, watches))

	var all []data.Event
	for _, r := range ratings {
		all = append(all, data.RatingEvent(r))
	}
	for _, w := range watches {
		all = append(all, data.WatchEventOf(w))
	}
	deleted := make(map[string]bool)
	for _, r := range ratings[:100] {
		if deleted[r.UserID+"/"+r.ContentID] {
			continue
		}
		deleted[r.UserID+"/"+r.ContentID] = true
		at := randomTime()
		mustDo(t, "DeleteRating", s.DeleteRating(ctx, r.UserID, r.ContentID, at))
		all = append(all, data.Event{Type: data.EventRatingDeleted, UserID: r.UserID, ContentID: r.ContentID, Time: at})
	}
	days := make(map[time.Time]bool)
	for _, e := range all {
		days[dayOf(e.Time)] = true
	}
	return all, days
}

// TestEraseManyEvents erases a user whose history spans many batches and
// days, and checks that the log keeps only the other user's events.
func TestEraseManyEvents(t *testing.T) {
	s := openFresh(t, "erasemany")
	ctx := t.Context()
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var ratings []data.Rating
	var watches []data.WatchEvent
	for i := range 300 {
		when := start.Add(time.Duration(i) * 7 * time.Hour)
		ratings = append(ratings, data.Rating{UserID: "gone", ContentID: fmt.Sprintf("c%03d", i), Value: 4, Time: when})
		watches = append(watches, data.WatchEvent{ID: fmt.Sprintf("w%03d", i), UserID: "gone", ContentID: fmt.Sprintf("c%03d", i),
			Kind: data.WatchComplete, Position: 60, Duration: 60, Time: when.Add(time.Minute)})
	}
	kept := data.Rating{UserID: "kept", ContentID: "c000", Value: 2, Time: start}
	if err := s.PutRatings(ctx, append(ratings, kept)); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendWatches(ctx, watches); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i += 3 {
		if err := s.DeleteRating(ctx, "gone", ratings[i].ContentID, ratings[i].Time.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.EraseUserEvents(ctx, "gone"); err != nil {
		t.Fatal(err)
	}

	var left []data.Event
	err := s.ScanEvents(ctx, data.Window{}, func(e data.Event) error {
		left = append(left, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].UserID != "kept" {
		t.Errorf("events left after erasure: %d, want only kept's rating: %v", len(left), left[:min(len(left), 3)])
	}
	for _, id := range []string{"c000", "c001", "c150", "c299"} {
		stats, err := s.RatingStats(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := data.RatingStats{}
		if id == "c000" {
			want = data.RatingStats{Count: 1, Sum: 2}
		}
		if stats != want {
			t.Errorf("RatingStats(%s) = %+v, want %+v", id, stats, want)
		}
	}
	if w, err := s.Watches(ctx, "gone", 0); err != nil || len(w) != 0 {
		t.Errorf("Watches(gone) = %d events, %v; want none", len(w), err)
	}
	if _, err := s.Watch(ctx, "gone", "w007"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Watch(gone, w007) error = %v, want ErrNotFound", err)
	}
}

// TestMissingSchemaIsUnavailable drops the keyspace under an open store, as
// when a node loses its data, and checks that reads and writes fail as an
// outage of the store (data.ErrUnavailable, a 503 in the API), not as an
// unclassified error.
func TestMissingSchemaIsUnavailable(t *testing.T) {
	s := openFresh(t, "noschema")
	ctx := t.Context()
	if err := s.session.Query("DROP KEYSPACE IF EXISTS " + s.cfg.Keyspace).ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.User(ctx, "u1")
	if !errors.Is(err, data.ErrUnavailable) {
		t.Errorf("User after the keyspace was dropped: %v, want ErrUnavailable", err)
	}
	err = s.PutRatings(ctx, []data.Rating{{UserID: "u1", ContentID: "c1", Value: 4, Time: time.Now()}})
	if !errors.Is(err, data.ErrUnavailable) {
		t.Errorf("PutRatings after the keyspace was dropped: %v, want ErrUnavailable", err)
	}
}
