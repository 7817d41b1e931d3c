package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/marquee/marquee/data"
)

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

// Watch returns the user's stored watch event with the ID eventID, or an
// error wrapping ErrNotFound.
func (s *Store) Watch(ctx context.Context, userID, eventID string) (data.WatchEvent, error) {
	w, err := scanWatch(s.watchStmt.QueryRowContext(ctx, userID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		err = data.ErrNotFound
	}
	if err != nil {
		return data.WatchEvent{}, wrap(fmt.Sprintf("watch event %q of %q", eventID, userID), err)
	}
	return w, nil
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

// foldCase returns s in lower case, the form in which e-mails, genres and
// names are compared. strings.ToLower handles all of Unicode, unlike
