package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Errors of Lock.Acquire.
var (
	// ErrLocked means another holder has the lock.
	ErrLocked = errors.New("the lock is held by another holder")
	// ErrTickTaken means a holder already took the lock for the same
	// scheduled time or a later one.
	ErrTickTaken = errors.New("the lock was already taken for this scheduled time")
)

// Lock is a lock shared by every process that uses the same Redis and key
// prefix, for the scheduler's runs. It is safe for concurrent use.
//
// Acquiring sets the lock key to a random token of the holder with SET NX
// PX, so that the key expires TTL after the last renewal when the holder
// dies. The same script draws the next fencing token from a counter that
// only grows. A lease renews the key every third of the TTL with a script that
// extends it only while it still holds the holder's token, and releasing
// deletes it the same way. The fencing token guards the pointer switch:
// the fenced commit of a run (runWriter.CommitFenced) switches the pointer
// only while the token is still the newest one issued, in the same script,
// so a holder whose lease expired while it was paused cannot publish over
// a newer holder. All three keys carry the registry's hash tag, so the
// commit script can read the counter on Redis Cluster too.
type Lock struct {
	lists *Lists
	ttl   time.Duration
}

// DefaultLockTTL is the TTL of a lease when Lock is given none.
const DefaultLockTTL = 30 * time.Second

// Lock returns the scheduler's lock on l's Redis, with leases that expire
// ttl after their last renewal. A ttl of zero or less selects
// DefaultLockTTL.
func (l *Lists) Lock(ttl time.Duration) *Lock {
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	return &Lock{lists: l, ttl: ttl}
}

// Acquire takes the lock without waiting, for the run scheduled at tick,
// and starts renewing it. It returns an error wrapping ErrLocked when
// another holder has the lock and ErrTickTaken when the lock was already
// taken for tick or a later time. A zero tick is never taken.
func (k *Lock) Acquire(ctx context.Context, tick time.Time) (*Lease, error) {
	var b [16]byte
	rand.Read(b[:])
	holder := hex.EncodeToString(b[:])
	at := ""
	if !tick.IsZero() {
		at = strconv.FormatInt(tick.UnixMilli(), 10)
	}
	keys := k.lists.keys
	start := time.Now()
	res, err := acquireScript.Run(ctx, k.lists.rdb, []string{keys.lock(), keys.fence(), keys.tick()},
		holder, k.ttl.Milliseconds(), at).Int64()
	switch {
	case err != nil:
		return nil, wrap("acquire lock", err)
	case res == -1:
		return nil, ErrLocked
	case res == -2:
		return nil, fmt.Errorf("%w: %s", ErrTickTaken, tick.UTC().Format(time.RFC3339))
	}
	lease := &Lease{
		lock: k, holder: holder, token: res, lost: make(chan struct{}), stop: make(chan struct{}),
		expires: start.Add(k.ttl),
	}
	lease.wg.Go(lease.renew)
	return lease, nil
}

// Lease is a held Lock. Its methods are safe for concurrent use.
type Lease struct {
	lock   *Lock
	holder string // the random token in the lock key
	token  int64  // the fencing token

	lost     chan struct{} // closed when the lease is lost
	stop     chan struct{} // closed by Release
	wg       sync.WaitGroup
	lostOnce sync.Once
	stopOnce sync.Once

	mu      sync.Mutex
	expires time.Time // when the key expires unless renewed, by this process's clock
}

// Token returns the fencing token of the lease.
func (l *Lease) Token() int64 { return l.token }

// Lost returns a channel closed when the lease is lost: Redis no longer
// holds this lease's token in the lock key, or no renewal succeeded before
// the key would have expired.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// renew extends the key every third of the TTL until Release, and marks
// the lease lost when the key is someone else's or it could not be
// extended before it expired.
func (l *Lease) renew() {
	every := l.lock.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		start := time.Now()
		ok, err := renewScript.Run(ctx, l.lock.lists.rdb, []string{l.lock.lists.keys.lock()}, l.holder,
			l.lock.ttl.Milliseconds()).Int()
		cancel()
		log := l.lock.lists.cfg.log
		switch {
		case err == nil && ok == 0:
			log.Warn("scheduler lock lost: another holder has it", "token", l.token)
			l.markLost()
			return
		case err == nil:
			l.mu.Lock()
			l.expires = start.Add(l.lock.ttl)
			l.mu.Unlock()
			continue
		}
		l.mu.Lock()
		expired := !time.Now().Before(l.expires)
		l.mu.Unlock()
		if expired {
			log.Warn("scheduler lock lost: no renewal succeeded before it expired", "token", l.token, "err", err)
			l.markLost()
			return
		}
		log.Warn("renewing the scheduler lock failed; retrying", "token", l.token, "err", err)
	}
}

func (l *Lease) markLost() {
	l.lostOnce.Do(func() { close(l.lost) })
}

// Release stops renewing and deletes the lock key if it still holds this
// lease's token. Releasing twice does nothing.
func (l *Lease) Release(ctx context.Context) error {
	var err error
	l.stopOnce.Do(func() {
		close(l.stop)
		l.wg.Wait()
		select {
		case <-l.lost:
			return
		default:
		}
		err = releaseScript.Run(ctx, l.lock.lists.rdb, []string{l.lock.lists.keys.lock()}, l.holder).Err()
		err = wrap("release lock", err)
	})
	return err
}
