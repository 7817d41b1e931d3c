package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/marquee/marquee/data"
)

func fullUser(id, email string) data.User {
	return data.User{
		ID:              id,
		Email:           email,
		Name:            "Name of " + id,
		PasswordHash:    "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		Role:            data.RoleUser,
		PreferredGenres: []string{"Drama", "Science Fiction"},
		PreferredTypes:  []string{"movie", "series"},
		CreatedAt:       at(1),
		UpdatedAt:       at(2),
	}
}

func testUserRoundTrip(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	want := fullUser("u1", "Ann@Example.com")
	want.Role = data.RoleAdmin
	must(t, "CreateUser", s.CreateUser(ctx, want))

	got, err := s.User(ctx, "u1")
	must(t, "User", err)
	checkUser(t, "User(u1)", got, want)

	got, err = s.UserByEmail(ctx, "Ann@Example.com")
	must(t, "UserByEmail", err)
	checkUser(t, "UserByEmail(Ann@Example.com)", got, want)

	bare := data.User{ID: "u2"}
	must(t, "CreateUser", s.CreateUser(ctx, bare))
	got, err = s.User(ctx, "u2")
	must(t, "User", err)
	checkUser(t, "User(u2) with zero fields", got, bare)
}

func testUserUnknown(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, fullUser("u1", "ann@example.com")))

	_, err := s.User(ctx, "nobody")
	wantErr(t, "User(nobody)", err, data.ErrNotFound)
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantErr(t, "UserByEmail(nobody@example.com)", err, data.ErrNotFound)
	err = s.UpdateUser(ctx, fullUser("nobody", "x@example.com"))
	wantErr(t, "UpdateUser(nobody)", err, data.ErrNotFound)
	_, err = s.User(ctx, "nobody")
	wantErr(t, "User(nobody) after UpdateUser", err, data.ErrNotFound)
	must(t, "DeleteUser(nobody)", s.DeleteUser(ctx, "nobody"))
}

func testUserEmptyID(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()

	wantErr(t, "CreateUser with empty ID", s.CreateUser(ctx, data.User{Email: "a@example.com"}), data.ErrInvalid)
	err := s.PutUsers(ctx, []data.User{{ID: "u1"}, {Email: "b@example.com"}})
	wantErr(t, "PutUsers with an empty ID", err, data.ErrInvalid)
	_, err = s.User(ctx, "u1")
	wantErr(t, "User(u1) after rejected PutUsers", err, data.ErrNotFound)
}

func testCreateUserTakenID(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	first := fullUser("u1", "first@example.com")
	must(t, "CreateUser", s.CreateUser(ctx, first))

	err := s.CreateUser(ctx, fullUser("u1", "second@example.com"))
	wantErr(t, "CreateUser with a taken ID", err, data.ErrConflict)

	got, err := s.User(ctx, "u1")
	must(t, "User", err)
	checkUser(t, "User(u1) after conflict", got, first)
	_, err = s.UserByEmail(ctx, "second@example.com")
	wantErr(t, "UserByEmail(second@example.com)", err, data.ErrNotFound)
}

func testCreateUserTakenEmail(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	tests := []struct{ name, first, second string }{
		{"same", "same@example.com", "same@example.com"},
		{"upper case", "upper@example.com", "UPPER@EXAMPLE.COM"},
		{"mixed case", "Ann.Lee@Example.com", "ann.lEE@example.COM"},
		{"non-ASCII", "élodie@exemple.fr", "ÉLODIE@EXEMPLE.FR"},
		// One address in Unicode NFC (U+00E9) and in NFD (e, U+0301).
		{"NFC then NFD", "ren\u00e9@example.com", "rene\u0301@example.com"},
		{"NFD then NFC", "zoe\u0301@example.com", "zo\u00e9@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			firstID, secondID := tc.name+" 1", tc.name+" 2"
			must(t, "CreateUser", s.CreateUser(ctx, fullUser(firstID, tc.first)))

			err := s.CreateUser(ctx, fullUser(secondID, tc.second))
			wantErr(t, "CreateUser("+tc.second+")", err, data.ErrConflict)
			_, err = s.User(ctx, secondID)
			wantErr(t, "User of the rejected user", err, data.ErrNotFound)

			got, err := s.UserByEmail(ctx, tc.second)
			must(t, "UserByEmail", err)
			if got.ID != firstID || got.Email != tc.first {
				t.Errorf("UserByEmail(%q): got %q with e-mail %q, want %q with %q", tc.second, got.ID, got.Email, firstID, tc.first)
			}
		})
	}
}

func testCreateUserConcurrentEmail(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	emails := []string{"race@example.com", "RACE@example.com", "Race@Example.Com"}

	const n = 24
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.CreateUser(ctx, fullUser(fmt.Sprintf("u%02d", i), emails[i%len(emails)]))
		})
	}
	wg.Wait()

	winner := ""
	for i, err := range errs {
		id := fmt.Sprintf("u%02d", i)
		switch {
		case err == nil && winner == "":
			winner = id
		case err == nil:
			t.Errorf("CreateUser(%s): succeeded after %s had succeeded with the same e-mail", id, winner)
		default:
			wantErr(t, "CreateUser("+id+")", err, data.ErrConflict)
		}
	}
	if winner == "" {
		t.Fatalf("CreateUser: none of %d concurrent calls succeeded", n)
	}

	got, err := s.UserByEmail(ctx, "race@example.com")
	must(t, "UserByEmail", err)
	if got.ID != winner {
		t.Errorf("UserByEmail: got %q, want the only user created, %q", got.ID, winner)
	}
	for i := range n {
		id := fmt.Sprintf("u%02d", i)
		if _, err := s.User(ctx, id); id != winner {
			wantErr(t, "User("+id+") of a rejected create", err, data.ErrNotFound)
		}
	}
}

func testUsersWithoutEmail(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	for _, id := range []string{"u1", "u2", "u3"} {
		must(t, "CreateUser("+id+") without e-mail", s.CreateUser(ctx, data.User{ID: id}))
	}
	must(t, "PutUsers without e-mail", s.PutUsers(ctx, []data.User{{ID: "u4"}, {ID: "u5"}}))

	_, err := s.UserByEmail(ctx, "")
	wantErr(t, `UserByEmail("")`, err, data.ErrNotFound)
}

func testUpdateUser(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, fullUser("u1", "old@example.com")))

	updated := data.User{
		ID: "u1", Email: "New@Example.com", Name: "New Name", PasswordHash: "hash2",
		Role: data.RoleAdmin, PreferredGenres: []string{"Horror"}, CreatedAt: at(1), UpdatedAt: at(5),
	}
	must(t, "UpdateUser", s.UpdateUser(ctx, updated))

	got, err := s.User(ctx, "u1")
	must(t, "User", err)
	checkUser(t, "User(u1) after UpdateUser", got, updated)
	got, err = s.UserByEmail(ctx, "new@example.com")
	must(t, "UserByEmail(new)", err)
	checkUser(t, "UserByEmail(new@example.com)", got, updated)
	_, err = s.UserByEmail(ctx, "old@example.com")
	wantErr(t, "UserByEmail(old@example.com)", err, data.ErrNotFound)

	// The old e-mail is free again, and a user may change the case of its own.
	must(t, "CreateUser with the freed e-mail", s.CreateUser(ctx, fullUser("u2", "OLD@example.com")))
	updated.Email = "NEW@EXAMPLE.COM"
	must(t, "UpdateUser changing the case of its own e-mail", s.UpdateUser(ctx, updated))
}

func testUpdateUserTakenEmail(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	u1, u2 := fullUser("u1", "one@example.com"), fullUser("u2", "two@example.com")
	must(t, "CreateUser(u1)", s.CreateUser(ctx, u1))
	must(t, "CreateUser(u2)", s.CreateUser(ctx, u2))

	changed := u2
	changed.Email, changed.Name = "ONE@example.com", "changed"
	wantErr(t, "UpdateUser to a taken e-mail", s.UpdateUser(ctx, changed), data.ErrConflict)

	got, err := s.User(ctx, "u2")
	must(t, "User(u2)", err)
	checkUser(t, "User(u2) after conflict", got, u2)
	got, err = s.UserByEmail(ctx, "one@example.com")
	must(t, "UserByEmail(one)", err)
	checkUser(t, "UserByEmail(one@example.com)", got, u1)
}

func testDeleteUserFreesEmail(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, fullUser("u1", "ann@example.com")))

	must(t, "DeleteUser", s.DeleteUser(ctx, "u1"))
	_, err := s.User(ctx, "u1")
	wantErr(t, "User(u1) after delete", err, data.ErrNotFound)
	_, err = s.UserByEmail(ctx, "ann@example.com")
	wantErr(t, "UserByEmail after delete", err, data.ErrNotFound)
	must(t, "DeleteUser again", s.DeleteUser(ctx, "u1"))

	must(t, "CreateUser with the freed e-mail", s.CreateUser(ctx, fullUser("u2", "Ann@example.com")))
	must(t, "CreateUser with the deleted ID", s.CreateUser(ctx, fullUser("u1", "")))
}

func testPutUsersIdempotent(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	users := []data.User{fullUser("u1", "one@example.com"), fullUser("u2", ""), fullUser("u3", "three@example.com")}
	must(t, "PutUsers", s.PutUsers(ctx, users))
	must(t, "PutUsers again", s.PutUsers(ctx, users))
	for _, want := range users {
		got, err := s.User(ctx, want.ID)
		must(t, "User", err)
		checkUser(t, "User("+want.ID+")", got, want)
	}

	// An upsert replaces the whole user, e-mail included.
	replaced := fullUser("u1", "renamed@example.com")
	replaced.Name, replaced.PreferredGenres = "Renamed", nil
	must(t, "PutUsers replacing u1", s.PutUsers(ctx, []data.User{replaced}))
	got, err := s.User(ctx, "u1")
	must(t, "User", err)
	checkUser(t, "User(u1) after upsert", got, replaced)
	_, err = s.UserByEmail(ctx, "one@example.com")
	wantErr(t, "UserByEmail of the replaced e-mail", err, data.ErrNotFound)

	must(t, "PutUsers with no users", s.PutUsers(ctx, nil))
}

func testPutUsersTakenEmail(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, fullUser("u1", "one@example.com")))
	tests := []struct {
		name  string
		batch []data.User
	}{
		{"held by a stored user", []data.User{fullUser("u2", "two@example.com"), fullUser("u3", "ONE@example.com")}},
		{"twice in the batch", []data.User{fullUser("u4", "dup@example.com"), fullUser("u5", "Dup@Example.com")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "PutUsers", s.PutUsers(ctx, tc.batch), data.ErrConflict)
			for _, u := range tc.batch {
				_, err := s.User(ctx, u.ID)
				wantErr(t, "User("+u.ID+") of a rejected batch", err, data.ErrNotFound)
			}
			got, err := s.UserByEmail(ctx, "one@example.com")
			must(t, "UserByEmail", err)
			if got.ID != "u1" {
				t.Errorf("UserByEmail(one@example.com): got %q, want u1", got.ID)
			}
		})
	}
}
