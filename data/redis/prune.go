package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// pruneTimeout bounds one background pruning.
const pruneTimeout = time.Minute

// schedulePrune requests a pruning from the background loop, starting the
// loop on first use. Requests made while one is pending merge into it.
func (l *Lists) schedulePrune() {
	l.startLoop.Do(func() {
		l.wg.Go(l.pruneLoop)
	})
	select {
	case l.prune <- struct{}{}:
	default:
	}
}

// pruneLoop prunes on request until Close, and once more at Close when a
// request is pending.
func (l *Lists) pruneLoop() {
	for {
		select {
		case <-l.prune:
			l.pruneOnce()
		case <-l.closing:
			select {
			case <-l.prune:
				l.pruneOnce()
			default:
			}
			return
		}
	}
}

func (l *Lists) pruneOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), pruneTimeout)
	defer cancel()
	deleted, err := l.Prune(ctx)
	if len(deleted) > 0 {
		l.cfg.log.Info("pruned old runs", "runs", deleted, "keep", l.cfg.keep)
	}
	if err != nil {
		l.cfg.log.Warn("pruning old runs failed; the next commit retries", "err", err)
	}
}

// Prune deletes every complete run except the newest Keep and the current
// one, incomplete runs started more than a day ago, and the data keys of
// deletions cut short. It returns the IDs of the runs it deleted. Pruning
// from several processes at once is safe.
func (l *Lists) Prune(ctx context.Context) ([]string, error) {
	runs, current, err := l.registry(ctx)
	if err != nil {
		return nil, wrap("prune", err)
	}
	var deleted []string
	var errs []error
	kept := 0
	for _, r := range runs {
		switch {
		case r.Complete && kept < l.cfg.keep:
			kept++
			continue
		case r.ID == current:
			continue
		case !r.Complete && l.cfg.now().Sub(r.created) < staleWriting:
			continue
		}
		if err := l.deleteRun(ctx, r.ID, false, strconv.FormatInt(r.info.gen, 10)); err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", quote(r.ID), err))
			continue
		}
		deleted = append(deleted, r.ID)
	}
	errs = append(errs, l.emptyTrash(ctx))
	return deleted, wrap("prune", errors.Join(errs...))
}

// emptyTrash purges the data keys of runs whose deletion was cut short.
func (l *Lists) emptyTrash(ctx context.Context) error {
	members, err := l.rdb.SMembers(ctx, l.keys.trash()).Result()
	if err != nil {
		return err
	}
	for _, m := range members {
		info, err := parseTrash(m)
		if err != nil {
			// Nothing can be done with it, and it must not block the rest.
			l.cfg.log.Warn("dropping a malformed entry of the trash set", "entry", m)
			l.rdb.SRem(ctx, l.keys.trash(), m)
			continue
		}
		if err := l.purge(ctx, info); err != nil {
			return err
		}
	}
	return nil
}
