package api

import (
	"math"
	"sync"
	"time"
)

// limiter keeps one token bucket per key, such as a client address or an
// e-mail. It is safe for concurrent use.
//
// NOTE: buckets live in the memory of one process. Behind a load balancer
// with N replicas a client gets up to N times the configured rate, and a
// restart refills every bucket. A store-backed limiter would close that
// gap at the cost of a write per attempt.
type limiter struct {
	rate    Rate
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex // guards buckets and lastSweep
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate Rate, maxKeys int, now func() time.Time) *limiter {
	return &limiter{rate: rate, maxKeys: maxKeys, now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token from the bucket of key. When the bucket is empty it
// returns false and how long until a token is back.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()

	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys && now.Sub(l.lastSweep) >= time.Second {
			l.sweep(now)
		}
		if len(l.buckets) >= l.maxKeys {
			return false, l.rate.Every
		}
		b = &bucket{tokens: float64(l.rate.Burst), last: now}
		l.buckets[key] = b
	}

	b.tokens = l.refill(b, now)
	b.last = now
	if b.tokens < 1 {
		wait := time.Duration(math.Ceil((1 - b.tokens) * float64(l.rate.Every)))
		return false, wait
	}
	b.tokens--
	return true, 0
}

// refill returns the tokens of b at time now.
func (l *limiter) refill(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return b.tokens
	}
	return math.Min(float64(l.rate.Burst), b.tokens+float64(elapsed)/float64(l.rate.Every))
}

// sweep deletes the buckets that are full again: a new bucket for their key
// would be the same. It runs at most once a second, so a flood of new keys
// into a full map costs one pass over it per second, not one per key.
func (l *limiter) sweep(now time.Time) {
	l.lastSweep = now
	for key, b := range l.buckets {
		if l.refill(b, now) >= float64(l.rate.Burst) {
			delete(l.buckets, key)
		}
	}
}
