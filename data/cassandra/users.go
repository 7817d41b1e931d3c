package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// staleClaimAge is how old an e-mail claim must be before another user may
// take it over, when the user who claimed it does not hold that e-mail. A
// create or an update claims the e-mail and then writes the user within
// milliseconds. An older claim was left by a writer that crashed or failed
// in between.
const staleClaimAge = time.Minute

// emailKey returns the form under which an e-mail is claimed:
// data.EmailKey, so that e-mails are compared in NFC and without case.
//
// NOTE: claims written before the key was normalised to NFC hold the
// e-mail in lower case only. Such a claim differs from its new key only
// when its address was stored in another normalisation form, which
// browsers and the API, which normalises addresses, do not send.
func emailKey(email string) string {
	return data.EmailKey(email)
}

func validateUser(u data.User) error {
	if u.ID == "" {
		return invalidf("user: id is empty")
	}
	return nil
}

func normalizeUser(u data.User) data.User {
	u.CreatedAt = data.Normalize(u.CreatedAt)
	u.UpdatedAt = data.Normalize(u.UpdatedAt)
	return u
}

// userArgs returns the values of userColumns for u.
func userArgs(u data.User) []any {
	return []any{u.ID, u.Email, u.Name, u.PasswordHash, string(u.Role), u.PreferredGenres, u.PreferredTypes, u.CreatedAt, u.UpdatedAt}
}

// CreateUser stores a new user. It first claims the lower-cased e-mail with
// a lightweight transaction, then inserts the user if its ID is free, and
// releases the claim when the insert certainly failed. It returns
// data.ErrConflict when the ID or the e-mail is taken.
func (s *Store) CreateUser(ctx context.Context, u data.User) error {
	if err := validateUser(u); err != nil {
		return wrap("create user", err)
	}
	u = normalizeUser(u)
	email := emailKey(u.Email)
	claimed := false
	if email != "" {
		var err error
		if claimed, err = s.claimEmail(ctx, email, u.ID); err != nil {
			return wrap("create user", err)
		}
	}
	applied, _, err := s.cas(ctx, s.q.insertUserIfAbsent, userArgs(u)...)
	if err == nil && !applied {
		err = fmt.Errorf("%w: user id %q is taken", data.ErrConflict, u.ID)
	}
	if err != nil && claimed {
		s.releaseAfterFailure(ctx, email, u.ID, err)
	}
	return wrap("create user", err)
}

// releaseAfterFailure frees an e-mail claimed for a user write that failed.
// After a timeout the write may have been applied, so the claim stays: a
// claim whose user does not hold the e-mail is taken over once stale.
func (s *Store) releaseAfterFailure(ctx context.Context, email, userID string, cause error) {
	if unavailable(cause) {
		return
	}
	if err := s.releaseEmail(context.WithoutCancel(ctx), email, userID); err != nil {
		s.log.Warn("e-mail claim left after a failed write", slog.String("user_id", userID), slog.String("error", err.Error()))
	}
}

// cas runs a lightweight transaction and returns whether it applied and,
// when it did not, the current values of the row.
func (s *Store) cas(ctx context.Context, cql string, args ...any) (bool, map[string]any, error) {
	current := make(map[string]any)
	applied, err := s.session.Query(cql, args...).MapScanCASContext(ctx, current)
	return applied, current, err
}

// claimEmail claims email for userID. It reports whether this call created
// the claim, and returns data.ErrConflict when another live user holds it.
func (s *Store) claimEmail(ctx context.Context, email, userID string) (bool, error) {
	now := data.Normalize(time.Now())
	applied, current, err := s.cas(ctx, s.q.claimEmail, email, userID, now)
	if err != nil || applied {
		return applied, err
	}
	owner, _ := current["user_id"].(string)
	claimedAt, _ := current["claimed_at"].(time.Time)
	if owner == userID {
		return false, nil
	}
	live, err := s.claimIsLive(ctx, email, owner, claimedAt)
	if err != nil {
		return false, err
	}
	if !live {
		applied, _, err = s.cas(ctx, s.q.takeOverEmail, userID, now, email, owner, claimedAt)
	}
	if err == nil && (live || !applied) {
		err = fmt.Errorf("%w: e-mail is registered to another user", data.ErrConflict)
	}
	return err == nil, err
}

// claimIsLive reports whether a claim of email by owner still counts: the
// owner holds that e-mail, or the claim is too recent to be abandoned.
func (s *Store) claimIsLive(ctx context.Context, email, owner string, claimedAt time.Time) (bool, error) {
	u, err := s.user(ctx, owner)
	switch {
	case err == nil && emailKey(u.Email) == email:
		return true, nil
	case err != nil && !errors.Is(err, gocql.ErrNotFound):
		return false, err
	}
	return time.Since(claimedAt) < staleClaimAge, nil
}

// releaseEmail deletes the claim of email if userID holds it.
func (s *Store) releaseEmail(ctx context.Context, email, userID string) error {
	_, _, err := s.cas(ctx, s.q.releaseEmail, email, userID)
	return err
}

// user reads a user, returning the driver's error.
func (s *Store) user(ctx context.Context, id string) (data.User, error) {
	var u data.User
	var role string
	err := s.session.Query(s.q.selectUser, id).Idempotent(true).ScanContext(ctx,
		&u.ID, &u.Email, &u.Name, &u.PasswordHash, &role, &u.PreferredGenres, &u.PreferredTypes, &u.CreatedAt, &u.UpdatedAt)
	u.Role = data.Role(role)
	return u, err
}

// User returns the user with the given ID, or data.ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (data.User, error) {
	u, err := s.user(ctx, id)
	return u, wrap("user", err)
}

// UserByEmail returns the user who holds the e-mail, compared
// case-insensitively, or data.ErrNotFound. A claim whose user no longer
// holds the e-mail is not a match.
func (s *Store) UserByEmail(ctx context.Context, email string) (data.User, error) {
	key := emailKey(email)
	if key == "" {
		return data.User{}, wrap("user by email", data.ErrNotFound)
	}
	var owner string
	var claimedAt time.Time
	err := s.session.Query(s.q.selectEmail, key).Idempotent(true).ScanContext(ctx, &owner, &claimedAt)
	if err != nil {
		return data.User{}, wrap("user by email", err)
	}
	u, err := s.user(ctx, owner)
	if err == nil && emailKey(u.Email) != key {
		err = gocql.ErrNotFound
	}
	if err != nil {
		return data.User{}, wrap("user by email", err)
	}
	return u, nil
}

// UpdateUser replaces a stored user. A changed e-mail is claimed before the
// user is written and the old one released after.
func (s *Store) UpdateUser(ctx context.Context, u data.User) error {
	if err := validateUser(u); err != nil {
		return wrap("update user", err)
	}
	u = normalizeUser(u)
	old, err := s.user(ctx, u.ID)
	if err != nil {
		return wrap("update user", err)
	}
	newEmail, oldEmail := emailKey(u.Email), emailKey(old.Email)
	claimed := false
	if newEmail != "" && newEmail != oldEmail {
		if claimed, err = s.claimEmail(ctx, newEmail, u.ID); err != nil {
			return wrap("update user", err)
		}
	}
	if err := s.updateUserIfPresent(ctx, u); err != nil {
		if claimed {
			s.releaseAfterFailure(ctx, newEmail, u.ID, err)
		}
		return wrap("update user", err)
	}
	if oldEmail != "" && oldEmail != newEmail {
		return wrap("update user: release old e-mail", s.releaseEmail(ctx, oldEmail, u.ID))
	}
	return nil
}

func (s *Store) updateUserIfPresent(ctx context.Context, u data.User) error {
	args := append(userArgs(u)[1:], u.ID)
	applied, _, err := s.cas(ctx, s.q.updateUserIfPresent, args...)
	if err == nil && !applied {
		return gocql.ErrNotFound
	}
	return err
}

// DeleteUser removes a user, then frees its e-mail. Deleting an unknown user
// returns nil.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	old, err := s.user(ctx, id)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil
	}
	if err != nil {
		return wrap("delete user", err)
	}
	if _, _, err := s.cas(ctx, s.q.deleteUser, id); err != nil {
		return wrap("delete user", err)
	}
	if email := emailKey(old.Email); email != "" {
		return wrap("delete user: release e-mail", s.releaseEmail(ctx, email, id))
	}
	return nil
}

// PutUsers upserts users by ID, for bulk import, with up to
// cfg.Concurrency users in flight. It first checks every e-mail, and
// returns data.ErrConflict without writing anything when another user
// holds one. Then it claims each e-mail, writes each user and releases the
// e-mails that users no longer hold. A user listed twice is written as its last copy.
// A write that races with a registration of the same e-mail may still
// fail with data.ErrConflict after other users were written.
func (s *Store) PutUsers(ctx context.Context, users []data.User) error {
	users, err := uniqueUsers(users)
	if err != nil {
		return wrap("put users", err)
	}
	held := make([]string, len(users))
	err = s.parallel(ctx, len(users), s.cfg.Concurrency, func(ctx context.Context, i int) error {
		var err error
		held[i], err = s.checkPut(ctx, users[i])
		return err
	})
	if err != nil {
		return wrap("put users", err)
	}
	err = s.parallel(ctx, len(users), s.cfg.Concurrency, func(ctx context.Context, i int) error {
		return s.putUser(ctx, users[i], held[i])
	})
	return wrap("put users", err)
}

// uniqueUsers validates users, keeps the last copy of each ID and rejects
// two IDs with one e-mail.
func uniqueUsers(users []data.User) ([]data.User, error) {
	index := make(map[string]int, len(users))
	owners := make(map[string]string)
	out := make([]data.User, 0, len(users))
	for _, u := range users {
		if err := validateUser(u); err != nil {
			return nil, err
		}
		if email := emailKey(u.Email); email != "" {
			if other, ok := owners[email]; ok && other != u.ID {
				return nil, fmt.Errorf("%w: users %q and %q have the same e-mail", data.ErrConflict, other, u.ID)
			}
			owners[email] = u.ID
		}
		if i, ok := index[u.ID]; ok {
			out[i] = normalizeUser(u)
			continue
		}
		index[u.ID] = len(out)
		out = append(out, normalizeUser(u))
	}
	return out, nil
}

// checkPut returns the e-mail key that u's stored copy holds, and
// data.ErrConflict when u's e-mail is held by another live user.
func (s *Store) checkPut(ctx context.Context, u data.User) (string, error) {
	old, err := s.user(ctx, u.ID)
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return "", err
	}
	held, email := emailKey(old.Email), emailKey(u.Email)
	if email == "" || email == held {
		return held, nil
	}
	var owner string
	var claimedAt time.Time
	err = s.session.Query(s.q.selectEmail, email).Idempotent(true).ScanContext(ctx, &owner, &claimedAt)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && owner == u.ID) {
		return held, nil
	}
	if err != nil {
		return "", err
	}
	live, err := s.claimIsLive(ctx, email, owner, claimedAt)
	if err == nil && live {
		err = fmt.Errorf("%w: user %q: e-mail is registered to another user", data.ErrConflict, u.ID)
	}
	return held, err
}

// putUser claims u's e-mail, writes u and releases the e-mail it held.
func (s *Store) putUser(ctx context.Context, u data.User, held string) error {
	email := emailKey(u.Email)
	if email != "" {
		if _, err := s.claimEmail(ctx, email, u.ID); err != nil {
			return fmt.Errorf("user %q: %w", u.ID, err)
		}
	}
	if err := s.session.Query(s.q.upsertUser, userArgs(u)...).Idempotent(true).ExecContext(ctx); err != nil {
		return err
	}
	if held != "" && held != email {
		return s.releaseEmail(ctx, held, u.ID)
	}
	return nil
}
