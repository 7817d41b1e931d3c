package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/internal/listblob"
)

// Lists is the Redis data.Lists. It is safe for concurrent use, but its
// RunWriters are not. A lookup of a list is one HGET once the run's registry
// entry is known. The entries of complete runs are kept in memory, because
// a complete run never changes.
type Lists struct {
	rdb   goredis.UniversalClient
	reads goredis.Cmdable // rdb, or its autopipeliner for the reads of serving
	owned bool            // Close closes rdb
	cfg   config
	keys  keys

	mu   sync.Mutex
	runs map[string]cachedRun // registry entries of complete runs, by run ID

	// Background pruning: Commit signals prune, and the loop that
	// schedulePrune starts stops when closing is closed. Close waits for it.
	prune     chan struct{}
	closing   chan struct{}
	wg        sync.WaitGroup
	startLoop sync.Once
	closeOnce sync.Once
}

var _ data.Lists = (*Lists)(nil)

// runInfo is the location of a run's data keys.
type runInfo struct {
	gen     int64
	buckets int
}

// cachedRun is a registry entry kept in memory and when it was read.
type cachedRun struct {
	runInfo
	read time.Time
}

// Bounds of the registry entries kept in memory: how many, and how often a
// missing list makes List read the entry again.
const (
	maxCachedRuns = 256
	recheckAfter  = time.Second
)

// Close finishes a pruning that a Commit asked for, waiting up to
// pruneTimeout, then closes the connection when OpenLists made it. Calls
// after Close fail.
func (l *Lists) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		l.wg.Wait()
		if ap, ok := l.reads.(*goredis.AutoPipeliner); ok {
			err = ap.Close()
		}
		if l.owned {
			err = errors.Join(err, l.rdb.Close())
		}
		err = wrap("close redis", err)
	})
	return err
}

// NewRun starts writing the run with the given ID, or resumes it when an
// incomplete run of that ID exists. It returns an error wrapping ErrConflict
// for a complete run and ErrInvalid for an empty ID.
func (l *Lists) NewRun(ctx context.Context, runID string) (data.RunWriter, error) {
	op := "new run " + quote(runID)
	if runID == "" {
		return nil, wrap(op, fmt.Errorf("%w: run id is empty", data.ErrInvalid))
	}
	k := l.keys
	res, err := newRunScript.Run(ctx, l.rdb, []string{k.run(runID), k.index(), k.seq()},
		runID, l.cfg.now().UnixMilli(), l.cfg.buckets).Int64Slice()
	if err != nil {
		return nil, wrap(op, err)
	}
	if res[0] == 0 {
		return nil, wrap(op, fmt.Errorf("%w: the run is complete and cannot change", data.ErrConflict))
	}
	info := runInfo{gen: res[1], buckets: int(res[2])}
	return &runWriter{lists: l, runID: runID, info: info}, nil
}

// Current returns the ID of the run readers see, or an error wrapping
// ErrNotFound before the first commit.
func (l *Lists) Current(ctx context.Context) (string, error) {
	runID, err := l.reads.Get(ctx, l.keys.current()).Result()
	if isNil(err) {
		err = data.ErrNotFound
	}
	if err != nil {
		return "", wrap("current run", err)
	}
	return runID, nil
}

// List returns one list of a complete run, or an error wrapping ErrNotFound
// when the run is unknown or incomplete or has no list under kind and key.
// A stored empty list is returned as a nil slice and a nil error.
func (l *Lists) List(ctx context.Context, runID string, kind data.ListKind, key string) ([]data.ScoredItem, error) {
	op := fmt.Sprintf("list %s %s of run %s", kind, quote(key), quote(runID))
	info, err := l.complete(ctx, runID, false)
	if err != nil {
		return nil, wrap(op, err)
	}
	blob, err := l.reads.HGet(ctx, l.keys.bucket(info.gen, info.buckets, kind, key), key).Result()
	if isNil(err) {
		// The run may have been deleted and written again under a new
		// generation since its entry was read: read it again, at most once
		// a second, since most missing lists are simply missing.
		if l.cfg.now().Sub(info.read) > recheckAfter {
			if fresh, ferr := l.complete(ctx, runID, true); ferr == nil && fresh.runInfo != info.runInfo {
				return l.List(ctx, runID, kind, key)
			}
		}
		err = data.ErrNotFound
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	items, err := listblob.Decode(blob)
	if err != nil {
		return nil, wrap(op, err)
	}
	return items, nil
}

// Artifact returns an artifact of a complete run, or an error wrapping
// ErrNotFound when the run is unknown or incomplete or has no artifact of
// that name.
func (l *Lists) Artifact(ctx context.Context, runID, name string) ([]byte, error) {
	op := fmt.Sprintf("artifact %s of run %s", quote(name), quote(runID))
	info, err := l.complete(ctx, runID, true)
	if err != nil {
		return nil, wrap(op, err)
	}
	b, err := l.rdb.HGet(ctx, l.keys.artifacts(info.gen), name).Bytes()
	if isNil(err) {
		err = data.ErrNotFound
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	return b, nil
}

// complete returns where the data keys of a complete run are, from memory
// unless refresh is set or the run is not known there yet. It returns
// ErrNotFound for an unknown or incomplete run.
func (l *Lists) complete(ctx context.Context, runID string, refresh bool) (cachedRun, error) {
	if !refresh {
		l.mu.Lock()
		run, ok := l.runs[runID]
		l.mu.Unlock()
		if ok {
			return run, nil
		}
	}
	st, err := l.rdb.HMGet(ctx, l.keys.run(runID), "state", "gen", "buckets").Result()
	if err != nil {
		return cachedRun{}, err
	}
	if st[0] != "complete" {
		l.forget(runID)
		return cachedRun{}, data.ErrNotFound
	}
	info, err := parseInfo(st[1], st[2])
	if err != nil {
		return cachedRun{}, fmt.Errorf("registry entry of run %s: %w", quote(runID), err)
	}
	run := cachedRun{info, l.cfg.now()}
	l.mu.Lock()
	if len(l.runs) >= maxCachedRuns {
		clear(l.runs)
	}
	l.runs[runID] = run
	l.mu.Unlock()
	return run, nil
}

func (l *Lists) forget(runID string) {
	l.mu.Lock()
	delete(l.runs, runID)
	l.mu.Unlock()
}

func parseInfo(gen, buckets any) (runInfo, error) {
	g, err1 := strconv.ParseInt(fmt.Sprint(gen), 10, 64)
	b, err2 := strconv.Atoi(fmt.Sprint(buckets))
	if err := errors.Join(err1, err2); err != nil || b < 1 {
		return runInfo{}, fmt.Errorf("malformed gen %v or buckets %v", gen, buckets)
	}
	return runInfo{gen: g, buckets: b}, nil
}

// Activate makes an earlier complete run current, for rollback, and
// announces it on the channel. It returns an error wrapping ErrNotFound for
// an unknown or incomplete run.
func (l *Lists) Activate(ctx context.Context, runID string) error {
	op := "activate run " + quote(runID)
	ok, err := activateScript.Run(ctx, l.rdb, []string{l.keys.run(runID), l.keys.current()}, runID).Int()
	if err != nil {
		return wrap(op, err)
	}
	if ok == 0 {
		return wrap(op, fmt.Errorf("%w: no complete run of that ID", data.ErrNotFound))
	}
	l.announce(ctx, runID)
	return nil
}

// announce publishes a run switch. Readers also poll the pointer, so a lost
// message only delays the switch, and an error is logged, not returned.
func (l *Lists) announce(ctx context.Context, runID string) {
	if err := l.rdb.Publish(ctx, l.keys.channel(), MessageRun+runID).Err(); err != nil {
		l.cfg.log.Warn("announce run switch failed", "run_id", runID, "err", err)
	}
}

// Runs returns the runs held, complete or not, newest first: by publication
// time, then by commit order.
func (l *Lists) Runs(ctx context.Context) ([]data.PublishedRun, error) {
	runs, _, err := l.registry(ctx)
	if err != nil {
		return nil, wrap("runs", err)
	}
	out := make([]data.PublishedRun, len(runs))
	for i, r := range runs {
		out[i] = r.PublishedRun
	}
	return out, nil
}

// entry is a run's registry entry.
type entry struct {
	data.PublishedRun
	info    runInfo
	seq     int64
	created time.Time
}

// registry returns every run's entry, newest first, and the current run ID
// ("" when there is none).
func (l *Lists) registry(ctx context.Context) ([]entry, string, error) {
	k := l.keys
	ids, err := l.rdb.SMembers(ctx, k.index()).Result()
	if err != nil {
		return nil, "", err
	}
	pipe := l.rdb.Pipeline()
	current := pipe.Get(ctx, k.current())
	cmds := make([]*goredis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, k.run(id), "state", "gen", "buckets", "created", "published", "seq", "lists")
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return nil, "", err
	}

	runs := make([]entry, 0, len(ids))
	for i, id := range ids {
		e, ok, err := parseEntry(id, cmds[i].Val())
		if err != nil {
			return nil, "", err
		}
		if ok {
			runs = append(runs, e)
		}
	}
	slices.SortFunc(runs, func(a, b entry) int {
		if c := b.PublishedAt.Compare(a.PublishedAt); c != 0 {
			return c
		}
		return int(b.seq - a.seq)
	})
	return runs, current.Val(), nil
}

// parseEntry reads the fields of a registry entry. It reports false for an
// entry deleted since the index was read.
func parseEntry(id string, st []any) (entry, bool, error) {
	if st[0] == nil {
		return entry{}, false, nil
	}
	info, err := parseInfo(st[1], st[2])
	nums := make([]int64, 4)
	for i, v := range st[3:] {
		var perr error
		nums[i], perr = strconv.ParseInt(fmt.Sprint(v), 10, 64)
		err = errors.Join(err, perr)
	}
	if err != nil {
		return entry{}, false, fmt.Errorf("registry entry of run %s: %w", quote(id), err)
	}
	return entry{
		PublishedRun: data.PublishedRun{
			ID: id, PublishedAt: time.UnixMilli(nums[1]).UTC(), Lists: int(nums[3]), Complete: st[0] == "complete",
		},
		info: info, seq: nums[2], created: time.UnixMilli(nums[0]).UTC(),
	}, true, nil
}

// DeleteRun removes a run, its lists and its artifacts. It returns an error
// wrapping ErrConflict for the current run and nil for an unknown one.
func (l *Lists) DeleteRun(ctx context.Context, runID string) error {
	return wrap("delete run "+quote(runID), l.deleteRun(ctx, runID, false, ""))
}

// deleteRun removes the run from the registry, atomically refusing the
// current run, then unlinks its data keys. With onlyIncomplete it deletes
// only an incomplete run, and with a non-empty gen only that generation.
func (l *Lists) deleteRun(ctx context.Context, runID string, onlyIncomplete bool, gen string) error {
	k := l.keys
	flag := "0"
	if onlyIncomplete {
		flag = "1"
	}
	res, err := deleteScript.Run(ctx, l.rdb, []string{k.run(runID), k.current(), k.index(), k.trash()},
		runID, flag, gen).Int64Slice()
	if err != nil {
		return err
	}
	l.forget(runID)
	switch res[0] {
	case -1:
		return fmt.Errorf("%w: the run is current: activate another run first", data.ErrConflict)
	case 0:
		return nil
	}
	return l.purge(ctx, runInfo{gen: res[1], buckets: int(res[2])})
}

// trashEntry returns the entry of the trash set for the data keys of a
// deleted run.
func trashEntry(info runInfo) string { return fmt.Sprintf("%d:%d", info.gen, info.buckets) }

func parseTrash(s string) (runInfo, error) {
	gen, buckets, ok := strings.Cut(s, ":")
	info, err := parseInfo(gen, buckets)
	if !ok || err != nil {
		return runInfo{}, fmt.Errorf("malformed trash entry %s", quote(s))
	}
	return info, nil
}

// purge unlinks the data keys of a deleted run, then takes it off the trash
// set. Unlinking a missing key does nothing, so purging twice is safe.
func (l *Lists) purge(ctx context.Context, info runInfo) error {
	const perPipeline = 512
	pipe := l.rdb.Pipeline()
	pipe.Unlink(ctx, l.keys.artifacts(info.gen))
	for _, kind := range kinds {
		for b := range info.buckets {
			pipe.Unlink(ctx, l.keys.bucketAt(info.gen, kind, b))
			if pipe.Len() >= perPipeline {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
	}
	pipe.SRem(ctx, l.keys.trash(), trashEntry(info))
	_, err := pipe.Exec(ctx)
	return err
}
