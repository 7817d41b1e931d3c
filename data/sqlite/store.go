package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/marquee/marquee/data"
)

// storeSchema lists the migrations of the store schema in order: entry i
// takes the schema from version i to version i+1. A released entry never
// changes, so a schema change is a new entry.
var storeSchema = []string{`
CREATE TABLE users (
	id               TEXT PRIMARY KEY,
	email            TEXT NOT NULL,
	email_key        TEXT NOT NULL, -- data.EmailKey of the e-mail, '' when there is none
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
	watchStmt       *sql.Stmt
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
		{&s.watchStmt, `SELECT ` + watchColumns + ` FROM watch_events WHERE user_id = ? AND id = ?`},
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
		s.ratingsStmt, s.ratingStatsStmt, s.watchesStmt, s.watchStmt,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.db.close())
	return wrap("close", errors.Join(errs...))
}
