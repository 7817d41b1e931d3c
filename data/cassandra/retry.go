package cassandra

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// backoff returns the wait before retry number attempt (1 for the first
// retry): lo doubled at each attempt, capped at hi, with up to half of it
// taken off at random so that clients retrying together spread out.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// sleep waits for d or until ctx is done, and reports whether it waited
// the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryPolicy makes the driver retry a statement marked idempotent after a
// timeout, an unavailable or overloaded replica or a broken connection, on
// the next host, with exponential backoff. The driver does not consult the
// policy for a statement that is not marked idempotent.
type retryPolicy struct {
	retries int
	lo, hi  time.Duration
	log     *limitedLog
}

// Attempt waits before a retry. The driver calls it after a failure and
// before GetRetryType, so the wait also delays an error that is not
// retried. Only failed idempotent statements reach it, and their errors
// are timeouts in all but rare cases, such as a table not yet created.
func (p *retryPolicy) Attempt(q gocql.RetryableQuery) bool {
	n := q.Attempts()
	if n > p.retries {
		return false
	}
	return sleep(q.Context(), backoff(p.lo, p.hi, n))
}

// GetRetryType retries err on the next host when it is transient.
func (p *retryPolicy) GetRetryType(err error) gocql.RetryType {
	if !retryable(err) {
		return gocql.Rethrow
	}
	p.log.warn("retrying statement", slog.String("error", err.Error()))
	return gocql.RetryNextHost
}

// limitedLog logs a message at most once per interval, counting the ones
// it left out, so that a failing cluster does not flood the log.
type limitedLog struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex // guards last and suppressed
	last       time.Time
	suppressed int
}

func newLimitedLog(log *slog.Logger, interval time.Duration) *limitedLog {
	return &limitedLog{log: log, interval: interval}
}

func (l *limitedLog) warn(msg string, attrs ...slog.Attr) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < l.interval {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()

	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	l.log.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}
