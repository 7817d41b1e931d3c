package movielens

import (
	"fmt"
	"time"
)

// ImportReport sums up an import. When Import returns an error, the report
// covers the work done before it.
type ImportReport struct {
	Dir     string
	Movies  FileReport
	Ratings FileReport
	Tags    FileReport // Imported stays 0: tags are checked and counted, never stored
	Users   int        // users written
	BadRows []BadRow   // the first Options.MaxBadRows bad rows, in reading order
	Elapsed time.Duration
}

// BadTotal returns the number of bad rows in all files.
func (r ImportReport) BadTotal() int {
	return r.Movies.Bad + r.Ratings.Bad + r.Tags.Bad
}

// FileReport counts the data rows of one file, header excluded. Once
// movies.csv or ratings.csv is done, its Read equals Imported plus Bad.
type FileReport struct {
	File     string // base name, empty for an optional file that is absent
	Read     int
	Imported int // rows written to the store
	Bad      int
}

// BadRow is a skipped row and the reason it was skipped.
type BadRow struct {
	File   string
	Line   int // 1-based line of the row
	Reason string
}

// String returns the row in the file:line: reason form of compiler messages.
func (b BadRow) String() string {
	return fmt.Sprintf("%s:%d: %s", b.File, b.Line, b.Reason)
}

// Progress is passed to Options.Progress after each batch written and at the
// end of each stage.
type Progress struct {
	Stage    string // a file name, or "users" while users are written
	Read     int    // rows read in the stage so far; users to write in the users stage
	Imported int    // records written in the stage so far
	Bad      int
}

// WriteError reports a store write that failed part-way through an import.
// Records written before the failed batch stay written; rerunning the import
// writes the rest and rewrites them unchanged.
type WriteError struct {
	Stage     string // a file name, or "users"
	FirstLine int    // lines of the failed batch; 0 in the users stage
	LastLine  int
	Written   int // records of the stage written before the failed batch
	Err       error
}

func (e *WriteError) Error() string {
	where := e.Stage
	if e.FirstLine > 0 {
		where = fmt.Sprintf("%s lines %d-%d", e.Stage, e.FirstLine, e.LastLine)
	}
	return fmt.Sprintf("write %s: %v (the stage stopped after %d records were written; importing again finishes it)",
		where, e.Err, e.Written)
}

func (e *WriteError) Unwrap() error { return e.Err }
