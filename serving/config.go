package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/marquee/marquee/data"
)

// Config sets up a Service. Lists and Catalog are required; a zero value
// elsewhere selects the default given with the field.
type Config struct {
	Lists   data.Lists   // published runs
	Catalog data.Catalog // title metadata, and genres for the genre filter
	Users   data.Users   // preferred genres for cold start; nil: none
	Events  data.Events  // full rating and watch history, for fold-in; nil: History only
	// History contains recent interactions. Nil means EventsHistory on
	// Events, read on every request: the store is then the only record, so
	// a response reflects every write the store accepted.
	History History
	Bus     Bus          // invalidations across replicas; nil: caches expire by TTL only
	Log     *slog.Logger // nil: discard
	Now     func() time.Time

	// Timeout bounds each read of Lists, History and the store (default
	// 50 ms). A read that fails or takes longer makes the response degraded.
	Timeout time.Duration
	// WriteTimeout bounds RecordInteraction; default 250 ms.
	WriteTimeout time.Duration

	// How long the in-process copies are served before they are read
	// again: the current run ID (default 1 s), lists (default 60 s), a
	// user's history and preferences (default 10 s) and titles (default
	// 5 min). Invalidations from the Bus drop them sooner. Stale copies
	// stay as the last good copy until memory runs short.
	PointerTTL, ListTTL, UserTTL, TitleTTL time.Duration

	// CacheBytes bounds the memory of cached lists (default 256 MiB), and
	// CacheUsers the number of users whose history, preferences and
	// folded-in lists are cached (default 100,000).
	CacheBytes int64
	CacheUsers int

	// NoCache reads lists and histories from their stores on every
	// request; the in-process copies then serve only as fallbacks when a
	// read fails. The current run ID, titles and preferences stay cached.
	NoCache bool

	// FoldInTimeout bounds the fold-in of a user whose feedback is newer
	// than the run, store reads included (default 50 ms). FoldInN is the
	// length of a folded-in list (default 100). FoldInMaxFeedback is the
	// number of newest ratings or viewings it uses (default 500).
	FoldInTimeout     time.Duration
	FoldInN           int
	FoldInMaxFeedback int

	// A dependency that fails BreakerFailures times in a row (default 5)
	// is not called for BreakerCooldown (default 1 s), so that requests
	// fall back at once. After the cooldown, one call probes it.
	BreakerFailures int
	BreakerCooldown time.Duration
}

func (c Config) withDefaults() Config {
	dur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	dur(&c.Timeout, 50*time.Millisecond)
	dur(&c.WriteTimeout, 250*time.Millisecond)
	dur(&c.PointerTTL, time.Second)
	dur(&c.ListTTL, time.Minute)
	dur(&c.UserTTL, 10*time.Second)
	dur(&c.TitleTTL, 5*time.Minute)
	dur(&c.FoldInTimeout, 50*time.Millisecond)
	dur(&c.BreakerCooldown, time.Second)
	if c.CacheBytes <= 0 {
		c.CacheBytes = 256 << 20
	}
	if c.CacheUsers <= 0 {
		c.CacheUsers = 100_000
	}
	if c.FoldInN <= 0 {
		c.FoldInN = 100
	}
	if c.FoldInMaxFeedback <= 0 {
		c.FoldInMaxFeedback = 500
	}
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = 5
	}
	if c.History == nil {
		c.History = EventsHistory{Events: c.Events}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service serves lookups from published lists, with in-process caches and
// fallbacks. It is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	cacheHistory bool // false when History is the EventsHistory of the defaults

	pointer  pointer
	lists    *lru[listKey, listValue]
	recent   *lru[string, []data.Event]
	prefs    *lru[string, []string]
	titles   *lru[string, titleValue]
	folded   *lru[string, foldedValue]
	models   *modelCache
	trending lastTrending // the last good trending list, the fallback of last resort

	listsBreaker, historyBreaker, storeBreaker *breaker
	flight                                     singleflight.Group
	stats                                      counters
	warm                                       chan struct{} // run switches that warmLoop has yet to act on

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Service with the default settings that reads user history
// from events (EventsHistory) and has no Bus. It starts no background loop:
// Close only waits for the loads of fold-in models that lookups started.
func New(lists data.Lists, catalog data.Catalog, events data.Events, log *slog.Logger) *Service {
	return newService(Config{Lists: lists, Catalog: catalog, Events: events, Log: log})
}

// Open returns a Service set up by cfg and starts its goroutines: one that
// loads a new run's trending list and fold-in model as soon as the run
// becomes current and, when cfg.Bus is set, one that applies
// invalidations. Close stops them. It returns an error naming the first
// missing dependency.
func Open(cfg Config) (*Service, error) {
	switch {
	case cfg.Lists == nil:
		return nil, errors.New("serving: Config.Lists is nil")
	case cfg.Catalog == nil:
		return nil, errors.New("serving: Config.Catalog is nil")
	}
	s := newService(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { s.warmLoop(ctx) })
	if cfg.Bus != nil {
		s.wg.Go(func() { s.subscribe(ctx) })
	}
	return s, nil
}

func newService(cfg Config) *Service {
	cacheHistory := cfg.History != nil
	cfg = cfg.withDefaults()
	now := cfg.Now
	users := int64(cfg.CacheUsers)
	brk := func() *breaker {
		return &breaker{threshold: cfg.BreakerFailures, cooldown: cfg.BreakerCooldown, now: now}
	}
	return &Service{
		cfg:            cfg,
		cacheHistory:   cacheHistory,
		log:            cfg.Log,
		pointer:        pointer{ttl: cfg.PointerTTL, now: now},
		lists:          newLRU[listKey, listValue](cfg.CacheBytes, cfg.ListTTL, now),
		recent:         newLRU[string, []data.Event](users, cfg.UserTTL, now),
		prefs:          newLRU[string, []string](users, cfg.UserTTL, now),
		titles:         newLRU[string, titleValue](int64(max(10_000, cfg.CacheUsers)), cfg.TitleTTL, now),
		folded:         newLRU[string, foldedValue](users, cfg.UserTTL, now),
		models:         newModelCache(),
		listsBreaker:   brk(),
		historyBreaker: brk(),
		storeBreaker:   brk(),
		warm:           make(chan struct{}, 1),
	}
}

// Close stops the invalidation goroutine and waits for it. It does not
// close the stores. Calling it twice is safe.
func (s *Service) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// subscribe applies invalidations from the Bus until ctx is done.
func (s *Service) subscribe(ctx context.Context) {
	err := s.cfg.Bus.Subscribe(ctx, s.apply)
	if err != nil && ctx.Err() == nil {
		s.log.Error("invalidation subscription ended", "err", err)
	}
}

// apply acts on one Bus message.
func (s *Service) apply(msg string) {
	s.stats.invalidations.Add(1)
	switch {
	case msg == MessageResubscribed:
		// Messages may have been lost: everything may be stale.
		s.pointer.expire()
		s.recent.expire()
		s.prefs.expire()
		s.folded.expire()
		s.titles.expire()
	case len(msg) > len(MessageRun) && strings.HasPrefix(msg, MessageRun):
		s.pointer.expire()
		s.requestWarm()
	case len(msg) > len(MessageUser) && strings.HasPrefix(msg, MessageUser):
		s.dropUser(msg[len(MessageUser):])
	case len(msg) > len(MessageTitle) && strings.HasPrefix(msg, MessageTitle):
		s.titles.delete(msg[len(MessageTitle):])
	default:
		s.log.Debug("unknown invalidation message", "msg", fmt.Sprintf("%.40q", msg))
	}
}

// requestWarm requests a warm-up from warmLoop, unless one is pending.
func (s *Service) requestWarm() {
	select {
	case s.warm <- struct{}{}:
	default:
	}
}

// warmLoop warms the caches after each run switch until ctx is done, so
// that the new run's trending list and model are loaded before requests
// need them.
func (s *Service) warmLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.warm:
		}
		wctx, cancel := context.WithTimeout(ctx, modelLoadTimeout)
		if err := s.Warm(wctx); err != nil {
			s.log.Debug("warming after a run switch failed", "err", err)
		}
		cancel()
	}
}

// dropUser deletes the cached history, preferences and folded-in list of
// a user.
func (s *Service) dropUser(userID string) {
	s.recent.delete(userID)
	s.prefs.delete(userID)
	s.folded.delete(userID)
}
