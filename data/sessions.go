package data

import (
	"context"
	"time"
)

// Session is one sign-in of a user: a family of refresh tokens in which each
// token replaces the one before. The store keeps only a hash of the current
// token, never the token.
type Session struct {
	ID        string
	UserID    string
	TokenHash string    // hash of the current refresh token
	CreatedAt time.Time // when the user signed in
	ExpiresAt time.Time // after it the session cannot be refreshed
	RevokedAt time.Time // zero while the session is active
}

// Active reports whether the session may still be used at time t.
func (s Session) Active(t time.Time) bool {
	return s.RevokedAt.IsZero() && t.Before(s.ExpiresAt)
}

// Sessions stores sign-in sessions. It is a port of its own, apart from
// [Store], so that a deployment may keep sessions in another system than
// its events.
type Sessions interface {
	// CreateSession stores a new session. It returns ErrConflict when the ID
	// is taken, and ErrInvalid when the ID, the user ID or the hash is empty
	// or ExpiresAt is zero. Nothing is written in either case.
	CreateSession(ctx context.Context, s Session) error

	// Session returns the session with the given ID, revoked or not, or
	// ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)

	// RotateSession replaces the token hash of an active session with
	// newHash, but only when the stored hash is oldHash: of two calls with
	// the same oldHash, at most one succeeds. It returns ErrNotFound for an
	// unknown session and ErrConflict, writing nothing, when the session is
	// revoked or its hash is not oldHash. It does not look at ExpiresAt.
	RotateSession(ctx context.Context, id, oldHash, newHash string) error

	// RevokeSession marks a session revoked at time t. It is idempotent: an
	// unknown or already revoked session is left as it is and nil returned.
	RevokeSession(ctx context.Context, id string, t time.Time) error

	// RevokeUserSessions revokes every active session of a user at time t.
	// It is idempotent.
	RevokeUserSessions(ctx context.Context, userID string, t time.Time) error
}

// EventEraser is implemented by stores that can erase a user's events, for
// the deletion of an account.
type EventEraser interface {
	// EraseUserEvents removes every rating event, rating deletion and watch
	// event of a user, and the user's current ratings, so that RatingStats
	// no longer counts them and ScanEvents no longer returns them. It is
	// idempotent; erasing a user without events returns nil. Events of the
	// user written afterwards are stored as usual when they are newer than
	// every erased event. A store that orders writes by event time, as the
	// Cassandra store does, may keep hiding an older one.
	EraseUserEvents(ctx context.Context, userID string) error
}
