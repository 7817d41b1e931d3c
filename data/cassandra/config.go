package cassandra

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by [Config] to zero fields.
const (
	DefaultPort            = 9042
	DefaultConsistency     = "LOCAL_QUORUM"
	DefaultSerial          = "LOCAL_SERIAL"
	DefaultTimeout         = 12 * time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultDDLTimeout      = 2 * time.Minute
	DefaultStartupTimeout  = time.Minute
	DefaultRetries         = 3
	DefaultRetryMin        = 100 * time.Millisecond
	DefaultRetryMax        = 2 * time.Second
	DefaultBuckets         = 8
	DefaultConcurrency     = 64
	DefaultScanConcurrency = 16
	DefaultPageSize        = 5000
	DefaultTokenRanges     = 256
)

// Config describes how to reach a cluster and how to use it. The zero value
// of every field except Hosts and Keyspace is a good default. [ParseURL]
// builds a Config from a URL.
type Config struct {
	// Hosts are the contact points, each "host" or "host:port". The driver
	// discovers the rest of the ring from them.
	Hosts []string
	// Port is the native protocol port of hosts listed without one.
	Port int
	// Keyspace holds every table of the store. It must be a lower-case
	// CQL identifier: letters, digits and underscores, at most 48.
	Keyspace string

	// Username and Password enable password authentication when set.
	Username string
	Password string
	// TLS encrypts connections. TLSCAFile, when set, names a PEM file of
	// the certificate authorities to trust instead of the system's.
	TLS       bool
	TLSCAFile string
	// LocalDC, when set, routes requests to that data center first.
	LocalDC string

	// Consistency of reads and writes: LOCAL_QUORUM by default. ONE,
	// LOCAL_ONE, QUORUM, LOCAL_QUORUM, EACH_QUORUM and ALL are accepted.
	Consistency string
	// SerialConsistency of lightweight transactions: LOCAL_SERIAL by
	// default, or SERIAL.
	SerialConsistency string
	// Replication of the keyspace when Migrate creates it.
	Replication Replication

	// Timeout bounds the wait for one response. It should exceed the
	// server's own request timeouts.
	Timeout time.Duration
	// ConnectTimeout bounds dialing and the connection handshake.
	ConnectTimeout time.Duration
	// DDLTimeout bounds one schema change and the wait for schema
	// agreement after it.
	DDLTimeout time.Duration
	// StartupTimeout is how long Open keeps trying to connect to a cluster
	// that is still starting.
	StartupTimeout time.Duration

	// Retries is how many times an idempotent statement is retried after a
	// timeout or an unavailable replica. 0 means DefaultRetries, and a
	// negative value disables retries.
	Retries int
	// RetryMin and RetryMax bound the exponential backoff between retries.
	RetryMin time.Duration
	RetryMax time.Duration

	// Buckets is the number of partitions per day of the event log. It is
	// fixed when the keyspace is migrated: Open and Migrate refuse a
	// different value, because events are placed by it.
	Buckets int
	// Concurrency is the number of writes in flight in bulk calls.
	Concurrency int
	// ScanConcurrency is the number of partitions ScanEvents reads at once.
	ScanConcurrency int
	// PageSize is the number of rows fetched per page by scans.
	PageSize int
	// TokenRanges is the number of token ranges a scan without a lower or
	// upper time bound is split into.
	TokenRanges int
}

// Replication is the replication strategy of the keyspace.
type Replication struct {
	// Class is SimpleStrategy (the default) or NetworkTopologyStrategy.
	Class string
	// Factor is the replication factor of SimpleStrategy, 1 when 0.
	Factor int
	// DataCenters maps a data center to its replication factor, for
	// NetworkTopologyStrategy.
	DataCenters map[string]int
}

// Replication strategy classes.
const (
	SimpleStrategy          = "SimpleStrategy"
	NetworkTopologyStrategy = "NetworkTopologyStrategy"
)

var (
	keyspacePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)
	dcPattern       = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// consistencies accepted for reads and writes.
var consistencies = []string{"ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL"}

// ParseURL parses a URL of the form
//
//	cassandra://[user:password@]host1,host2[:port]/keyspace?option=value&...
//
// A port after the last host applies to every host written without one,
// and each host may also carry its own port. Options: consistency,
// serial_consistency, local_dc, replication (see [ParseReplication]),
// timeout, connect_timeout, ddl_timeout, startup_timeout, retry_min and
// retry_max (positive Go durations such as 5s), retries (0 disables them),
// buckets, concurrency, scan_concurrency, page_size, token_ranges (integers
// >= 1), tls (true or false) and tls_ca.
// The result has its defaults applied and is validated.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("cassandra: parse url: %w", err)
	}
	if u.Scheme != "cassandra" {
		return Config{}, fmt.Errorf("cassandra: parse url: scheme %q is not cassandra", u.Scheme)
	}
	cfg := Config{Keyspace: strings.Trim(u.Path, "/")}
	if cfg.Hosts, cfg.Port, err = parseHosts(u.Host); err != nil {
		return Config{}, fmt.Errorf("cassandra: parse url: %w", err)
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	if err := cfg.setOptions(u.Query()); err != nil {
		return Config{}, fmt.Errorf("cassandra: parse url: %w", err)
	}
	cfg = cfg.WithDefaults()
	return cfg, cfg.Validate()
}

// parseHosts splits "h1,h2:9042" into hosts and the port written after the
// last host, which then applies to the hosts written without one.
func parseHosts(s string) ([]string, int, error) {
	if s == "" {
		return nil, 0, errors.New("hosts: none given")
	}
	parts := strings.Split(s, ",")
	last := parts[len(parts)-1]
	port := 0
	if host, p, err := net.SplitHostPort(last); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, 0, fmt.Errorf("port %q is not a number between 1 and 65535", p)
		}
		parts[len(parts)-1], port = host, n
	}
	for i, p := range parts {
		if p == "" {
			return nil, 0, fmt.Errorf("hosts %q: empty host", s)
		}
		if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
			parts[i] = p[1 : len(p)-1] // a bare IPv6 address
		}
	}
	return parts, port, nil
}

func (c *Config) setOptions(q url.Values) error {
	for key, values := range q {
		if len(values) != 1 {
			return fmt.Errorf("option %s: given %d times", key, len(values))
		}
		if err := c.setOption(key, values[0]); err != nil {
			return fmt.Errorf("option %s=%q: %w", key, values[0], err)
		}
	}
	return nil
}

func (c *Config) setOption(key, v string) error {
	var err error
	switch key {
	case "consistency":
		c.Consistency = strings.ToUpper(v)
	case "serial_consistency":
		c.SerialConsistency = strings.ToUpper(v)
	case "local_dc":
		c.LocalDC = v
	case "replication":
		c.Replication, err = ParseReplication(v)
	case "tls":
		c.TLS, err = strconv.ParseBool(v)
	case "tls_ca":
		c.TLSCAFile = v
	case "retries":
		return c.setRetries(v)
	default:
		if d, ok := c.durationField(key); ok {
			return setDuration(d, v)
		}
		return c.setIntOption(key, v)
	}
	return err
}

func (c *Config) durationField(key string) (*time.Duration, bool) {
	fields := map[string]*time.Duration{
		"timeout":         &c.Timeout,
		"connect_timeout": &c.ConnectTimeout,
		"ddl_timeout":     &c.DDLTimeout,
		"startup_timeout": &c.StartupTimeout,
		"retry_min":       &c.RetryMin,
		"retry_max":       &c.RetryMax,
	}
	d, ok := fields[key]
	return d, ok
}

// setDuration parses a positive duration: in a URL, zero is not a way to
// ask for the default.
func setDuration(field *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("not a positive duration such as 5s")
	}
	*field = d
	return nil
}

// setRetries parses the retry count, where 0 disables retries.
func (c *Config) setRetries(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return errors.New("not an integer >= 0")
	}
	c.Retries = n
	if n == 0 {
		c.Retries = -1
	}
	return nil
}

func (c *Config) setIntOption(key, v string) error {
	fields := map[string]*int{
		"buckets":          &c.Buckets,
		"concurrency":      &c.Concurrency,
		"scan_concurrency": &c.ScanConcurrency,
		"page_size":        &c.PageSize,
		"token_ranges":     &c.TokenRanges,
	}
	field, ok := fields[key]
	if !ok {
		return errors.New("unknown option")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return errors.New("not an integer >= 1")
	}
	*field = n
	return nil
}

// ParseReplication parses "SimpleStrategy:3" or
// "NetworkTopologyStrategy:dc1=3,dc2=2".
func ParseReplication(s string) (Replication, error) {
	class, spec, ok := strings.Cut(s, ":")
	if !ok {
		return Replication{}, fmt.Errorf("replication %q: want SimpleStrategy:N or NetworkTopologyStrategy:dc=N,...", s)
	}
	switch class {
	case SimpleStrategy:
		n, err := strconv.Atoi(spec)
		if err != nil || n < 1 {
			return Replication{}, fmt.Errorf("replication %q: factor %q is not a number >= 1", s, spec)
		}
		return Replication{Class: class, Factor: n}, nil
	case NetworkTopologyStrategy:
		dcs, err := parseDataCenters(spec)
		if err != nil {
			return Replication{}, fmt.Errorf("replication %q: %w", s, err)
		}
		return Replication{Class: class, DataCenters: dcs}, nil
	}
	return Replication{}, fmt.Errorf("replication %q: class %q is not %s or %s", s, class, SimpleStrategy, NetworkTopologyStrategy)
}

func parseDataCenters(spec string) (map[string]int, error) {
	dcs := make(map[string]int)
	for _, part := range strings.Split(spec, ",") {
		dc, factor, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(factor)
		if !ok || err != nil {
			return nil, fmt.Errorf("data center %q: want name=factor", part)
		}
		dcs[dc] = n
	}
	return dcs, nil
}

// String returns r in the form ParseReplication reads.
func (r Replication) String() string {
	if r.Class == NetworkTopologyStrategy {
		parts := make([]string, 0, len(r.DataCenters))
		for _, dc := range sortedKeys(r.DataCenters) {
			parts = append(parts, dc+"="+strconv.Itoa(r.DataCenters[dc]))
		}
		return r.Class + ":" + strings.Join(parts, ",")
	}
	return r.Class + ":" + strconv.Itoa(r.Factor)
}

// cql returns the replication map of a CREATE KEYSPACE statement. Data
// center names are validated, so quoting them is safe.
func (r Replication) cql() string {
	if r.Class == NetworkTopologyStrategy {
		parts := []string{"'class': 'NetworkTopologyStrategy'"}
		for _, dc := range sortedKeys(r.DataCenters) {
			parts = append(parts, fmt.Sprintf("'%s': %d", dc, r.DataCenters[dc]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("{'class': 'SimpleStrategy', 'replication_factor': %d}", r.Factor)
}

func (r Replication) validate() error {
	switch r.Class {
	case SimpleStrategy:
		if r.Factor < 1 {
			return fmt.Errorf("cassandra: config: replication factor %d is below 1", r.Factor)
		}
	case NetworkTopologyStrategy:
		if len(r.DataCenters) == 0 {
			return errors.New("cassandra: config: replication NetworkTopologyStrategy names no data center")
		}
		for dc, n := range r.DataCenters {
			if !dcPattern.MatchString(dc) || n < 0 {
				return fmt.Errorf("cassandra: config: replication data center %q=%d: want a name of letters, digits, _ . - and a factor >= 0", dc, n)
			}
		}
	default:
		return fmt.Errorf("cassandra: config: replication class %q is not %s or %s", r.Class, SimpleStrategy, NetworkTopologyStrategy)
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	setDefault(&c.Port, DefaultPort)
	setDefault(&c.Consistency, DefaultConsistency)
	setDefault(&c.SerialConsistency, DefaultSerial)
	setDefault(&c.Replication.Class, SimpleStrategy)
	if c.Replication.Class == SimpleStrategy {
		setDefault(&c.Replication.Factor, 1)
	}
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&c.DDLTimeout, DefaultDDLTimeout)
	setDefault(&c.StartupTimeout, DefaultStartupTimeout)
	setDefault(&c.Retries, DefaultRetries)
	setDefault(&c.RetryMin, DefaultRetryMin)
	setDefault(&c.RetryMax, DefaultRetryMax)
	setDefault(&c.Buckets, DefaultBuckets)
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.ScanConcurrency, DefaultScanConcurrency)
	setDefault(&c.PageSize, DefaultPageSize)
	setDefault(&c.TokenRanges, DefaultTokenRanges)
	return c
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// Validate returns an error naming the first field whose value cannot be
// used, and the value. It expects defaults applied (see WithDefaults).
func (c Config) Validate() error {
	if err := c.validateHosts(); err != nil {
		return err
	}
	if !keyspacePattern.MatchString(c.Keyspace) {
		return fmt.Errorf("cassandra: config: keyspace %q: want a lower-case letter, then up to 47 lower-case letters, digits or _", c.Keyspace)
	}
	if !slices.Contains(consistencies, c.Consistency) {
		return fmt.Errorf("cassandra: config: consistency %q is not one of %s", c.Consistency, strings.Join(consistencies, ", "))
	}
	if c.SerialConsistency != "SERIAL" && c.SerialConsistency != "LOCAL_SERIAL" {
		return fmt.Errorf("cassandra: config: serial consistency %q is not SERIAL or LOCAL_SERIAL", c.SerialConsistency)
	}
	if err := c.Replication.validate(); err != nil {
		return err
	}
	if err := c.validateDurations(); err != nil {
		return err
	}
	return c.validateSizes()
}

func (c Config) validateHosts() error {
	if len(c.Hosts) == 0 {
		return errors.New("cassandra: config: hosts: none given")
	}
	for _, h := range c.Hosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " /,@?") {
			return fmt.Errorf("cassandra: config: host %q is not a host name, an address or host:port", h)
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("cassandra: config: port %d is not between 1 and 65535", c.Port)
	}
	return nil
}

func (c Config) validateDurations() error {
	durations := []struct {
		name  string
		value time.Duration
	}{
		{"timeout", c.Timeout},
		{"connect timeout", c.ConnectTimeout},
		{"ddl timeout", c.DDLTimeout},
		{"startup timeout", c.StartupTimeout},
		{"retry min", c.RetryMin},
		{"retry max", c.RetryMax},
	}
	for _, d := range durations {
		if d.value <= 0 {
			return fmt.Errorf("cassandra: config: %s %v is not positive", d.name, d.value)
		}
	}
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("cassandra: config: retry max %v is below retry min %v", c.RetryMax, c.RetryMin)
	}
	return nil
}

func (c Config) validateSizes() error {
	sizes := []struct {
		name     string
		value    int
		min, max int
	}{
		{"buckets", c.Buckets, 1, 1024},
		{"concurrency", c.Concurrency, 1, 4096},
		{"scan concurrency", c.ScanConcurrency, 1, 1024},
		{"page size", c.PageSize, 10, 100000},
		{"token ranges", c.TokenRanges, 1, 1 << 16},
		{"retries", c.Retries, math.MinInt, 20},
	}
	for _, s := range sizes {
		if s.value < s.min || s.value > s.max {
			return fmt.Errorf("cassandra: config: %s %d is not between %d and %d", s.name, s.value, s.min, s.max)
		}
	}
	return nil
}

// hostList returns the hosts for messages, such as "10.0.0.1, 10.0.0.2".
func (c Config) hostList() string {
	return strings.Join(c.Hosts, ", ")
}
