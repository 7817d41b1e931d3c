package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/pipeline/tables"
)

// Source is the store the export reads: its event log and its catalog. A
// source that also implements data.PartitionedScanner is read partition by
// partition, in parallel, and an interrupted export resumes where it stopped.
type Source interface {
	ScanEvents(ctx context.Context, w data.Window, fn func(data.Event) error) error
	ListTitles(ctx context.Context, q data.TitleQuery) (data.TitlePage, error)
}

// maxRowsPerFile caps a Parquet file of the export; a day with more events
// gets several part files.
const maxRowsPerFile = 1 << 20

// ExportConfig tunes the export. Zero values select the defaults.
type ExportConfig struct {
	Concurrency int           // partitions read at once; default 8
	Attempts    int           // tries per partition before the export fails; default 3
	Backoff     time.Duration // wait before the first retry, doubled each time; default 500ms
}

func (c ExportConfig) withDefaults() ExportConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	return c
}

// ExportResult describes a finished export.
type ExportResult struct {
	Window     data.Window            `json:"window"`
	Events     int                    `json:"events"`
	ByType     map[data.EventType]int `json:"by_type"`
	Partitions int                    `json:"partitions"`
	Resumed    int                    `json:"resumed_partitions"`
	Days       int                    `json:"days"`
	Files      []string               `json:"files"`
	Titles     int                    `json:"titles"`
	Seconds    float64                `json:"-"` // left out of the manifest, so a rerun writes the same bytes
}

// Export writes the events of window w and a snapshot of the catalog under
// dir, as events/date=YYYY-MM-DD/part-NNNNN.parquet and
// titles/part-00000.parquet, with a manifest.json describing both.
//
// Rows within a day are sorted by time, user, content, type and event ID, so
// exporting the same events twice, or from two different stores, writes the
// same rows. The export is built in dir+".partial" and swapped in by rename:
// dir holds either the previous export or the new one, never a mix. When a
// partition still fails after its retries, Export returns an error naming
// the partitions left and keeps the finished ones, so running it again with
// the same window reads only what remains. Once cfg.Concurrency partitions
// (at least two) have failed in a row, the store is taken to be unreachable
// and no further partition is started.
func Export(ctx context.Context, src Source, w data.Window, dir string, cfg ExportConfig, log *slog.Logger) (ExportResult, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	res := ExportResult{Window: w, ByType: map[data.EventType]int{}}

	staging := filepath.Clean(dir) + ".partial"
	parts, err := partitionsOf(ctx, src, w)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	res.Partitions = len(parts)
	days, resumed, err := collectDays(ctx, src, w, parts, staging, cfg, log)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	res.Resumed = resumed
	for _, rows := range days {
		for _, r := range rows {
			res.Events++
			res.ByType[data.EventType(r.EventType)]++
		}
	}
	titles, err := allTitles(ctx, src)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	log.Info("export: read store", "events", res.Events, "days", len(days), "titles", len(titles))

	out := filepath.Join(staging, "out")
	if err := os.RemoveAll(out); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	files, err := writeDays(ctx, out, days, log)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	rows := make([]tables.TitleRow, len(titles))
	for i, t := range titles {
		rows[i] = tables.NewTitleRow(t)
	}
	if err := tables.Write(filepath.Join(out, "titles", "part-00000.parquet"), rows); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}

	res.Days, res.Files, res.Titles = len(days), files, len(titles)
	res.Seconds = time.Since(start).Seconds()
	if err := writeJSON(filepath.Join(out, "manifest.json"), res); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	if err := tables.SyncFS(out); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	if err := replaceDir(out, dir); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	if err := os.RemoveAll(staging); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	log.Info("export: done", "events", res.Events, "files", len(files), "dir", dir, "seconds", res.Seconds)
	return res, nil
}

// collectDays reads the events of every partition, grouped by UTC day. A
// source read as one partition is read straight into memory. The partitions
// of a partitioned source are also stored in the spool in staging, so that
// a failed export resumes without reading finished partitions again: those
// an earlier run finished are read back from there. It returns how many
// partitions an earlier run had finished.
func collectDays(ctx context.Context, src Source, w data.Window, parts []data.ScanPartition, staging string,
	cfg ExportConfig, log *slog.Logger) (map[string][]tables.EventRow, int, error) {
	if len(parts) == 1 && parts[0] == wholeLog {
		days := make(map[string][]tables.EventRow)
		err := withRetries(ctx, wholeLog, cfg, log, func() error {
			clear(days)
			return src.ScanEvents(ctx, w, func(e data.Event) error {
				day := e.Time.UTC().Format(time.DateOnly)
				days[day] = append(days[day], tables.NewEventRow(e))
				return nil
			})
		})
		return days, 0, err
	}

	sp, err := openSpool(staging, w)
	if err != nil {
		return nil, 0, err
	}
	resumed := sp.doneCount(parts)
	if resumed > 0 {
		log.Info("export: resuming", "done_partitions", resumed, "partitions", len(parts))
	}
	days := newDayRows()
	if err := sp.readDone(ctx, parts, days); err != nil {
		return nil, 0, err
	}
	if err := readPartitions(ctx, src, w, parts, sp, days, cfg, log); err != nil {
		return nil, 0, err
	}
	return days.days, resumed, nil
}

// writeDays sorts and writes each day's rows, several days at once. It
// returns the written paths relative to dir, sorted.
func writeDays(ctx context.Context, dir string, days map[string][]tables.EventRow, log *slog.Logger) ([]string, error) {
	names := make([]string, 0, len(days))
	for day := range days {
		names = append(names, day)
	}
	sort.Strings(names)

	var files []string
	for _, day := range names {
		for part := 0; part*maxRowsPerFile < len(days[day]); part++ {
			files = append(files, filepath.Join("events", "date="+day, fmt.Sprintf("part-%05d.parquet", part)))
		}
	}

	// Each worker reuses one Parquet writer for all the days it writes.
	workers := runtime.GOMAXPROCS(0)
	next := make(chan string)
	g, ctx := errgroup.WithContext(ctx)
	progress := newProgress(log, "export: writing days", len(names))
	g.Go(func() error {
		defer close(next)
		for _, day := range names {
			select {
			case next <- day:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			w := tables.NewWriter[tables.EventRow]()
			for day := range next {
				if err := writeDay(w, dir, day, days[day]); err != nil {
					return err
				}
				progress.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return files, nil
}

func writeDay(w *tables.Writer[tables.EventRow], dir, day string, rows []tables.EventRow) error {
	sortEventRows(rows)
	for part := 0; part*maxRowsPerFile < len(rows); part++ {
		chunk := rows[part*maxRowsPerFile : min(len(rows), (part+1)*maxRowsPerFile)]
		name := filepath.Join(dir, "events", "date="+day, fmt.Sprintf("part-%05d.parquet", part))
		if err := w.WriteStaged(name, chunk); err != nil {
			return err
		}
	}
	return nil
}

func sortEventRows(rows []tables.EventRow) {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	sort.Slice(rows, func(a, b int) bool {
		x, y := rows[a], rows[b]
		switch {
		case x.EventTime != y.EventTime:
			return x.EventTime < y.EventTime
		case x.UserID != y.UserID:
			return x.UserID < y.UserID
		case x.ContentID != y.ContentID:
			return x.ContentID < y.ContentID
		case x.EventType != y.EventType:
			return x.EventType < y.EventType
		}
		return str(x.EventID) < str(y.EventID)
	})
}

func allTitles(ctx context.Context, src Source) ([]data.Title, error) {
	var titles []data.Title
	q := data.TitleQuery{Limit: 1000}
	for {
		page, err := src.ListTitles(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list titles: %w", err)
		}
		titles = append(titles, page.Titles...)
		if page.Next == "" {
			return titles, nil
		}
		q.Cursor = page.Next
	}
}

// ReadEvents returns every event of the export in dir, day by day in date
// order and, within a day, in the order written.
func ReadEvents(ctx context.Context, dir string) ([]data.Event, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "events", "date=*", "part-*.parquet"))
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if len(paths) == 0 && !tables.Exists(filepath.Join(dir, "manifest.json")) {
		return nil, fmt.Errorf("read events: no export in %s: run `marquee pipeline export` first", dir)
	}
	sort.Strings(paths)

	parts := make([][]tables.EventRow, len(paths))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, p := range paths {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rows, err := tables.Read[tables.EventRow](p)
			parts[i] = rows
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}

	n := 0
	for _, rows := range parts {
		n += len(rows)
	}
	events := make([]data.Event, 0, n)
	for _, rows := range parts {
		for _, r := range rows {
			events = append(events, r.Event())
		}
	}
	return events, nil
}

// ReadTitles returns the catalog snapshot of the export in dir.
func ReadTitles(dir string) ([]data.Title, error) {
	rows, err := tables.Read[tables.TitleRow](filepath.Join(dir, "titles", "part-00000.parquet"))
	if err != nil {
		return nil, fmt.Errorf("read titles: %w", err)
	}
	titles := make([]data.Title, len(rows))
	for i, r := range rows {
		titles[i] = r.Title()
	}
	return titles, nil
}

// replaceDir moves staging to dir, replacing what dir held. Between the two
// renames dir briefly does not exist, but it never holds a mix of both.
func replaceDir(staging, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = fmt.Sprintf("%s.old-%d", dir, time.Now().UnixNano())
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(staging, dir); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
