// Package ratingsfile imports ratings in common file layouts into a Marquee
// store, so that figures need not depend on one dataset:
//
//   - "dat": lines of user::item::rating::timestamp without a header, the
//     layout of MovieLens 1M and 10M (ratings.dat). A movies.dat of
//     item::title::genres beside the file names the titles.
//   - "csv": a CSV file with a header, whose user, item, rating and time
//     columns are named by Columns.
//   - "parquet": a Parquet file whose columns are named by Columns. The
//     user, item and rating columns may be integer, floating-point or string
//     columns. The time column may be an integer, string, DATE, TIMESTAMP or
//     legacy INT96 column.
//
// Times are Unix seconds by default; TimeFormat selects Unix milliseconds or
// RFC 3339 text. Parquet DATE, TIMESTAMP and INT96 columns carry their own
// unit. A time without a zone, as in a TIMESTAMP not adjusted to UTC, is read
// as UTC. Times must lie between 1970 and 9999. Seconds and milliseconds
// meet at 1978-01-11 21:31:40.8 UTC in milliseconds, which is the end of 9999
// in seconds. So an integer past 9999 in seconds, or before that time in
// milliseconds, is a bad row whose message names the other unit. Ratings must
// lie on Marquee's scale of 0.5 to 5 in steps of 0.5, unless Scale maps
// another range onto it.
//
// An import reads the file twice and keeps only the users and items in
// memory, not the ratings. The first pass finds each user's first rating and
// the items. Then it writes the users, created at their first rating, and
// titles for the items the store does not have yet, named by movies.dat or
// by their ID. The second pass writes the ratings in batches. IDs are kept as written, so a user
// already stored under the same ID is replaced, while stored titles are left
// as they are. A malformed row is counted, reported with its line and
// skipped. In a CSV file every line is one row. A quoted field may contain the
// separator but not a line end, so a line with an unclosed quote is one bad
// row, and the rows after it are read as usual. The store's bulk writes are
// idempotent, so importing a file twice leaves the same data as importing it
// once. Cancelling ctx stops the import with an error wrapping ctx.Err().
package ratingsfile

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/internal/csvline"
)

// Layouts of a ratings file.
const (
	LayoutDat     = "dat"
	LayoutCSV     = "csv"
	LayoutParquet = "parquet"
)

// Time formats of the time column.
const (
	TimeUnix       = "unix"    // seconds since 1970 UTC
	TimeUnixMillis = "unix_ms" // milliseconds since 1970 UTC
	TimeRFC3339    = "rfc3339" // text such as 2024-05-01T12:00:00Z
)

// Defaults of the zero fields of Options.
const (
	defaultBatchSize  = 5000
	defaultMaxBadRows = 10
)

// Columns names the columns of a CSV or Parquet file.
type Columns struct {
	User, Item, Rating, Time string
}

// DefaultColumns are the column names used when Options.Columns is zero.
var DefaultColumns = Columns{User: "user_id", Item: "item_id", Rating: "rating", Time: "timestamp"}

// Scale maps ratings from [Min, Max] linearly onto Marquee's 0.5 to 5,
// rounded to the nearest half.
type Scale struct {
	Min, Max float64
}

// valid reports whether the scale maps ratings onto distinct values: finite
// bounds, Min below Max, and a finite span. An infinite bound or span would
// map every rating to one end of Marquee's scale.
func (s Scale) valid() bool {
	span := s.Max - s.Min
	return s.Max > s.Min && !math.IsInf(span, 0) && !math.IsNaN(span)
}

// Options tune an import. The zero value reads a layout inferred from the
// file's extension with the default columns and Unix seconds.
type Options struct {
	Layout     string  // dat, csv or parquet; inferred from the extension when empty
	Columns    Columns // CSV and Parquet only; empty names take DefaultColumns'
	Comma      rune    // CSV field separator; default ','
	TimeFormat string  // unix (default), unix_ms or rfc3339
	Scale      *Scale  // nil: ratings are on Marquee's scale already
	BatchSize  int     // records per store call; default 5,000
	MaxBadRows int     // bad rows kept in the report; default 10, negative keeps none
	Logger     *slog.Logger
}

func (o Options) withDefaults(path string) (Options, error) {
	if o.Layout == "" {
		o.Layout = layoutOf(path)
	}
	if o.Layout != LayoutDat && o.Layout != LayoutCSV && o.Layout != LayoutParquet {
		return o, fmt.Errorf("unknown layout %q of %s: use dat, csv or parquet", o.Layout, path)
	}
	c := &o.Columns
	c.User, c.Item = or(c.User, DefaultColumns.User), or(c.Item, DefaultColumns.Item)
	c.Rating, c.Time = or(c.Rating, DefaultColumns.Rating), or(c.Time, DefaultColumns.Time)
	if o.Comma == 0 {
		o.Comma = ','
	}
	if o.Layout == LayoutCSV && !csvline.ValidSeparator(o.Comma) {
		return o, fmt.Errorf("invalid CSV field separator %q: want a valid character other than a quote, CR or LF", o.Comma)
	}
	o.TimeFormat = or(o.TimeFormat, TimeUnix)
	if o.TimeFormat != TimeUnix && o.TimeFormat != TimeUnixMillis && o.TimeFormat != TimeRFC3339 {
		return o, fmt.Errorf("unknown time format %q: use unix, unix_ms or rfc3339", o.TimeFormat)
	}
	if s := o.Scale; s != nil && !s.valid() {
		return o, fmt.Errorf("invalid rating scale %v:%v: want finite bounds with min < max", s.Min, s.Max)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.MaxBadRows == 0 {
		o.MaxBadRows = defaultMaxBadRows
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func layoutOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".dat":
		return LayoutDat
	case ".parquet", ".pq":
		return LayoutParquet
	}
	return LayoutCSV
}

// Store is the part of data.Store an import uses. Every data.Store
// satisfies it.
type Store interface {
	PutTitles(ctx context.Context, titles []data.Title) error
	Titles(ctx context.Context, ids []string) ([]data.Title, error)
	PutUsers(ctx context.Context, users []data.User) error
	PutRatings(ctx context.Context, ratings []data.Rating) error
}

var _ Store = data.Store(nil)

// Report sums up an import.
type Report struct {
	File      string
	Layout    string
	Read      int // data rows read
	Imported  int // ratings written
	Bad       int // rows skipped
	Users     int // users written
	NewTitles int // titles the store did not have
	BadRows   []string
	Elapsed   time.Duration
}

// Import reads the ratings file at path and writes its users, the titles the
// store lacks and its ratings to store. The report covers the work done,
// also when Import returns an error.
func Import(ctx context.Context, store Store, path string, opts Options) (Report, error) {
	start := time.Now()
	opts, err := opts.withDefaults(path)
	rep := Report{File: path, Layout: opts.Layout}
	if err != nil {
		return rep, fmt.Errorf("import %s: %w", path, err)
	}
	im := &importer{store: store, path: path, opts: opts, rep: &rep}
	opts.Logger.Info("ratings import started", "file", path, "layout", opts.Layout)
	err = im.run(ctx)
	rep.Elapsed = time.Since(start)
	if err != nil {
		return rep, fmt.Errorf("import %s: %w", path, err)
	}
	opts.Logger.Info("ratings import finished", "file", path, "ratings", rep.Imported, "users", rep.Users,
		"new_titles", rep.NewTitles, "bad", rep.Bad, "elapsed", rep.Elapsed)
	return rep, nil
}

type importer struct {
	store Store
	path  string
	opts  Options
	rep   *Report
}

func (im *importer) run(ctx context.Context) error {
	users, items, err := im.scan(ctx)
	if err != nil {
		return err
	}
	if err := im.writeUsers(ctx, users); err != nil {
		return err
	}
	if err := im.writeTitles(ctx, items); err != nil {
		return err
	}
	return im.writeRatings(ctx)
}

// scan reads the file once, counting and reporting bad rows, and returns
// each user's first rating time and the items in order of appearance.
func (im *importer) scan(ctx context.Context) (map[string]time.Time, []string, error) {
	first := map[string]time.Time{}
	seen := map[string]bool{}
	var items []string
	err := im.each(ctx, func(r data.Rating, line int, bad error) error {
		im.rep.Read++
		if bad != nil {
			im.rep.Bad++
			if len(im.rep.BadRows) < im.opts.MaxBadRows {
				im.rep.BadRows = append(im.rep.BadRows, fmt.Sprintf("%s:%d: %v", filepath.Base(im.path), line, bad))
			}
			return nil
		}
		if t, ok := first[r.UserID]; !ok || r.Time.Before(t) {
			first[r.UserID] = r.Time
		}
		if !seen[r.ContentID] {
			seen[r.ContentID] = true
			items = append(items, r.ContentID)
		}
		return nil
	})
	return first, items, err
}

// each calls fn with every row of the file, parsed, or with the reason it
// is bad.
func (im *importer) each(ctx context.Context, fn func(r data.Rating, line int, bad error) error) error {
	p := parser{timeFormat: im.opts.TimeFormat, scale: im.opts.Scale}
	return readRows(ctx, im.path, im.opts, func(f fields) error {
		r, err := p.parse(f)
		return fn(r, f.line, err)
	})
}

func (im *importer) writeUsers(ctx context.Context, first map[string]time.Time) error {
	users := make([]data.User, 0, len(first))
	for id, t := range first {
		users = append(users, data.User{ID: id, Role: data.RoleUser, CreatedAt: t, UpdatedAt: t})
	}
	sortUsers(users)
	return inBatches(ctx, users, im.opts.BatchSize, func(b []data.User) error {
		if err := im.store.PutUsers(ctx, b); err != nil {
			return fmt.Errorf("write users: %w", err)
		}
		im.rep.Users += len(b)
		return nil
	})
}

// writeTitles creates the titles the store does not have, named by a
// movies.dat beside a dat file when there is one.
func (im *importer) writeTitles(ctx context.Context, items []string) error {
	names, err := im.titleNames()
	if err != nil {
		return err
	}
	return inBatches(ctx, items, im.opts.BatchSize, func(ids []string) error {
		have, err := im.store.Titles(ctx, ids)
		if err != nil {
			return fmt.Errorf("read titles: %w", err)
		}
		known := map[string]bool{}
		for _, t := range have {
			known[t.ID] = true
		}
		var missing []data.Title
		for _, id := range ids {
			if !known[id] {
				missing = append(missing, newTitle(id, names))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if err := im.store.PutTitles(ctx, missing); err != nil {
			return fmt.Errorf("write titles: %w", err)
		}
		im.rep.NewTitles += len(missing)
		return nil
	})
}

func (im *importer) writeRatings(ctx context.Context) error {
	batch := make([]data.Rating, 0, im.opts.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := im.store.PutRatings(ctx, batch); err != nil {
			return fmt.Errorf("write ratings (%d written before): %w", im.rep.Imported, err)
		}
		im.rep.Imported += len(batch)
		batch = make([]data.Rating, 0, im.opts.BatchSize)
		return nil
	}
	err := im.each(ctx, func(r data.Rating, _ int, bad error) error {
		if bad != nil {
			return nil
		}
		batch = append(batch, r)
		if len(batch) == im.opts.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// inBatches calls fn on consecutive slices of at most size elements, and
// stops when ctx is done.
func inBatches[T any](ctx context.Context, xs []T, size int, fn func([]T) error) error {
	for lo := 0; lo < len(xs); lo += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(xs[lo:min(lo+size, len(xs))]); err != nil {
			return err
		}
	}
	return nil
}
