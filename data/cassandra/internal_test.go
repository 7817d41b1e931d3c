package cassandra

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

func TestTokenPartitions(t *testing.T) {
	for _, n := range []int{1, 2, 7, 256, 1 << 16} {
		parts := tokenPartitions(n)
		if len(parts) != n {
			t.Fatalf("tokenPartitions(%d): got %d partitions", n, len(parts))
		}
		prev := int64(math.MinInt64)
		for i, p := range parts {
			start, end, err := parseTokenRange(strings.TrimPrefix(p.Key, "token="))
			if err != nil {
				t.Fatalf("tokenPartitions(%d)[%d] = %q: %v", n, i, p.Key, err)
			}
			if start != prev || end <= start {
				t.Fatalf("tokenPartitions(%d)[%d] = (%d, %d], want it to start at %d and not be empty", n, i, start, end, prev)
			}
			prev = end
		}
		if prev != math.MaxInt64 {
			t.Errorf("tokenPartitions(%d): last range ends at %d, want %d", n, prev, int64(math.MaxInt64))
		}
	}
}

func TestParsePartitionKeys(t *testing.T) {
	day, bucket, err := parseDayKey("day=1969-07-20/bucket=7")
	if err != nil || !day.Equal(time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC)) || bucket != 7 {
		t.Errorf("parseDayKey: got %v, %d, %v", day, bucket, err)
	}
	s := &Store{}
	for _, key := range []string{"", "day=2024-13-01/bucket=1", "day=2024-01-01/bucket=-1", "day=2024-01-01", "token=5:1", "token=a:b", "bucket=1/day=2024-01-01"} {
		if _, err := s.partitionQuery(key, data.Window{}); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("partitionQuery(%q): got %v, want data.ErrInvalid", key, err)
		}
	}
}

func TestSplitBatches(t *testing.T) {
	var small, large group
	for i := range 200 {
		small = append(small, statement{"s", []any{"u", i}})
		large = append(large, statement{"s", []any{strings.Repeat("x", 1000)}})
	}
	tests := []struct {
		name     string
		g        group
		wantLens []int
	}{
		{"one", small[:1], []int{1}},
		{"by count", small, []int{64, 64, 64, 8}},
		{"by bytes", large[:9], []int{4, 4, 1}},
	}
	for _, tc := range tests {
		var lens []int
		for _, b := range split(tc.g) {
			lens = append(lens, len(b))
		}
		if fmt.Sprint(lens) != fmt.Sprint(tc.wantLens) {
			t.Errorf("split(%s): got batches of %v, want %v", tc.name, lens, tc.wantLens)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for attempt := 1; attempt < 10; attempt++ {
		ceiling := min(hi, lo<<(attempt-1))
		for range 100 {
			if d := backoff(lo, hi, attempt); d < ceiling/2 || d > ceiling {
				t.Fatalf("backoff(%v, %v, %d) = %v, want between %v and %v", lo, hi, attempt, d, ceiling/2, ceiling)
			}
		}
	}
}

func TestSplitStatements(t *testing.T) {
	text := "-- a comment; with a semicolon\nCREATE TABLE a (\n    x int PRIMARY KEY\n);\n\n-- another\nCREATE TABLE b (y int PRIMARY KEY);\nDROP TABLE c"
	got := splitStatements(text)
	want := []string{"CREATE TABLE a (\n    x int PRIMARY KEY\n)", "CREATE TABLE b (y int PRIMARY KEY)", "DROP TABLE c"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("splitStatements:\n got %q\nwant %q", got, want)
	}
}

func TestEmbeddedMigrations(t *testing.T) {
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	if len(migrations) == 0 || migrations[0].name != "0001_init" {
		t.Fatalf("loadMigrations: got %d migrations, want 0001_init first", len(migrations))
	}
	for _, m := range migrations {
		for _, st := range m.stmts {
			if !strings.Contains(st, "IF NOT EXISTS") {
				t.Errorf("migration %s: statement is not idempotent: %s", m.name, st)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"no row", gocql.ErrNotFound, data.ErrNotFound},
		{"write timeout", &gocql.RequestErrWriteTimeout{}, data.ErrUnavailable},
		{"read timeout", &gocql.RequestErrReadTimeout{}, data.ErrUnavailable},
		{"unavailable", &gocql.RequestErrUnavailable{}, data.ErrUnavailable},
		{"CAS unknown", &gocql.RequestErrCASWriteUnknown{}, data.ErrUnavailable},
		{"no response", gocql.ErrTimeoutNoResponse, data.ErrUnavailable},
		{"no connections", gocql.ErrNoConnections, data.ErrUnavailable},
		{"deadline", context.DeadlineExceeded, data.ErrUnavailable},
		{"network", &net.OpError{Op: "dial", Err: errors.New("refused")}, data.ErrUnavailable},
		{"conflict kept", fmt.Errorf("%w: taken", data.ErrConflict), data.ErrConflict},
		{"missing keyspace", errors.New("Keyspace faultks2 does not exist"), data.ErrUnavailable},
		{"missing table", errors.New("unconfigured table users"), data.ErrUnavailable},
	}
	for _, tc := range tests {
		got := wrap("op", tc.err)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("wrap(%s): got %v, want it to wrap %v and the driver's error", tc.name, got, tc.want)
		}
		if !strings.HasPrefix(got.Error(), "cassandra: op: ") {
			t.Errorf("wrap(%s): got %q, want the prefix \"cassandra: op: \"", tc.name, got)
		}
	}
	for _, err := range []error{&gocql.RequestErrSyntax{}, context.Canceled, errors.New("Undefined column name nope")} {
		if got := wrap("op", err); errors.Is(got, data.ErrUnavailable) || errors.Is(got, data.ErrNotFound) {
			t.Errorf("wrap(%T): got %v, want no data sentinel", err, got)
		}
	}
	if retryable(context.Canceled) || retryable(&gocql.RequestErrSyntax{}) || !retryable(&gocql.RequestErrWriteTimeout{}) {
		t.Error("retryable: want only transient errors retried")
	}
}

// TestBucketsStable pins the placement of rows, FNV-1a as hash/fnv computes
// it: a change of the hash would hide every stored event and title from the
// partitions that scans read.
func TestBucketsStable(t *testing.T) {
	tests := []struct {
		id   string
		n    int
		want int
	}{
		{"", 8, 5}, {"u1", 8, 3}, {"user-42", 8, 3}, {"tt0133093", 16, 0}, {"日本語", 16, 7},
	}
	for _, tc := range tests {
		if got := bucketOf(tc.id, tc.n); got != tc.want {
			t.Errorf("bucketOf(%q, %d) = %d, want %d", tc.id, tc.n, got, tc.want)
		}
	}
}

func TestWindowBounds(t *testing.T) {
	if got, want := ceilMillis(time.Unix(0, 1500000)), time.Unix(0, 2000000); !got.Equal(want) {
		t.Errorf("ceilMillis(1.5ms) = %v, want %v", got, want)
	}
	if got, want := ceilMillis(time.Unix(0, 2000000)), time.Unix(0, 2000000); !got.Equal(want) {
		t.Errorf("ceilMillis(2ms) = %v, want %v", got, want)
	}
	if got, want := dayOf(time.Date(1969, 12, 31, 23, 59, 0, 0, time.FixedZone("x", 3600))), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("dayOf = %v, want %v", got, want)
	}
}
