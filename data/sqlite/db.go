package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/marquee/marquee/data"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Option changes a setting of Open or OpenLists.
type Option func(*config)

type config struct {
	busyTimeout time.Duration
	busyRetries int
	readConns   int
	now         func() time.Time
}

func newConfig(opts []Option) (config, error) {
	c := config{busyTimeout: 5 * time.Second, busyRetries: 3, readConns: 4, now: time.Now}
	for _, opt := range opts {
		opt(&c)
	}

	switch {
	case c.busyTimeout <= 0:
		return c, fmt.Errorf("busy timeout %v is not positive", c.busyTimeout)
	case c.readConns < 1:
		return c, fmt.Errorf("read connections %d is less than 1", c.readConns)
	case c.now == nil:
		return c, errors.New("clock is nil")
	}
	return c, nil
}

// WithBusyTimeout sets how long a statement waits for a lock that another
// process holds, 5 seconds by default. A write transaction that still finds
// the lock held is retried whole up to 3 times.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
}

// WithReadConns sets how many idle read connections a handle keeps open, 4 by
// default. It does not limit how many reads run at once.
func WithReadConns(n int) Option {
	return func(c *config) { c.readConns = n }
}

// WithClock sets the clock that Lists uses to stamp PublishedAt, time.Now by
// default. Store reads no clock: it keeps the times it is given.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// pools is the pair of connection pools of one database file.
type pools struct {
	write   *sql.DB // a single connection: writes of this handle queue in Go, not on the SQLite lock
	read    *sql.DB // read-only connections
	retries int
}

// openPools opens the database at path, creating it when missing, and
// brings the schema called name up to date with migrations.
func openPools(ctx context.Context, path string, cfg config, name string, migrations []string) (*pools, error) {
	writeDSN, err := dsn(path, cfg, true)
	if err != nil {
		return nil, err
	}
	readDSN, err := dsn(path, cfg, false)
	if err != nil {
		return nil, err
	}

	w, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	p := &pools{write: w, retries: cfg.busyRetries}
	if err := p.migrate(ctx, name, migrations); err != nil {
		return nil, errors.Join(err, w.Close())
	}

	r, err := sql.Open("sqlite", readDSN)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	r.SetMaxIdleConns(cfg.readConns)
	p.read = r
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(err, p.close())
	}
	return p, nil
}

// dsn returns the modernc.org/sqlite data source name for path. Write
// connections begin every transaction with BEGIN IMMEDIATE, which takes the
// write lock up front: a deferred transaction that reads first and then
// writes can fail with SQLITE_BUSY at once, without waiting, when another
// process committed in between.
func dsn(path string, cfg config, write bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}

	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if write {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "cache_size(-32768)") // 32 MiB, for bulk imports
		// A statement that changes many rows, as a multi-row insert or one
		// that fires triggers does, keeps a statement journal to undo itself
		// on error. Kept in memory, the journal costs no system calls.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
		// Reading pages through a memory map avoids a system call per page
		// that misses the connection's page cache. The size is the most of
		// the file mapped, not memory allocated.
		q.Add("_pragma", "mmap_size(1073741824)") // 1 GiB
	}
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode(), nil
}

// migrate applies the migrations the database lacks in one transaction and
// records the new version. Concurrent callers are serialised by the write
// lock, so the second finds the schema current and changes nothing.
func (p *pools) migrate(ctx context.Context, name string, migrations []string) error {
	return p.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			name    TEXT PRIMARY KEY,
			version INTEGER NOT NULL
		) WITHOUT ROWID`)
		if err != nil {
			return fmt.Errorf("create schema_version: %w", err)
		}

		var version int
		err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE name = ?`, name).Scan(&version)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(migrations) {
			return fmt.Errorf("schema %s is at version %d but this program supports versions up to %d: run a newer program", name, version, len(migrations))
		}

		for v := version; v < len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema %s to version %d: %w", name, v+1, err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (name, version) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version`, name, len(migrations))
		return err
	})
}

// update runs fn in a write transaction and commits it. A transaction that
// fails because another process held the database lock past the busy timeout
// is retried whole, so fn must have no effect outside tx.
func (p *pools) update(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := p.updateOnce(ctx, fn)
		if !isBusy(err) || attempt == p.retries {
			return err
		}

		pause := time.NewTimer(time.Duration(attempt+1) * 50 * time.Millisecond)
		select {
		case <-ctx.Done():
			pause.Stop()
			return errors.Join(err, ctx.Err())
		case <-pause.C:
		}
	}
}

func (p *pools) updateOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := p.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of a rollback that found the transaction already
// ended, as it is when a cancelled context rolled it back.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

func (p *pools) close() error {
	var err error
	if p.read != nil {
		err = p.read.Close()
	}
	return errors.Join(err, p.write.Close())
}

// sqliteCode returns the primary SQLite result code of err, or 0 when err does
// not come from SQLite.
func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code() & 0xff
	}
	return 0
}

func isBusy(err error) bool {
	code := sqliteCode(err)
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

func isUniqueViolation(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// wrap prefixes err with the operation that failed and adds the data sentinel
// that an SQLite error stands for. It returns nil for a nil err.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: %s: %w: %w", op, data.ErrConflict, err)
	case isBusy(err):
		return fmt.Errorf("sqlite: %s: %w: %w", op, data.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// execEach runs query once for each row of arguments through one prepared
// statement. An error names the row, whose first argument is its key.
func execEach(ctx context.Context, tx *sql.Tx, query string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()

	for _, args := range rows {
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("%q: %w", args[0], err)
		}
	}
	return nil
}

// chunkRows is how many rows insertChunked writes per statement. Each
// statement costs a call through database/sql, and SQLite copies every page
// it changes into a statement journal once per statement. Chunks of 256 rows
// made BenchmarkPutRatings100k about twice as fast as one row per statement.
const chunkRows = 256

// insertChunked runs "head VALUES row, row, ... tail" through prepared
// statements of up to chunkRows rows each. Each element of rows contains the
// arguments of one row, and row contains their placeholders, as in "(?, ?)".
func insertChunked(ctx context.Context, tx *sql.Tx, head, row, tail string, rows [][]any) error {
	var (
		stmt     *sql.Stmt
		prepared int // rows per statement of stmt
		args     []any
	)
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()

	for start := 0; start < len(rows); start += chunkRows {
		chunk := rows[start:min(start+chunkRows, len(rows))]
		if len(chunk) != prepared {
			if stmt != nil {
				stmt.Close()
			}
			query := head + " VALUES " + strings.Repeat(row+", ", len(chunk)-1) + row + " " + tail
			var err error
			if stmt, err = tx.PrepareContext(ctx, query); err != nil {
				return err
			}
			prepared = len(chunk)
		}

		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}
