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
type spool struct {
	dir string

	mu       sync.Mutex
	progress spoolProgress
}

type spoolProgress struct {
	Window data.Window `json:"window"`
	Done   []string    `json:"done"`
}

func openSpool(dir string, w data.Window) (*spool, error) {
	sp := &spool{dir: dir}
	b, err := os.ReadFile(sp.progressPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open spool: %w", err)
	default:
		if json.Unmarshal(b, &sp.progress) == nil && sp.progress.Window.From.Equal(w.From) && sp.progress.Window.To.Equal(w.To) {
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

func (sp *spool) isDone(p data.ScanPartition) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, k := range sp.progress.Done {
		if k == p.Key {
			return true
		}
	}
	return false
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

// finish stores a partition's rows and records it as done.
func (sp *spool) finish(p data.ScanPartition, rows []tables.EventRow) error {
	if err := tables.Write(sp.path(p), rows); err != nil {
		return err
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.progress.Done = append(sp.progress.Done, p.Key)
	return sp.save()
}

// days reads back every partition's rows, grouped by UTC day.
func (sp *spool) days(parts []data.ScanPartition) (map[string][]tables.EventRow, error) {
	days := make(map[string][]tables.EventRow)
	for _, p := range parts {
		rows, err := tables.Read[tables.EventRow](sp.path(p))
		if err != nil {
			return nil, fmt.Errorf("read spool: %w", err)
		}
		for _, r := range rows {
			day := time.UnixMilli(r.EventTime).UTC().Format(time.DateOnly)
			days[day] = append(days[day], r)
		}
	}
	return days, nil
}

// readPartitions reads every partition not yet done, with bounded
// concurrency, retrying each failed read with exponential backoff. When some
// partition still fails, it returns an error naming what remains.
func readPartitions(ctx context.Context, src Source, w data.Window, parts []data.ScanPartition, sp *spool, cfg ExportConfig, log *slog.Logger) error {
	var todo []data.ScanPartition
	for _, p := range parts {
		if !sp.isDone(p) {
			todo = append(todo, p)
		}
	}
	prog := newProgress(log, "export: reading partitions", len(todo))

	var mu sync.Mutex
	var failed []string
	var firstErr error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Concurrency)
	for _, p := range todo {
		g.Go(func() error {
			err := readPartition(gctx, src, w, p, sp, cfg, log)
			if err != nil && gctx.Err() == nil {
				mu.Lock()
				failed = append(failed, p.Key)
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return nil
			}
			prog.Add(1)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		shown := failed[:min(len(failed), 10)]
		return fmt.Errorf("%d of %d partitions failed after %d attempts, first error: %w; remaining: %s; run the export again with the same window to resume",
			len(failed), len(parts), cfg.Attempts, firstErr, strings.Join(shown, ", "))
	}
	return nil
}

func readPartition(ctx context.Context, src Source, w data.Window, p data.ScanPartition, sp *spool, cfg ExportConfig, log *slog.Logger) error {
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
	return sp.finish(p, rows)
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
