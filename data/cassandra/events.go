package cassandra

import (
	"context"
	"strconv"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// hash32 is FNV-1a over the bytes of s. Rows are placed by it, so it must
// never change.
func hash32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// bucketOf returns the bucket, in [0, n), of a user's or a title's rows.
func bucketOf(id string, n int) int {
	return int(hash32(id) % uint32(n))
}

// dayOf returns the UTC day of t, at midnight. The driver encodes a date
// exactly only from midnight, because it truncates toward zero before 1970.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// micros returns t as a write timestamp in microseconds. Event tables are
// written with the event's own time as their write timestamp, so that
// Cassandra's last-write-wins resolution keeps the newest event whatever
// the order in which writes arrive, without reading the current value.
// Times before 1970 give negative timestamps, which Cassandra accepts.
func micros(t time.Time) int64 {
	return t.UnixMilli() * 1000
}

// A rating deletion is written one microsecond after the event time, so
// that it wins over a rating of the same millisecond. A rating of the next
// millisecond is still later.
const deletionTiebreak = 1

// eventStatement returns the statement that adds e to the log by day.
func (s *Store) eventStatement(e data.Event) (key string, st statement) {
	day, bucket := dayOf(e.Time), bucketOf(e.UserID, s.cfg.Buckets)
	ts := micros(e.Time)
	args := []any{day, bucket, e.Time, e.UserID, e.ContentID, string(e.Type), e.ID}
	switch e.Type {
	case data.EventWatch:
		args = append(args, gocql.UnsetValue, string(e.WatchKind), e.Position, e.Duration, ts)
	case data.EventRatingDeleted:
		args = append(args, gocql.UnsetValue, gocql.UnsetValue, gocql.UnsetValue, gocql.UnsetValue, ts+deletionTiebreak)
	default:
		args = append(args, e.Rating, gocql.UnsetValue, gocql.UnsetValue, gocql.UnsetValue, ts)
	}
	return dayKey(day, bucket), statement{s.q.insertEvent, args}
}

func dayKey(day time.Time, bucket int) string {
	return "d" + day.Format(time.DateOnly) + "/" + strconv.Itoa(bucket)
}

// recordDays lists the days of events in event_days before the events are
// written, so that a scan of a window plans every day that has data.
// Days this store already recorded are skipped.
func (s *Store) recordDays(ctx context.Context, times []time.Time) error {
	var days []time.Time
	seen := make(map[time.Time]bool)
	for _, t := range times {
		d := dayOf(t)
		if !seen[d] && !s.days.has(d) {
			seen[d] = true
			days = append(days, d)
		}
	}
	err := s.parallel(ctx, len(days), s.cfg.Concurrency, func(ctx context.Context, i int) error {
		return s.session.Query(s.q.insertDay, days[i]).Idempotent(true).ExecContext(ctx)
	})
	if err != nil {
		return err
	}
	s.days.add(days)
	return nil
}

// dayCache records the days already written to event_days, so that a
// stream of events of one day writes its day once per process. It is
// cleared when full, which costs rewrites but never correctness.
type dayCache struct {
	mu   sync.Mutex // guards days
	days map[time.Time]struct{}
}

const dayCacheSize = 4096

func newDayCache() *dayCache {
	return &dayCache{days: make(map[time.Time]struct{})}
}

func (c *dayCache) has(d time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.days[d]
	return ok
}

func (c *dayCache) add(days []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.days)+len(days) > dayCacheSize {
		clear(c.days)
	}
	for _, d := range days {
		c.days[d] = struct{}{}
	}
}
