package serving

import (
	"sync"
	"time"
)

// breaker stops calls to a dependency that keeps failing, so that requests
// fall back at once instead of each waiting for a timeout. After threshold
// consecutive failures it opens for cooldown; then it lets one call through,
// and that call's outcome closes it or opens it again. It is safe for
// concurrent use.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int       // consecutive
	openUntil time.Time // zero while closed
	probing   bool      // a call is through while open
}

// allow reports whether a call may go through.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true
	case b.probing || b.now().Before(b.openUntil):
		return false
	}
	b.probing = true
	return true
}

// record takes the outcome of a call that allow let through.
func (b *breaker) record(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if ok {
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.cooldown)
	}
}

// open reports whether the breaker refuses calls now.
func (b *breaker) open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero() && b.now().Before(b.openUntil)
}
