package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/sqlite"
	"github.com/marquee/marquee/data/storetest"
)

// storeAt returns an Opener of the store in the file at path.
func storeAt(path string) storetest.Opener[data.Store] {
	return func(t *testing.T) data.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open(%s): %v", path, err)
		}
		return s
	}
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener[data.Store] {
		return storeAt(filepath.Join(t.TempDir(), "marquee.db"))
	})
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenTwiceKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marquee.db")
	s := openStore(t, path)
	if err := s.CreateUser(t.Context(), data.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, path)
	if _, err := s.User(t.Context(), "u1"); err != nil {
		t.Errorf("User after the second Open: %v", err)
	}
	if got := schemaVersion(t, path, "store"); got != 2 {
		t.Errorf("schema_version of store: got %d, want 2", got)
	}
}

func TestOpenConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marquee.db")
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := schemaVersion(t, path, "store"); got != 2 {
		t.Errorf("schema_version of store: got %d, want 2", got)
	}
}

// schemaVersion reads the recorded version of a schema straight from the
// file.
func schemaVersion(t *testing.T, path, name string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow(`SELECT version FROM schema_version WHERE name = ?`, name).Scan(&version); err != nil {
		t.Fatalf("read schema_version: %v", err)
	}
	return version
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marquee.db")
	s := openStore(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE schema_version SET version = 99 WHERE name = 'store'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	_, err = sqlite.Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("Open of a newer schema: got error %v, want one naming version 99", err)
	}
}

func TestOpenInvalidOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marquee.db")
	tests := []struct {
		name string
		opt  sqlite.Option
	}{
		{"zero busy timeout", sqlite.WithBusyTimeout(0)},
		{"no read connections", sqlite.WithReadConns(0)},
		{"nil clock", sqlite.WithClock(nil)},
	}
	for _, tc := range tests {
		if _, err := sqlite.Open(t.Context(), path, tc.opt); err == nil {
			t.Errorf("Open with %s: got no error", tc.name)
		}
	}
}

func TestStoreAndListsShareFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marquee.db")
	s := openStore(t, path)
	l, err := sqlite.OpenLists(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenLists on the store's file: %v", err)
	}
	defer l.Close()

	if err := s.PutRatings(t.Context(), []data.Rating{{UserID: "u", ContentID: "c", Value: 3, Time: time.UnixMilli(1)}}); err != nil {
		t.Errorf("PutRatings: %v", err)
	}
	if _, err := l.Current(t.Context()); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Current: got error %v, want ErrNotFound", err)
	}
	if got := schemaVersion(t, path, "lists"); got != 2 {
		t.Errorf("schema_version of lists: got %d, want 2", got)
	}
}

func TestListTitlesInvalidQuery(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "marquee.db"))
	tests := []struct {
		name string
		q    data.TitleQuery
	}{
		{"negative limit", data.TitleQuery{Limit: -1}},
		{"cursor not base64", data.TitleQuery{Cursor: "not a cursor!"}},
	}
	for _, tc := range tests {
		if _, err := s.ListTitles(t.Context(), tc.q); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("ListTitles with %s: got error %v, want ErrInvalid", tc.name, err)
		}
	}
}

func TestDeleteRatingInvalid(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "marquee.db"))
	tests := []struct {
		name          string
		user, content string
		deletedAt     time.Time
	}{
		{"empty user", "", "c", time.UnixMilli(1)},
		{"empty content", "u", "", time.UnixMilli(1)},
		{"zero time", "u", "c", time.Time{}},
	}
	for _, tc := range tests {
		if err := s.DeleteRating(t.Context(), tc.user, tc.content, tc.deletedAt); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("DeleteRating with %s: got error %v, want ErrInvalid", tc.name, err)
		}
	}
}

// Processes writing one file.
//
// TestTwoProcesses runs the test binary again as child processes that write
// to one database file at the same time as this process. Every child and the
// parent rate a shared title from several goroutines, one transaction per
// rating or deletion, and all try to create a user with the same e-mail.

const (
	childPathEnv = "MARQUEE_SQLITE_TEST_CHILD_PATH"
	childIDEnv   = "MARQUEE_SQLITE_TEST_CHILD_ID"
	childWriters = 4
	childSteps   = 40
)

func TestTwoProcesses(t *testing.T) {
	if path := os.Getenv(childPathEnv); path != "" {
		writeAsProcess(t, path, os.Getenv(childIDEnv))
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}

	path := filepath.Join(t.TempDir(), "shared.db")
	processes := []string{"child1", "child2", "parent"}
	outputs := make([]bytes.Buffer, len(processes)-1)
	var wg sync.WaitGroup
	for i, id := range processes[:len(processes)-1] {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestTwoProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), childPathEnv+"="+path, childIDEnv+"="+id)
		cmd.Stdout, cmd.Stderr = &outputs[i], &outputs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child process: %v", err)
		}
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				t.Errorf("child %s: %v\n%s", id, err, outputs[i].String())
			}
		})
	}
	var parentOut bytes.Buffer
	wg.Go(func() { writeAsProcessTo(t, path, "parent", &parentOut) })
	wg.Wait()
	if t.Failed() {
		return
	}

	created := strings.Count(parentOut.String(), "created the user\n")
	for i := range outputs {
		created += strings.Count(outputs[i].String(), "created the user\n")
	}
	if created != 1 {
		t.Errorf("CreateUser with one e-mail from %d processes: %d succeeded, want 1", len(processes), created)
	}
	checkProcessWrites(t, openStore(t, path), processes)
}

// writeAsProcess is the body of a child process.
func writeAsProcess(t *testing.T, path, id string) {
	var out bytes.Buffer
	writeAsProcessTo(t, path, id, &out)
	fmt.Print(out.String())
}

// writeAsProcessTo writes the ratings of process id and tries to create the
// contested user, reporting success in out.
func writeAsProcessTo(t *testing.T, path, id string, out *bytes.Buffer) {
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Errorf("%s: Open: %v", id, err)
		return
	}
	defer s.Close()

	var wg sync.WaitGroup
	for g := range childWriters {
		user := fmt.Sprintf("%s-w%d", id, g)
		wg.Go(func() {
			for j := range childSteps {
				at := time.UnixMilli(int64(j + 1))
				var err error
				if j%5 == 3 {
					// A deletion reads before it writes, the case that needs
					// the write lock taken when the transaction begins.
					err = s.DeleteRating(t.Context(), user, "shared", at)
				} else {
					err = s.PutRatings(t.Context(), []data.Rating{{UserID: user, ContentID: "shared", Value: processRating(j), Time: at}})
				}
				if err != nil {
					t.Errorf("%s: step %d: %v", user, j, err)
					return
				}
			}
		})
	}
	err = s.CreateUser(t.Context(), data.User{ID: id, Email: "contested@example.com"})
	switch {
	case err == nil:
		out.WriteString("created the user\n")
	case !errors.Is(err, data.ErrConflict):
		t.Errorf("%s: CreateUser: %v", id, err)
	}
	wg.Wait()
}

func processRating(step int) float64 {
	return float64(step%10+1) / 2
}

func checkProcessWrites(t *testing.T, s *sqlite.Store, processes []string) {
	ctx := t.Context()
	writers := len(processes) * childWriters
	want := data.RatingStats{Count: writers, Sum: float64(writers) * processRating(childSteps-1)}
	if got, err := s.RatingStats(ctx, "shared"); err != nil || got != want {
		t.Errorf("RatingStats(shared): got %+v, %v, want %+v", got, err, want)
	}

	events := 0
	err := s.ScanEvents(ctx, data.Window{}, func(data.Event) error { events++; return nil })
	if err != nil || events != writers*childSteps {
		t.Errorf("ScanEvents: got %d events, %v, want %d", events, err, writers*childSteps)
	}
	if _, err := s.UserByEmail(ctx, "contested@example.com"); err != nil {
		t.Errorf("UserByEmail(contested@example.com): %v", err)
	}
}

// Benchmarks.

// ratingsBatch returns n ratings of 1,000 users over 5,000 titles, the shape
// of a MovieLens import, all of user IDs starting with prefix.
func ratingsBatch(prefix string, n int) []data.Rating {
	rng := rand.New(rand.NewPCG(1, uint64(len(prefix))))
	ratings := make([]data.Rating, n)
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range ratings {
		ratings[i] = data.Rating{
			UserID:    fmt.Sprintf("%s-u%d", prefix, rng.IntN(1000)),
			ContentID: fmt.Sprintf("tt%07d", rng.IntN(5000)),
			Value:     float64(rng.IntN(10)+1) / 2,
			Time:      start.Add(time.Duration(i) * time.Second),
		}
	}
	return ratings
}

// BenchmarkPutRatings100k imports 100,000 ratings in one call, into a store
// that grows by that much at every iteration.
func BenchmarkPutRatings100k(b *testing.B) {
	s := openBenchStore(b)
	const n = 100_000

	b.ReportAllocs()
	imports := 0
	for b.Loop() {
		b.StopTimer()
		batch := ratingsBatch(fmt.Sprintf("b%d", imports), n)
		b.StartTimer()

		if err := s.PutRatings(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		imports++
	}
	b.ReportMetric(float64(n*imports)/b.Elapsed().Seconds(), "ratings/s")
}

// BenchmarkAppendWatches100k appends 100,000 watch events in one call.
func BenchmarkAppendWatches100k(b *testing.B) {
	s := openBenchStore(b)
	const n = 100_000
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

	b.ReportAllocs()
	imports := 0
	for b.Loop() {
		b.StopTimer()
		events := make([]data.WatchEvent, n)
		for i := range events {
			events[i] = data.WatchEvent{
				ID: fmt.Sprintf("b%d-w%d", imports, i), UserID: fmt.Sprintf("u%d", i%1000),
				ContentID: fmt.Sprintf("tt%07d", i%5000), Kind: data.WatchProgress,
				Position: float64(i % 3600), Duration: 3600, Time: start.Add(time.Duration(i) * time.Second),
			}
		}
		b.StartTimer()

		if err := s.AppendWatches(b.Context(), events); err != nil {
			b.Fatal(err)
		}
		imports++
	}
	b.ReportMetric(float64(n*imports)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPutTitles10k upserts a catalog of 10,000 titles of 3 genres each
// in one call.
func BenchmarkPutTitles10k(b *testing.B) {
	s := openBenchStore(b)
	genres := []string{"Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller"}
	titles := make([]data.Title, 10_000)
	for i := range titles {
		titles[i] = data.Title{
			ID: fmt.Sprintf("tt%07d", i), Name: fmt.Sprintf("Title number %d", i), Year: 1950 + i%75,
			Genres: []string{genres[i%7], genres[(i+1)%7], genres[(i+3)%7]}, Type: "movie", DurationSec: 5400,
		}
	}

	b.ReportAllocs()
	for b.Loop() {
		if err := s.PutTitles(b.Context(), titles); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutUsers10k upserts 10,000 users with e-mails in one call.
func BenchmarkPutUsers10k(b *testing.B) {
	s := openBenchStore(b)
	users := make([]data.User, 10_000)
	for i := range users {
		users[i] = data.User{
			ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("user%d@example.com", i), Name: "Viewer",
			Role: data.RoleUser, PreferredGenres: []string{"Drama"},
		}
	}

	b.ReportAllocs()
	for b.Loop() {
		if err := s.PutUsers(b.Context(), users); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutRating writes one rating per call: one transaction and one
// fsync each.
func BenchmarkPutRating(b *testing.B) {
	s := openBenchStore(b)
	ratings := ratingsBatch("single", 100_000)

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.PutRatings(b.Context(), ratings[i%len(ratings):i%len(ratings)+1]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRatingStats(b *testing.B) {
	s := openBenchStore(b)
	if err := s.PutRatings(b.Context(), ratingsBatch("stats", 100_000)); err != nil {
		b.Fatal(err)
	}
	titles := make([]string, 5000)
	for i := range titles {
		titles[i] = fmt.Sprintf("tt%07d", i)
	}

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.RatingStats(b.Context(), titles[i%len(titles)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func openBenchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}
