package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/marquee/marquee/data"
)

// Schedule gives the times at which runs are due. The schedules of
// robfig/cron satisfy it.
type Schedule interface {
	// Next returns the first time after t at which a run is due, or the
	// zero time when none ever is.
	Next(t time.Time) time.Time
}

// Scheduler retrains unattended: at each due time it takes the shared
// lock, cleans up after runs whose process died, runs every stage with the
// quality gate, and deletes old runs. Replicas that share the lock run
// each due time once between them, and never two runs at a time.
type Scheduler struct {
	Runner  *Runner // with Source and Lists set
	Lock    Lock
	Options Options // of every run; the window is set per run from Window
	// Window is how far back from its start a run exports events; zero
	// exports every event up to the start.
	Window time.Duration
	// Fenced makes publish commit with the lease's fencing token, which
	// the list store checks: set it when the lock and the list store are
	// the same Redis.
	Fenced bool
	// Keep is the number of newest runs kept after each run (see
	// Registry.GC); zero or less deletes none.
	Keep    int
	Metrics *SchedulerMetrics // nil: no metrics
	// OnRun, when set, is called after each run with its result, as for
	// pushing metrics.
	OnRun func(Result)
	Log   *slog.Logger
}

// Result is the outcome of one scheduled run.
type Result struct {
	RunID   string // empty when skipped
	Outcome string // OutcomePublished, OutcomeRejected, OutcomeFailed or OutcomeSkipped
	Gate    *GateResult
}

// Run runs the pipeline at every time sched gives until ctx is done, then
// returns nil. A failed or rejected run is logged and counted, and the
// next one runs on schedule. Times missed while a run was in progress are
// skipped, as are times another replica took.
func (s *Scheduler) Run(ctx context.Context, sched Schedule) error {
	last := time.Time{}
	for {
		now := s.Runner.Now()
		if now.Before(last) {
			now = last // a clock set back must not run a time twice
		}
		next := sched.Next(now)
		if next.IsZero() {
			return errors.New("scheduler: the schedule has no next time")
		}
		s.Log.Info("scheduler: next run", "at", next.Format(time.RFC3339))
		t := time.NewTimer(next.Sub(s.Runner.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		last = next
		// RunOnce logs and counts its outcome, and the schedule goes on.
		_, _ = s.RunOnce(ctx, next)
	}
}

// RunOnce runs the pipeline once for the run due at tick, a zero tick for
// a run started by hand or by a Kubernetes CronJob. It returns
// OutcomeSkipped and a nil error when another holder has the lock or took
// the tick. It returns an error wrapping ErrRejected when the gate kept the
// run from being published, and otherwise the error of the stage that
// failed, which wraps ErrLeaseLost when the lock was lost meanwhile.
func (s *Scheduler) RunOnce(ctx context.Context, tick time.Time) (Result, error) {
	log := s.Log
	if !tick.IsZero() {
		log = log.With("tick", tick.Format(time.RFC3339))
	}
	lease, err := s.Lock.Acquire(ctx, tick)
	if errors.Is(err, ErrLocked) || errors.Is(err, ErrTickTaken) {
		log.Info("scheduler: run skipped", "reason", err.Error())
		return s.done(Result{Outcome: OutcomeSkipped}), nil
	}
	if err != nil {
		log.Error("scheduler: run failed: taking the lock failed", "err", err)
		return s.done(Result{Outcome: OutcomeFailed}), fmt.Errorf("scheduler: %w", err)
	}

	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			log.Warn("scheduler: releasing the lock failed; it expires on its own", "err", err)
		}
	}()
	ctx, cancel := LeaseContext(ctx, lease)
	defer cancel()

	s.Metrics.running(true)
	res, err := s.run(ctx, lease, log)
	s.Metrics.running(false)
	if err != nil && errors.Is(context.Cause(ctx), ErrLeaseLost) && !errors.Is(err, ErrLeaseLost) {
		err = fmt.Errorf("%w: %w", ErrLeaseLost, err)
	}

	res.Outcome = OutcomePublished
	switch {
	case errors.Is(err, ErrRejected):
		res.Outcome = OutcomeRejected
		log.Warn("scheduler: run rejected by the quality gate; kept unpublished", "run_id", res.RunID, "reason", res.Gate.Reason)
	case err != nil:
		res.Outcome = OutcomeFailed
		log.Error("scheduler: run failed", "run_id", res.RunID, "err", err)
	default:
		log.Info("scheduler: run published", "run_id", res.RunID)
	}

	res = s.done(res)
	if res.RunID != "" && s.Keep > 0 {
		s.gc(ctx, log)
	}
	return res, err
}

// done counts the outcome of a run and reports it to OnRun.
func (s *Scheduler) done(res Result) Result {
	s.Metrics.outcome(res.Outcome, s.Runner.Now(), res.Gate)
	if s.OnRun != nil {
		s.OnRun(res)
	}
	return res
}

// run recovers interrupted runs, then runs every stage of a new run.
func (s *Scheduler) run(ctx context.Context, lease Lease, log *slog.Logger) (Result, error) {
	reg := Registry{Workspace: s.Runner.Workspace, Lists: s.Runner.Lists, Log: log}
	if ids, err := reg.Recover(ctx, true); err != nil {
		log.Warn("scheduler: cleaning up after interrupted runs failed in part", "recovered", ids, "err", err)
	}

	start := s.Runner.Now().UTC().Truncate(time.Second)
	opts := s.Options
	opts.Window = data.Window{To: start}
	if s.Window > 0 {
		opts.Window.From = start.Add(-s.Window)
	}
	if s.Fenced {
		opts.Publish.Fence = lease.Token()
	}
	run, err := s.Runner.Workspace.CreateRun(NewRunID(start), opts.Seed, opts.Window, start)
	if err != nil {
		return Result{}, err
	}
	run.Manifest.Trigger = TriggerScheduler
	if err := run.Save(); err != nil {
		return Result{RunID: run.Manifest.RunID}, err
	}
	log.Info("scheduler: run started", "run_id", run.Manifest.RunID, "fencing_token", lease.Token())

	runner := *s.Runner
	runner.OnStage = func(stage string, rec *StageRecord) {
		s.Metrics.stage(stage, rec)
		if s.Runner.OnStage != nil {
			s.Runner.OnStage(stage, rec)
		}
	}
	err = runner.All(ctx, run, opts, false)
	return Result{RunID: run.Manifest.RunID, Gate: run.Manifest.Gate}, err
}

// gc deletes old runs, logging what it could not delete.
func (s *Scheduler) gc(ctx context.Context, log *slog.Logger) {
	reg := Registry{Workspace: s.Runner.Workspace, Lists: s.Runner.Lists, Log: log}
	if _, err := reg.GC(context.WithoutCancel(ctx), s.Keep, false); err != nil {
		log.Warn("scheduler: deleting old runs failed", "err", err)
	}
}
