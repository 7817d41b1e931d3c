// Package parallel runs a function over the rows of a matrix on a fixed
// number of goroutines.
//
// Rows are handed out in blocks, in no fixed order. Callers get results that
// do not depend on the number of goroutines by writing each row's result to
// its own slot and combining slots afterwards in row order, never in the
// order in which blocks finish.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers returns n when it is positive and the number of usable CPUs
// otherwise.
func Workers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Rows calls fn on consecutive blocks [lo, hi) of at most block rows that
// together cover [0, n), on up to workers goroutines. The worker argument is
// in [0, workers) and no two concurrent calls share one, so fn may use scratch
// space kept per worker.
//
// Rows checks ctx before every block. It returns ctx.Err() once ctx is done,
// or else the first error that fn returns. After either, it hands out no
// further blocks, and it waits for the running ones to finish before it
// returns.
func Rows(ctx context.Context, n, workers, block int, fn func(worker, lo, hi int) error) error {
	if block < 1 {
		block = 1
	}
	workers = max(1, min(workers, (n+block-1)/block))

	var (
		next    atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		stop.Store(true)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				lo := int(next.Add(int64(block))) - block
				if lo >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := fn(w, lo, min(lo+block, n)); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && n > 0 {
		// A context cancelled after the last block still cancels the run, so
		// a caller never mistakes a cancelled run for a finished one.
		first = ctx.Err()
	}
	return first
}
