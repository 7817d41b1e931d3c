package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee/marquee/data"
)

// Config sets up the HTTP layer. Zero fields take the defaults named in
// their comments.
//
// With Store nil, the server serves only the recommendation, health,
// metrics and documentation routes, and users' lists by user ID only with
// PublicUserRecommendations. With Store set it also serves accounts,
// profiles, the catalog, ratings, watch events and home, and then Sessions
// and Auth.Secret are required.
type Config struct {
	// Health reports whether the server's dependencies respond. Nil means
	// always healthy.
	Health func(ctx context.Context) error

	Store    data.Store
	Sessions data.Sessions
	// Eraser erases a deleted account's events. Without one, deleting an
	// account retracts its ratings and leaves its watch events in the log
	// under the account's random ID, which then links to no person.
	Eraser data.EventEraser
	// Interactions hears of every rating and watch event the store
	// accepted, so that serving can react at once. Nil hears nothing.
	Interactions InteractionRecorder

	// PublicUserRecommendations serves GET /v1/users/{id}/recommendations
	// to any caller, for trusted internal callers and the demo. By default
	// it needs an access token of that user or of an admin, since a user's
	// list reveals what the user rated and watched.
	PublicUserRecommendations bool

	Auth      AuthConfig
	Passwords PasswordParams
	Limits    LimitConfig
	CORS      CORSConfig

	// MaxBodyBytes bounds request bodies; a larger one gets 413. Default
	// 64 KiB.
	MaxBodyBytes int64
	// RequestTimeout bounds the work of one request; a request that runs
	// out of time gets 503. Default 10 s.
	RequestTimeout time.Duration
	// TrustedProxies lists the addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For header names the client. Empty trusts none, so
	// the client address is the peer's, which a client cannot forge.
	TrustedProxies []string
	// AccessLogLevel is the level of the one log line written per request,
	// debug by default. Server errors are logged at info or above anyway.
	AccessLogLevel slog.Level
	// Metrics receives the HTTP metrics and is served at /metrics. Nil
	// means a new registry with the HTTP metrics only.
	Metrics *prometheus.Registry
	// Now is the clock, time.Now by default.
	Now func() time.Time
}

// AuthConfig sets up access and refresh tokens.
type AuthConfig struct {
	// Secret signs access tokens with HMAC-SHA256; at least
	// MinSecretBytes long. It is never logged.
	Secret []byte
	// Issuer and Audience are written into access tokens and required of
	// every token presented. Defaults "marquee" and "marquee-api".
	Issuer   string
	Audience string
	// AccessTTL is the lifetime of an access token, 15 minutes by default.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a session: its refresh tokens stop
	// working that long after sign-in. Default 30 days.
	RefreshTTL time.Duration
}

// MinSecretBytes is the shortest signing secret accepted: 256 bits, the
// output size of the HMAC's hash.
const MinSecretBytes = 32

// PasswordParams are the argon2id parameters of new password hashes and the
// bound on how many hashes run at once. Stored hashes carry their own
// parameters, so changing these keeps old passwords working; a hash with
// other parameters is replaced at the next successful sign-in.
type PasswordParams struct {
	MemoryKiB uint32 // memory per hash in KiB, 64 MiB by default
	Time      uint32 // passes over the memory, 1 by default
	Threads   uint8  // lanes, 2 by default
	// Concurrency bounds how many hashes run at once, and so the memory
	// they hold: Concurrency × MemoryKiB. Default GOMAXPROCS.
	Concurrency int
}

// DefaultPasswordParams are argon2id with 64 MiB, one pass and two lanes.
// That is more memory than the minimum of OWASP's Password Storage Cheat
// Sheet (19 MiB, two passes, one lane). One hash took 42 to 117 ms on the 2-core
// machine of docs/benchmarks.md, depending on its load.
var DefaultPasswordParams = PasswordParams{MemoryKiB: 64 * 1024, Time: 1, Threads: 2}

// LimitConfig sets the rate limits of the sign-in routes.
type LimitConfig struct {
	// PerAddress limits register, login and refresh requests per client
	// address. Default a burst of 20, then one every 3 seconds.
	PerAddress Rate
	// PerAccount limits login attempts per e-mail, whether or not an
	// account has it. Default a burst of 5, then one every 20 seconds.
	PerAccount Rate
	// MaxKeys bounds the addresses and e-mails tracked at once, 100,000 by
	// default. When full, new keys are refused until old ones refill.
	MaxKeys int
}

// Rate is a token bucket: Burst requests at once, then one every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// CORSConfig sets cross-origin resource sharing.
type CORSConfig struct {
	// AllowedOrigins lists origins such as https://app.example.com whose
	// pages may call the API, or "*" for any. Empty allows none.
	AllowedOrigins []string
	// MaxAge is how long a browser may cache a preflight response, 10
	// minutes by default.
	MaxAge time.Duration
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	setDefault(&c.MaxBodyBytes, 64<<10)
	setDefault(&c.RequestTimeout, 10*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	setDefault(&c.Auth.Issuer, "marquee")
	setDefault(&c.Auth.Audience, "marquee-api")
	setDefault(&c.Auth.AccessTTL, 15*time.Minute)
	setDefault(&c.Auth.RefreshTTL, 30*24*time.Hour)
	if c.Passwords == (PasswordParams{}) {
		c.Passwords = DefaultPasswordParams
	}
	setDefault(&c.Passwords.Concurrency, runtime.GOMAXPROCS(0))
	setDefault(&c.Limits.PerAddress, Rate{Burst: 20, Every: 3 * time.Second})
	setDefault(&c.Limits.PerAccount, Rate{Burst: 5, Every: 20 * time.Second})
	setDefault(&c.Limits.MaxKeys, 100_000)
	setDefault(&c.CORS.MaxAge, 10*time.Minute)
	return c
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// Validate returns an error naming the first invalid field of c, after
// defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Store != nil {
		if c.Sessions == nil {
			errs = append(errs, errors.New("api config: Sessions is required with a Store"))
		}
		if len(c.Auth.Secret) < MinSecretBytes {
			errs = append(errs, fmt.Errorf("api config: Auth.Secret is %d bytes, want at least %d", len(c.Auth.Secret), MinSecretBytes))
		}
	}
	if c.Auth.AccessTTL < time.Second || c.Auth.RefreshTTL < c.Auth.AccessTTL {
		errs = append(errs, fmt.Errorf("api config: Auth.AccessTTL %v must be at least 1s and Auth.RefreshTTL %v at least as long",
			c.Auth.AccessTTL, c.Auth.RefreshTTL))
	}
	if p := c.Passwords; p.MemoryKiB < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("api config: Passwords %+v: want Time, Threads and Concurrency >= 1 and MemoryKiB >= 8 × Threads", p))
	}
	for name, r := range map[string]Rate{"Limits.PerAddress": c.Limits.PerAddress, "Limits.PerAccount": c.Limits.PerAccount} {
		if r.Burst < 1 || r.Every <= 0 {
			errs = append(errs, fmt.Errorf("api config: %s %+v: want Burst >= 1 and Every > 0", name, r))
		}
	}
	if c.MaxBodyBytes < 1 || c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("api config: MaxBodyBytes %d and RequestTimeout %v must be positive", c.MaxBodyBytes, c.RequestTimeout))
	}
	for _, o := range c.CORS.AllowedOrigins {
		if o != "*" && !validOrigin(o) {
			errs = append(errs, fmt.Errorf("api config: CORS origin %q: want scheme://host[:port] without a path, or *", o))
		}
	}
	for _, p := range c.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				errs = append(errs, fmt.Errorf("api config: trusted proxy %q: want an IP address or a CIDR range", p))
			}
		}
	}
	return errors.Join(errs...)
}

// validOrigin reports whether o is a serialized origin: a scheme, "://" and
// a host with an optional port, nothing after.
func validOrigin(o string) bool {
	scheme, host, ok := strings.Cut(o, "://")
	return ok && (scheme == "http" || scheme == "https") && host != "" && !strings.ContainsAny(host, "/?#@ ")
}
