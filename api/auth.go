package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
)

// principal is the signed-in caller of a request.
type principal struct {
	userID    string
	role      data.Role
	sessionID string
}

const principalKey = "marquee.principal"

// maxTokenBytes bounds the Authorization header value that is parsed.
const maxTokenBytes = 4096

func principalOf(c *gin.Context) (principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return principal{}, false
	}
	p, ok := v.(principal)
	return p, ok
}

// caller returns the principal that authenticate stored. Only routes behind
// authenticate call it.
func caller(c *gin.Context) principal {
	p, _ := principalOf(c)
	return p
}

// authenticate requires a valid access token whose session is still
// active, so that signing out, changing the password and deleting the
// account end access at once, not when the token expires.
func (s *Server) authenticate(c *gin.Context) {
	scheme, raw, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" || len(raw) > maxTokenBytes {
		writeError(c, unauthorized("Authorization: send `Bearer <access_token>`, with a token from /v1/auth/login"))
		return
	}
	claims, err := s.tokens.parse(strings.TrimSpace(raw))
	if err != nil {
		writeError(c, unauthorized("the access token is invalid or expired; refresh it at /v1/auth/refresh or sign in again"))
		return
	}

	sess, err := s.sessions.Session(c.Request.Context(), claims.SessionID)
	if errors.Is(err, data.ErrNotFound) || err == nil && (!sess.Active(s.now()) || sess.UserID != claims.Subject) {
		writeError(c, unauthorized("the session of this access token has ended; sign in again"))
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(principalKey, principal{userID: claims.Subject, role: claims.Role, sessionID: claims.SessionID})
	c.Next()
}

// requireAdmin lets only admins through; it runs after authenticate.
func requireAdmin(c *gin.Context) {
	if caller(c).role != data.RoleAdmin {
		writeError(c, forbidden("only admins may change the catalog"))
		return
	}
	c.Next()
}

// limitAddress applies the per-address limit of the sign-in routes.
func (s *Server) limitAddress(c *gin.Context) error {
	if ok, wait := s.byAddress.allow("addr:" + c.ClientIP()); !ok {
		return &rateLimited{retryAfter: wait}
	}
	return nil
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// register creates an account with the user role.
//
// NOTE: a taken e-mail gets 409, so registration reveals whether an e-mail
// has an account. Without an e-mail channel to confirm addresses, no
// response can hide it and still let the owner know that the account was
// not created. The per-address limit bounds how fast this can be probed.
func (s *Server) register(c *gin.Context) {
	if err := s.limitAddress(c); err != nil {
		writeError(c, err)
		return
	}
	var req registerRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	req.Email = normalizeEmail(req.Email)
	var fe fieldErrors
	fe.checkEmail("email", req.Email)
	fe.checkPassword("password", req.Password)
	fe.checkText("name", req.Name, maxNameRunes)
	if err := fe.err(); err != nil {
		writeError(c, err)
		return
	}

	ctx := c.Request.Context()
	hash, err := s.passwords.hash(ctx, req.Password)
	if err != nil {
		writeError(c, err)
		return
	}
	now := data.Normalize(s.now())
	u := data.User{
		ID: "u_" + randomID(12), Email: req.Email, Name: req.Name, PasswordHash: hash,
		Role: data.RoleUser, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, data.ErrConflict) {
			err = conflict("email", "an account with this e-mail exists; sign in, or register with another address")
		}
		writeError(c, err)
		return
	}
	c.Header("Location", "/v1/me")
	c.JSON(http.StatusCreated, userOut(u))
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// tokenJSON is the response body of login, refresh and password change.
type tokenJSON struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	ExpiresIn        int       `json:"expires_in"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

// errBadLogin is the one response to a wrong e-mail or password. It is the
// same whether or not the e-mail has an account.
var errBadLogin = unauthorized("the e-mail or the password is wrong")

// login checks an e-mail and password and starts a session. An unknown
// e-mail costs the same argon2id work as a wrong password, so neither the
// response nor its timing reveals whether the e-mail has an account.
func (s *Server) login(c *gin.Context) {
	if err := s.limitAddress(c); err != nil {
		s.metrics.logins.WithLabelValues("limited").Inc()
		writeError(c, err)
		return
	}
	var req loginRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	req.Email = normalizeEmail(req.Email)
	var fe fieldErrors
	if req.Email == "" || len(req.Email) > maxEmailBytes {
		fe.add("email", "must be 1 to %d bytes; send the e-mail of the account", maxEmailBytes)
	}
	if req.Password == "" || len(req.Password) > 4*maxPasswordRunes {
		fe.add("password", "must be 1 to %d characters; send the password of the account", maxPasswordRunes)
	}
	if err := fe.err(); err != nil {
		writeError(c, err)
		return
	}
	if ok, wait := s.byAccount.allow("email:" + data.EmailKey(req.Email)); !ok {
		s.metrics.logins.WithLabelValues("limited").Inc()
		writeError(c, &rateLimited{retryAfter: wait})
		return
	}

	ctx := c.Request.Context()
	u, err := s.store.UserByEmail(ctx, req.Email)
	if errors.Is(err, data.ErrNotFound) {
		err = s.passwords.checkDummy(ctx, req.Password)
		if err == nil {
			err = errBadLogin
		}
		s.metrics.logins.WithLabelValues("failure").Inc()
		writeError(c, err)
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	ok, stale, err := s.passwords.verify(ctx, u.PasswordHash, req.Password)
	if err != nil || !ok {
		if err == nil || errors.Is(err, errMalformedHash) {
			err = errBadLogin
		}
		s.metrics.logins.WithLabelValues("failure").Inc()
		writeError(c, err)
		return
	}
	if stale {
		s.rehash(c, u, req.Password)
	}

	out, err := s.startSession(c, u)
	if err != nil {
		writeError(c, err)
		return
	}
	s.metrics.logins.WithLabelValues("success").Inc()
	c.JSON(http.StatusOK, out)
}

// rehash replaces a password hash made with old parameters. A failure is
// logged and the sign-in goes on: the old hash still works.
func (s *Server) rehash(c *gin.Context, u data.User, password string) {
	hash, err := s.passwords.hash(c.Request.Context(), password)
	if err == nil {
		u.PasswordHash = hash
		err = s.store.UpdateUser(c.Request.Context(), u)
	}
	if err != nil {
		logger(c).Warn("rehash password", "user_id", u.ID, "err", err, "request_id", requestID(c))
	}
}

// startSession creates a session for u and returns its first tokens.
func (s *Server) startSession(c *gin.Context, u data.User) (tokenJSON, error) {
	now := s.now()
	sid := randomID(sessionIDBytes)
	refresh, hash := newRefreshToken(sid)
	sess := data.Session{ID: sid, UserID: u.ID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.Auth.RefreshTTL)}
	if err := s.sessions.CreateSession(c.Request.Context(), sess); err != nil {
		return tokenJSON{}, err
	}
	return s.tokenPair(u.ID, u.Role, sess, refresh)
}

func (s *Server) tokenPair(userID string, role data.Role, sess data.Session, refresh string) (tokenJSON, error) {
	access, _, err := s.tokens.issue(userID, role, sess.ID)
	if err != nil {
		return tokenJSON{}, err
	}
	return tokenJSON{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.Auth.AccessTTL / time.Second),
		RefreshToken: refresh, RefreshExpiresAt: data.Normalize(sess.ExpiresAt),
	}, nil
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// errBadRefresh is the response to any refresh token that cannot be used.
var errBadRefresh = unauthorized("the refresh token is invalid, expired or already used; sign in again")

// refresh exchanges a refresh token for a new pair. Each refresh token
// works once: presenting one that was already replaced means it was copied,
// so the whole session is revoked and both holders must sign in again.
func (s *Server) refresh(c *gin.Context) {
	if err := s.limitAddress(c); err != nil {
		writeError(c, err)
		return
	}
	var req refreshRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	if req.RefreshToken == "" {
		writeError(c, invalid("refresh_token", "is required; send the refresh_token of the last login or refresh"))
		return
	}
	sid, hash, ok := splitRefreshToken(req.RefreshToken)
	if !ok {
		writeError(c, errBadRefresh)
		return
	}

	ctx := c.Request.Context()
	sess, err := s.sessions.Session(ctx, sid)
	if errors.Is(err, data.ErrNotFound) {
		err = errBadRefresh
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if !sess.Active(s.now()) {
		writeError(c, errBadRefresh)
		return
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(sess.TokenHash)) != 1 {
		s.revokeReused(c, sess)
		return
	}

	token, newHash := newRefreshToken(sid)
	switch err := s.sessions.RotateSession(ctx, sid, hash, newHash); {
	case errors.Is(err, data.ErrConflict):
		// Another request rotated the same token first: a copy is in use.
		s.revokeReused(c, sess)
		return
	case errors.Is(err, data.ErrNotFound):
		writeError(c, errBadRefresh)
		return
	case err != nil:
		writeError(c, err)
		return
	}

	u, err := s.store.User(ctx, sess.UserID)
	if errors.Is(err, data.ErrNotFound) {
		err = errBadRefresh
	}
	if err != nil {
		writeError(c, err)
		return
	}
	out, err := s.tokenPair(u.ID, u.Role, sess, token)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// revokeReused revokes a session whose replaced refresh token came back.
func (s *Server) revokeReused(c *gin.Context, sess data.Session) {
	s.metrics.reuses.Inc()
	if err := s.sessions.RevokeSession(c.Request.Context(), sess.ID, s.now()); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Warn("refresh token reused; session revoked", "user_id", sess.UserID, "request_id", requestID(c))
	writeError(c, errBadRefresh)
}

// logout revokes the caller's session: its refresh token and every access
// token issued in it stop working.
func (s *Server) logout(c *gin.Context) {
	if err := s.sessions.RevokeSession(c.Request.Context(), caller(c).sessionID, s.now()); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// wrongPassword is the response to a wrong current password.
func wrongPassword(field string) error {
	return &problemError{status: http.StatusForbidden, slug: "wrong-password",
		detail: field + ": does not match the account's password",
		fields: []FieldError{{Field: field, Detail: "does not match the account's password"}}}
}

// checkPassword verifies the caller's password, limited per user so that a
// stolen access token cannot be used to guess it quickly.
func (s *Server) checkPassword(c *gin.Context, u data.User, field, password string) error {
	if ok, wait := s.byAccount.allow("user:" + u.ID); !ok {
		return &rateLimited{retryAfter: wait}
	}
	ok, _, err := s.passwords.verify(c.Request.Context(), u.PasswordHash, password)
	if err != nil && !errors.Is(err, errMalformedHash) {
		return err
	}
	if !ok {
		return wrongPassword(field)
	}
	return nil
}

// changePassword sets a new password, revokes every session of the user,
// this one included, and starts a new session for the caller.
func (s *Server) changePassword(c *gin.Context) {
	var req passwordRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	var fe fieldErrors
	if req.CurrentPassword == "" {
		fe.add("current_password", "is required; send the password in use")
	}
	fe.checkPassword("new_password", req.NewPassword)
	if err := fe.err(); err != nil {
		writeError(c, err)
		return
	}

	ctx := c.Request.Context()
	u, err := s.currentUser(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.checkPassword(c, u, "current_password", req.CurrentPassword); err != nil {
		writeError(c, err)
		return
	}
	hash, err := s.passwords.hash(ctx, req.NewPassword)
	if err != nil {
		writeError(c, err)
		return
	}

	// Sessions are revoked before the hash changes: if the update then
	// fails, the user is signed out everywhere but the old password still
	// works, which fails safe.
	if err := s.sessions.RevokeUserSessions(ctx, u.ID, s.now()); err != nil {
		writeError(c, err)
		return
	}
	u.PasswordHash, u.UpdatedAt = hash, data.Normalize(s.now())
	if err := s.store.UpdateUser(ctx, u); err != nil {
		writeError(c, accountGone(err))
		return
	}
	out, err := s.startSession(c, u)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}
