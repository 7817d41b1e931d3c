package cassandra

import (
	"context"
	"errors"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

var _ data.Sessions = (*Store)(nil)

// sessionRetention is how long a session's rows outlive its expiry before
// their TTL removes them.
const sessionRetention = 24 * time.Hour

// sessionStatements holds the CQL of the session methods, qualified with
// the keyspace.
type sessionStatements struct {
	insert, insertByUser, selectOne, selectByUser, rotate, revoke string
}

func newSessionStatements(keyspace string) sessionStatements {
	sessions, byUser := keyspace+".sessions", keyspace+".sessions_by_user"
	return sessionStatements{
		insert:       "INSERT INTO " + sessions + " (id, user_id, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
		insertByUser: "INSERT INTO " + byUser + " (user_id, session_id) VALUES (?, ?) USING TTL ?",
		selectOne:    "SELECT id, user_id, token_hash, created_at, expires_at, revoked_at FROM " + sessions + " WHERE id = ?",
		selectByUser: "SELECT session_id FROM " + byUser + " WHERE user_id = ?",
		rotate:       "UPDATE " + sessions + " USING TTL ? SET token_hash = ? WHERE id = ? IF token_hash = ? AND revoked_at = null",
		revoke:       "UPDATE " + sessions + " USING TTL ? SET revoked_at = ? WHERE id = ? IF user_id = ? AND revoked_at = null",
	}
}

// sessionTTL returns the TTL, in seconds, of a write to a session that
// expires at expires: until a day after expiry, and at least a second.
func sessionTTL(expires time.Time) int {
	return max(1, int(time.Until(expires.Add(sessionRetention))/time.Second))
}

// CreateSession stores a new session with a lightweight transaction. It
// returns data.ErrConflict when the ID is taken and data.ErrInvalid when a
// required field is empty.
func (s *Store) CreateSession(ctx context.Context, sess data.Session) error {
	if sess.ID == "" || sess.UserID == "" || sess.TokenHash == "" || sess.ExpiresAt.IsZero() {
		return wrap("create session", invalidf("session: id, user id, token hash and expiry are all required"))
	}
	q, ttl := newSessionStatements(s.cfg.Keyspace), sessionTTL(sess.ExpiresAt)
	err := s.session.Query(q.insertByUser, sess.UserID, sess.ID, ttl).Idempotent(true).ExecContext(ctx)
	if err != nil {
		return wrap("create session", err)
	}
	applied, _, err := s.cas(ctx, q.insert, sess.ID, sess.UserID, sess.TokenHash, nullTime(sess.CreatedAt),
		data.Normalize(sess.ExpiresAt), nullTime(sess.RevokedAt), ttl)
	if err == nil && !applied {
		err = fmt.Errorf("%w: session id %q is taken", data.ErrConflict, sess.ID)
	}
	return wrap("create session", err)
}

// nullTime returns nil for the zero time, which Cassandra stores as null.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return data.Normalize(t)
}

// Session returns a session, or data.ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (data.Session, error) {
	sess, err := s.readSession(ctx, id)
	return sess, wrap("session", err)
}

func (s *Store) readSession(ctx context.Context, id string) (data.Session, error) {
	var sess data.Session
	err := s.session.Query(newSessionStatements(s.cfg.Keyspace).selectOne, id).Idempotent(true).ScanContext(ctx,
		&sess.ID, &sess.UserID, &sess.TokenHash, &sess.CreatedAt, &sess.ExpiresAt, &sess.RevokedAt)
	if err == nil && sess.UserID == "" {
		// Only cells written after the row's others expired are left.
		err = gocql.ErrNotFound
	}
	if err != nil {
		return data.Session{}, err
	}
	sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt = utcOrZero(sess.CreatedAt), sess.ExpiresAt.UTC(), utcOrZero(sess.RevokedAt)
	return sess, nil
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() || t.Equal(time.UnixMilli(0)) {
		return time.Time{}
	}
	return t.UTC()
}

// RotateSession replaces the token hash of an active session if it is
// oldHash, with a lightweight transaction.
func (s *Store) RotateSession(ctx context.Context, id, oldHash, newHash string) error {
	if newHash == "" {
		return wrap("rotate session", invalidf("new token hash is empty"))
	}
	sess, err := s.readSession(ctx, id)
	if err != nil {
		return wrap("rotate session", err)
	}
	q := newSessionStatements(s.cfg.Keyspace)
	applied, _, err := s.cas(ctx, q.rotate, sessionTTL(sess.ExpiresAt), newHash, id, oldHash)
	if err == nil && !applied {
		err = fmt.Errorf("%w: session %q is revoked or its token was replaced", data.ErrConflict, id)
	}
	return wrap("rotate session", err)
}

// RevokeSession marks a session revoked at t unless it already is.
func (s *Store) RevokeSession(ctx context.Context, id string, t time.Time) error {
	return wrap("revoke session", s.revoke(ctx, id, "", t))
}

// RevokeUserSessions revokes every active session of a user.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, t time.Time) error {
	q := newSessionStatements(s.cfg.Keyspace)
	iter := s.session.Query(q.selectByUser, userID).Idempotent(true).IterContext(ctx)
	var ids []string
	var id string
	for iter.Scan(&id) {
		ids = append(ids, id)
	}
	if err := iter.Close(); err != nil {
		return wrap("revoke user sessions", err)
	}
	for _, id := range ids {
		if err := s.revoke(ctx, id, userID, t); err != nil {
			return wrap("revoke user sessions", err)
		}
	}
	return nil
}

// revoke revokes session id if it is active and, when userID is set,
// belongs to that user. A missing or already revoked session is no error.
func (s *Store) revoke(ctx context.Context, id, userID string, t time.Time) error {
	sess, err := s.readSession(ctx, id)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !sess.RevokedAt.IsZero() || (userID != "" && sess.UserID != userID) {
		return nil
	}
	q := newSessionStatements(s.cfg.Keyspace)
	_, _, err = s.cas(ctx, q.revoke, sessionTTL(sess.ExpiresAt), data.Normalize(t), id, sess.UserID)
	return err
}
