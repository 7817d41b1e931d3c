package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/redis"
	"github.com/marquee/marquee/serving"
)

// cache is the set of stores that the --cache URL names: the published
// lists and, with Redis, the users' recent interactions and the
// invalidation channel that API replicas share.
type cache struct {
	lists   data.Lists
	history serving.History // nil: serving reads the event store
	bus     serving.Bus     // nil: caches expire by TTL only
}

// isRedisURL reports whether a cache URL names Redis.
func isRedisURL(url string) bool {
	scheme, _, _ := strings.Cut(url, "://")
	return scheme == "redis" || scheme == "rediss" || scheme == "redis+cluster"
}

// openCache opens the list store named by a URL, with the history and the
// bus when it is Redis.
func openCache(ctx context.Context, url string, log *slog.Logger) (cache, error) {
	if !isRedisURL(url) {
		lists, err := openLists(ctx, url, log)
		return cache{lists: lists}, err
	}
	l, err := openRedis(ctx, url, log)
	if err != nil {
		return cache{}, err
	}
	return cache{lists: l, history: l.History(), bus: l.Bus()}, nil
}

func openRedis(ctx context.Context, rawURL string, log *slog.Logger) (*redis.Lists, error) {
	log = log.With("subsystem", "redis")
	// go-redis logs each failed dial itself, which under an outage is a
	// line per request, so its lines go to debug level. Degraded responses
	// and the Bus's own warnings report outages.
	goredis.SetLogger(redisLog{log})
	l, err := redis.OpenLists(ctx, rawURL, redis.WithLogger(log))
	if errors.Is(err, data.ErrInvalid) {
		return nil, fmt.Errorf("invalid cache URL: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("the cache at %s is unreachable: %w", cacheHost(rawURL), err)
	}
	return l, nil
}

// cacheHost returns the host and port of a cache URL, without the
// credentials the URL may hold.
func cacheHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "the cache URL"
	}
	return u.Host
}

// redisLog passes go-redis's own log lines to slog at debug level.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}
