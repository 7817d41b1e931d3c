package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/marquee/marquee/data"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// storeSchema lists the migrations of the store schema in order: entry i
// takes the schema from version i to version i+1. A released entry never
// changes, so a schema change is a new entry.
var storeSchema = []string{`
CREATE TABLE users (
	id               TEXT PRIMARY KEY,
	email            TEXT NOT NULL,
	email_key        TEXT NOT NULL, -- the e-mail in lower case, '' when there is none
	name             TEXT NOT NULL,
	password_hash    TEXT NOT NULL,
	role             TEXT NOT NULL,
	preferred_genres TEXT NOT NULL, -- JSON array
	preferred_types  TEXT NOT NULL, -- JSON array
	created_at       INTEGER,       -- UTC milliseconds, NULL for the zero time
	updated_at       INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE email_key <> '';

CREATE TABLE titles (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	name_key     TEXT NOT NULL, -- the name in lower case, for the text filter
	year         INTEGER NOT NULL,
	genres       TEXT NOT NULL, -- JSON array, as given
	type         TEXT NOT NULL,
	duration_sec INTEGER NOT NULL,
	description  TEXT NOT NULL,
	created_at   INTEGER,
	updated_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX titles_year ON titles (year, id);

-- One row per genre of a title, in lower case, for the exact genre filter.
CREATE TABLE title_genres (
	genre_key TEXT NOT NULL,
	title_id  TEXT NOT NULL REFERENCES titles (id) ON DELETE CASCADE,
	PRIMARY KEY (genre_key, title_id)
) WITHOUT ROWID;
CREATE INDEX title_genres_title ON title_genres (title_id);

-- The rating log: every rating and every deletion ever accepted.
CREATE TABLE rating_events (
	user_id    TEXT NOT NULL,
	content_id TEXT NOT NULL,
	at         INTEGER NOT NULL, -- UTC milliseconds
	deleted    INTEGER NOT NULL, -- 0 for a rating, 1 for a deletion
	value      REAL,             -- NULL for a deletion
	PRIMARY KEY (user_id, content_id, at, deleted)
) WITHOUT ROWID;
CREATE INDEX rating_events_at ON rating_events (at);

-- The latest event of each user and title, a deletion included, so that an
-- older rating arriving later cannot revive a deleted one.
CREATE TABLE ratings (
	user_id    TEXT NOT NULL,
	content_id TEXT NOT NULL,
	at         INTEGER NOT NULL,
	deleted    INTEGER NOT NULL,
	value      REAL,
	PRIMARY KEY (user_id, content_id)
) WITHOUT ROWID;

-- Count and sum of the current ratings of each title. The sum is kept in
-- half points, an integer, so it stays exact.
CREATE TABLE rating_stats (
	content_id TEXT PRIMARY KEY,
	count      INTEGER NOT NULL,
	halves     INTEGER NOT NULL
) WITHOUT ROWID;

-- Latest wins: the pair (at, deleted) orders the events of one user and
-- title, so at the same millisecond a deletion wins over a rating.
CREATE TRIGGER rating_events_apply AFTER INSERT ON rating_events BEGIN
	INSERT INTO ratings (user_id, content_id, at, deleted, value)
	VALUES (NEW.user_id, NEW.content_id, NEW.at, NEW.deleted, NEW.value)
	ON CONFLICT (user_id, content_id) DO UPDATE
	SET at = excluded.at, deleted = excluded.deleted, value = excluded.value
	WHERE (excluded.at, excluded.deleted) > (ratings.at, ratings.deleted);
END;

CREATE TRIGGER ratings_count_insert AFTER INSERT ON ratings WHEN NEW.deleted = 0 BEGIN
	INSERT INTO rating_stats (content_id, count, halves)
	VALUES (NEW.content_id, 1, CAST(NEW.value * 2 AS INTEGER))
	ON CONFLICT (content_id) DO UPDATE
	SET count = count + 1, halves = halves + excluded.halves;
END;

CREATE TRIGGER ratings_uncount_update AFTER UPDATE ON ratings WHEN OLD.deleted = 0 BEGIN
	UPDATE rating_stats
	SET count = count - 1, halves = halves - CAST(OLD.value * 2 AS INTEGER)
	WHERE content_id = OLD.content_id;
END;

CREATE TRIGGER ratings_count_update AFTER UPDATE ON ratings WHEN NEW.deleted = 0 BEGIN
	INSERT INTO rating_stats (content_id, count, halves)
	VALUES (NEW.content_id, 1, CAST(NEW.value * 2 AS INTEGER))
	ON CONFLICT (content_id) DO UPDATE
	SET count = count + 1, halves = halves + excluded.halves;
END;

CREATE TRIGGER ratings_uncount_delete AFTER DELETE ON ratings WHEN OLD.deleted = 0 BEGIN
	UPDATE rating_stats
	SET count = count - 1, halves = halves - CAST(OLD.value * 2 AS INTEGER)
	WHERE content_id = OLD.content_id;
END;

CREATE TABLE watch_events (
	user_id    TEXT NOT NULL,
	id         TEXT NOT NULL,
	content_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	position   REAL NOT NULL,
	duration   REAL NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (user_id, id)
) WITHOUT ROWID;
CREATE INDEX watch_events_user_at ON watch_events (user_id, at);
CREATE INDEX watch_events_at ON watch_events (at);
`, sessionsSchema}

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

// Store is the embedded data.Store. It is safe for concurrent use, and the
// package documentation describes how several processes share one file.
type Store struct {
	db *pools

	// Statements prepared on the read pool, for the point lookups.
	userStmt        *sql.Stmt
	userByEmailStmt *sql.Stmt
	titleStmt       *sql.Stmt
	ratingStmt      *sql.Stmt
	ratingsStmt     *sql.Stmt
	ratingStatsStmt *sql.Stmt
	watchesStmt     *sql.Stmt
}

var _ data.Store = (*Store)(nil)

// Open opens the store in the SQLite file at path, creating the file and its
// schema when missing and upgrading an older schema. Close releases it.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, wrap("open", err)
	}
	db, err := openPools(ctx, path, cfg, "store", storeSchema)
	if err != nil {
		return nil, wrap("open "+path, err)
	}

	s := &Store{db: db}
	if err := s.prepare(ctx); err != nil {
		return nil, wrap("open "+path, errors.Join(err, s.Close()))
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	statements := []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.userStmt, `SELECT ` + userColumns + ` FROM users WHERE id = ?`},
		{&s.userByEmailStmt, `SELECT ` + userColumns + ` FROM users WHERE email_key = ? AND email_key <> ''`},
		{&s.titleStmt, `SELECT ` + titleColumns + ` FROM titles WHERE id = ?`},
		{&s.ratingStmt, `SELECT value, at FROM ratings WHERE user_id = ? AND content_id = ? AND deleted = 0`},
		{&s.ratingsStmt, `SELECT content_id, value, at FROM ratings WHERE user_id = ? AND deleted = 0
			ORDER BY at DESC, content_id`},
		{&s.ratingStatsStmt, `SELECT count, halves FROM rating_stats WHERE content_id = ?`},
		{&s.watchesStmt, `SELECT ` + watchColumns + ` FROM watch_events WHERE user_id = ?
			ORDER BY at DESC, id DESC LIMIT ?`},
	}
	for _, st := range statements {
		prepared, err := s.db.read.PrepareContext(ctx, st.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", st.query, err)
		}
		*st.stmt = prepared
	}
	return nil
}

// Close closes the store. Calls after Close fail.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		s.userStmt, s.userByEmailStmt, s.titleStmt, s.ratingStmt,
		s.ratingsStmt, s.ratingStatsStmt, s.watchesStmt,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.db.close())
	return wrap("close", errors.Join(errs...))
}

// Users.

const userColumns = `id, email, name, password_hash, role, preferred_genres, preferred_types, created_at, updated_at`

const upsertUser = `INSERT INTO users (id, email, email_key, name, password_hash, role,
	preferred_genres, preferred_types, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET email = excluded.email, email_key = excluded.email_key,
	name = excluded.name, password_hash = excluded.password_hash, role = excluded.role,
	preferred_genres = excluded.preferred_genres, preferred_types = excluded.preferred_types,
	created_at = excluded.created_at, updated_at = excluded.updated_at`

// userArgs returns the column values of u in the order of upsertUser, the ID
// first.
func userArgs(u data.User) ([]any, error) {
	if u.ID == "" {
		return nil, fmt.Errorf("%w: user: id is empty", data.ErrInvalid)
	}
	genres, err := encodeStrings(u.PreferredGenres)
	if err != nil {
		return nil, err
	}
	types, err := encodeStrings(u.PreferredTypes)
	if err != nil {
		return nil, err
	}
	return []any{
		u.ID, u.Email, foldCase(u.Email), u.Name, u.PasswordHash, string(u.Role),
		genres, types, nullMillis(u.CreatedAt), nullMillis(u.UpdatedAt),
	}, nil
}

func scanUser(row interface{ Scan(...any) error }) (data.User, error) {
	var (
		u                data.User
		role             string
		genres, types    string
		created, updated sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &role, &genres, &types, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return u, data.ErrNotFound
	}
	if err != nil {
		return u, err
	}

	u.Role = data.Role(role)
	u.CreatedAt, u.UpdatedAt = fromNullMillis(created), fromNullMillis(updated)
	if u.PreferredGenres, err = decodeStrings(genres); err != nil {
		return u, err
	}
	u.PreferredTypes, err = decodeStrings(types)
	return u, err
}

// CreateUser stores a new user. It returns an error wrapping ErrConflict when
// the ID or the e-mail is taken, and ErrInvalid for an empty ID.
func (s *Store) CreateUser(ctx context.Context, u data.User) error {
	args, err := userArgs(u)
	if err != nil {
		return wrap("create user", err)
	}

	err = s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, name, password_hash, role,
			preferred_genres, preferred_types, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return err
	})
	return wrap(fmt.Sprintf("create user %q", u.ID), err)
}

// User returns the user with the given ID, or an error wrapping ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (data.User, error) {
	u, err := scanUser(s.userStmt.QueryRowContext(ctx, id))
	if err != nil {
		return data.User{}, wrap(fmt.Sprintf("user %q", id), err)
	}
	return u, nil
}

// UserByEmail returns the user whose e-mail matches, ignoring case, or an
// error wrapping ErrNotFound. An empty e-mail matches no user.
func (s *Store) UserByEmail(ctx context.Context, email string) (data.User, error) {
	u, err := scanUser(s.userByEmailStmt.QueryRowContext(ctx, foldCase(email)))
	if err != nil {
		return data.User{}, wrap(fmt.Sprintf("user by e-mail %q", email), err)
	}
	return u, nil
}

// UpdateUser replaces a stored user. It returns an error wrapping ErrNotFound
// for an unknown ID and ErrConflict when the e-mail belongs to another user.
func (s *Store) UpdateUser(ctx context.Context, u data.User) error {
	args, err := userArgs(u)
	if err != nil {
		return wrap("update user", err)
	}

	err = s.db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, email_key = ?, name = ?,
			password_hash = ?, role = ?, preferred_genres = ?, preferred_types = ?,
			created_at = ?, updated_at = ? WHERE id = ?`, append(args[1:], u.ID)...)
		if err != nil {
			return err
		}
		return requireRow(res)
	})
	return wrap(fmt.Sprintf("update user %q", u.ID), err)
}

// requireRow returns ErrNotFound when a statement changed no row.
func requireRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return data.ErrNotFound
	}
	return err
}

// DeleteUser removes a user and frees its e-mail. Deleting an unknown user
// returns nil.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
	return wrap(fmt.Sprintf("delete user %q", id), err)
}

// PutUsers upserts users by ID in one transaction. When a user's e-mail is
// held by another user, in the store or earlier in users, it returns an error
// wrapping ErrConflict and writes nothing.
func (s *Store) PutUsers(ctx context.Context, users []data.User) error {
	rows := make([][]any, len(users))
	for i, u := range users {
		args, err := userArgs(u)
		if err != nil {
			return wrap("put users", fmt.Errorf("user %d: %w", i, err))
		}
		rows[i] = args
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		return execEach(ctx, tx, upsertUser, rows)
	})
	return wrap("put users", err)
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

// Catalog.

const titleColumns = `id, name, year, genres, type, duration_sec, description, created_at, updated_at`

// titleArgs returns the column values of t in the order of PutTitles' upsert.
func titleArgs(t data.Title) ([]any, error) {
	if t.ID == "" {
		return nil, fmt.Errorf("%w: title: id is empty", data.ErrInvalid)
	}
	genres, err := encodeStrings(t.Genres)
	if err != nil {
		return nil, err
	}
	return []any{
		t.ID, t.Name, foldCase(t.Name), t.Year, genres, t.Type, t.DurationSec, t.Description,
		nullMillis(t.CreatedAt), nullMillis(t.UpdatedAt),
	}, nil
}

func scanTitle(row interface{ Scan(...any) error }) (data.Title, error) {
	var (
		t                data.Title
		genres           string
		created, updated sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.Name, &t.Year, &genres, &t.Type, &t.DurationSec, &t.Description, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, data.ErrNotFound
	}
	if err != nil {
		return t, err
	}

	t.CreatedAt, t.UpdatedAt = fromNullMillis(created), fromNullMillis(updated)
	t.Genres, err = decodeStrings(genres)
	return t, err
}

// PutTitles upserts titles by ID in one transaction. It is idempotent.
func (s *Store) PutTitles(ctx context.Context, titles []data.Title) error {
	rows := make([][]any, len(titles))
	for i, t := range titles {
		args, err := titleArgs(t)
		if err != nil {
			return wrap("put titles", fmt.Errorf("title %d: %w", i, err))
		}
		rows[i] = args
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		if err := execEach(ctx, tx, `INSERT INTO titles (id, name, name_key, year, genres, type,
			duration_sec, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key,
			year = excluded.year, genres = excluded.genres, type = excluded.type,
			duration_sec = excluded.duration_sec, description = excluded.description,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, rows); err != nil {
			return err
		}
		return putTitleGenres(ctx, tx, titles)
	})
	return wrap("put titles", err)
}

// putTitleGenres replaces the rows of title_genres of each title.
func putTitleGenres(ctx context.Context, tx *sql.Tx, titles []data.Title) error {
	clearGenres, err := tx.PrepareContext(ctx, `DELETE FROM title_genres WHERE title_id = ?`)
	if err != nil {
		return err
	}
	defer clearGenres.Close()
	insert, err := tx.PrepareContext(ctx, `INSERT INTO title_genres (genre_key, title_id) VALUES (?, ?)
		ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer insert.Close()

	for _, t := range titles {
		if _, err := clearGenres.ExecContext(ctx, t.ID); err != nil {
			return fmt.Errorf("%q: %w", t.ID, err)
		}
		for _, g := range t.Genres {
			if _, err := insert.ExecContext(ctx, foldCase(g), t.ID); err != nil {
				return fmt.Errorf("%q: %w", t.ID, err)
			}
		}
	}
	return nil
}

// Title returns one title, or an error wrapping ErrNotFound.
func (s *Store) Title(ctx context.Context, id string) (data.Title, error) {
	t, err := scanTitle(s.titleStmt.QueryRowContext(ctx, id))
	if err != nil {
		return data.Title{}, wrap(fmt.Sprintf("title %q", id), err)
	}
	return t, nil
}

// Titles returns the titles with the given IDs in the requested order,
// leaving out IDs that do not exist. An ID requested twice is returned twice.
func (s *Store) Titles(ctx context.Context, ids []string) ([]data.Title, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, wrap("titles", err)
	}

	found := make(map[string]data.Title, len(ids))
	err = s.queryTitles(ctx, func(t data.Title) { found[t.ID] = t },
		`SELECT `+titleColumns+` FROM titles WHERE id IN (SELECT value FROM json_each(?))`, string(idsJSON))
	if err != nil {
		return nil, wrap("titles", err)
	}

	titles := make([]data.Title, 0, len(found))
	for _, id := range ids {
		if t, ok := found[id]; ok {
			titles = append(titles, t)
		}
	}
	return titles, nil
}

func (s *Store) queryTitles(ctx context.Context, fn func(data.Title), query string, args ...any) error {
	rows, err := s.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()

	for rows.Next() {
		t, err := scanTitle(rows)
		if err != nil {
			return err
		}
		fn(t)
	}
	return rows.Err()
}

// defaultPageSize is the page size of ListTitles when the query sets none.
const defaultPageSize = 50

// ListTitles returns one page of the titles matching q, ordered by ID. The
// cursor is the last ID of the previous page, so the pages never repeat a
// title and never skip one that exists from the first page to the last, even
// when other titles are written between calls. It returns an error wrapping
// ErrInvalid for a negative limit or a malformed cursor.
func (s *Store) ListTitles(ctx context.Context, q data.TitleQuery) (data.TitlePage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	if limit < 0 {
		return data.TitlePage{}, wrap("list titles", fmt.Errorf("%w: limit %d is negative", data.ErrInvalid, q.Limit))
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return data.TitlePage{}, wrap("list titles", err)
	}

	var page data.TitlePage
	query, args := titleListQuery(q, after, limit+1)
	err = s.queryTitles(ctx, func(t data.Title) { page.Titles = append(page.Titles, t) }, query, args...)
	if err != nil {
		return data.TitlePage{}, wrap("list titles", err)
	}

	// One row more than the page was read to learn whether another page follows.
	if len(page.Titles) > limit {
		page.Titles = page.Titles[:limit]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(page.Titles[limit-1].ID))
	}
	return page, nil
}

// titleListQuery builds the SQL of ListTitles. With a genre filter the scan
// starts from title_genres, whose key orders the titles of a genre by ID.
func titleListQuery(q data.TitleQuery, after string, limit int) (string, []any) {
	var b strings.Builder
	var args []any
	if q.Genre != "" {
		b.WriteString(`SELECT ` + prefixColumns("t.", titleColumns) + ` FROM title_genres g
			JOIN titles t ON t.id = g.title_id WHERE g.genre_key = ? AND g.title_id > ?`)
		args = append(args, foldCase(q.Genre), after)
	} else {
		b.WriteString(`SELECT ` + prefixColumns("t.", titleColumns) + ` FROM titles t WHERE t.id > ?`)
		args = append(args, after)
	}

	if q.Year != 0 {
		b.WriteString(` AND t.year = ?`)
		args = append(args, q.Year)
	}
	if q.Text != "" {
		// instr, unlike LIKE, gives % and _ in the text no special meaning.
		// NOTE: no index serves a substring, so a rare text scans titles in
		// ID order until the page is full, up to the whole catalog.
		b.WriteString(` AND instr(t.name_key, ?) > 0`)
		args = append(args, foldCase(q.Text))
	}
	b.WriteString(` ORDER BY t.id LIMIT ?`)
	args = append(args, limit)
	return b.String(), args
}

func prefixColumns(prefix, columns string) string {
	return prefix + strings.ReplaceAll(columns, ", ", ", "+prefix)
}

func decodeCursor(cursor string) (string, error) {
	after, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", fmt.Errorf("%w: cursor %q is malformed: pass TitlePage.Next unchanged", data.ErrInvalid, cursor)
	}
	return string(after), nil
}

// DeleteTitle removes a title. Deleting an unknown title returns nil.
func (s *Store) DeleteTitle(ctx context.Context, id string) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM titles WHERE id = ?`, id)
		return err
	})
	return wrap(fmt.Sprintf("delete title %q", id), err)
}

// Ratings.

// PutRatings records rating events in one transaction. Triggers of the
// schema keep the current ratings and their statistics in the same
// transaction. An event already in the log is skipped, so retries and
// re-imports change nothing. It returns an error wrapping ErrInvalid, and
// writes nothing, when any rating fails data.ValidateRating.
func (s *Store) PutRatings(ctx context.Context, ratings []data.Rating) error {
	rows := make([][]any, len(ratings))
	for i, r := range ratings {
		if err := data.ValidateRating(r); err != nil {
			return wrap("put ratings", fmt.Errorf("rating %d: %w", i, err))
		}
		rows[i] = []any{r.UserID, r.ContentID, millis(r.Time), r.Value}
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		return insertChunked(ctx, tx, `INSERT INTO rating_events (user_id, content_id, at, deleted, value)`,
			`(?, ?, ?, 0, ?)`, `ON CONFLICT DO NOTHING`, rows)
	})
	return wrap("put ratings", err)
}

// DeleteRating records the deletion of the user's current rating of a title
// at time t. It returns an error wrapping ErrNotFound when there is no current
// rating, and ErrInvalid for an empty ID or a zero time. A deletion older
// than the current rating is kept in the log and leaves the rating current,
// because the latest event wins.
func (s *Store) DeleteRating(ctx context.Context, userID, contentID string, t time.Time) error {
	op := fmt.Sprintf("delete rating of %q by %q", contentID, userID)
	if userID == "" || contentID == "" || t.IsZero() {
		return wrap(op, fmt.Errorf("%w: user id, content id and time are all required", data.ErrInvalid))
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT deleted FROM ratings WHERE user_id = ? AND content_id = ?`,
			userID, contentID).Scan(&deleted)
		if errors.Is(err, sql.ErrNoRows) || err == nil && deleted {
			return data.ErrNotFound
		}
		if err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO rating_events (user_id, content_id, at, deleted, value)
			VALUES (?, ?, ?, 1, NULL) ON CONFLICT DO NOTHING`, userID, contentID, millis(t))
		return err
	})
	return wrap(op, err)
}

// Rating returns the user's current rating of a title, or an error wrapping
// ErrNotFound.
func (s *Store) Rating(ctx context.Context, userID, contentID string) (data.Rating, error) {
	r := data.Rating{UserID: userID, ContentID: contentID}
	var at int64
	err := s.ratingStmt.QueryRowContext(ctx, userID, contentID).Scan(&r.Value, &at)
	if errors.Is(err, sql.ErrNoRows) {
		err = data.ErrNotFound
	}
	if err != nil {
		return data.Rating{}, wrap(fmt.Sprintf("rating of %q by %q", contentID, userID), err)
	}
	r.Time = fromMillis(at)
	return r, nil
}

// Ratings returns the user's current ratings, newest first. Ratings of the
// same millisecond are ordered by content ID.
func (s *Store) Ratings(ctx context.Context, userID string) ([]data.Rating, error) {
	rows, err := s.ratingsStmt.QueryContext(ctx, userID)
	if err != nil {
		return nil, wrap(fmt.Sprintf("ratings of %q", userID), err)
	}
	defer rows.Close()

	var ratings []data.Rating
	for rows.Next() {
		r := data.Rating{UserID: userID}
		var at int64
		if err := rows.Scan(&r.ContentID, &r.Value, &at); err != nil {
			return nil, wrap(fmt.Sprintf("ratings of %q", userID), err)
		}
		r.Time = fromMillis(at)
		ratings = append(ratings, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(fmt.Sprintf("ratings of %q", userID), err)
	}
	return ratings, nil
}

// RatingStats returns the count and sum of the current ratings of a title,
// read from a row kept exact by triggers in every write transaction. A title
// with no rating has zero stats.
func (s *Store) RatingStats(ctx context.Context, contentID string) (data.RatingStats, error) {
	var count, halves int64
	err := s.ratingStatsStmt.QueryRowContext(ctx, contentID).Scan(&count, &halves)
	if errors.Is(err, sql.ErrNoRows) {
		return data.RatingStats{}, nil
	}
	if err != nil {
		return data.RatingStats{}, wrap(fmt.Sprintf("rating stats of %q", contentID), err)
	}
	return data.RatingStats{Count: int(count), Sum: float64(halves) / 2}, nil
}

// Watches.

const watchColumns = `id, user_id, content_id, kind, position, duration, at`

// AppendWatches records watch events in one transaction. An event whose ID is
// already stored for its user is ignored. It returns an error wrapping
// ErrInvalid, and writes nothing, when any event fails data.ValidateWatch.
func (s *Store) AppendWatches(ctx context.Context, events []data.WatchEvent) error {
	rows := make([][]any, len(events))
	for i, w := range events {
		if err := data.ValidateWatch(w); err != nil {
			return wrap("append watches", fmt.Errorf("watch event %d: %w", i, err))
		}
		rows[i] = []any{w.ID, w.UserID, w.ContentID, string(w.Kind), w.Position, w.Duration, millis(w.Time)}
	}

	// OR IGNORE skips stored IDs as ON CONFLICT DO NOTHING would, and it also
	// spares SQLite the statement journal, because no row can then abort the
	// statement: every argument is a non-nil Go value, so no NOT NULL
	// constraint can fail. The journal took a quarter of the time of a bulk
	// append in BenchmarkAppendWatches100k.
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		return insertChunked(ctx, tx, `INSERT OR IGNORE INTO watch_events (`+watchColumns+`)`,
			`(?, ?, ?, ?, ?, ?, ?)`, ``, rows)
	})
	return wrap("append watches", err)
}

func scanWatch(row interface{ Scan(...any) error }) (data.WatchEvent, error) {
	var (
		w    data.WatchEvent
		kind string
		at   int64
	)
	err := row.Scan(&w.ID, &w.UserID, &w.ContentID, &kind, &w.Position, &w.Duration, &at)
	w.Kind, w.Time = data.WatchKind(kind), fromMillis(at)
	return w, err
}

// Watches returns the user's watch events, newest first, at most limit of
// them (all when limit <= 0). Events of the same millisecond are ordered by ID,
// descending.
func (s *Store) Watches(ctx context.Context, userID string, limit int) ([]data.WatchEvent, error) {
	if limit <= 0 {
		limit = -1 // no limit, to SQLite
	}
	rows, err := s.watchesStmt.QueryContext(ctx, userID, limit)
	if err != nil {
		return nil, wrap(fmt.Sprintf("watches of %q", userID), err)
	}
	defer rows.Close()

	var events []data.WatchEvent
	for rows.Next() {
		w, err := scanWatch(rows)
		if err != nil {
			return nil, wrap(fmt.Sprintf("watches of %q", userID), err)
		}
		events = append(events, w)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(fmt.Sprintf("watches of %q", userID), err)
	}
	return events, nil
}

// Event log.

// ScanEvents calls fn for every rating, rating deletion and watch event whose
// time falls in w: ratings first, then watch events, all read from one
// snapshot. It stops at the first error fn returns and returns that error
// unwrapped. fn runs while a read transaction is open, so it may call the
// store, but a slow fn keeps SQLite from truncating its write-ahead log.
func (s *Store) ScanEvents(ctx context.Context, w data.Window, fn func(data.Event) error) error {
	from, to := windowMillis(w)
	tx, err := s.db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return wrap("scan events", err)
	}
	defer tx.Rollback() // a read-only transaction has nothing to roll back, so its error is of no use

	scans := []struct {
		query string
		scan  func(*sql.Rows) (data.Event, error)
	}{
		{`SELECT user_id, content_id, at, deleted, value FROM rating_events WHERE at >= ? AND at < ?`, scanRatingEvent},
		{`SELECT ` + watchColumns + ` FROM watch_events WHERE at >= ? AND at < ?`, scanWatchEvent},
	}
	for _, sc := range scans {
		fnErr, err := scanEvents(ctx, tx, sc.query, from, to, sc.scan, fn)
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return wrap("scan events", err)
		}
	}
	return nil
}

// scanEvents runs query and calls fn for each event. It returns fn's error
// apart from its own, so the caller can pass the first on unwrapped.
func scanEvents(ctx context.Context, tx *sql.Tx, query string, from, to int64,
	scan func(*sql.Rows) (data.Event, error), fn func(data.Event) error) (fnErr, err error) {
	rows, err := tx.QueryContext(ctx, query, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		if err := fn(e); err != nil {
			return err, nil
		}
	}
	return nil, rows.Err()
}

func scanRatingEvent(rows *sql.Rows) (data.Event, error) {
	var (
		e       data.Event
		at      int64
		deleted bool
		value   sql.NullFloat64
	)
	err := rows.Scan(&e.UserID, &e.ContentID, &at, &deleted, &value)
	e.Type, e.Rating, e.Time = data.EventRating, value.Float64, fromMillis(at)
	if deleted {
		e.Type = data.EventRatingDeleted
	}
	return e, err
}

func scanWatchEvent(rows *sql.Rows) (data.Event, error) {
	w, err := scanWatch(rows)
	return data.WatchEventOf(w), err
}

// windowMillis returns the half-open range [from, to) of stored milliseconds
// that w contains. Stored times are whole milliseconds, so a bound that falls
// inside a millisecond is rounded up: the lower one because earlier stored
// times fall before it, the upper one because the stored time just below it
// falls inside the window.
func windowMillis(w data.Window) (from, to int64) {
	from, to = math.MinInt64, math.MaxInt64
	if !w.From.IsZero() {
		from = ceilMillis(w.From)
	}
	if !w.To.IsZero() {
		to = ceilMillis(w.To)
	}
	return from, to
}

// Encoding helpers.

// foldCase returns s in lower case, the form in which e-mails, genres and
// names are compared. strings.ToLower handles all of Unicode, unlike
// SQLite's lower(), which handles ASCII only.
// NOTE: lower-casing is not full Unicode case folding: "straße" and
// "STRASSE" stay different.
func foldCase(s string) string {
	return strings.ToLower(s)
}

// millis returns t as milliseconds since the Unix epoch, the unit of every
// time column, rounded down as data.Normalize rounds.
func millis(t time.Time) int64 {
	return t.UnixMilli()
}

// ceilMillis returns the first whole millisecond at or after t.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}

func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// nullMillis stores the zero time as NULL, so that it reads back as the zero
// time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}

func encodeStrings(s []string) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// decodeStrings returns nil for an empty list, like the zero value of a
// record.
func decodeStrings(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("decode string list %q: %w", s, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
