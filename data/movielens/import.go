package movielens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/marquee/marquee/data"
)

// File names of the MovieLens layout.
const (
	MoviesFile  = "movies.csv"
	RatingsFile = "ratings.csv"
	TagsFile    = "tags.csv"
)

// Defaults for the zero fields of [Options].
const (
	DefaultBatchSize  = 5000
	DefaultMaxBadRows = 10
)

// Store is the part of [data.Store] an import writes to. Every data.Store
// satisfies it.
type Store interface {
	PutTitles(ctx context.Context, titles []data.Title) error
	PutUsers(ctx context.Context, users []data.User) error
	PutRatings(ctx context.Context, ratings []data.Rating) error
}

var _ Store = data.Store(nil)

// Options tunes an import. The zero value is ready to use.
type Options struct {
	// BatchSize is the number of records sent in one store call; 0 means
	// DefaultBatchSize.
	BatchSize int

	// MaxBadRows is the number of bad rows kept in the report; 0 means
	// DefaultMaxBadRows and a negative value keeps none. Bad rows are
	// counted in full either way.
	MaxBadRows int

	// Progress, when set, is called from the importing goroutine after each
	// batch is written and at the end of each stage.
	Progress func(Progress)

	// Logger receives a line per stage with its counts at info level and a
	// line per batch at debug level; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxBadRows == 0 {
		o.MaxBadRows = DefaultMaxBadRows
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Import reads the MovieLens directory dir and writes its movies, users and
// ratings to store, in that order, so that a store checking references finds
// the title and the user of every rating.
//
// Before writing anything, Import checks that movies.csv and ratings.csv
// exist, or returns an error wrapping fs.ErrNotExist. It also checks the
// header of every file present, tags.csv included, or returns an error
// wrapping ErrHeader. Bad rows do not stop the import. A failed store write
// stops it with a *WriteError that states how far it got. Cancelling ctx
// stops it with an error wrapping ctx.Err(), a *WriteError when a batch was
// pending. The returned report is filled in either case.
func Import(ctx context.Context, store Store, dir string, opts Options) (ImportReport, error) {
	start := time.Now()
	opts = opts.withDefaults()
	im := &importer{
		store:  store,
		dir:    dir,
		opts:   opts,
		log:    opts.Logger,
		report: ImportReport{Dir: dir},
		movies: make(map[string]int),
	}

	im.log.Info("movielens import started", "dir", dir)
	err := im.run(ctx)
	im.report.Elapsed = time.Since(start)
	if err != nil {
		return im.report, fmt.Errorf("import movielens %s: %w", dir, err)
	}
	im.log.Info("movielens import finished", "dir", dir, "users", im.report.Users,
		"bad", im.report.BadTotal(), "elapsed", im.report.Elapsed)
	return im.report, nil
}

// importer holds the state of one Import call.
type importer struct {
	store   Store
	dir     string
	opts    Options
	log     *slog.Logger
	report  ImportReport
	movies  map[string]int // movieId → its line in movies.csv
	hasTags bool
}

func (im *importer) run(ctx context.Context) error {
	if err := im.checkFiles(); err != nil {
		return err
	}
	stages := []func(context.Context) error{im.importMovies, im.importUsers, im.importRatings, im.checkTags}
	for _, stage := range stages {
		if err := stage(ctx); err != nil {
			return err
		}
	}
	return nil
}

// checkFiles opens every file once to check its header.
func (im *importer) checkFiles() error {
	files := []struct {
		name, header string
		required     bool
	}{
		{MoviesFile, moviesHeader, true},
		{RatingsFile, ratingsHeader, true},
		{TagsFile, tagsHeader, false},
	}
	for _, f := range files {
		err := im.checkHeader(f.name, f.header)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !f.required:
			continue
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("required file %s is missing: %w", f.name, err)
		case err != nil:
			return err
		}
		if f.name == TagsFile {
			im.hasTags = true
		}
	}
	return nil
}

func (im *importer) checkHeader(name, header string) error {
	f, err := os.Open(filepath.Join(im.dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = newTable(name, f, header)
	return err
}

// eachRow calls fn with every data row of a file until fn returns an error.
// It checks ctx every few thousand rows, so that a pass that writes nothing
// also stops on cancellation.
func (im *importer) eachRow(ctx context.Context, name, header string, fn func(row) error) error {
	f, err := os.Open(filepath.Join(im.dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := newTable(name, f, header)
	if err != nil {
		return err
	}

	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return fmt.Errorf("read %s: %w", name, ctx.Err())
		}
		r, err := t.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

// bad counts a bad row of a file and keeps it for the report while there is room.
func (im *importer) bad(fr *FileReport, line int, reason error) {
	fr.Bad++
	if len(im.report.BadRows) < im.opts.MaxBadRows {
		im.report.BadRows = append(im.report.BadRows, BadRow{File: fr.File, Line: line, Reason: reason.Error()})
	}
}

// progress reports the state of a stage to the callback and the debug log.
func (im *importer) progress(p Progress) {
	im.log.Debug("movielens batch written", "stage", p.Stage, "read", p.Read, "imported", p.Imported, "bad", p.Bad)
	if im.opts.Progress != nil {
		im.opts.Progress(p)
	}
}

func (im *importer) fileProgress(fr *FileReport) func() {
	return func() {
		im.progress(Progress{Stage: fr.File, Read: fr.Read, Imported: fr.Imported, Bad: fr.Bad})
	}
}

func (im *importer) fileDone(fr *FileReport, start time.Time) {
	im.fileProgress(fr)()
	im.log.Info("movielens file imported", "file", fr.File, "read", fr.Read,
		"imported", fr.Imported, "bad", fr.Bad, "elapsed", time.Since(start))
}
