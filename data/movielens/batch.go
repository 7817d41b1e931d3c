package movielens

import "context"

// batch collects records and writes them through the store in calls of a
// fixed size.
type batch[T any] struct {
	stage   string
	size    int
	write   func(context.Context, []T) error
	written *int   // records written so far, kept in the stage's report
	after   func() // called after each successful write
	items   []T
	first   int // lines of the records in items; 0 when not from a file
	last    int
}

func newBatch[T any](stage string, size int, write func(context.Context, []T) error, written *int, after func()) *batch[T] {
	return &batch[T]{stage: stage, size: size, write: write, written: written, after: after, items: make([]T, 0, size)}
}

// add queues item, read from line, and writes the batch once it is full.
func (b *batch[T]) add(ctx context.Context, item T, line int) error {
	if len(b.items) == 0 {
		b.first = line
	}
	b.items = append(b.items, item)
	b.last = line
	if len(b.items) < b.size {
		return nil
	}
	return b.flush(ctx)
}

// flush writes the queued records, if any. It does not call the store once
// ctx is done.
func (b *batch[T]) flush(ctx context.Context) error {
	if len(b.items) == 0 {
		return nil
	}
	err := ctx.Err()
	if err == nil {
		err = b.write(ctx, b.items)
	}
	if err != nil {
		return &WriteError{Stage: b.stage, FirstLine: b.first, LastLine: b.last, Written: *b.written, Err: err}
	}

	*b.written += len(b.items)
	// A new slice, because a store may keep the one it was given.
	b.items = make([]T, 0, b.size)
	b.after()
	return nil
}
