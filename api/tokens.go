package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/marquee/marquee/data"
)

// accessClaims are the claims of an access token: the registered ones
// (issuer, subject = user ID, audience, expiry, issue time, token ID), the
// session the token belongs to and the user's role.
type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string    `json:"sid"`
	Role      data.Role `json:"role"`
}

// tokens issues and checks access tokens. The signing algorithm is pinned
// to HS256: a token whose header names any other algorithm, "none"
// included, is rejected before its signature is looked at.
type tokens struct {
	cfg    AuthConfig
	now    func() time.Time
	parser *jwt.Parser
}

// clockSkew is how far the issuer's and the checker's clocks may disagree
// when expiry and issue times are checked.
const clockSkew = 30 * time.Second

func newTokens(cfg AuthConfig, now func() time.Time) *tokens {
	return &tokens{cfg: cfg, now: now, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(now),
	)}
}

// issue returns a signed access token for the user in session sid, and its
// expiry time.
func (tk *tokens) issue(userID string, role data.Role, sid string) (string, time.Time, error) {
	now := tk.now()
	exp := now.Add(tk.cfg.AccessTTL)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tk.cfg.Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{tk.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomID(12),
		},
		SessionID: sid,
		Role:      role,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(tk.cfg.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

// errBadToken is the one error a client sees for any unusable access token.
var errBadToken = errors.New("invalid access token")

// parse checks an access token's algorithm, signature, issuer, audience,
// expiry and issue time, and returns its claims.
func (tk *tokens) parse(raw string) (accessClaims, error) {
	var claims accessClaims
	_, err := tk.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("algorithm %v", t.Header["alg"])
		}
		return tk.cfg.Secret, nil
	})
	if err != nil {
		return accessClaims{}, fmt.Errorf("%w: %w", errBadToken, err)
	}
	if claims.Subject == "" || claims.SessionID == "" || (claims.Role != data.RoleUser && claims.Role != data.RoleAdmin) {
		return accessClaims{}, fmt.Errorf("%w: subject, session or role missing", errBadToken)
	}
	return claims, nil
}

// Refresh tokens are "<session id>.<secret>": the session ID names the
// session family and the secret, 256 random bits, proves possession. The
// store keeps only the SHA-256 of the secret. The secret is random and
// long, so a fast hash is enough, and a leaked store reveals no token.
const (
	sessionIDBytes = 16
	secretBytes    = 32
)

// newRefreshToken returns a new token for session sid and the hash to store.
func newRefreshToken(sid string) (token, hash string) {
	secret := randomID(secretBytes)
	return sid + "." + secret, hashSecret(secret)
}

// splitRefreshToken returns the session ID and the secret's hash of a
// well-formed refresh token.
func splitRefreshToken(token string) (sid, hash string, ok bool) {
	sid, secret, ok := strings.Cut(token, ".")
	if !ok || !isB64ID(sid, sessionIDBytes) || !isB64ID(secret, secretBytes) {
		return "", "", false
	}
	return sid, hashSecret(secret), true
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomID returns n random bytes in unpadded URL-safe base64.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isB64ID reports whether s is n bytes in unpadded URL-safe base64.
func isB64ID(s string, n int) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(n) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
