package redis

import (
	"context"
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Messages on the channel start with one of these prefixes, followed by an
// ID. Lists publishes MessageRun after Commit and Activate. Serving
// publishes MessageUser when a user rates or watches something, and
// MessageTitle when a title of the catalog changes.
const (
	MessageRun   = "run "
	MessageUser  = "user "
	MessageTitle = "title "
)

// Bus carries short messages between the processes that share a Redis, on
// the channel <prefix>:events. Delivery is at most once: a process that is
// disconnected misses what is published meanwhile, which is why Subscribe
// reports every (re)subscription. It is safe for concurrent use and valid
// until its Lists is closed.
type Bus struct {
	lists *Lists
}

// Bus returns the channel of l's Redis.
func (l *Lists) Bus() *Bus { return &Bus{lists: l} }

// Publish sends msg to every subscriber.
func (b *Bus) Publish(ctx context.Context, msg string) error {
	return wrap("publish", b.lists.rdb.Publish(ctx, b.lists.keys.channel(), msg).Err())
}

// Resubscribed is the message Subscribe hands to fn after each
// subscription, first and renewed: messages published while the
// subscription was down are lost, so the receiver should drop what those
// messages would have invalidated.
const Resubscribed = ""

// Subscribe calls fn with each message until ctx is cancelled, then returns
// ctx.Err(). It calls fn with Resubscribed after each subscription. It
// reconnects on its own while Redis is unreachable, waiting up to a second
// between attempts, and logs the first failure of each outage. fn runs on
// Subscribe's goroutine and should return quickly.
func (b *Bus) Subscribe(ctx context.Context, fn func(msg string)) error {
	ps := b.lists.rdb.Subscribe(ctx, b.lists.keys.channel())
	defer ps.Close()
	// A blocked read does not watch ctx; closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	log := b.lists.cfg.log
	backoff, failing := 50*time.Millisecond, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, 15*time.Second)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if isTimeout(err) {
				// Nothing was published for a while: check the connection.
				err = ps.Ping(ctx)
			}
			if err == nil {
				continue
			}
			if !failing {
				log.Warn("subscription to the invalidation channel lost; retrying", "err", err)
				failing = true
			}
			if !sleep(ctx, backoff) {
				return ctx.Err()
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		switch m := msg.(type) {
		case *goredis.Subscription:
			if failing {
				log.Info("subscription to the invalidation channel restored")
			}
			failing, backoff = false, 50*time.Millisecond
			fn(Resubscribed)
		case *goredis.Message:
			fn(m.Payload)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
