package api

import (
	"context"
	"fmt"
	"time"

	"github.com/marquee/marquee/data"
)

// CreateAccount checks an e-mail, a name and a password by the rules of
// registration and stores a new account with the given role, its e-mail in
// Unicode NFC as registration stores it. It serves the
// command line, which creates the first admin. Zero fields of p take the
// defaults of Config.Passwords.
func CreateAccount(ctx context.Context, users data.Users, p PasswordParams, email, name, password string, role data.Role, now time.Time) (data.User, error) {
	email = normalizeEmail(email)
	var fe fieldErrors
	fe.checkEmail("email", email)
	fe.checkText("name", name, maxNameRunes)
	fe.checkPassword("password", password)
	if role != data.RoleUser && role != data.RoleAdmin {
		fe.add("role", "must be user or admin, got %q", role)
	}
	if err := fe.err(); err != nil {
		return data.User{}, err
	}

	pw, err := newPasswords(Config{Passwords: p}.withDefaults().Passwords)
	if err != nil {
		return data.User{}, err
	}
	hash, err := pw.hash(ctx, password)
	if err != nil {
		return data.User{}, err
	}
	now = data.Normalize(now)
	u := data.User{
		ID: "u_" + randomID(12), Email: email, Name: name, PasswordHash: hash,
		Role: role, CreatedAt: now, UpdatedAt: now,
	}
	if err := users.CreateUser(ctx, u); err != nil {
		return data.User{}, fmt.Errorf("create account: %w", err)
	}
	return u, nil
}

// SetRole gives the account with the e-mail a new role and ends its
// sessions, so that no access token with the old role stays in use.
func SetRole(ctx context.Context, users data.Users, sessions data.Sessions, email string, role data.Role, now time.Time) (data.User, error) {
	if role != data.RoleUser && role != data.RoleAdmin {
		return data.User{}, fmt.Errorf("set role: role %q is not user or admin", role)
	}
	u, err := users.UserByEmail(ctx, normalizeEmail(email))
	if err != nil {
		return data.User{}, fmt.Errorf("set role: %w", err)
	}
	if err := sessions.RevokeUserSessions(ctx, u.ID, now); err != nil {
		return data.User{}, fmt.Errorf("set role: %w", err)
	}
	u.Role, u.UpdatedAt = role, data.Normalize(now)
	if err := users.UpdateUser(ctx, u); err != nil {
		return data.User{}, fmt.Errorf("set role: %w", err)
	}
	return u, nil
}
