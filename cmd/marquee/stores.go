package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/cassandra"
	"github.com/marquee/marquee/data/sqlite"
)

// openStore opens the event and catalog store named by a URL. A Cassandra
// store gets its schema migrations applied first, which is idempotent.
func openStore(ctx context.Context, url string, log *slog.Logger) (data.Store, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("invalid store URL %q: want sqlite://PATH or cassandra://HOSTS/KEYSPACE", url)
	}
	switch scheme {
	case "sqlite":
		path, err := sqlitePath(rest)
		if err != nil {
			return nil, fmt.Errorf("invalid store URL %q: %w", url, err)
		}
		return sqlite.Open(ctx, path)
	case "cassandra":
		store, err := openCassandra(ctx, url, log)
		if err != nil {
			return nil, err
		}
		if err := store.Migrate(ctx); err != nil {
			store.Close()
			return nil, err
		}
		return store, nil
	default:
		return nil, fmt.Errorf("invalid store URL %q: unknown scheme %q, want sqlite or cassandra", url, scheme)
	}
}

// openEventSource opens the store a pipeline exports from. Unlike
// openStore, it does not create an embedded store that does not exist: an
// export from a new, empty file would only fail later with "no events",
// after creating the file and its directory at a mistyped path.
func openEventSource(ctx context.Context, url string, log *slog.Logger) (data.Store, error) {
	if rest, ok := strings.CutPrefix(url, "sqlite://"); ok {
		path, _, _ := strings.Cut(rest, "?")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s: load events with `marquee data import` or `marquee data generate`, "+
				"or point --store at an existing store", path)
		}
	}
	return openStore(ctx, url, log)
}

func openCassandra(ctx context.Context, url string, log *slog.Logger) (*cassandra.Store, error) {
	cfg, err := cassandra.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("invalid store URL: %w", err)
	}
	return cassandra.Open(ctx, cfg, log.With("subsystem", "cassandra"))
}

// openLists opens the published-list store named by a URL: sqlite://PATH,
// or redis://HOST:PORT[/DB][?prefix=mq&keep=3] (rediss:// for TLS,
// redis+cluster:// for a cluster).
func openLists(ctx context.Context, url string, log *slog.Logger) (data.Lists, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("invalid cache URL %q: want sqlite://PATH or redis://HOST:PORT", url)
	}
	switch {
	case scheme == "sqlite":
		path, err := sqlitePath(rest)
		if err != nil {
			return nil, fmt.Errorf("invalid cache URL %q: %w", url, err)
		}
		return sqlite.OpenLists(ctx, path)
	case isRedisURL(url):
		return openRedis(ctx, url, log)
	default:
		return nil, fmt.Errorf("invalid cache URL %q: unknown scheme %q, want sqlite or redis", url, scheme)
	}
}

// sqlitePath returns the file path of a sqlite:// URL, creating its
// directory: sqlite:///abs/path is absolute, sqlite://rel/path relative to
// the working directory.
func sqlitePath(rest string) (string, error) {
	path, _, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", fmt.Errorf("empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, nil
}
