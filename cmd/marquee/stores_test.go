package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/synth"
	"github.com/marquee/marquee/internal/testenv"
	"github.com/marquee/marquee/pipeline"
	"github.com/marquee/marquee/pipeline/tables"
)

// The tests of this file write the same events into the embedded store and
// into a real Cassandra node at MARQUEE_TEST_CASSANDRA, then export them.
const envCassandra = "MARQUEE_TEST_CASSANDRA"

// syntheticEnd is where the synthetic event log of these tests ends.
var syntheticEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// exportWindows are the windows the tests export: one bounded, read by
// day and bucket in Cassandra, with bounds inside a day and off the
// millisecond, and two without an upper bound, read by token ranges.
var exportWindows = []struct {
	name string
	w    data.Window
}{
	{"bounded", data.Window{
		From: syntheticEnd.AddDate(0, 0, -40).Add(5*time.Hour + 30*time.Minute + 250*time.Microsecond),
		To:   syntheticEnd.AddDate(0, 0, -12).Add(17*time.Hour + 999*time.Microsecond),
	}},
	{"since", data.Window{From: syntheticEnd.AddDate(0, 0, -20).Add(-time.Millisecond)}},
	{"full", data.Window{}},
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// freshKeyspace returns the address of the test node and the name of a
// new keyspace on it, which is dropped when t ends.
func freshKeyspace(t *testing.T, prefix string) (addr, keyspace string) {
	t.Helper()
	addr = testenv.Service(t, envCassandra)
	keyspace = "mq_" + prefix + "_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() { dropKeyspace(t, addr, keyspace) })
	return addr, keyspace
}

// cassandraURL returns the store URL of keyspace at addr, with options
// appended to those every test uses.
func cassandraURL(addr, keyspace, options string) string {
	url := "cassandra://" + addr + "/" + keyspace + "?consistency=ONE&timeout=20s&startup_timeout=30s"
	if options != "" {
		url += "&" + options
	}
	return url
}

func dropKeyspace(t *testing.T, addr, keyspace string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("drop keyspace %s: %s=%q: %v", keyspace, envCassandra, addr, err)
		return
	}
	cluster := gocql.NewCluster(host)
	cluster.Port, _ = strconv.Atoi(port)
	cluster.Timeout = 2 * time.Minute
	cluster.Logger = gocql.NewLogger(gocql.LogLevelNone)
	session, err := cluster.CreateSession()
	if err != nil {
		t.Errorf("drop keyspace %s: %v", keyspace, err)
		return
	}
	defer session.Close()
	if err := session.Query("DROP KEYSPACE IF EXISTS " + keyspace).Exec(); err != nil {
		t.Errorf("drop keyspace %s: %v", keyspace, err)
	}
}

// openTestStore opens the store at url through the same code as the
// binary, and closes it when t ends.
func openTestStore(t *testing.T, url string) data.Store {
	t.Helper()
	store, err := openStore(t.Context(), url, testLogger())
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// ratingRecorder passes writes to a store and keeps the ratings written.
type ratingRecorder struct {
	synth.Store
	ratings []data.Rating
}

func (r *ratingRecorder) PutRatings(ctx context.Context, ratings []data.Rating) error {
	r.ratings = append(r.ratings, ratings...)
	return r.Store.PutRatings(ctx, ratings)
}

// fillStore writes the same events to any store. They are a small seeded
// synthetic world, the deletion of every fifth of its ratings, and
// hand-written events with Unicode IDs, quotes, CQL and SQL fragments,
// repeated writes and edge times. It returns the outcome of each rating
// deletion, so that two stores can be compared on it.
func fillStore(t *testing.T, store data.Store) []string {
	t.Helper()
	ctx := t.Context()
	cfg := synth.Config{Seed: 11, End: syntheticEnd, Users: 200, Titles: 300, MeanInteractions: 20}
	rec := &ratingRecorder{Store: store}
	if _, err := synth.Generate(ctx, rec, cfg, synth.Options{}); err != nil {
		t.Fatalf("generate: %v", err)
	}

	var outcomes []string
	deleteRating := func(user, content string, at time.Time) {
		err := store.DeleteRating(ctx, user, content, at)
		switch {
		case err == nil:
			outcomes = append(outcomes, "deleted")
		case errors.Is(err, data.ErrNotFound):
			outcomes = append(outcomes, "not found")
		default:
			t.Fatalf("delete rating of %q by %q: %v", content, user, err)
		}
	}
	for i, r := range rec.ratings {
		if i%5 == 0 {
			deleteRating(r.UserID, r.ContentID, r.Time.Add(26*time.Hour))
		}
	}

	odd := oddEvents()
	if err := store.PutTitles(ctx, odd.titles); err != nil {
		t.Fatalf("put titles: %v", err)
	}
	for i, batch := range odd.ratings {
		if err := store.PutRatings(ctx, batch); err != nil {
			t.Fatalf("put ratings, batch %d: %v", i, err)
		}
	}
	for i, batch := range odd.watches {
		if err := store.AppendWatches(ctx, batch); err != nil {
			t.Fatalf("append watches, batch %d: %v", i, err)
		}
	}
	for _, d := range odd.deletions {
		deleteRating(d.UserID, d.ContentID, d.Time)
	}
	return outcomes
}

// oddInput is written after the synthetic world, in this order.
type oddInput struct {
	titles    []data.Title
	ratings   [][]data.Rating
	watches   [][]data.WatchEvent
	deletions []data.Rating // user, title and time of each deletion
}

func oddEvents() oddInput {
	users := []string{
		"名前 'x'); DROP TABLE ratings; --",
		`O'Brien "q" \ é`,
		"🎬 user; DELETE FROM events_by_day WHERE day = '2025-05-01';",
		"tab\tand\nnewline",
	}
	titles := []string{"t-é', 'x", "SELECT * FROM titles; --", "映画 🍿", `"quoted" \\ id`}
	day := syntheticEnd.AddDate(0, 0, -20) // inside the bounded window
	at := func(d time.Duration) time.Time { return day.Add(d) }
	kolkata := time.FixedZone("IST", 5*3600+1800)

	var in oddInput
	for i, id := range titles {
		in.titles = append(in.titles, data.Title{
			ID: id, Name: "Name of " + id, Year: 1990 + i, Type: "movie", DurationSec: 5400,
			Genres: []string{"Drama", "Sci-Fi; DROP", "Ümlaut"}[:i%3+1],
		})
	}
	in.titles = append(in.titles, data.Title{ID: "no-genres", Name: "No genres", Type: "short"})

	a, b, c, d := users[0], users[1], users[2], users[3]
	in.ratings = [][]data.Rating{{
		{UserID: a, ContentID: titles[0], Value: 4.5, Time: at(time.Hour)},
		{UserID: a, ContentID: titles[0], Value: 3, Time: at(2 * time.Hour)},
		// A second copy of an event in the same call: the first is kept.
		{UserID: a, ContentID: titles[0], Value: 1, Time: at(2 * time.Hour)},
		{UserID: b, ContentID: titles[1], Value: 5, Time: at(5 * time.Hour)},
		{UserID: c, ContentID: titles[2], Value: 0.5, Time: at(-time.Millisecond)},
		{UserID: c, ContentID: titles[3], Value: 2.5, Time: at(24 * time.Hour)},
		// Below the millisecond and in another time zone: stored as whole
		// milliseconds in UTC.
		{UserID: d, ContentID: titles[1], Value: 3.5, Time: at(3*time.Hour + 123456*time.Nanosecond).In(kolkata)},
		// Before 1970 and on the first instant of 1970.
		{UserID: d, ContentID: titles[2], Value: 4, Time: time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
		{UserID: d, ContentID: titles[3], Value: 4, Time: time.Unix(0, 0)},
	}, {
		// A copy of a stored event with another value, in a later call: ignored.
		{UserID: a, ContentID: titles[0], Value: 2, Time: at(time.Hour)},
		// A rating at the same millisecond as the deletion below.
		{UserID: a, ContentID: titles[1], Value: 4, Time: at(6 * time.Hour)},
	}}
	in.deletions = []data.Rating{
		{UserID: a, ContentID: titles[0], Time: at(3 * time.Hour)},
		{UserID: a, ContentID: titles[0], Time: at(4 * time.Hour)}, // nothing left to delete
		{UserID: a, ContentID: titles[1], Time: at(6 * time.Hour)},
		{UserID: b, ContentID: titles[1], Time: at(4 * time.Hour)}, // older than the rating, which stays
		{UserID: d, ContentID: titles[2], Time: time.Date(1970, 1, 1, 0, 0, 0, 500_000, time.UTC)},
	}

	watch := func(id, user, content string, kind data.WatchKind, pos, dur float64, t time.Time) data.WatchEvent {
		return data.WatchEvent{ID: id, UserID: user, ContentID: content, Kind: kind, Position: pos, Duration: dur, Time: t}
	}
	in.watches = [][]data.WatchEvent{{
		watch("w-é-1", a, titles[0], data.WatchStart, 0, 5400, at(10*time.Minute)),
		watch("w'); DROP KEYSPACE marquee; --", a, titles[0], data.WatchProgress, 1234.5678, 5400, at(20*time.Minute)),
		watch("🎬", b, titles[2], data.WatchComplete, 5399.999, 5400, at(23*time.Hour+59*time.Minute+59*time.Second+999*time.Millisecond)),
		// The same ID for another user is another event.
		watch("🎬", c, titles[2], data.WatchStart, 0, 0, at(24*time.Hour)),
		watch(`id "q" \ ;`, d, titles[3], data.WatchProgress, 0.1+0.2, 1e9, at(30*time.Hour)),
		// A second copy of an ID in the same call: the first is kept.
		watch("w-é-1", a, titles[1], data.WatchComplete, 1, 2, at(11*time.Minute)),
		watch("'; DELETE FROM watch_events; --", c, titles[0], data.WatchStart, 0, 60, time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)),
	}, {
		// A stored ID sent again with other fields: ignored.
		watch("🎬", b, titles[3], data.WatchStart, 7, 8, at(48*time.Hour)),
		watch("w-new", b, titles[3], data.WatchStart, 7, 8, at(48*time.Hour)),
	}}
	return in
}

// exportOf runs the export of w from store into a new directory.
func exportOf(t *testing.T, store pipeline.Source, w data.Window, cfg pipeline.ExportConfig) (string, pipeline.ExportResult) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	res, err := pipeline.Export(t.Context(), store, w, dir, cfg, testLogger())
	if err != nil {
		t.Fatalf("export %v: %v", w, err)
	}
	return dir, res
}

// parquetFiles returns the Parquet files under dir, relative to it, sorted.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// compareExports fails t unless dirs a and b hold the same Parquet files
// with the same bytes. For a file that differs, it reports the first row
// that differs.
func compareExports(t *testing.T, a, b string) {
	t.Helper()
	filesA, filesB := parquetFiles(t, a), parquetFiles(t, b)
	if !slices.Equal(filesA, filesB) {
		t.Fatalf("exports hold different files:\n%v\n%v", filesA, filesB)
	}
	if len(filesA) < 2 {
		t.Fatalf("export holds %d Parquet files, want the titles and at least one day", len(filesA))
	}
	for _, f := range filesA {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs (%d and %d bytes): %s", f, len(x), len(y), firstRowDiff(t, filepath.Join(a, f), filepath.Join(b, f)))
		}
	}
}

func firstRowDiff(t *testing.T, a, b string) string {
	if strings.HasPrefix(filepath.Base(filepath.Dir(a)), "date=") {
		return rowDiff[tables.EventRow](t, a, b)
	}
	return rowDiff[tables.TitleRow](t, a, b)
}

func rowDiff[T any](t *testing.T, a, b string) string {
	x, err := tables.Read[T](a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := tables.Read[T](b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range min(len(x), len(y)) {
		if !reflect.DeepEqual(x[i], y[i]) {
			return fmt.Sprintf("row %d: %s and %s", i, showRow(x[i]), showRow(y[i]))
		}
	}
	if len(x) != len(y) {
		return fmt.Sprintf("%d and %d rows", len(x), len(y))
	}
	return "same rows, different encoding"
}

// showRow prints a row with the values behind its pointers.
func showRow(row any) string {
	v := reflect.ValueOf(row)
	var parts []string
	for i := range v.NumField() {
		f := v.Field(i)
		val := fmt.Sprintf("%#v", f.Interface())
		if f.Kind() == reflect.Pointer {
			val = "nil"
			if !f.IsNil() {
				val = fmt.Sprintf("%#v", f.Elem().Interface())
			}
		}
		parts = append(parts, v.Type().Field(i).Name+"="+val)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func TestExportSameFromSQLiteAndCassandra(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a synthetic world into Cassandra; skipped in -short mode")
	}
	addr, keyspace := freshKeyspace(t, "same")
	cass := openTestStore(t, cassandraURL(addr, keyspace, ""))
	lite := openTestStore(t, "sqlite://"+filepath.Join(t.TempDir(), "marquee.db"))

	var outcomes [2][]string
	for i, store := range []data.Store{lite, cass} {
		outcomes[i] = fillStore(t, store)
	}
	if !slices.Equal(outcomes[0], outcomes[1]) {
		t.Errorf("rating deletions differ between SQLite and Cassandra:\n%v\n%v", outcomes[0], outcomes[1])
	}

	counts := map[string]int{}
	for _, tc := range exportWindows {
		t.Run(tc.name, func(t *testing.T) {
			liteDir, liteRes := exportOf(t, lite, tc.w, pipeline.ExportConfig{})
			cassDir, cassRes := exportOf(t, cass, tc.w, pipeline.ExportConfig{})
			if liteRes.Events != cassRes.Events || !reflect.DeepEqual(liteRes.ByType, cassRes.ByType) {
				t.Errorf("events: SQLite %d %v, Cassandra %d %v", liteRes.Events, liteRes.ByType, cassRes.Events, cassRes.ByType)
			}
			for _, typ := range []data.EventType{data.EventRating, data.EventRatingDeleted, data.EventWatch} {
				if cassRes.ByType[typ] == 0 {
					t.Errorf("no %s events exported", typ)
				}
			}
			t.Logf("%d events in %d files, %d Cassandra partitions", cassRes.Events, len(cassRes.Files), cassRes.Partitions)
			compareExports(t, liteDir, cassDir)
			counts[tc.name] = cassRes.Events
		})
	}
	if counts["bounded"] >= counts["full"] || counts["since"] >= counts["full"] {
		t.Errorf("exported %v events, want fewer in the bounded and since windows than in the full one", counts)
	}
}
