package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/pipeline/tables"
)

// wholeLog is the one partition of a source that cannot be partitioned.
var wholeLog = data.ScanPartition{Key: "all"}

// partitionsOf returns the partitions of a partitioned source, and one
// partition for any other source.
func partitionsOf(ctx context.Context, src Source, w data.Window) ([]data.ScanPartition, error) {
	ps, ok := src.(data.PartitionedScanner)
	if !ok {
		return []data.ScanPartition{wholeLog}, nil
	}
	parts, err := ps.ScanPartitions(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("plan partitions: %w", err)
	}
	return parts, nil
}

func scanPartition(ctx context.Context, src Source, p data.ScanPartition, w data.Window, fn func(data.Event) error) error {
	if ps, ok := src.(data.PartitionedScanner); ok && p != wholeLog {
		return ps.ScanPartition(ctx, p, w, fn)
	}
	return src.ScanEvents(ctx, w, fn)
}

// spool holds the rows of finished partitions of an export in progress, one
// Parquet file each, and the list of finished partition keys. It lives in the
// export's staging directory and survives a failed run, which is what makes
// the export resumable. A spool made for another window is discarded.
//
// A partition is listed as finished only once its file is on disk. finish
// writes the file without syncing it. checkpoint, called at most once per
// checkpointEvery and at the end of the reads, syncs the file system and
// then saves the list. A crash loses at most the partitions finished since
// the last checkpoint, and a rerun reads them again. Syncing each file and
// saving the list after each partition cost two fsync calls per partition,
// 2,880 for an export of 1,440 small partitions.
type spool struct {
	dir     string
	writers sync.Pool // of *tables.Writer[tables.EventRow]

	mu       sync.Mutex // guards the fields below
	progress spoolProgress
	done     map[string]bool // the keys of progress.Done
	pending  []string        // finished partitions not yet in progress.Done
	saved    time.Time       // time of the last checkpoint
}

// checkpointEvery bounds how often the spool syncs its files and saves the
// list of finished partitions.
const checkpointEvery = 2 * time.Second

type spoolProgress struct {
	Window data.Window `json:"window"`
	Done   []string    `json:"done"`
}

func openSpool(dir string, w data.Window) (*spool, error) {
	sp := &spool{dir: dir, done: make(map[string]bool), saved: time.Now()}
	b, err := os.ReadFile(sp.progressPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open spool: %w", err)
	default:
		if json.Unmarshal(b, &sp.progress) == nil && sp.progress.Window.From.Equal(w.From) && sp.progress.Window.To.Equal(w.To) {
			for _, k := range sp.progress.Done {
				sp.done[k] = true
			}
			return sp, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o755); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	sp.progress = spoolProgress{Window: w}
	return sp, sp.save()
}

func (sp *spool) progressPath() string { return filepath.Join(sp.dir, "progress.json") }

func (sp *spool) path(p data.ScanPartition) string {
	sum := sha256.Sum256([]byte(p.Key))
	return filepath.Join(sp.dir, "spool", hex.EncodeToString(sum[:12])+".parquet")
}

func (sp *spool) save() error {
	b, err := json.Marshal(sp.progress)
	if err != nil {
		return err
	}
	return writeFileAtomic(sp.progressPath(), b)
}

// isDone reports whether an earlier run finished p.
func (sp *spool) isDone(p data.ScanPartition) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.done[p.Key]
}

func (sp *spool) doneCount(parts []data.ScanPartition) int {
	n := 0
	for _, p := range parts {
		if sp.isDone(p) {
			n++
		}
	}
	return n
}

// finish stores a partition's rows and records it as finished at the next
// checkpoint.
func (sp *spool) finish(p data.ScanPartition, rows []tables.EventRow) error {
	w, _ := sp.writers.Get().(*tables.Writer[tables.EventRow])
	if w == nil {
		w = tables.NewWriter[tables.EventRow]()
	}
	err := w.WriteStaged(sp.path(p), rows)
	sp.writers.Put(w)
	if err != nil {
		return err
	}

	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.pending = append(sp.pending, p.Key)
	if time.Since(sp.saved) < checkpointEvery {
		return nil
	}
	return sp.checkpointLocked()
}

// checkpoint makes the files of finished partitions durable, then lists
// the partitions as done.
func (sp *spool) checkpoint() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.checkpointLocked()
}

func (sp *spool) checkpointLocked() error {
	sp.saved = time.Now()
	if len(sp.pending) == 0 {
		return nil
	}
	if err := tables.SyncFS(sp.dir); err != nil {
		return fmt.Errorf("checkpoint spool: %w", err)
	}
	sp.progress.Done = append(sp.progress.Done, sp.pending...)
	sp.pending = sp.pending[:0]
	if err := sp.save(); err != nil {
		return fmt.Errorf("checkpoint spool: %w", err)
	}
	return nil
}

// dayRows collects the rows of an export by UTC day. It is safe for
// concurrent use.
type dayRows struct {
	mu   sync.Mutex // guards days
	days map[string][]tables.EventRow
}

func newDayRows() *dayRows {
	return &dayRows{days: make(map[string][]tables.EventRow)}
}

func (d *dayRows) add(rows []tables.EventRow) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var day string
	var start, end int64 // the last day, [start, end) in milliseconds; none at first
	for _, r := range rows {
		if r.EventTime < start || r.EventTime >= end {
			t := time.UnixMilli(r.EventTime).UTC()
			day = t.Format(time.DateOnly)
			start = dayOf(t).UnixMilli()
			end = start + msPerDay
		}
		d.days[day] = append(d.days[day], r)
	}
}

const msPerDay = 24 * 60 * 60 * 1000

func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// readDone reads back the rows of the partitions that an earlier run
// finished into days, several files at once.
func (sp *spool) readDone(ctx context.Context, parts []data.ScanPartition, days *dayRows) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, p := range parts {
		if !sp.isDone(p) {
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rows, err := tables.Read[tables.EventRow](sp.path(p))
			if err != nil {
				return fmt.Errorf("read spool: %w", err)
			}
			days.add(rows)
			return nil
		})
	}
	return g.Wait()
}

// readPartitions reads every partition not yet done, with bounded
// concurrency, retrying each failed read with exponential backoff. When
// some partition still fails, it returns an error that counts and names
// what remains.
//
// Partitions that fail all their attempts one after another, with none
// finishing in between, mean that the store is unreachable rather than that
// one partition is bad. Once cfg.Concurrency of them (at least two) have
// failed in a row, no further partition is started, so that the export
// fails in about the time of one partition's retries instead of retrying
// every partition in turn. The reads in flight still finish.
func readPartitions(ctx context.Context, src Source, w data.Window, parts []data.ScanPartition, sp *spool, days *dayRows,
	cfg ExportConfig, log *slog.Logger) error {
	var todo []data.ScanPartition
	for _, p := range parts {
		if !sp.isDone(p) {
			todo = append(todo, p)
		}
	}
	prog := newProgress(log, "export: reading partitions", len(todo))
	stopAfter := max(cfg.Concurrency, 2)

	var (
		mu         sync.Mutex // guards the variables below
		failed     []string
		notStarted []string
		firstErr   error
		inARow     int // partitions failed since the last one finished
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Concurrency)
	for _, p := range todo {
		g.Go(func() error {
			mu.Lock()
			stop := inARow >= stopAfter
			if stop {
				notStarted = append(notStarted, p.Key)
			}
			mu.Unlock()
			if stop {
				return nil
			}

			err := readPartition(gctx, src, w, p, sp, days, cfg, log)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				inARow = 0
				prog.Add(1)
			case gctx.Err() == nil:
				failed = append(failed, p.Key)
				if firstErr == nil {
					firstErr = err
				}
				if inARow++; inARow == stopAfter {
					log.Warn("export: partitions keep failing, starting no more", "failed_in_a_row", inARow)
				}
				return nil
			}
			return err
		})
	}
	err := g.Wait()
	if cpErr := sp.checkpoint(); err == nil {
		err = cpErr
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(failed) == 0 {
		return nil
	}
	return remainingError(len(parts), failed, notStarted, cfg.Attempts, stopAfter, firstErr)
}

// remainingError describes the partitions an export left unread: those
// that failed every attempt, and those not started after stopAfter
// failures in a row.
func remainingError(parts int, failed, notStarted []string, attempts, stopAfter int, firstErr error) error {
	sort.Strings(failed)
	left := append(append([]string(nil), failed...), notStarted...)
	counts := fmt.Sprintf("%d failed after %d attempts", len(failed), attempts)
	if len(notStarted) > 0 {
		counts += fmt.Sprintf(", %d not started after %d failed in a row", len(notStarted), stopAfter)
	}
	names := strings.Join(left[:min(len(left), 10)], ", ")
	if len(left) > 10 {
		names += fmt.Sprintf(" and %d more", len(left)-10)
	}
	return fmt.Errorf("%d of %d partitions not read: %s; first error: %w; remaining: %s; run the export again with the same window, or `marquee pipeline run --resume`, to resume",
		len(left), parts, counts, firstErr, names)
}

// readPartition reads one partition, with retries, stores its rows in the
// spool and adds them to days.
func readPartition(ctx context.Context, src Source, w data.Window, p data.ScanPartition, sp *spool, days *dayRows,
	cfg ExportConfig, log *slog.Logger) error {
	var rows []tables.EventRow
	err := withRetries(ctx, p, cfg, log, func() error {
		rows = rows[:0]
		return scanPartition(ctx, src, p, w, func(e data.Event) error {
			rows = append(rows, tables.NewEventRow(e))
			return nil
		})
	})
	if err != nil {
		return err
	}
	if err := sp.finish(p, rows); err != nil {
		return err
	}
	days.add(rows)
	return nil
}

// withRetries calls read up to cfg.Attempts times, waiting with exponential
// backoff between attempts, until it succeeds or ctx ends.
func withRetries(ctx context.Context, p data.ScanPartition, cfg ExportConfig, log *slog.Logger, read func() error) error {
	wait := cfg.Backoff
	var err error
	for attempt := 1; attempt <= cfg.Attempts; attempt++ {
		if err = read(); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt < cfg.Attempts {
			log.Warn("export: partition read failed, retrying", "partition", p.Key, "attempt", attempt, "err", err, "wait", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
			wait *= 2
		}
	}
	return fmt.Errorf("partition %s: %w", p.Key, err)
}
