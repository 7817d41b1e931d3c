package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/marquee/marquee/api"
	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/serving"
)

// servingFlags are the settings of the online lookups that serve exposes.
type servingFlags struct {
	timeout       time.Duration
	noCache       bool
	cacheMiB      int64
	pointerTTL    time.Duration
	listTTL       time.Duration
	userTTL       time.Duration
	foldInTimeout time.Duration
}

func (f *servingFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.timeout, "serving-timeout", 50*time.Millisecond, "longest wait for the list cache or the store before an answer is served from an older copy, marked X-Marquee-Degraded")
	fs.BoolVar(&f.noCache, "no-cache", false, "read lists and users' histories from the list cache on every request; the in-process copies then serve only when a read fails (the current run ID is still cached for --pointer-ttl)")
	fs.Int64Var(&f.cacheMiB, "cache-memory", 256, "memory for lists cached in process, in MiB")
	fs.DurationVar(&f.pointerTTL, "pointer-ttl", time.Second, "how long the current run ID is used before it is read again; a run published through Redis is announced at once")
	fs.DurationVar(&f.listTTL, "list-ttl", time.Minute, "how long a cached list is used before it is read again")
	fs.DurationVar(&f.userTTL, "user-ttl", 10*time.Second, "how long a user's cached history and preferences are used; a rating through any replica sharing Redis drops them at once")
	fs.DurationVar(&f.foldInTimeout, "fold-in-timeout", 50*time.Millisecond, "longest time spent folding in a user whose ratings are newer than the run")
}

// openServing opens the list cache named by url and a Service on it and on
// store. close releases both.
func (f *servingFlags) openServing(ctx context.Context, url string, store data.Store, log *slog.Logger) (svc *serving.Service, close func() error, err error) {
	c, err := openCache(ctx, url, log)
	if err != nil {
		return nil, nil, err
	}
	svc, err = serving.Open(serving.Config{
		Lists: c.lists, Catalog: store, Users: store, Events: store, History: c.history, Bus: c.bus,
		Log: log.With("subsystem", "serving"), Timeout: f.timeout, NoCache: f.noCache, CacheBytes: f.cacheMiB << 20,
		PointerTTL: f.pointerTTL, ListTTL: f.listTTL, UserTTL: f.userTTL, FoldInTimeout: f.foldInTimeout,
	})
	if err != nil {
		return nil, nil, errors.Join(err, c.lists.Close())
	}
	if err := svc.Warm(ctx); err != nil {
		log.Warn("serving starts cold: reading the current run failed", "err", err)
	}
	return svc, func() error { return errors.Join(svc.Close(), c.lists.Close()) }, nil
}

// interactions passes the API's accepted writes to serving. The API names
// only the user, the title and the kind, so it reads the rating or watch
// event just stored to learn its value, time and kind.
type interactions struct {
	svc    *serving.Service
	events data.Events
	now    func() time.Time
}

var _ api.InteractionRecorder = interactions{}

// RecordInteraction records a rating, a deleted rating or a completed
// viewing with serving.
func (r interactions) RecordInteraction(ctx context.Context, userID, contentID string, kind api.InteractionKind) error {
	switch kind {
	case api.InteractionRated:
		rating, err := r.events.Rating(ctx, userID, contentID)
		if err != nil {
			return fmt.Errorf("read the rating just stored: %w", err)
		}
		return r.svc.RecordInteraction(ctx, data.RatingEvent(rating))
	case api.InteractionUnrated:
		return r.svc.RecordInteraction(ctx, data.Event{Type: data.EventRatingDeleted, UserID: userID, ContentID: contentID, Time: r.now()})
	case api.InteractionWatched:
		watches, err := r.events.Watches(ctx, userID, 20)
		if err != nil {
			return fmt.Errorf("read the watch event just stored: %w", err)
		}
		for _, w := range watches {
			if w.ContentID == contentID {
				return r.svc.RecordInteraction(ctx, data.WatchEventOf(w))
			}
		}
	}
	return nil
}
