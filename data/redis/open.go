package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/marquee/marquee/data"
)

// Defaults of the options.
const (
	DefaultPrefix     = "mq"
	DefaultKeep       = 3
	DefaultBuckets    = 256
	DefaultWriters    = 8
	DefaultHistoryTTL = 30 * 24 * time.Hour
	DefaultHistoryMax = 1000
	staleWriting      = 24 * time.Hour // an incomplete run older than this is abandoned
)

// config holds the settings that Options set.
type config struct {
	prefix       string
	keep         int
	buckets      int
	writers      int
	historyTTL   time.Duration
	historyMax   int
	autoPipeline bool
	now          func() time.Time
	log          *slog.Logger
}

// Option changes a setting of OpenLists and NewLists.
type Option func(*config)

// WithPrefix sets the prefix of every key and of the channel; default "mq".
// It may hold letters, digits and the characters ":_.-".
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithKeep sets how many complete runs, newest first, pruning keeps; default
// 3. The current run is kept too, so zero keeps only the current run.
func WithKeep(k int) Option { return func(c *config) { c.keep = k } }

// WithBuckets sets the number of hash buckets per list kind of the runs that
// NewRun starts; default 256. Existing runs keep theirs. Fewer buckets mean
// fewer commands per Put, so faster publishing, but larger keys: with 256,
// a run of a million users has hashes of about 4,000 lists, 5.5 MB, which a
// cluster moves whole when it reshards.
func WithBuckets(n int) Option { return func(c *config) { c.buckets = n } }

// WithWriters sets how many pipelines a RunWriter's Put sends at once, each
// on its own connection; default 8.
func WithWriters(n int) Option { return func(c *config) { c.writers = n } }

// WithHistory sets how long History keeps a user's recent interactions after
// the last one (default 30 days) and how many it keeps per user (default
// 1,000, the oldest going first).
func WithHistory(ttl time.Duration, max int) Option {
	return func(c *config) { c.historyTTL, c.historyMax = ttl, max }
}

// WithAutoPipeline sets whether the reads of serving (Current, List,
// RecentEvents) go through go-redis's autopipeliner, which sends the
// commands of concurrent callers in one write and reads their replies in
// one read. It is on by default, for a client of one server that OpenLists
// makes. It cuts the system calls per lookup under load, but the API is
// experimental in go-redis, and a blocked read does not end at the
// caller's deadline, so callers need timeouts of their own (serving has).
func WithAutoPipeline(on bool) Option { return func(c *config) { c.autoPipeline = on } }

// WithClock sets the clock that stamps runs and history entries.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger of background pruning and of the Bus.
func WithLogger(log *slog.Logger) Option { return func(c *config) { c.log = log } }

var validPrefix = regexp.MustCompile(`^[A-Za-z0-9:_.-]{1,64}$`)

func newConfig(opts []Option) (config, error) {
	c := config{
		prefix: DefaultPrefix, keep: DefaultKeep, buckets: DefaultBuckets, writers: DefaultWriters,
		historyTTL: DefaultHistoryTTL, historyMax: DefaultHistoryMax, autoPipeline: true, now: time.Now,
		log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case !validPrefix.MatchString(c.prefix):
		return c, fmt.Errorf("%w: prefix %q: want 1 to 64 letters, digits or \":_.-\"", data.ErrInvalid, c.prefix)
	case c.keep < 0:
		return c, fmt.Errorf("%w: keep %d: want >= 0", data.ErrInvalid, c.keep)
	case c.buckets < 1 || c.buckets > 1<<16:
		return c, fmt.Errorf("%w: buckets %d: want 1 to 65536", data.ErrInvalid, c.buckets)
	case c.writers < 1:
		return c, fmt.Errorf("%w: writers %d: want >= 1", data.ErrInvalid, c.writers)
	case c.historyTTL <= 0 || c.historyMax < 1:
		return c, fmt.Errorf("%w: history TTL %v and max %d: want both > 0", data.ErrInvalid, c.historyTTL, c.historyMax)
	case c.now == nil || c.log == nil:
		return c, fmt.Errorf("%w: nil clock or logger", data.ErrInvalid)
	}
	return c, nil
}

// OpenLists connects to the Redis named by rawURL and checks that it
// replies to PING. The URL is redis://[user:password@]host:port[/db], or
// rediss:// for TLS, or redis+cluster://host:port?addr=host2:port2 for a
// cluster. Its query may set the options prefix, keep, buckets, writers and
// autopipeline, and the go-redis connection parameters (dial_timeout,
// pool_size...). Options passed as arguments win over the URL's.
func OpenLists(ctx context.Context, rawURL string, opts ...Option) (*Lists, error) {
	client, urlOpts, err := newClient(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open redis: %w", err)
	}
	l, err := newLists(client, true, append(urlOpts, opts...))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open redis: %w", err), client.Close())
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, errors.Join(wrap("open redis "+redactURL(rawURL), err), client.Close())
	}
	return l, nil
}

// NewLists returns Lists on a client the caller made, such as a
// ClusterClient with settings of its own. Close leaves the client open.
func NewLists(client goredis.UniversalClient, opts ...Option) (*Lists, error) {
	return newLists(client, false, opts)
}

func newLists(client goredis.UniversalClient, owned bool, opts []Option) (*Lists, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	var reads goredis.Cmdable = client
	if c, ok := client.(*goredis.Client); ok && cfg.autoPipeline {
		ap, err := c.AutoPipeline()
		if err != nil {
			return nil, err
		}
		reads = ap
	}
	return &Lists{
		rdb: client, reads: reads, owned: owned, cfg: cfg, keys: keys{prefix: cfg.prefix},
		runs: map[string]cachedRun{}, prune: make(chan struct{}, 1), closing: make(chan struct{}),
	}, nil
}

// ourParams are the query parameters of the URL that are Marquee's, not
// go-redis's.
var ourParams = []string{"prefix", "keep", "buckets", "writers", "autopipeline"}

// newClient makes a go-redis client from a URL and returns the Options that
// its Marquee parameters set.
func newClient(rawURL string) (goredis.UniversalClient, []Option, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: URL: %v", data.ErrInvalid, err)
	}
	opts, err := takeParams(u)
	if err != nil {
		return nil, nil, err
	}
	// go-redis takes localhost:6379 for a URL without a host, which would
	// connect a typo such as redis:// to whatever Redis runs locally.
	if u.Hostname() == "" {
		return nil, nil, fmt.Errorf("%w: URL %q has no host: give one, such as redis://127.0.0.1:6379/0", data.ErrInvalid, rawURL)
	}
	if u.Scheme == "redis+cluster" {
		u.Scheme = "redis"
		c, err := goredis.ParseClusterURL(u.String())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: URL: %v", data.ErrInvalid, err)
		}
		c.ContextTimeoutEnabled = true
		return goredis.NewClusterClient(c), opts, nil
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, nil, fmt.Errorf("%w: URL scheme %q: want redis, rediss or redis+cluster", data.ErrInvalid, u.Scheme)
	}
	o, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: URL: %v", data.ErrInvalid, err)
	}
	// Deadlines of callers bound every call, so that serving can time out
	// in milliseconds whatever the socket timeouts are. A refused dial is
	// not retried within a call: the caller's own fallback is faster.
	o.ContextTimeoutEnabled = true
	o.DialerRetries = 1
	return goredis.NewClient(o), opts, nil
}

// takeParams removes Marquee's query parameters from u and returns them as
// Options.
func takeParams(u *url.URL) ([]Option, error) {
	q := u.Query()
	var opts []Option
	for _, name := range ourParams {
		v := q.Get(name)
		if !q.Has(name) {
			continue
		}
		q.Del(name)
		switch name {
		case "prefix":
			opts = append(opts, WithPrefix(v))
			continue
		case "autopipeline":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%w: URL parameter autopipeline=%q: want true or false", data.ErrInvalid, v)
			}
			opts = append(opts, WithAutoPipeline(on))
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%w: URL parameter %s=%q: want an integer", data.ErrInvalid, name, v)
		}
		switch name {
		case "keep":
			opts = append(opts, WithKeep(n))
		case "buckets":
			opts = append(opts, WithBuckets(n))
		case "writers":
			opts = append(opts, WithWriters(n))
		}
	}
	u.RawQuery = q.Encode()
	return opts, nil
}

// redactURL returns rawURL without its password, for error messages.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// wrap adds an operation to err and marks errors of the connection as
// data.ErrUnavailable. Errors that already wrap a data sentinel and those of
// the caller's context keep their meaning.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, data.ErrNotFound), errors.Is(err, data.ErrConflict),
		errors.Is(err, data.ErrInvalid), errors.Is(err, data.ErrUnavailable):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, data.ErrUnavailable, err)
}

// isNil reports whether err is the reply of a missing key or field.
func isNil(err error) bool { return errors.Is(err, goredis.Nil) }

// quote returns s quoted for messages, cut to a readable length.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}

// joinKey builds a key from parts separated by colons.
func joinKey(parts ...string) string { return strings.Join(parts, ":") }
