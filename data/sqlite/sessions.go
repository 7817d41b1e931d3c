package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/marquee/marquee/data"
)

// sessionsSchema is the second migration of the store schema: sign-in
// sessions, keyed by ID, with an index to revoke all sessions of a user.
const sessionsSchema = `
CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	token_hash TEXT NOT NULL,
	created_at INTEGER,          -- UTC milliseconds, NULL for the zero time
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER           -- NULL while the session is active
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
`

var (
	_ data.Sessions    = (*Store)(nil)
	_ data.EventEraser = (*Store)(nil)
)

// CreateSession stores a new session. It returns an error wrapping
// ErrConflict when the ID is taken and ErrInvalid for a session without an
// ID, a user ID, a token hash or an expiry time. Creating a session also
// deletes the sessions of the same user that expired before its CreatedAt,
// so that a user's rows do not pile up.
func (s *Store) CreateSession(ctx context.Context, sess data.Session) error {
	if sess.ID == "" || sess.UserID == "" || sess.TokenHash == "" || sess.ExpiresAt.IsZero() {
		return wrap("create session", fmt.Errorf("%w: session: id, user id, token hash and expiry are all required", data.ErrInvalid))
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		if !sess.CreatedAt.IsZero() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND expires_at < ?`,
				sess.UserID, millis(sess.CreatedAt)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?)`, sess.ID, sess.UserID, sess.TokenHash, nullMillis(sess.CreatedAt),
			millis(sess.ExpiresAt), nullMillis(sess.RevokedAt))
		return err
	})
	return wrap(fmt.Sprintf("create session %q", sess.ID), err)
}

// Session returns the session with the given ID, or an error wrapping
// ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (data.Session, error) {
	var (
		sess             data.Session
		created, revoked sql.NullInt64
		expires          int64
	)
	err := s.db.read.QueryRowContext(ctx, `SELECT id, user_id, token_hash, created_at, expires_at, revoked_at
		FROM sessions WHERE id = ?`, id).Scan(&sess.ID, &sess.UserID, &sess.TokenHash, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		err = data.ErrNotFound
	}
	if err != nil {
		return data.Session{}, wrap(fmt.Sprintf("session %q", id), err)
	}
	sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt = fromNullMillis(created), fromMillis(expires), fromNullMillis(revoked)
	return sess, nil
}

// RotateSession replaces the token hash of an active session when the stored
// hash is oldHash, in one conditional UPDATE, so two rotations of the same
// token cannot both succeed. It returns an error wrapping ErrNotFound for an
// unknown session and ErrConflict for a revoked one or another hash.
func (s *Store) RotateSession(ctx context.Context, id, oldHash, newHash string) error {
	op := fmt.Sprintf("rotate session %q", id)
	if newHash == "" {
		return wrap(op, fmt.Errorf("%w: new token hash is empty", data.ErrInvalid))
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET token_hash = ?
			WHERE id = ? AND token_hash = ? AND revoked_at IS NULL`, newHash, id, oldHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}

		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return data.ErrNotFound
		}
		if err != nil {
			return err
		}
		return data.ErrConflict
	})
	return wrap(op, err)
}

// RevokeSession marks a session revoked at time t, unless it already is.
func (s *Store) RevokeSession(ctx context.Context, id string, t time.Time) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
			millis(t), id)
		return err
	})
	return wrap(fmt.Sprintf("revoke session %q", id), err)
}

// RevokeUserSessions marks every active session of a user revoked at time t.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, t time.Time) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
			millis(t), userID)
		return err
	})
	return wrap(fmt.Sprintf("revoke sessions of %q", userID), err)
}

// EraseUserEvents removes a user's rating log, current ratings and watch
// events in one transaction. Deleting the current ratings fires the schema's
// triggers, which take them out of rating_stats in the same transaction.
func (s *Store) EraseUserEvents(ctx context.Context, userID string) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		for _, query := range []string{
			`DELETE FROM ratings WHERE user_id = ?`,
			`DELETE FROM rating_events WHERE user_id = ?`,
			`DELETE FROM watch_events WHERE user_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, query, userID); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(fmt.Sprintf("erase events of %q", userID), err)
}
