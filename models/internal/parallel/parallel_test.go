package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestRowsCoversEveryRowOnce(t *testing.T) {
	for _, tt := range []struct{ n, workers, block int }{
		{0, 3, 4}, {1, 3, 4}, {10, 1, 3}, {100, 4, 7}, {5, 8, 0},
	} {
		counts := make([]int32, tt.n)
		var badWorker atomic.Bool
		err := Rows(context.Background(), tt.n, tt.workers, tt.block, func(w, lo, hi int) error {
			if w < 0 || w >= tt.workers {
				badWorker.Store(true)
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&counts[i], 1)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("n %d: Rows error = %v, want nil", tt.n, err)
		}
		if badWorker.Load() {
			t.Errorf("n %d: worker index out of [0, %d)", tt.n, tt.workers)
		}
		for i, c := range counts {
			if c != 1 {
				t.Errorf("n %d: row %d visited %d times, want 1", tt.n, i, c)
			}
		}
	}
}

func TestRowsStops(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := Rows(context.Background(), 1000, 2, 1, func(w, lo, hi int) error {
		calls.Add(1)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Rows error = %v, want boom", err)
	}
	if c := calls.Load(); c > 2 {
		t.Errorf("fn called %d times after failing, want at most 2", c)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Rows(ctx, 10, 2, 1, func(w, lo, hi int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Rows error = %v, want context.Canceled", err)
	}
}

func TestWorkers(t *testing.T) {
	if got := Workers(3); got != 3 {
		t.Errorf("Workers(3) = %d, want 3", got)
	}
	if got := Workers(0); got < 1 {
		t.Errorf("Workers(0) = %d, want >= 1", got)
	}
}
