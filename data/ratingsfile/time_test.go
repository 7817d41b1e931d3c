package ratingsfile

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// writeParquet writes rows to a Parquet file in a new temporary directory
// and returns its path.
func writeParquet[T any](t *testing.T, rows ...T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ratings.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	return path
}

// parquetRow is a row whose time column has the Parquet type T. Go struct
// tags are fixed per type, so each logical type of the time column needs a
// type of its own below.
type parquetRow[T any] struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   T       `parquet:"timestamp"`
}

type dateRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int32   `parquet:"timestamp,date"`
}

type millisRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int64   `parquet:"timestamp,timestamp(millisecond)"`
}

type microsRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int64   `parquet:"timestamp,timestamp(microsecond)"`
}

type localMicrosRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int64   `parquet:"timestamp,timestamp(microsecond:local)"`
}

type nanosRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int64   `parquet:"timestamp,timestamp(nanosecond)"`
}

type timeOfDayRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int32   `parquet:"timestamp,time(millisecond)"`
}

type decimalRow struct {
	User   string  `parquet:"user_id"`
	Item   string  `parquet:"item_id"`
	Rating float64 `parquet:"rating"`
	Time   int64   `parquet:"timestamp,decimal(0:18)"`
}

// toInt96 returns t as a legacy INT96 timestamp: nanoseconds of the day,
// then the Julian day, 2440588 on 1970-01-01.
func toInt96(t time.Time) deprecated.Int96 {
	day := t.Unix()/86400 + 2440588
	nanos := uint64(t.Sub(time.Unix(t.Unix()/86400*86400, 0)))
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(day)}
}

// TestImportParquetTimeTypes imports one rating whose time column has each
// Parquet type the importer reads. A DATE column was read as Unix seconds,
// so 2024-05-01 was stored as 1970-01-01 05:30:44.
func TestImportParquetTimeTypes(t *testing.T) {
	may1 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2024, 5, 1, 10, 20, 30, 123456789, time.UTC)
	tests := []struct {
		name    string
		file    func(t *testing.T) string
		format  string
		want    time.Time // zero when the row is bad
		wantBad string
	}{
		{
			name: "DATE",
			file: func(t *testing.T) string { return writeParquet(t, dateRow{"u", "i", 4, 19844}) },
			want: may1,
		},
		{
			name:   "DATE ignores the time format",
			file:   func(t *testing.T) string { return writeParquet(t, dateRow{"u", "i", 4, 19844}) },
			format: TimeUnixMillis,
			want:   may1,
		},
		{
			name:    "DATE before 1970",
			file:    func(t *testing.T) string { return writeParquet(t, dateRow{"u", "i", 4, -1}) },
			wantBad: "time 1969-12-31T00:00:00Z is outside 1970 to 9999",
		},
		{
			name: "TIMESTAMP(MILLIS)",
			file: func(t *testing.T) string { return writeParquet(t, millisRow{"u", "i", 4, at.UnixMilli()}) },
			want: at.Truncate(time.Millisecond),
		},
		{
			name: "TIMESTAMP(MICROS)",
			file: func(t *testing.T) string { return writeParquet(t, microsRow{"u", "i", 4, at.UnixMicro()}) },
			want: at.Truncate(time.Microsecond),
		},
		{
			name: "TIMESTAMP(MICROS) before 1978",
			file: func(t *testing.T) string {
				return writeParquet(t, microsRow{"u", "i", 4, time.Date(1975, 6, 1, 0, 0, 0, 0, time.UTC).UnixMicro()})
			},
			want: time.Date(1975, 6, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "TIMESTAMP(MICROS) not adjusted to UTC",
			file: func(t *testing.T) string { return writeParquet(t, localMicrosRow{"u", "i", 4, at.UnixMicro()}) },
			want: at.Truncate(time.Microsecond),
		},
		{
			name:   "TIMESTAMP(NANOS)",
			file:   func(t *testing.T) string { return writeParquet(t, nanosRow{"u", "i", 4, at.UnixNano()}) },
			format: TimeRFC3339,
			want:   at,
		},
		{
			name: "INT96",
			file: func(t *testing.T) string {
				return writeParquet(t, parquetRow[deprecated.Int96]{"u", "i", 4, toInt96(at)})
			},
			want: at,
		},
		{
			name: "INT64 seconds",
			file: func(t *testing.T) string { return writeParquet(t, parquetRow[int64]{"u", "i", 4, at.Unix()}) },
			want: at.Truncate(time.Second),
		},
		{
			name:   "INT64 milliseconds",
			file:   func(t *testing.T) string { return writeParquet(t, parquetRow[int64]{"u", "i", 4, at.UnixMilli()}) },
			format: TimeUnixMillis,
			want:   at.Truncate(time.Millisecond),
		},
		{
			name:    "INT64 seconds read as milliseconds",
			file:    func(t *testing.T) string { return writeParquet(t, parquetRow[int64]{"u", "i", 4, 1_600_000_000}) },
			format:  TimeUnixMillis,
			wantBad: "use --time-format unix",
		},
		{
			name:    "INT64 milliseconds read as seconds",
			file:    func(t *testing.T) string { return writeParquet(t, parquetRow[int64]{"u", "i", 4, 1_600_000_000_000}) },
			wantBad: "use --time-format unix_ms",
		},
		{
			name: "INT32 seconds",
			file: func(t *testing.T) string { return writeParquet(t, parquetRow[int32]{"u", "i", 4, int32(at.Unix())}) },
			want: at.Truncate(time.Second),
		},
		{
			// Unsigned seconds reach past 2038, where a signed int32 ends.
			name: "UINT32 seconds",
			file: func(t *testing.T) string { return writeParquet(t, parquetRow[uint32]{"u", "i", 4, 3_000_000_000}) },
			want: time.Unix(3_000_000_000, 0),
		},
		{
			name: "STRING",
			file: func(t *testing.T) string {
				return writeParquet(t, parquetRow[string]{"u", "i", 4, "2024-05-01T12:20:30.123456789+02:00"})
			},
			format: TimeRFC3339,
			want:   at,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore()
			rep, err := Import(t.Context(), store, tt.file(t), Options{TimeFormat: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantBad != "" {
				if len(rep.BadRows) != 1 {
					t.Fatalf("bad rows = %q, want one", rep.BadRows)
				}
				if !strings.Contains(rep.BadRows[0], tt.wantBad) {
					t.Errorf("bad row = %q, want one containing %q", rep.BadRows[0], tt.wantBad)
				}
				return
			}

			got := store.sortedRatings()
			if len(got) != 1 {
				t.Fatalf("ratings = %v, bad rows %q; want one rating", got, rep.BadRows)
			}
			if !got[0].Time.Equal(tt.want) {
				t.Errorf("time = %v, want %v", got[0].Time, tt.want)
			}
			if loc := got[0].Time.Location(); loc != time.UTC {
				t.Errorf("time zone = %v, want UTC", loc)
			}
		})
	}
}

// TestImportParquetRejectsTimeTypes checks that a time column of a type
// that is not a point in time stops the import with an error naming the
// column and its type. Before, every row was bad.
func TestImportParquetRejectsTimeTypes(t *testing.T) {
	tests := []struct {
		name string
		file func(t *testing.T) string
		want string
	}{
		{"DOUBLE", func(t *testing.T) string { return writeParquet(t, parquetRow[float64]{"u", "i", 4, 1.6e9}) }, "DOUBLE"},
		{"BOOLEAN", func(t *testing.T) string { return writeParquet(t, parquetRow[bool]{"u", "i", 4, true}) }, "BOOLEAN"},
		{"TIME", func(t *testing.T) string { return writeParquet(t, timeOfDayRow{"u", "i", 4, 1000}) }, "TIME(isAdjustedToUTC=true,unit=MILLIS)"},
		{"DECIMAL", func(t *testing.T) string { return writeParquet(t, decimalRow{"u", "i", 4, 1}) }, "DECIMAL(18,0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import(t.Context(), newFakeStore(), tt.file(t), Options{})
			if err == nil {
				t.Fatal("Import error = nil, want one naming the time column and its type")
			}
			if !strings.Contains(err.Error(), `time column "timestamp"`) {
				t.Errorf("Import error = %v, want one naming the time column", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Import error = %v, want one naming the type %s", err, tt.want)
			}
		})
	}
}

// TestParseTimeUnits checks the bounds of Unix seconds and milliseconds. A
// value read in the wrong unit lands past 9999 or before 1978-01-11, and is
// rejected with a hint at the other unit.
func TestParseTimeUnits(t *testing.T) {
	tests := []struct {
		s, format string
		want      time.Time // zero when s is rejected
		wantErr   string
	}{
		{s: "0", format: TimeUnix, want: time.Unix(0, 0)},
		{s: "157766400", format: TimeUnix, want: time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC)},
		{s: "1600000000", format: TimeUnix, want: time.Unix(1_600_000_000, 0)},
		{s: "253402300799", format: TimeUnix, want: maxTime},
		{s: "253402300800", format: TimeUnix, wantErr: "looks like Unix milliseconds (1978-01-11T21:31:40.8Z): use --time-format unix_ms"},
		{s: "1600000000000", format: TimeUnix, wantErr: "looks like Unix milliseconds (2020-09-13T12:26:40Z): use --time-format unix_ms"},
		{s: "253402300799000", format: TimeUnix, wantErr: "looks like Unix milliseconds (9999-12-31T23:59:59Z)"},
		{s: "253402300799001", format: TimeUnix, wantErr: `time "253402300799001" is outside 1970 to 9999`},
		{s: "-1", format: TimeUnix, wantErr: `time "-1" is outside 1970 to 9999`},
		{s: "1600000000000", format: TimeUnixMillis, want: time.UnixMilli(1_600_000_000_000)},
		{s: "253402300800", format: TimeUnixMillis, want: time.UnixMilli(253_402_300_800)},
		{s: "253402300799", format: TimeUnixMillis, wantErr: "looks like Unix seconds (9999-12-31T23:59:59Z): use --time-format unix"},
		{s: "1600000000", format: TimeUnixMillis, wantErr: "looks like Unix seconds (2020-09-13T12:26:40Z): use --time-format unix"},
		{s: "0", format: TimeUnixMillis, wantErr: "use --time-format unix"},
		{s: "-1", format: TimeUnixMillis, wantErr: `time "-1" is outside 1970 to 9999`},
		{s: "2024-05-01T10:00:00Z", format: TimeRFC3339, want: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{s: "1975-01-01T00:00:00Z", format: TimeRFC3339, want: time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.s, tt.format)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseTime(%q, %s) = %v, %v; want an error containing %q", tt.s, tt.format, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("parseTime(%q, %s) = %v, %v; want %v", tt.s, tt.format, got, err, tt.want)
		}
	}
}
