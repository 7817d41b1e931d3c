package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/internal/listblob"
)

// listsSchema lists the migrations of the list store schema, in the same way
// as storeSchema.
var listsSchema = []string{`
CREATE TABLE runs (
	id           TEXT PRIMARY KEY,
	published_at INTEGER NOT NULL, -- UTC milliseconds: when the run was started, then when it was committed
	seq          INTEGER NOT NULL, -- orders runs stamped in the same millisecond
	complete     INTEGER NOT NULL,
	lists        INTEGER NOT NULL  -- number of rows in lists, kept by a trigger
) WITHOUT ROWID;

-- A rowid table, not WITHOUT ROWID: SQLite stores large rows such as these
-- blobs better in a rowid table.
CREATE TABLE lists (
	run_id TEXT NOT NULL REFERENCES runs (id),
	kind   TEXT NOT NULL,
	key    TEXT NOT NULL,
	items  BLOB NOT NULL, -- see package listblob
	PRIMARY KEY (run_id, kind, key)
);

CREATE TRIGGER lists_count AFTER INSERT ON lists BEGIN
	UPDATE runs SET lists = lists + 1 WHERE id = NEW.run_id;
END;

-- The run readers see: at most one row.
CREATE TABLE current_run (
	singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
	run_id    TEXT NOT NULL REFERENCES runs (id)
);
`, `
-- Opaque artifacts of a run, such as the item factors of its model. They do
-- not count as lists.
CREATE TABLE artifacts (
	run_id TEXT NOT NULL REFERENCES runs (id),
	name   TEXT NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (run_id, name)
);
`}

// Lists is the embedded data.Lists, the list cache of a single machine. It is
// safe for concurrent use, but its RunWriters are not. A list is stored as one
// blob under its run, kind and key, and a lookup is one primary key read.
//
// A run is visible to List only once it is complete, and a complete run never
// changes: NewRun returns an error wrapping data.ErrConflict for it.
type Lists struct {
	db  *pools
	now func() time.Time

	listStmt     *sql.Stmt
	artifactStmt *sql.Stmt
	currentStmt  *sql.Stmt
}

var _ data.Lists = (*Lists)(nil)

// OpenLists opens the list store in the SQLite file at path, creating the
// file and its schema when missing and upgrading an older schema.
func OpenLists(ctx context.Context, path string, opts ...Option) (*Lists, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, wrap("open lists", err)
	}
	db, err := openPools(ctx, path, cfg, "lists", listsSchema)
	if err != nil {
		return nil, wrap("open lists "+path, err)
	}

	l := &Lists{db: db, now: cfg.now}
	l.listStmt, err = db.read.PrepareContext(ctx, `SELECT l.items FROM lists l JOIN runs r ON r.id = l.run_id
		WHERE l.run_id = ? AND l.kind = ? AND l.key = ? AND r.complete = 1`)
	if err == nil {
		l.artifactStmt, err = db.read.PrepareContext(ctx, `SELECT a.data FROM artifacts a JOIN runs r ON r.id = a.run_id
		WHERE a.run_id = ? AND a.name = ? AND r.complete = 1`)
	}
	if err == nil {
		l.currentStmt, err = db.read.PrepareContext(ctx, `SELECT run_id FROM current_run`)
	}
	if err != nil {
		return nil, wrap("open lists "+path, errors.Join(err, l.Close()))
	}
	return l, nil
}

// Close closes the list store. Calls after Close fail.
func (l *Lists) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{l.listStmt, l.artifactStmt, l.currentStmt} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, l.db.close())
	return wrap("close lists", errors.Join(errs...))
}

// NewRun starts writing the run with the given ID, or resumes it when an
// incomplete run of that ID exists. It returns an error wrapping ErrConflict
// for a complete run and ErrInvalid for an empty ID.
func (l *Lists) NewRun(ctx context.Context, runID string) (data.RunWriter, error) {
	op := fmt.Sprintf("new run %q", runID)
	if runID == "" {
		return nil, wrap(op, fmt.Errorf("%w: run id is empty", data.ErrInvalid))
	}

	err := l.db.update(ctx, func(tx *sql.Tx) error {
		var complete bool
		err := tx.QueryRowContext(ctx, `SELECT complete FROM runs WHERE id = ?`, runID).Scan(&complete)
		switch {
		case err == nil && complete:
			return fmt.Errorf("%w: the run is complete and cannot change", data.ErrConflict)
		case err == nil:
			return nil // resume
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, published_at, seq, complete, lists)
			VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM runs), 0, 0)`, runID, millis(l.now()))
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return &runWriter{lists: l, runID: runID}, nil
}

// Current returns the ID of the run readers see, or an error wrapping
// ErrNotFound before the first commit.
func (l *Lists) Current(ctx context.Context) (string, error) {
	var runID string
	err := l.currentStmt.QueryRowContext(ctx).Scan(&runID)
	if errors.Is(err, sql.ErrNoRows) {
		err = data.ErrNotFound
	}
	if err != nil {
		return "", wrap("current run", err)
	}
	return runID, nil
}

// List returns one list of a complete run, or an error wrapping ErrNotFound
// when the run is unknown or incomplete or has no list under kind and key.
// A stored empty list is returned as a nil slice and a nil error.
func (l *Lists) List(ctx context.Context, runID string, kind data.ListKind, key string) ([]data.ScoredItem, error) {
	var blob string // a string, not []byte, so that the decoded IDs can share its memory
	err := l.listStmt.QueryRowContext(ctx, runID, string(kind), key).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		err = data.ErrNotFound
	}
	if err == nil {
		var items []data.ScoredItem
		if items, err = listblob.Decode(blob); err == nil {
			return items, nil
		}
	}
	return nil, wrap(fmt.Sprintf("list %s %q of run %q", kind, key, runID), err)
}

// Artifact returns an artifact of a complete run, or an error wrapping
// ErrNotFound when the run is unknown or incomplete or has no artifact of
// that name.
func (l *Lists) Artifact(ctx context.Context, runID, name string) ([]byte, error) {
	var b []byte
	err := l.artifactStmt.QueryRowContext(ctx, runID, name).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		err = data.ErrNotFound
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("artifact %q of run %q", name, runID), err)
	}
	return b, nil
}

// Activate makes an earlier complete run current, for rollback. It returns an
// error wrapping ErrNotFound for an unknown or incomplete run.
func (l *Lists) Activate(ctx context.Context, runID string) error {
	err := l.db.update(ctx, func(tx *sql.Tx) error {
		var complete bool
		err := tx.QueryRowContext(ctx, `SELECT complete FROM runs WHERE id = ?`, runID).Scan(&complete)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !complete {
			return data.ErrNotFound
		}
		if err != nil {
			return err
		}
		return setCurrent(ctx, tx, runID)
	})
	return wrap(fmt.Sprintf("activate run %q", runID), err)
}

func setCurrent(ctx context.Context, tx *sql.Tx, runID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO current_run (singleton, run_id) VALUES (1, ?)
		ON CONFLICT (singleton) DO UPDATE SET run_id = excluded.run_id`, runID)
	return err
}

// Runs returns the runs held, complete or not, newest first.
func (l *Lists) Runs(ctx context.Context) ([]data.PublishedRun, error) {
	rows, err := l.db.read.QueryContext(ctx, `SELECT id, published_at, lists, complete FROM runs
		ORDER BY published_at DESC, seq DESC`)
	if err != nil {
		return nil, wrap("runs", err)
	}
	defer rows.Close()

	var runs []data.PublishedRun
	for rows.Next() {
		var r data.PublishedRun
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Lists, &r.Complete); err != nil {
			return nil, wrap("runs", err)
		}
		r.PublishedAt = fromMillis(at)
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("runs", err)
	}
	return runs, nil
}

// DeleteRun removes a run and its lists. It returns an error wrapping
// ErrConflict for the current run and nil for an unknown one.
func (l *Lists) DeleteRun(ctx context.Context, runID string) error {
	err := l.db.update(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT run_id FROM current_run`).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if current == runID {
			return fmt.Errorf("%w: the run is current: activate another run first", data.ErrConflict)
		}
		return deleteRun(ctx, tx, runID, false)
	})
	return wrap(fmt.Sprintf("delete run %q", runID), err)
}

// deleteRun removes the run and its lists, or, when onlyIncomplete is set,
// does so only while the run is incomplete. An unknown run is no error.
func deleteRun(ctx context.Context, tx *sql.Tx, runID string, onlyIncomplete bool) error {
	var complete bool
	err := tx.QueryRowContext(ctx, `SELECT complete FROM runs WHERE id = ?`, runID).Scan(&complete)
	if errors.Is(err, sql.ErrNoRows) || err == nil && complete && onlyIncomplete {
		return nil
	}
	if err != nil {
		return err
	}

	// The lists and artifacts go first because their foreign keys refer to
	// the run.
	if _, err := tx.ExecContext(ctx, `DELETE FROM lists WHERE run_id = ?`, runID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM artifacts WHERE run_id = ?`, runID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, runID)
	return err
}

// runWriter is the data.RunWriter of Lists. It is not safe for concurrent
// use.
type runWriter struct {
	lists *Lists
	runID string
	done  bool // set by Commit and Abort
}

// Put writes lists in one transaction, replacing any list of the run under
// the same kind and key. It returns an error wrapping ErrInvalid, and writes
// nothing, when an entry has an unknown kind or an empty key, and
// ErrConflict when the run was committed or aborted meanwhile.
func (w *runWriter) Put(ctx context.Context, lists []data.ListEntry) error {
	op := fmt.Sprintf("put lists of run %q", w.runID)
	if w.done {
		return wrap(op, fmt.Errorf("%w: the writer was committed or aborted", data.ErrConflict))
	}
	rows := make([][]any, len(lists))
	for i, e := range lists {
		if err := validateListEntry(e); err != nil {
			return wrap(op, fmt.Errorf("list %d: %w", i, err))
		}
		rows[i] = []any{w.runID, string(e.Kind), e.Key, listblob.Encode(e.Items)}
	}

	err := w.lists.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireIncomplete(ctx, tx, w.runID); err != nil {
			return err
		}
		return insertChunked(ctx, tx, `INSERT INTO lists (run_id, kind, key, items)`, `(?, ?, ?, ?)`,
			`ON CONFLICT (run_id, kind, key) DO UPDATE SET items = excluded.items`, rows)
	})
	return wrap(op, err)
}

// PutArtifact writes an artifact of the run, replacing one of the same name.
// It returns an error wrapping ErrInvalid for an empty name and ErrConflict
// when the run was committed or aborted meanwhile.
func (w *runWriter) PutArtifact(ctx context.Context, name string, b []byte) error {
	op := fmt.Sprintf("put artifact %q of run %q", name, w.runID)
	switch {
	case w.done:
		return wrap(op, fmt.Errorf("%w: the writer was committed or aborted", data.ErrConflict))
	case name == "":
		return wrap(op, fmt.Errorf("%w: artifact name is empty", data.ErrInvalid))
	}
	err := w.lists.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireIncomplete(ctx, tx, w.runID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO artifacts (run_id, name, data) VALUES (?, ?, ?)
			ON CONFLICT (run_id, name) DO UPDATE SET data = excluded.data`, w.runID, name, b)
		return err
	})
	return wrap(op, err)
}

func validateListEntry(e data.ListEntry) error {
	switch {
	case e.Kind != data.ListUser && e.Kind != data.ListSimilar && e.Kind != data.ListTrending:
		return fmt.Errorf("%w: kind %q is not user, similar or trending", data.ErrInvalid, e.Kind)
	case e.Key == "":
		return fmt.Errorf("%w: key is empty", data.ErrInvalid)
	}
	return nil
}

// requireIncomplete returns ErrNotFound when the run does not exist and
// ErrConflict when it is complete.
func requireIncomplete(ctx context.Context, tx *sql.Tx, runID string) error {
	var complete bool
	err := tx.QueryRowContext(ctx, `SELECT complete FROM runs WHERE id = ?`, runID).Scan(&complete)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: the run was deleted", data.ErrNotFound)
	case err == nil && complete:
		return fmt.Errorf("%w: the run is complete and cannot change", data.ErrConflict)
	}
	return err
}

// Commit marks the run complete, stamps it with the current time and makes it
// current, all in one transaction.
func (w *runWriter) Commit(ctx context.Context) error {
	op := fmt.Sprintf("commit run %q", w.runID)
	if w.done {
		return wrap(op, fmt.Errorf("%w: the writer was committed or aborted", data.ErrConflict))
	}

	err := w.lists.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireIncomplete(ctx, tx, w.runID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE runs SET complete = 1, published_at = ?,
			seq = (SELECT max(seq) + 1 FROM runs) WHERE id = ?`, millis(w.lists.now()), w.runID)
		if err != nil {
			return err
		}
		return setCurrent(ctx, tx, w.runID)
	})
	if err != nil {
		return wrap(op, err)
	}
	w.done = true
	return nil
}

// Abort deletes the run and its lists, those of an earlier writer of the same
// run included. The current run is unchanged. After Commit, Abort does nothing
// and returns nil, so a deferred Abort is safe.
func (w *runWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	err := w.lists.db.update(ctx, func(tx *sql.Tx) error {
		return deleteRun(ctx, tx, w.runID, true)
	})
	if err != nil {
		return wrap(fmt.Sprintf("abort run %q", w.runID), err)
	}
	w.done = true
	return nil
}
