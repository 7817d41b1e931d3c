package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/pipeline/tables"
)

// memSource is an in-memory event log split into one partition per user, with
// an optional fault: reading a partition in failing returns an error.
type memSource struct {
	events []data.Event
	titles []data.Title

	mu      sync.Mutex
	failing map[string]int // partition key -> failures left
	reads   map[string]int
}

func (m *memSource) ScanEvents(ctx context.Context, w data.Window, fn func(data.Event) error) error {
	for _, e := range m.events {
		if w.Contains(e.Time) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memSource) ListTitles(ctx context.Context, q data.TitleQuery) (data.TitlePage, error) {
	return data.TitlePage{Titles: m.titles}, nil
}

func (m *memSource) ScanPartitions(ctx context.Context, w data.Window) ([]data.ScanPartition, error) {
	users := map[string]bool{}
	for _, e := range m.events {
		users[e.UserID] = true
	}
	var parts []data.ScanPartition
	for u := range users {
		parts = append(parts, data.ScanPartition{Key: "user=" + u})
	}
	return parts, nil
}

func (m *memSource) ScanPartition(ctx context.Context, p data.ScanPartition, w data.Window, fn func(data.Event) error) error {
	m.mu.Lock()
	if m.reads == nil {
		m.reads = map[string]int{}
	}
	m.reads[p.Key]++
	if m.failing[p.Key] > 0 {
		m.failing[p.Key]--
		m.mu.Unlock()
		return fmt.Errorf("read %s: %w", p.Key, data.ErrUnavailable)
	}
	m.mu.Unlock()
	for _, e := range m.events {
		if "user="+e.UserID == p.Key && w.Contains(e.Time) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// wholeSource hides the partitioned scanner of a memSource.
type wholeSource struct{ m *memSource }

func (s wholeSource) ScanEvents(ctx context.Context, w data.Window, fn func(data.Event) error) error {
	return s.m.ScanEvents(ctx, w, fn)
}

func (s wholeSource) ListTitles(ctx context.Context, q data.TitleQuery) (data.TitlePage, error) {
	return s.m.ListTitles(ctx, q)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sampleEvents() []data.Event {
	base := time.Date(2024, 3, 30, 22, 59, 59, 999_000_000, time.UTC)
	var events []data.Event
	for i := range 300 {
		t := base.Add(time.Duration(i) * 37 * time.Minute)
		user := fmt.Sprintf("u%d", i%7)
		item := fmt.Sprintf("i%d", i%23)
		switch i % 3 {
		case 0:
			events = append(events, data.Event{Type: data.EventRating, UserID: user, ContentID: item, Rating: float64(1+i%10) / 2, Time: t})
		case 1:
			events = append(events, data.Event{Type: data.EventWatch, ID: fmt.Sprintf("w%d", i), UserID: user, ContentID: item,
				WatchKind: data.WatchProgress, Position: float64(i), Duration: 5400, Time: t})
		default:
			events = append(events, data.Event{Type: data.EventRatingDeleted, UserID: user, ContentID: item, Time: t})
		}
	}
	events = append(events, data.Event{Type: data.EventRating, UserID: "名前 'x'); DROP", ContentID: "é,\"q\"", Rating: 4.5, Time: base})
	return events
}

func sortEvents(es []data.Event) {
	sort.Slice(es, func(a, b int) bool {
		x, y := es[a], es[b]
		if !x.Time.Equal(y.Time) {
			return x.Time.Before(y.Time)
		}
		return fmt.Sprint(x) < fmt.Sprint(y)
	})
}

func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := &memSource{events: sampleEvents(), titles: []data.Title{{ID: "i1", Name: "One, The", Year: 1999, Genres: []string{"Drama"}, Type: "movie"}}}
	for name, s := range map[string]Source{"partitioned": src, "whole": wholeSource{src}} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "export")
			res, err := Export(ctx, s, data.Window{}, dir, ExportConfig{}, discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != len(src.events) {
				t.Errorf("events = %d, want %d", res.Events, len(src.events))
			}

			got, err := ReadEvents(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]data.Event(nil), src.events...)
			sortEvents(got)
			sortEvents(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back %d events that differ from the %d written", len(got), len(want))
			}
			titles, err := ReadTitles(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(titles, src.titles) {
				t.Errorf("titles = %+v, want %+v", titles, src.titles)
			}
		})
	}
}

func TestExportPartitionsByUTCDay(t *testing.T) {
	ctx := context.Background()
	src := &memSource{events: sampleEvents()}
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := Export(ctx, src, data.Window{}, dir, ExportConfig{}, discardLogger()); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "events", "date=*", "part-*.parquet"))
	if len(paths) == 0 {
		t.Fatal("no partition files written")
	}
	for _, p := range paths {
		day := strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "date=")
		events, err := readEventFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if got := e.Time.UTC().Format(time.DateOnly); got != day {
				t.Errorf("event at %v in partition %s", e.Time, day)
			}
		}
	}
}

func TestExportWindowIsHalfOpen(t *testing.T) {
	ctx := context.Background()
	src := &memSource{events: sampleEvents()}
	w := data.Window{From: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC)}
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := Export(ctx, src, w, dir, ExportConfig{}, discardLogger()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEvents(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, e := range src.events {
		if w.Contains(e.Time) {
			want++
		}
	}
	if len(got) != want {
		t.Errorf("events = %d, want %d", len(got), want)
	}
	for _, e := range got {
		if !w.Contains(e.Time) {
			t.Errorf("event at %v outside the window", e.Time)
		}
	}
}

func TestExportTwiceWritesSameBytes(t *testing.T) {
	ctx := context.Background()
	src := &memSource{events: sampleEvents()}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, dir := range []string{a, b} {
		if _, err := Export(ctx, src, data.Window{}, dir, ExportConfig{}, discardLogger()); err != nil {
			t.Fatal(err)
		}
	}
	paths, _ := filepath.Glob(filepath.Join(a, "events", "date=*", "*.parquet"))
	for _, p := range paths {
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			t.Fatalf("second export lacks %s", rel)
		}
		if string(x) != string(y) {
			t.Errorf("%s differs between two exports of the same events", rel)
		}
	}
}

func TestExportResumesAfterFailure(t *testing.T) {
	ctx := context.Background()
	src := &memSource{events: sampleEvents(), failing: map[string]int{"user=u3": 5}}
	dir := filepath.Join(t.TempDir(), "export")
	cfg := ExportConfig{Attempts: 2, Backoff: time.Millisecond}

	_, err := Export(ctx, src, data.Window{}, dir, cfg, discardLogger())
	if err == nil {
		t.Fatal("export with a failing partition returned nil")
	}
	if !errors.Is(err, data.ErrUnavailable) || !strings.Contains(err.Error(), "user=u3") {
		t.Errorf("error %q does not name the remaining partition", err)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a failed export left %s behind", dir)
	}

	readsBefore := src.reads["user=u1"]
	src.failing["user=u3"] = 0
	res, err := Export(ctx, src, data.Window{}, dir, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if got := src.reads["user=u1"]; got != readsBefore {
		t.Errorf("finished partition read again on resume: %d reads, want %d", got, readsBefore)
	}
	if res.Resumed != res.Partitions-1 {
		t.Errorf("resumed = %d, want %d", res.Resumed, res.Partitions-1)
	}
	got, err := ReadEvents(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(src.events) {
		t.Errorf("events after resume = %d, want %d", len(got), len(src.events))
	}
}

// A store that fails every read is taken to be unreachable: after as many
// failures in a row as reads run at once, no more partitions are started.
// One bad partition among good ones does not stop the others.
func TestExportStopsWhenPartitionsFailInARow(t *testing.T) {
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}
	tests := []struct {
		name        string
		concurrency int
		failing     []string
		maxRead     int // partitions read at least once, at most
		wantErr     string
	}{
		// Two in a row stop the export; a third read may be in flight.
		{"every partition fails", 2, users, 3, "7 of 7 partitions not read: "},
		{"one bad partition", 1, []string{"u3"}, 7, "1 of 7 partitions not read: 1 failed after 2 attempts; "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Without the sample's last event, whose user has no partition
			// of the failing ones.
			src := &memSource{events: sampleEvents()[:300], failing: map[string]int{}}
			for _, u := range tc.failing {
				src.failing["user="+u] = 100
			}
			cfg := ExportConfig{Concurrency: tc.concurrency, Attempts: 2, Backoff: time.Millisecond}
			_, err := Export(context.Background(), src, data.Window{}, filepath.Join(t.TempDir(), "export"), cfg, discardLogger())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if !errors.Is(err, data.ErrUnavailable) {
				t.Errorf("error %v does not wrap data.ErrUnavailable", err)
			}
			read := len(src.reads)
			if read > tc.maxRead || read < min(tc.maxRead, 2) {
				t.Errorf("%d of 7 partitions read, want 2 to %d", read, tc.maxRead)
			}
			if notStarted := strings.Contains(err.Error(), "not started"); notStarted != (read < 7) {
				t.Errorf("error %q, with %d of 7 partitions read", err, read)
			}
		})
	}
}

func TestExportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "export")
	_, err := Export(ctx, &memSource{events: sampleEvents()}, data.Window{}, dir, ExportConfig{}, discardLogger())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func readEventFile(path string) ([]data.Event, error) {
	rows, err := tables.Read[tables.EventRow](path)
	if err != nil {
		return nil, err
	}
	events := make([]data.Event, len(rows))
	for i, r := range rows {
		events[i] = r.Event()
	}
	return events, nil
}
