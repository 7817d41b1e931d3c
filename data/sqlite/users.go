package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/marquee/marquee/data"
)

const userColumns = `id, email, name, password_hash, role, preferred_genres, preferred_types, created_at, updated_at`

const upsertUser = `INSERT INTO users (id, email, email_key, name, password_hash, role,
	preferred_genres, preferred_types, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET email = excluded.email, email_key = excluded.email_key,
	name = excluded.name, password_hash = excluded.password_hash, role = excluded.role,
	preferred_genres = excluded.preferred_genres, preferred_types = excluded.preferred_types,
	created_at = excluded.created_at, updated_at = excluded.updated_at`

// emailKey returns the value of the email_key column: data.EmailKey.
//
// NOTE: rows written before the key was normalised to NFC hold the e-mail
// in lower case only. Such a row differs from its new key only when its
// address was stored in another normalisation form, which browsers and the
// API, which normalises addresses, do not send.
func emailKey(email string) string { return data.EmailKey(email) }

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
		u.ID, u.Email, emailKey(u.Email), u.Name, u.PasswordHash, string(u.Role),
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

// UserByEmail returns the user whose e-mail has the same data.EmailKey, or
// an error wrapping ErrNotFound. An empty e-mail matches no user.
func (s *Store) UserByEmail(ctx context.Context, email string) (data.User, error) {
	u, err := scanUser(s.userByEmailStmt.QueryRowContext(ctx, emailKey(email)))
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
