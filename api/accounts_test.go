package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/marquee/marquee/data"
)

func TestAccountLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		u, tok := e.signUp("ada")
		if u.Role != data.RoleUser || u.Email != e.email("ada") || u.ID == "" {
			t.Errorf("registered user = %+v, want role user and the e-mail sent", u)
		}
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Errorf("tokens = %+v, want a Bearer pair expiring in 900 s", tok)
		}

		var me userJSON
		e.call("GET", "/v1/me", tok.AccessToken, nil, http.StatusOK).decode(t, &me)
		if me.ID != u.ID {
			t.Errorf("GET /v1/me: id %q, want %q", me.ID, u.ID)
		}

		// Refresh rotates: the new pair works, the old refresh token does not.
		var next tokenJSON
		e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}, http.StatusOK).decode(t, &next)
		if next.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh returned the same refresh token")
		}
		e.call("GET", "/v1/me", next.AccessToken, nil, http.StatusOK)

		// Log out: both the access token and the refresh token stop working.
		e.call("POST", "/v1/auth/logout", next.AccessToken, nil, http.StatusNoContent)
		e.call("GET", "/v1/me", next.AccessToken, nil, http.StatusUnauthorized)
		e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}, http.StatusUnauthorized)
	})
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		_, first := e.signUp("bob")
		_, other := e.signUp("bob2") // another user's session must survive

		var second tokenJSON
		e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, http.StatusOK).decode(t, &second)

		// The replaced token comes back: someone holds a copy.
		p := e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, http.StatusUnauthorized).problem(t)
		if p.Type != "/problems/unauthorized" {
			t.Errorf("reuse: problem type %q, want /problems/unauthorized", p.Type)
		}
		// The whole family is revoked: the latest refresh token and its
		// access token fail too.
		e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}, http.StatusUnauthorized)
		e.call("GET", "/v1/me", second.AccessToken, nil, http.StatusUnauthorized)
		e.call("GET", "/v1/me", other.AccessToken, nil, http.StatusOK)
	})
}

func TestPasswordChangeRevokesEverySession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		_, phone := e.signUp("cy")
		laptop := e.login(e.email("cy"), testPassword)

		e.call("POST", "/v1/auth/password", phone.AccessToken,
			map[string]string{"current_password": "wrong password", "new_password": "a new long password"}, http.StatusForbidden)
		var fresh tokenJSON
		e.call("POST", "/v1/auth/password", phone.AccessToken,
			map[string]string{"current_password": testPassword, "new_password": "a new long password"}, http.StatusOK).decode(t, &fresh)

		for name, tok := range map[string]tokenJSON{"phone": phone, "laptop": laptop} {
			e.call("GET", "/v1/me", tok.AccessToken, nil, http.StatusUnauthorized)
			e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}, http.StatusUnauthorized)
			_ = name
		}
		e.call("GET", "/v1/me", fresh.AccessToken, nil, http.StatusOK)
		e.call("POST", "/v1/auth/login", "", map[string]string{"email": e.email("cy"), "password": testPassword}, http.StatusUnauthorized)
		e.login(e.email("cy"), "a new long password")
	})
}

// TestLoginDoesNotRevealEmails checks that an unknown e-mail and a wrong
// password get the same status and body.
func TestLoginDoesNotRevealEmails(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	e.signUp("dee")
	known := e.do(request{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": e.email("dee"), "password": "wrong password"}})
	unknown := e.do(request{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": e.email("nobody"), "password": "wrong password"}})
	if known.status != http.StatusUnauthorized || unknown.status != known.status {
		t.Fatalf("statuses: wrong password %d, unknown e-mail %d, want both 401", known.status, unknown.status)
	}
	kp, up := known.problem(t), unknown.problem(t)
	kp.RequestID, up.RequestID = "", ""
	if kp.Detail != up.Detail || kp.Type != up.Type || len(kp.Errors) != len(up.Errors) {
		t.Errorf("bodies differ: wrong password %+v, unknown e-mail %+v", kp, up)
	}
}

// TestLoginTiming checks that an unknown e-mail costs an argon2id check as
// a wrong password does, with production-size parameters.
func TestLoginTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test skipped in -short mode")
	}
	params := PasswordParams{MemoryKiB: 16 * 1024, Time: 1, Threads: 1, Concurrency: 1}
	e := newEnv(t, sqliteBackend, func(c *Config) { c.Passwords = params })
	if _, err := CreateAccount(t.Context(), e.store, params, e.email("eve"), "Eve", testPassword, data.RoleUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	login := func(email string) time.Duration {
		start := time.Now()
		e.call("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "wrong password"}, http.StatusUnauthorized)
		return time.Since(start)
	}
	// The fastest of several tries, taken in turns, is the least disturbed
	// by other work on the machine.
	known, unknown := time.Hour, time.Hour
	for range 7 {
		known = min(known, login(e.email("eve")))
		unknown = min(unknown, login(e.email("nobody")))
	}
	// Without the dummy hash, a login with an unknown e-mail would take well
	// under a tenth of the time. The bound of a quarter leaves room for noise.
	if unknown < known/4 {
		t.Errorf("login with an unknown e-mail took %v, with a wrong password %v: want about the same", unknown, known)
	}
}

func TestLoginRateLimits(t *testing.T) {
	t.Run("per account", func(t *testing.T) {
		e := newEnv(t, sqliteBackend, func(c *Config) { c.Limits.PerAccount = Rate{Burst: 3, Every: time.Hour} })
		if _, err := CreateAccount(t.Context(), e.store, testPasswords, e.email("fay"), "Fay", testPassword, data.RoleUser, time.Now()); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			e.call("POST", "/v1/auth/login", "", map[string]string{"email": e.email("fay"), "password": "wrong password"}, http.StatusUnauthorized)
		}
		// Now even the right password is refused, for this e-mail only,
		// and an unknown e-mail is limited the same way.
		resp := e.call("POST", "/v1/auth/login", "", map[string]string{"email": strings.ToUpper(e.email("fay")), "password": testPassword}, http.StatusTooManyRequests)
		if resp.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		for range 3 {
			e.call("POST", "/v1/auth/login", "", map[string]string{"email": e.email("ghost"), "password": "x"}, http.StatusUnauthorized)
		}
		e.call("POST", "/v1/auth/login", "", map[string]string{"email": e.email("ghost"), "password": "x"}, http.StatusTooManyRequests)
	})
	t.Run("per address, not fooled by X-Forwarded-For", func(t *testing.T) {
		e := newEnv(t, sqliteBackend, func(c *Config) { c.Limits.PerAddress = Rate{Burst: 2, Every: time.Hour} })
		for i := range 3 {
			resp := e.do(request{method: "POST", path: "/v1/auth/login",
				body:   map[string]string{"email": e.email("x"), "password": "x"},
				header: map[string]string{"X-Forwarded-For": "203.0.113." + string(rune('1'+i))}})
			want := http.StatusUnauthorized
			if i == 2 {
				want = http.StatusTooManyRequests
			}
			if resp.status != want {
				t.Errorf("attempt %d with a forged X-Forwarded-For: status %d, want %d", i+1, resp.status, want)
			}
		}
	})
}

func TestRegisterBadInput(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	e.signUp("taken")
	long := strings.Repeat("é", 101)
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", `{"email": "a@example.com",`, 400, "body"},
		{"not an object", `["a@example.com"]`, 400, "body"},
		{"empty body", ``, 400, "body"},
		{"two objects", `{"email":"a@b.co","password":"longenough","name":"A"} {}`, 400, "body"},
		{"wrong type", `{"email": 42, "password": "longenough", "name": "A"}`, 400, "email"},
		{"unknown field", `{"email": "a@example.com", "password": "longenough", "name": "A", "role": "admin"}`, 400, "role"},
		{"missing e-mail", map[string]string{"password": "longenough", "name": "A"}, 400, "email"},
		{"bad e-mail", map[string]string{"email": "not-an-address", "password": "longenough", "name": "A"}, 400, "email"},
		{"display name in e-mail", map[string]string{"email": "Ada <ada@example.com>", "password": "longenough", "name": "A"}, 400, "email"},
		{"short password", map[string]string{"email": e.email("p"), "password": "short", "name": "A"}, 400, "password"},
		{"long password", map[string]string{"email": e.email("p"), "password": strings.Repeat("p", 129), "name": "A"}, 400, "password"},
		{"missing name", map[string]string{"email": e.email("p"), "password": "longenough"}, 400, "name"},
		{"long name", map[string]string{"email": e.email("p"), "password": "longenough", "name": long}, 400, "name"},
		{"control character in name", map[string]string{"email": e.email("p"), "password": "longenough", "name": "A\x00B"}, 400, "name"},
		{"taken e-mail, other case", map[string]string{"email": strings.ToUpper(e.email("taken")), "password": "longenough", "name": "A"}, 409, "email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(request{method: "POST", path: "/v1/auth/register", body: tc.body})
			checkProblem(t, resp, tc.status, tc.field)
		})
	}

	t.Run("oversized body", func(t *testing.T) {
		body := `{"email": "a@example.com", "password": "longenough", "name": "` + strings.Repeat("a", 70<<10) + `"}`
		checkProblem(t, e.do(request{method: "POST", path: "/v1/auth/register", body: body}), 413, "body")
	})
	t.Run("not JSON", func(t *testing.T) {
		resp := e.do(request{method: "POST", path: "/v1/auth/register", body: "email=a", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		checkProblem(t, resp, 415, "Content-Type")
	})
	t.Run("SQL and CQL fragments are stored verbatim", func(t *testing.T) {
		name := `Robert'); DROP TABLE users; -- ' OR '1'='1; TRUNCATE marquee.users;`
		var u userJSON
		e.call("POST", "/v1/auth/register", "", map[string]string{"email": e.email("bobby"), "password": "longenough", "name": name}, 201).decode(t, &u)
		if u.Name != name {
			t.Errorf("name = %q, want %q", u.Name, name)
		}
		tok := e.login(e.email("bobby"), "longenough")
		var me userJSON
		e.call("GET", "/v1/me", tok.AccessToken, nil, 200).decode(t, &me)
		if me.Name != name {
			t.Errorf("stored name = %q, want %q", me.Name, name)
		}
	})
}

func TestLoginAndRefreshBadInput(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		field  string
	}{
		{"login without password", "/v1/auth/login", map[string]string{"email": "a@example.com"}, 400, "password"},
		{"login without e-mail", "/v1/auth/login", map[string]string{"password": "x"}, 400, "email"},
		{"login with a number", "/v1/auth/login", `{"email": "a@example.com", "password": 12345678}`, 400, "password"},
		{"refresh without token", "/v1/auth/refresh", map[string]string{}, 400, "refresh_token"},
		{"refresh with garbage", "/v1/auth/refresh", map[string]string{"refresh_token": "garbage"}, 401, ""},
		{"refresh with an unknown session", "/v1/auth/refresh", map[string]string{"refresh_token": randomID(sessionIDBytes) + "." + randomID(secretBytes)}, 401, ""},
		{"password change without token", "/v1/auth/password", map[string]string{"current_password": "x", "new_password": "longenough"}, 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkProblem(t, e.do(request{method: "POST", path: tc.path, body: tc.body}), tc.status, tc.field)
		})
	}

	_, tok := e.signUp("gil")
	for name, body := range map[string]map[string]string{
		"short new password":       {"current_password": testPassword, "new_password": "short"},
		"missing current password": {"new_password": "long enough now"},
	} {
		t.Run(name, func(t *testing.T) {
			field := "new_password"
			if body["current_password"] == "" {
				field = "current_password"
			}
			checkProblem(t, e.do(request{method: "POST", path: "/v1/auth/password", token: tok.AccessToken, body: body}), 400, field)
		})
	}
}

// TestTokenAttacks presents forged and stale access tokens.
func TestTokenAttacks(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	u, tok := e.signUp("hal")
	var claims accessClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &claims); err != nil {
		t.Fatal(err)
	}
	sign := func(method jwt.SigningMethod, key any, edit func(*accessClaims)) string {
		c := claims
		c.Audience = append(jwt.ClaimStrings(nil), claims.Audience...)
		if edit != nil {
			edit(&c)
		}
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parts := strings.Split(tok.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	adminPayload := strings.Replace(string(payload), `"role":"user"`, `"role":"admin"`, 1)

	tests := []struct {
		name  string
		token string
	}{
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)},
		{"alg none with the role raised", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, func(c *accessClaims) { c.Role = data.RoleAdmin })},
		{"HS512 with the right secret", sign(jwt.SigningMethodHS512, testSecret, nil)},
		{"another secret", sign(jwt.SigningMethodHS256, []byte("another-secret-of-forty-bytes-012345678"), nil)},
		{"expired", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		})},
		{"no expiry", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) { c.ExpiresAt = nil })},
		{"issued in the future", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
		})},
		{"wrong audience", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) { c.Audience = jwt.ClaimStrings{"other-api"} })},
		{"wrong issuer", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) { c.Issuer = "evil" })},
		{"unknown session", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) { c.SessionID = randomID(sessionIDBytes) })},
		{"another user's id in a real session", sign(jwt.SigningMethodHS256, testSecret, func(c *accessClaims) { c.Subject = "u_other" })},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(adminPayload)) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + parts[2][:5] + flip(parts[2][5]) + parts[2][6:]},
		{"two parts", parts[0] + "." + parts[1]},
		{"empty", ""},
		{"huge", strings.Repeat("a", 10_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(request{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "Bearer " + tc.token}})
			checkProblem(t, resp, http.StatusUnauthorized, "")
			if resp.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}

	t.Run("expired by the clock", func(t *testing.T) {
		e.clock.advance(16 * time.Minute)
		defer e.clock.set(0)
		checkProblem(t, e.do(request{method: "GET", path: "/v1/me", token: tok.AccessToken}), http.StatusUnauthorized, "")
	})
	t.Run("refresh after the session expired", func(t *testing.T) {
		e.clock.advance(31 * 24 * time.Hour)
		defer e.clock.set(0)
		checkProblem(t, e.do(request{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}}),
			http.StatusUnauthorized, "")
	})
	t.Run("scheme other than Bearer", func(t *testing.T) {
		resp := e.do(request{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "Basic " + tok.AccessToken}})
		checkProblem(t, resp, http.StatusUnauthorized, "")
	})
	t.Run("the real token still works", func(t *testing.T) {
		var me userJSON
		e.call("GET", "/v1/me", tok.AccessToken, nil, 200).decode(t, &me)
		if me.ID != u.ID {
			t.Errorf("id %q, want %q", me.ID, u.ID)
		}
	})
}

// flip returns another base64 character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// checkProblem fails t unless resp is a problem body with the status and,
// when field is set, an error naming field.
func checkProblem(t *testing.T, resp response, status int, field string) {
	t.Helper()
	if resp.status != status {
		t.Fatalf("status %d, want %d: %s", resp.status, status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != problemContentType {
		t.Errorf("Content-Type %q, want %q", ct, problemContentType)
	}
	p := resp.problem(t)
	if p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" || p.RequestID == "" {
		t.Errorf("problem %+v lacks status, type, title, detail or request id", p)
	}
	if field == "" {
		return
	}
	for _, fe := range p.Errors {
		if fe.Field == field && fe.Detail != "" {
			return
		}
	}
	t.Errorf("problem %+v does not name the field %q", p, field)
}

// TestEmailUnicodeNormalization registers one address in NFC ("é") and in
// NFD ("e" and a combining accent). Both render alike, so the second
// conflicts, the address is stored in NFC, and either form signs in.
func TestEmailUnicodeNormalization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		nfc := "ren\u00e9." + e.tag + "@example.com"
		nfd := "rene\u0301." + e.tag + "@example.com"
		e.call("POST", "/v1/auth/register", "", map[string]string{"email": nfc, "password": testPassword, "name": "René"}, http.StatusCreated)

		resp := e.do(request{method: "POST", path: "/v1/auth/register",
			body: map[string]string{"email": nfd, "password": testPassword, "name": "Rene"}})
		if resp.status != http.StatusConflict {
			t.Errorf("register %q after %q: status %d, expected 409: %s", nfd, nfc, resp.status, resp.body)
		}

		// An account registered in NFD is stored in NFC.
		other := "zo\u00e9." + e.tag + "@example.com"
		var u userJSON
		e.call("POST", "/v1/auth/register", "", map[string]string{"email": "zoe\u0301." + e.tag + "@example.com", "password": testPassword, "name": "Zoé"},
			http.StatusCreated).decode(t, &u)
		if u.Email != other {
			t.Errorf("registered e-mail %q, want the NFC form %q", u.Email, other)
		}
		for _, email := range []string{nfc, nfd} {
			e.login(email, testPassword)
		}
		if _, err := CreateAccount(t.Context(), e.store, testPasswords, nfd, "René", testPassword, data.RoleUser, e.clock.now()); !errors.Is(err, data.ErrConflict) {
			t.Errorf("CreateAccount(%q): %v, want ErrConflict", nfd, err)
		}
	})
}
