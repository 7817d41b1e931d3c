package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/marquee/marquee/api"
)

// secretEnv holds the access token signing secret. It is read from the
// environment only, never from a flag, so the secret does not appear in
// process listings or shell history.
const secretEnv = "MARQUEE_JWT_SECRET"

// apiFlags are the settings of the HTTP API that serve exposes as flags.
type apiFlags struct {
	secretFile string
	devSecret  bool

	issuer, audience      string
	accessTTL, refreshTTL time.Duration
	argonMemoryKiB        uint32
	argonTime             uint32
	argonThreads          uint8
	argonConcurrency      int
	limitAddress          string
	limitAccount          string
	corsOrigins           []string
	trustedProxies        []string
	maxBody               int64
	requestTimeout        time.Duration
	accessLog             bool
	publicUserLists       bool
}

func (f *apiFlags) register(fs *pflag.FlagSet) {
	d := api.DefaultPasswordParams
	fs.StringVar(&f.secretFile, "jwt-secret-file", "", "file holding the access token signing secret, at least 32 bytes (or set "+secretEnv+")")
	fs.BoolVar(&f.devSecret, "dev-ephemeral-secret", false, "without a secret, sign tokens with a random one that dies with the process: sessions end at every restart; for development only")
	fs.StringVar(&f.issuer, "jwt-issuer", "marquee", "issuer written into and required of access tokens")
	fs.StringVar(&f.audience, "jwt-audience", "marquee-api", "audience written into and required of access tokens")
	fs.DurationVar(&f.accessTTL, "access-ttl", 15*time.Minute, "lifetime of an access token")
	fs.DurationVar(&f.refreshTTL, "refresh-ttl", 30*24*time.Hour, "lifetime of a session: refresh tokens stop working this long after sign-in")
	fs.Uint32Var(&f.argonMemoryKiB, "argon2-memory", d.MemoryKiB, "argon2id memory per password hash, in KiB")
	fs.Uint32Var(&f.argonTime, "argon2-time", d.Time, "argon2id passes over the memory")
	fs.Uint8Var(&f.argonThreads, "argon2-threads", d.Threads, "argon2id lanes")
	fs.IntVar(&f.argonConcurrency, "argon2-concurrency", 0, "password hashes computed at once, each holding --argon2-memory (default: the number of CPUs)")
	fs.StringVar(&f.limitAddress, "limit-per-address", "20/3s", "sign-in rate limit per client address: BURST/INTERVAL, a burst then one request per interval")
	fs.StringVar(&f.limitAccount, "limit-per-account", "5/20s", "login rate limit per e-mail: BURST/INTERVAL")
	fs.StringSliceVar(&f.corsOrigins, "cors-origins", nil, "origins whose web pages may call the API, comma-separated, such as https://app.example.com, or * for any")
	fs.StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client, comma-separated")
	fs.Int64Var(&f.maxBody, "max-body", 64<<10, "largest request body accepted, in bytes")
	fs.DurationVar(&f.requestTimeout, "request-timeout", 10*time.Second, "longest a request may work before it is answered 503")
	fs.BoolVar(&f.accessLog, "access-log", false, "log every request at info level (by default at debug level)")
	fs.BoolVar(&f.publicUserLists, "public-user-recommendations", false, "serve GET /v1/users/{id}/recommendations to any caller without a token, for trusted internal callers and the demo; by default it needs a token of that user or of an admin")
}

// config returns the API configuration of the flags, with the signing
// secret from the environment, the secret file or, with --dev-ephemeral-secret,
// a random one. It never logs the secret or puts it in an error.
func (f *apiFlags) config(log *slog.Logger) (api.Config, error) {
	secret, err := f.secret(log)
	if err != nil {
		return api.Config{}, err
	}
	perAddress, err := parseRate("--limit-per-address", f.limitAddress)
	if err != nil {
		return api.Config{}, err
	}
	perAccount, err := parseRate("--limit-per-account", f.limitAccount)
	if err != nil {
		return api.Config{}, err
	}
	cfg := api.Config{
		Auth: api.AuthConfig{Secret: secret, Issuer: f.issuer, Audience: f.audience, AccessTTL: f.accessTTL, RefreshTTL: f.refreshTTL},
		Passwords: api.PasswordParams{
			MemoryKiB: f.argonMemoryKiB, Time: f.argonTime, Threads: f.argonThreads, Concurrency: f.argonConcurrency,
		},
		Limits:         api.LimitConfig{PerAddress: perAddress, PerAccount: perAccount},
		CORS:           api.CORSConfig{AllowedOrigins: f.corsOrigins},
		TrustedProxies: f.trustedProxies,
		MaxBodyBytes:   f.maxBody,
		RequestTimeout: f.requestTimeout,
		AccessLogLevel: slog.LevelDebug,

		PublicUserRecommendations: f.publicUserLists,
	}
	if f.accessLog {
		cfg.AccessLogLevel = slog.LevelInfo
	}
	return cfg, nil
}

func (f *apiFlags) secret(log *slog.Logger) ([]byte, error) {
	if v, ok := os.LookupEnv(secretEnv); ok && v != "" {
		return checkSecret(secretEnv, []byte(v))
	}
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return nil, fmt.Errorf("invalid --jwt-secret-file: %w", err)
		}
		return checkSecret("--jwt-secret-file "+f.secretFile, []byte(strings.TrimRight(string(b), "\r\n")))
	}
	if f.devSecret {
		log.Warn("signing access tokens with an ephemeral random secret: every session ends when the process stops; set " +
			secretEnv + " or --jwt-secret-file outside development")
		return []byte(rand.Text() + rand.Text()), nil
	}
	return nil, fmt.Errorf("no access token signing secret: set %s to at least %d random bytes (for example the output of `openssl rand -base64 48`), or pass --jwt-secret-file; for a development server, --dev-ephemeral-secret",
		secretEnv, api.MinSecretBytes)
}

// checkSecret rejects a secret shorter than api.MinSecretBytes. The error
// names where the secret came from and its length, never its bytes.
func checkSecret(source string, secret []byte) ([]byte, error) {
	if len(secret) < api.MinSecretBytes {
		return nil, fmt.Errorf("the signing secret from %s is %d bytes; use at least %d random bytes", source, len(secret), api.MinSecretBytes)
	}
	return secret, nil
}

// parseRate reads BURST/INTERVAL, such as 20/3s.
func parseRate(flag, s string) (api.Rate, error) {
	burst, every, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(burst)
	if !ok || err != nil || n < 1 {
		return api.Rate{}, fmt.Errorf("invalid %s %q: want BURST/INTERVAL, such as 20/3s, with BURST >= 1", flag, s)
	}
	d, err := time.ParseDuration(every)
	if err != nil || d <= 0 {
		return api.Rate{}, errors.Join(fmt.Errorf("invalid %s %q: the interval must be a positive duration, such as 3s", flag, s), err)
	}
	return api.Rate{Burst: n, Every: d}, nil
}
