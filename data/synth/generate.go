package synth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/marquee/marquee/data"
)

// DefaultBatchSize is the number of records per store call when
// Options.BatchSize is 0.
const DefaultBatchSize = 5000

// Stages of a write, as named in progress reports and errors.
const (
	StageTitles = "titles"
	StageUsers  = "users"
	StageEvents = "events"
)

// Store is the part of [data.Store] a generator writes to. Every data.Store
// satisfies it.
type Store interface {
	PutTitles(ctx context.Context, titles []data.Title) error
	PutUsers(ctx context.Context, users []data.User) error
	PutRatings(ctx context.Context, ratings []data.Rating) error
	AppendWatches(ctx context.Context, events []data.WatchEvent) error
}

var _ Store = data.Store(nil)

// Options tunes a write. The zero value is ready to use.
type Options struct {
	// BatchSize is the number of records sent in one store call; 0 means
	// DefaultBatchSize.
	BatchSize int

	// Progress, when set, is called from the writing goroutine after each
	// batch is written and at the end of each stage.
	Progress func(Progress)

	// Logger receives a line per stage at info level and a line per batch
	// at debug level; nil discards them.
	Logger *slog.Logger
}

// Progress is passed to Options.Progress.
type Progress struct {
	Stage   string // StageTitles, StageUsers or StageEvents
	Done    int    // titles or users written; in StageEvents, users whose events were drawn
	Total   int    // titles or users in the world
	Ratings int    // rating events written so far
	Watches int    // watch events written so far
}

// Report counts the records written. When Write returns an error, it counts
// those written before it.
type Report struct {
	Titles  int
	Users   int
	Ratings int
	Watches int
	Elapsed time.Duration
}

// Generate builds the world cfg describes and writes it to store; see
// [NewWorld] and [World.Write].
func Generate(ctx context.Context, store Store, cfg Config, opts Options) (Report, error) {
	w, err := NewWorld(cfg)
	if err != nil {
		return Report{}, err
	}
	return w.Write(ctx, store, opts)
}

// Write writes the world's titles, then its users, then every user's rating
// and watch events, in batches. The events are drawn as they are written,
// so memory does not grow with their number.
//
// A failed or cancelled Write stops at the failed batch, and its error
// states how many records of that kind were written before it. Writing the
// same world again sends the same records, which the store's idempotent bulk
// writes absorb, so it completes the dataset. Users keep their IDs and
// e-mails whatever the seed, so worlds with other seeds overwrite each
// other's users and titles but add up their events: write a world into an
// empty store.
func (w *World) Write(ctx context.Context, store Store, opts Options) (Report, error) {
	start := time.Now()
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	wr := &writer{world: w, store: store, opts: opts, log: opts.Logger}

	wr.log.Info("synth write started", "seed", w.cfg.Seed, "titles", len(w.titles), "users", len(w.users))
	err := wr.run(ctx)
	wr.report.Elapsed = time.Since(start)
	if err != nil {
		return wr.report, fmt.Errorf("write synthetic dataset (seed %d): %w", w.cfg.Seed, err)
	}
	wr.log.Info("synth write finished", "ratings", wr.report.Ratings, "watches", wr.report.Watches,
		"elapsed", wr.report.Elapsed)
	return wr.report, nil
}

// writer holds the state of one Write call.
type writer struct {
	world  *World
	store  Store
	opts   Options
	log    *slog.Logger
	report Report
	done   int // users whose events were drawn
}

func (wr *writer) run(ctx context.Context) error {
	stages := []func(context.Context) error{wr.writeTitles, wr.writeUsers, wr.writeEvents}
	for _, stage := range stages {
		if err := stage(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (wr *writer) writeTitles(ctx context.Context) error {
	titles := wr.world.titles
	return writeAll(ctx, wr, StageTitles, titles, wr.store.PutTitles, &wr.report.Titles)
}

func (wr *writer) writeUsers(ctx context.Context) error {
	users := wr.world.users
	return writeAll(ctx, wr, StageUsers, users, wr.store.PutUsers, &wr.report.Users)
}

// writeAll writes records in batches and counts them in *written.
func writeAll[T any](ctx context.Context, wr *writer, stage string, records []T,
	write func(context.Context, []T) error, written *int) error {
	start := time.Now()
	total := len(records)
	for len(records) > 0 {
		n := min(wr.opts.BatchSize, len(records))
		if err := send(ctx, stage, records[:n:n], write, written); err != nil {
			return err
		}
		records = records[n:]
		wr.progress(stage, *written, total)
	}
	wr.log.Info("synth records written", "stage", stage, "count", *written, "elapsed", time.Since(start))
	return nil
}

// send writes a non-empty batch of what (titles, users, ratings or watch
// events) unless ctx is done, and adds it to *written.
func send[T any](ctx context.Context, what string, batch []T, write func(context.Context, []T) error, written *int) error {
	if len(batch) == 0 {
		return nil
	}
	err := ctx.Err()
	if err == nil {
		err = write(ctx, batch)
	}
	if err != nil {
		return fmt.Errorf("write %s: %d written before the failed batch of %d; writing the same config again finishes the job: %w",
			what, *written, len(batch), err)
	}
	*written += len(batch)
	return nil
}

// writeEvents draws each user's events in turn and writes them in batches
// of ratings and batches of watch events.
func (wr *writer) writeEvents(ctx context.Context) error {
	start := time.Now()
	size := wr.opts.BatchSize
	ratings := make([]data.Rating, 0, size)
	watches := make([]data.WatchEvent, 0, size)
	for u := range wr.world.users {
		rs, ws := wr.world.userEvents(u)
		wr.done = u + 1
		var err error
		if ratings, err = queue(ctx, wr, "ratings", ratings, rs, wr.store.PutRatings, &wr.report.Ratings); err != nil {
			return err
		}
		if watches, err = queue(ctx, wr, "watch events", watches, ws, wr.store.AppendWatches, &wr.report.Watches); err != nil {
			return err
		}
	}

	if err := send(ctx, "ratings", ratings, wr.store.PutRatings, &wr.report.Ratings); err != nil {
		return err
	}
	if err := send(ctx, "watch events", watches, wr.store.AppendWatches, &wr.report.Watches); err != nil {
		return err
	}
	wr.progress(StageEvents, wr.done, len(wr.world.users))
	wr.log.Info("synth events written", "ratings", wr.report.Ratings, "watches", wr.report.Watches,
		"elapsed", time.Since(start))
	return nil
}

// queue appends records to a pending batch, writing it each time it fills,
// and returns what is still pending.
func queue[T any](ctx context.Context, wr *writer, what string, pending, records []T,
	write func(context.Context, []T) error, written *int) ([]T, error) {
	size := wr.opts.BatchSize
	for len(records) > 0 {
		n := min(size-len(pending), len(records))
		pending, records = append(pending, records[:n]...), records[n:]
		if len(pending) < size {
			break
		}
		if err := send(ctx, what, pending, write, written); err != nil {
			return nil, err
		}
		// A new slice, because a store may keep the one it was given.
		pending = make([]T, 0, size)
		wr.progress(StageEvents, wr.done, len(wr.world.users))
	}
	return pending, nil
}

func (wr *writer) progress(stage string, done, total int) {
	p := Progress{Stage: stage, Done: done, Total: total, Ratings: wr.report.Ratings, Watches: wr.report.Watches}
	wr.log.Debug("synth batch written", "stage", p.Stage, "done", p.Done, "total", p.Total,
		"ratings", p.Ratings, "watches", p.Watches)
	if wr.opts.Progress != nil {
		wr.opts.Progress(p)
	}
}
