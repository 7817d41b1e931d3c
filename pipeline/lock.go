package pipeline

import (
	"context"
	"errors"
	"time"
)

// Errors of a Lock.
var (
	// ErrLocked means another holder has the lock: a run is in progress.
	ErrLocked = errors.New("the scheduler lock is held by another run")
	// ErrTickTaken means a run for the same scheduled time was already
	// started, by this process or another replica.
	ErrTickTaken = errors.New("a run for this scheduled time was already started")
	// ErrLeaseLost is the cause of the cancellation of a run whose lease
	// expired or was taken over before the run finished.
	ErrLeaseLost = errors.New("the scheduler lock was lost")
)

// Lock is the lock that every scheduler replica shares, so that two
// scheduled runs never overlap. A lock held by a process that died is
// released, at once or when its lease expires.
type Lock interface {
	// Acquire takes the lock without waiting, for the run scheduled at
	// tick, and records tick. It returns an error wrapping ErrLocked when
	// another holder has the lock. It returns ErrTickTaken when a run for
	// tick, or for a later tick, was already started. A zero tick, for a
	// run started by hand or by a Kubernetes CronJob, is never taken.
	Acquire(ctx context.Context, tick time.Time) (Lease, error)
}

// Lease is a held Lock. Its methods are safe for concurrent use.
type Lease interface {
	// Token returns the fencing token of the lease, larger than that of
	// every earlier lease of the same lock. A list store that checks the
	// tokens rejects a commit with a token older than the newest one issued.
	Token() int64

	// Lost returns a channel that is closed when the lease is lost: it
	// could not be renewed before it expired, or another holder took the
	// lock. The channel of a FileLock lease is never closed, because the
	// kernel keeps a flock for as long as its process lives.
	Lost() <-chan struct{}

	// Release gives the lock up and stops renewing it. Releasing twice, or
	// releasing a lost lease, does nothing.
	Release(ctx context.Context) error
}

// LeaseContext returns a context derived from ctx that is cancelled, with
// the cause ErrLeaseLost, when lease is lost. The caller must call cancel
// when done with it, which releases the goroutine that watches the lease.
func LeaseContext(ctx context.Context, lease Lease) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-lease.Lost():
			cancel(ErrLeaseLost)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
