package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// scanRetries is how many times a page of a scan is read again after a
// timeout, on top of the driver's own retries, before the scan fails.
const scanRetries = 3

// Bounds of the event_days lookup when a window has no lower or upper
// bound and the partitioner is not Murmur3.
var (
	firstDay = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	lastDay  = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// ScanPartitions returns the partitions that hold the events of w.
//
// For a window with both bounds, they are the (day, bucket) partitions of
// events_by_day for the days in the window that event_days lists, keyed
// "day=2024-05-01/bucket=3". Days without events cost nothing, however long
// the window.
//
// For a window without a lower or an upper bound, such as a full export,
// they are cfg.TokenRanges equal slices of the token ring of events_by_day,
// keyed "token=<start>:<end>" (start excluded, end included). They read the
// whole table in large sequential slices.
//
// Both kinds of keys depend only on the window, the stored days and the
// configuration.
func (s *Store) ScanPartitions(ctx context.Context, w data.Window) ([]data.ScanPartition, error) {
	if !w.From.IsZero() && !w.To.IsZero() && !w.To.After(w.From) {
		return nil, nil
	}
	if (w.From.IsZero() || w.To.IsZero()) && s.murmur3 {
		return tokenPartitions(s.cfg.TokenRanges), nil
	}
	days, err := s.daysIn(ctx, w)
	if err != nil {
		return nil, wrap("scan partitions", err)
	}
	parts := make([]data.ScanPartition, 0, len(days)*s.cfg.Buckets)
	for _, d := range days {
		for b := range s.cfg.Buckets {
			parts = append(parts, data.ScanPartition{Key: "day=" + d.Format(time.DateOnly) + "/bucket=" + strconv.Itoa(b)})
		}
	}
	return parts, nil
}

// daysIn returns the days listed in event_days that w overlaps.
func (s *Store) daysIn(ctx context.Context, w data.Window) ([]time.Time, error) {
	from, to := firstDay, lastDay
	if !w.From.IsZero() {
		from = dayOf(w.From)
	}
	if !w.To.IsZero() {
		to = dayOf(w.To.Add(-time.Nanosecond))
	}
	iter := s.session.Query(s.q.selectDays, from, to).Idempotent(true).IterContext(ctx)
	var days []time.Time
	var d time.Time
	for iter.Scan(&d) {
		days = append(days, d)
	}
	return days, iter.Close()
}

// tokenPartitions splits the Murmur3 token ring, (MinInt64, MaxInt64],
// into n contiguous ranges. No key has the token MinInt64.
func tokenPartitions(n int) []data.ScanPartition {
	step := math.MaxUint64 / uint64(n)
	bound := func(i int) int64 {
		if i == n {
			return math.MaxInt64
		}
		return int64(uint64(1)<<63 + uint64(i)*step)
	}
	parts := make([]data.ScanPartition, n)
	for i := range n {
		parts[i] = data.ScanPartition{Key: fmt.Sprintf("token=%d:%d", bound(i), bound(i+1))}
	}
	return parts
}

// ScanPartition calls fn for every event of partition p whose time falls
// in w. It reads the partition page by page, cfg.PageSize rows at a time,
// fetching the next page while fn runs on the current one, and reads a
// page again up to three times after a timeout. It writes nothing, so a
// failed call may be retried. An error of fn is returned as it is, and
// other errors name the partition.
func (s *Store) ScanPartition(ctx context.Context, p data.ScanPartition, w data.Window, fn func(data.Event) error) error {
	err := s.scanPartition(ctx, p, w, fn)
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	return err
}

func (s *Store) scanPartition(ctx context.Context, p data.ScanPartition, w data.Window, fn func(data.Event) error) error {
	query, err := s.partitionQuery(p.Key, w)
	if err != nil {
		return wrap("scan partition "+p.Key, err)
	}
	err = s.readPages(ctx, p.Key, query, func(e data.Event) error {
		if !w.Contains(e.Time) {
			return nil
		}
		if err := fn(e); err != nil {
			return callbackError{err}
		}
		return nil
	})
	if errors.As(err, new(callbackError)) {
		return err
	}
	return wrap("scan partition "+p.Key, err)
}

// callbackError carries an error of the caller's function through the
// scan, so that it is returned unwrapped.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// partitionQuery returns the query that reads partition key within w.
func (s *Store) partitionQuery(key string, w data.Window) (*gocql.Query, error) {
	if rest, ok := strings.CutPrefix(key, "token="); ok {
		start, end, err := parseTokenRange(rest)
		if err != nil {
			return nil, invalidf("partition key %q: %v", key, err)
		}
		return s.session.Query(s.q.scanTokens, start, end), nil
	}
	day, bucket, err := parseDayKey(key)
	if err != nil {
		return nil, invalidf("partition key %q: %v", key, err)
	}
	from, to := day, day.AddDate(0, 0, 1)
	if w.From.After(from) {
		from = w.From
	}
	if !w.To.IsZero() && w.To.Before(to) {
		to = w.To
	}
	// Stored times are whole milliseconds: the bounds are widened to whole
	// milliseconds here and the window is applied exactly to each row.
	return s.session.Query(s.q.scanDay, day, bucket, data.Normalize(from), ceilMillis(to)), nil
}

// ceilMillis rounds t up to a whole millisecond.
func ceilMillis(t time.Time) time.Time {
	if r := data.Normalize(t); r.Before(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

func parseTokenRange(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, ":")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || end < start {
		return 0, 0, errors.New("want token=<start>:<end>")
	}
	return start, end, nil
}

func parseDayKey(key string) (time.Time, int, error) {
	d, b, ok := strings.Cut(key, "/bucket=")
	d, ok2 := strings.CutPrefix(d, "day=")
	day, err1 := time.Parse(time.DateOnly, d)
	bucket, err2 := strconv.Atoi(b)
	if !ok || !ok2 || err1 != nil || err2 != nil || bucket < 0 {
		return time.Time{}, 0, errors.New("want day=YYYY-MM-DD/bucket=N or token=<start>:<end>")
	}
	return day, bucket, nil
}

// page is one page of a scan, or the error that ended it.
type page struct {
	events []data.Event
	state  []byte
	err    error
}

// readPages runs q page by page and calls fn for each event, fetching the
// next page in the background while fn runs.
func (s *Store) readPages(ctx context.Context, key string, q *gocql.Query, fn func(data.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := s.fetchAsync(ctx, key, q, nil)
	for next != nil {
		p := <-next
		if p.err != nil {
			return p.err
		}
		next = nil
		if len(p.state) > 0 {
			next = s.fetchAsync(ctx, key, q, p.state)
		}
		for _, e := range p.events {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

func (s *Store) fetchAsync(ctx context.Context, key string, q *gocql.Query, state []byte) <-chan page {
	out := make(chan page, 1)
	go func() { out <- s.fetchPage(ctx, key, q, state) }()
	return out
}

// fetchPage reads the page that starts at state, again after a timeout.
func (s *Store) fetchPage(ctx context.Context, key string, q *gocql.Query, state []byte) page {
	for attempt := 1; ; attempt++ {
		p := s.readPage(ctx, q, state)
		if p.err == nil || !retryable(p.err) || attempt > scanRetries {
			return p
		}
		wait := backoff(s.cfg.RetryMin, s.cfg.RetryMax, attempt)
		s.log.Warn("scan page failed, retrying", slog.String("partition", key), slog.Int("attempt", attempt), slog.String("error", p.err.Error()))
		if !sleep(ctx, wait) {
			return page{err: ctx.Err()}
		}
	}
}

func (s *Store) readPage(ctx context.Context, q *gocql.Query, state []byte) page {
	iter := q.PageSize(s.cfg.PageSize).PageState(state).Idempotent(true).IterContext(ctx)
	events := make([]data.Event, 0, iter.NumRows())
	var e data.Event
	var typ, kind string
	for iter.Scan(&e.Time, &e.UserID, &e.ContentID, &typ, &e.ID, &e.Rating, &kind, &e.Position, &e.Duration) {
		e.Type, e.WatchKind = data.EventType(typ), data.WatchKind(kind)
		events = append(events, e)
	}
	next := iter.PageState()
	if err := iter.Close(); err != nil {
		return page{err: err}
	}
	return page{events: events, state: next}
}

// ScanEvents calls fn for every event whose time falls in w. It reads up
// to cfg.ScanConcurrency partitions of ScanPartitions at once and calls fn
// from one goroutine at a time. At the first error of fn it stops calling
// fn, cancels the reads and returns that error.
func (s *Store) ScanEvents(ctx context.Context, w data.Window, fn func(data.Event) error) error {
	parts, err := s.ScanPartitions(ctx, w)
	if err != nil {
		return err
	}
	serial := &serialFn{fn: fn}
	err = s.parallel(ctx, len(parts), s.cfg.ScanConcurrency, func(ctx context.Context, i int) error {
		return s.scanPartition(ctx, parts[i], w, serial.call)
	})
	if serial.err != nil {
		return serial.err
	}
	return err
}

// serialFn calls fn from one goroutine at a time, and never again after
// it returned an error, which it keeps.
type serialFn struct {
	mu  sync.Mutex // guards err and calls to fn
	err error
	fn  func(data.Event) error
}

var errStopped = errors.New("scan stopped")

func (f *serialFn) call(e data.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return errStopped
	}
	f.err = f.fn(e)
	return f.err
}
