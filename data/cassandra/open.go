package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// Store implements data.Store and data.PartitionedScanner on a Cassandra
// cluster. It is safe for concurrent use.
type Store struct {
	cfg     Config
	log     *slog.Logger
	retry   *limitedLog
	session *gocql.Session
	q       statements
	days    *dayCache
	// murmur3 is true when the cluster uses the Murmur3 partitioner, whose
	// token ring the full scans split.
	murmur3 bool
}

var (
	_ data.Store              = (*Store)(nil)
	_ data.PartitionedScanner = (*Store)(nil)
)

// Open connects to the cluster described by cfg, after applying its
// defaults and validating it. While no host responds, it retries with
// backoff for up to cfg.StartupTimeout, since the cluster may still be
// starting. Then it returns an error wrapping data.ErrUnavailable that
// names the hosts and the port. A nil log discards log records.
//
// Open does not create the keyspace or the tables: call [Store.Migrate]
// once before the first use. When the keyspace was migrated with another
// number of buckets than cfg.Buckets, Open fails.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("component", "cassandra"), slog.String("keyspace", cfg.Keyspace))
	s := &Store{cfg: cfg, log: log, retry: newLimitedLog(log, 5*time.Second), q: newStatements(cfg.Keyspace), days: newDayCache()}

	session, err := s.connect(ctx, "", cfg.Timeout)
	if err != nil {
		return nil, wrap("open", err)
	}
	s.session = session
	if err := s.inspect(ctx); err != nil {
		session.Close()
		return nil, err
	}
	return s, nil
}

// connect creates a session, retrying until cfg.StartupTimeout has passed,
// and then returns an error that names the hosts and the port and wraps
// data.ErrUnavailable. keyspace, when set, becomes the session's default
// keyspace, and timeout bounds each request.
func (s *Store) connect(ctx context.Context, keyspace string, timeout time.Duration) (*gocql.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartupTimeout)
	defer cancel()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		cluster := s.cluster(keyspace, timeout)
		session, err := cluster.CreateSession()
		if err == nil {
			s.log.Info("connected", slog.String("hosts", s.cfg.hostList()), slog.Int("port", s.cfg.Port), slog.Int("attempts", attempt))
			return session, nil
		}
		wait := backoff(250*time.Millisecond, 5*time.Second, attempt)
		if time.Until(deadline(ctx)) < wait || !sleepLogged(ctx, s.log, wait, attempt, err) {
			return nil, fmt.Errorf("connecting to hosts %s on port %d failed after %d attempts in %v (check that Cassandra runs there): %w: %w",
				s.cfg.hostList(), s.cfg.Port, attempt, time.Since(start).Round(time.Millisecond), data.ErrUnavailable, err)
		}
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func sleepLogged(ctx context.Context, log *slog.Logger, wait time.Duration, attempt int, err error) bool {
	log.Warn("cluster not reachable, retrying", slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
	return sleep(ctx, wait)
}

// cluster returns the driver configuration for one session.
func (s *Store) cluster(keyspace string, timeout time.Duration) *gocql.ClusterConfig {
	c := s.cfg
	cl := gocql.NewCluster(c.Hosts...)
	cl.Port = c.Port
	cl.Keyspace = keyspace
	cl.Consistency = parseConsistency(c.Consistency)
	cl.SerialConsistency = parseConsistency(c.SerialConsistency)
	cl.Timeout = timeout
	cl.ConnectTimeout = c.ConnectTimeout
	cl.PageSize = c.PageSize
	cl.MaxWaitSchemaAgreement = c.DDLTimeout
	cl.ReconnectionPolicy = &gocql.ExponentialReconnectionPolicy{MaxRetries: 8, InitialInterval: 250 * time.Millisecond, MaxInterval: 10 * time.Second}
	cl.Logger = driverLog{s.log.With(slog.String("source", "driver"))}
	cl.Metadata.HostListener.HostStateChangeListener = hostLog{s.log}
	if c.Retries > 0 {
		cl.RetryPolicy = &retryPolicy{retries: c.Retries, lo: c.RetryMin, hi: c.RetryMax, log: s.retry}
	}
	fallback := gocql.RoundRobinHostPolicy()
	if c.LocalDC != "" {
		fallback = gocql.DCAwareRoundRobinPolicy(c.LocalDC)
	}
	cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(fallback, gocql.ShuffleReplicas())
	if c.Username != "" {
		cl.Authenticator = gocql.PasswordAuthenticator{Username: c.Username, Password: c.Password}
	}
	if c.TLS {
		cl.SslOpts = &gocql.SslOptions{CaPath: c.TLSCAFile, EnableHostVerification: true}
	}
	return cl
}

// parseConsistency returns the driver's level for a name that Validate
// accepted, or the driver's default for any other.
func parseConsistency(name string) gocql.Consistency {
	c, err := gocql.ParseConsistencyWrapper(name)
	if err != nil {
		return gocql.LocalQuorum
	}
	return c
}

// inspect reads what the store needs to know about the cluster: its
// partitioner, and the number of buckets the keyspace was migrated with.
func (s *Store) inspect(ctx context.Context) error {
	var partitioner string
	err := s.session.Query("SELECT partitioner FROM system.local").Idempotent(true).ScanContext(ctx, &partitioner)
	if err != nil {
		return wrap("open: read partitioner", err)
	}
	s.murmur3 = strings.HasSuffix(partitioner, ".Murmur3Partitioner")
	buckets, err := s.setting(ctx, settingBuckets)
	switch {
	case errors.Is(err, errNoSchema), errors.Is(err, data.ErrNotFound):
		return nil
	case err != nil:
		return wrap("open: read settings", err)
	}
	return s.checkBuckets(buckets)
}

// settingBuckets names the setting that fixes the number of event buckets.
const settingBuckets = "event_buckets"

// errNoSchema means the keyspace or its tables do not exist yet.
var errNoSchema = errors.New("schema not migrated")

// setting returns the stored value of a setting, data.ErrNotFound when it is
// unset, or errNoSchema before the first migration.
func (s *Store) setting(ctx context.Context, name string) (string, error) {
	var value string
	err := s.session.Query(s.q.selectSetting, name).Idempotent(true).ScanContext(ctx, &value)
	var invalid *gocql.RequestErrInvalid
	switch {
	case errors.As(err, &invalid) && missingTable(invalid.Message()):
		return "", errNoSchema
	case errors.Is(err, gocql.ErrNotFound):
		return "", data.ErrNotFound
	}
	return value, err
}

// missingTable reports whether a server message reports a missing keyspace
// or table: "does not exist" in Cassandra 5.0, "unconfigured table" in 3.x.
func missingTable(msg string) bool {
	return strings.Contains(msg, "does not exist") || strings.Contains(msg, "unconfigured table")
}

func (s *Store) checkBuckets(stored string) error {
	n, err := strconv.Atoi(stored)
	if err != nil {
		return fmt.Errorf("cassandra: open: setting %s is %q, not a number", settingBuckets, stored)
	}
	if n != s.cfg.Buckets {
		return fmt.Errorf("cassandra: open: buckets %d differs from the %d the keyspace %s was created with: set buckets=%d",
			s.cfg.Buckets, n, s.cfg.Keyspace, n)
	}
	return nil
}

// Close closes the session. Calls after Close fail.
func (s *Store) Close() error {
	s.session.Close()
	s.log.Info("closed")
	return nil
}

// driverLog passes the driver's log to slog. The driver's Info messages,
// such as each new connection, go to Debug: they are routine for a
// long-running service.
type driverLog struct{ log *slog.Logger }

func (l driverLog) Error(msg string, fields ...gocql.LogField) {
	l.log.Error(msg, driverAttrs(fields)...)
}

func (l driverLog) Warning(msg string, fields ...gocql.LogField) {
	l.log.Warn(msg, driverAttrs(fields)...)
}

func (l driverLog) Info(msg string, fields ...gocql.LogField) {
	l.log.Debug(msg, driverAttrs(fields)...)
}

func (l driverLog) Debug(msg string, fields ...gocql.LogField) {
	l.log.Debug(msg, driverAttrs(fields)...)
}

func driverAttrs(fields []gocql.LogField) []any {
	attrs := make([]any, 0, len(fields))
	for _, f := range fields {
		attrs = append(attrs, slog.Any(f.Name, f.Value.Any()))
	}
	return attrs
}

// hostLog logs hosts going down and coming back.
type hostLog struct{ log *slog.Logger }

func (l hostLog) OnHostUp(e gocql.HostUpEvent) {
	l.log.Info("host up", slog.String("host", e.Host.ConnectAddressAndPort()))
}

func (l hostLog) OnHostDown(e gocql.HostDownEvent) {
	l.log.Warn("host down", slog.String("host", e.Host.ConnectAddressAndPort()))
}
