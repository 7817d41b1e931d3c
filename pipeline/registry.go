package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/marquee/marquee/data"
)

// Run statuses of the registry, derived from a run's manifest and from the
// list store, which are the only records: nothing else keeps a status that
// could disagree with them.
const (
	// RunRunning: a stage is running in a live process, or the list store
	// holds an incomplete run that no manifest here describes.
	RunRunning = "running"
	// RunTrained: the models are trained and the list store holds no
	// complete run of them: not published yet, or its lists were deleted.
	RunTrained = "trained"
	// RunPublished: the list store holds the run complete, so it is
	// current or can be made current at once.
	RunPublished = "published"
	// RunRejected: the quality gate kept the run from being published.
	RunRejected = "rejected"
	// RunFailed: a stage failed, or the process running it died.
	RunFailed = "failed"
	// RunIncomplete: stopped by hand between stages before training, as
	// after `marquee pipeline export` alone.
	RunIncomplete = "incomplete"
)

// Registry is the run registry: the runs of a workspace and the runs of a
// list store, merged by run ID.
type Registry struct {
	Workspace Workspace
	Lists     data.Lists
	Log       *slog.Logger
}

// RunInfo describes one run of the registry.
type RunInfo struct {
	ID          string      `json:"run_id"`
	Status      string      `json:"status"`
	Current     bool        `json:"current"`
	CreatedAt   time.Time   `json:"created_at,omitzero"`
	PublishedAt time.Time   `json:"published_at,omitzero"`
	Trigger     string      `json:"trigger,omitempty"`
	Window      data.Window `json:"window"`
	// Model is the model the run published, or would publish.
	Model string `json:"model,omitempty"`
	// NDCG is Model's NDCG@10 on the run's test split.
	NDCG  *float64    `json:"ndcg_at_10,omitempty"`
	Gate  *GateResult `json:"gate,omitempty"`
	Lists int         `json:"lists"`
	// State is the run's state in the list store: complete, writing (a
	// publish in progress or cut short), or empty when it holds nothing
	// of the run.
	State string `json:"state,omitempty"`
	// Dir is the run's directory, empty when this workspace does not hold
	// it (a run published by another replica).
	Dir string `json:"dir,omitempty"`

	Manifest *Manifest `json:"-"`
	// Error is the error of the stage that failed, or why it stopped.
	Error string `json:"error,omitempty"`
}

// Runs returns every run of the workspace and of the list store, newest
// first by creation (or publication, for a run known only to the list
// store), and the current run ID, empty before the first publication.
func (r Registry) Runs(ctx context.Context) ([]RunInfo, string, error) {
	published, err := r.Lists.Runs(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("run registry: %w", err)
	}
	current, err := r.Lists.Current(ctx)
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		return nil, "", fmt.Errorf("run registry: %w", err)
	}
	ids, err := r.Workspace.Runs()
	if err != nil {
		return nil, "", fmt.Errorf("run registry: %w", err)
	}

	byID := map[string]*RunInfo{}
	var out []*RunInfo
	for _, id := range ids {
		run, err := r.Workspace.OpenRun(id)
		if err != nil {
			continue // a directory without a readable manifest is not a run
		}
		info := &RunInfo{ID: id, Dir: run.Dir, Manifest: &run.Manifest}
		byID[id] = info
		out = append(out, info)
	}
	for _, p := range published {
		info := byID[p.ID]
		if info == nil {
			info = &RunInfo{ID: p.ID}
			byID[p.ID] = info
			out = append(out, info)
		}
		info.Lists, info.State = p.Lists, "writing"
		if p.Complete {
			info.State, info.PublishedAt = "complete", p.PublishedAt
		}
	}

	for _, info := range out {
		info.Current = info.ID == current
		r.describe(ctx, info)
	}
	slices.SortStableFunc(out, func(a, b *RunInfo) int {
		if c := b.sortTime().Compare(a.sortTime()); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	runs := make([]RunInfo, len(out))
	for i, info := range out {
		runs[i] = *info
	}
	return runs, current, nil
}

func (i *RunInfo) sortTime() time.Time {
	if !i.CreatedAt.IsZero() {
		return i.CreatedAt
	}
	return i.PublishedAt
}

// describe fills in the details of the manifest, or of the summary
// artifact for a run only in the list store, and derives the status.
func (r Registry) describe(ctx context.Context, info *RunInfo) {
	m := info.Manifest
	if m == nil && info.State == "complete" {
		if b, err := ReadSummary(ctx, r.Lists, r.Workspace, info.ID); err == nil {
			m = &Manifest{RunID: b.RunID, CreatedAt: b.CreatedAt, Trigger: b.Trigger, Window: b.Window, Seed: b.Seed,
				Params: b.Params, Metrics: b.Metrics, Gate: b.Gate, Published: &Publication{Model: b.Model}}
		}
	}
	info.Status = runStatus(m, info.State, alive)
	if m == nil {
		return
	}
	info.CreatedAt, info.Trigger, info.Window, info.Gate = m.CreatedAt, m.Trigger, m.Window, m.Gate
	switch {
	case m.Published != nil:
		info.Model = m.Published.Model
	case m.Gate != nil:
		info.Model = m.Gate.Model
	default:
		info.Model, _ = ChooseModel("", m.Metrics)
	}
	if met, ok := m.Metrics[info.Model]; ok {
		info.NDCG = &met.NDCG
	}
	for _, stage := range GatedStages {
		if rec := m.Stages[stage]; rec != nil && rec.Error != "" {
			info.Error = stage + ": " + rec.Error
		}
	}
}

// runStatus derives a run's status from its manifest (nil for a run only
// in the list store) and its state in the list store: complete, writing
// or "" for none. live reports whether the process of a running stage is
// still alive.
func runStatus(m *Manifest, state string, live func(*StageRecord) bool) string {
	if state == "complete" {
		return RunPublished
	}
	if m == nil {
		return RunRunning
	}
	running := false
	for _, rec := range m.Stages {
		switch {
		case rec.Status == StatusFailed:
			return RunFailed
		case rec.Status == StatusRunning && !live(rec):
			return RunFailed
		case rec.Status == StatusRunning:
			running = true
		}
	}
	switch {
	case running:
		return RunRunning
	case m.Gate != nil && !m.Gate.Passed:
		return RunRejected
	case m.Stages[StageTrain] != nil:
		return RunTrained
	}
	return RunIncomplete
}

// alive reports whether the process that runs a stage may still be alive:
// it is, unless it ran on this host and no process of its ID exists.
//
// NOTE: a process ID can be reused after the process ends, most likely
// after a reboot. A reused ID makes a dead stage look alive until the
// scheduler's next run, which holds the lock and so takes every scheduled
// run it finds running as dead.
func alive(rec *StageRecord) bool {
	host, _ := processID()
	if rec.Host == "" || rec.Host != host || rec.PID <= 0 {
		return true
	}
	err := unix.Kill(rec.PID, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// Recover cleans up after runs whose process died while a stage was
// running: it marks the stage failed, deletes the run's incomplete lists
// from the list store, and for a scheduled run removes the export's
// staging directory, which only a resumed run by hand would use. A publish
// that committed before its process died is recorded as done instead.
// With lockHeld, the caller holds the scheduler's lock, so every
// scheduled run found running is dead whatever host ran it. It returns the
// IDs of the runs it recovered.
func (r Registry) Recover(ctx context.Context, lockHeld bool) ([]string, error) {
	ids, err := r.Workspace.Runs()
	if err != nil {
		return nil, err
	}
	published, err := r.Lists.Runs(ctx)
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	state := map[string]bool{} // run ID -> complete
	for _, p := range published {
		state[p.ID] = p.Complete
	}

	var recovered []string
	var errs []error
	for _, id := range ids {
		run, err := r.Workspace.OpenRun(id)
		if err != nil {
			continue
		}
		dead := func(rec *StageRecord) bool {
			return lockHeld && run.Manifest.Trigger == TriggerScheduler || !alive(rec)
		}
		changed := false
		for stage, rec := range run.Manifest.Stages {
			if rec.Status != StatusRunning || !dead(rec) {
				continue
			}
			if err := r.recoverStage(ctx, run, stage, rec, state); err != nil {
				errs = append(errs, fmt.Errorf("recover run %s: %w", id, err))
				continue
			}
			changed = true
		}
		if !changed {
			continue
		}
		if err := run.Save(); err != nil {
			errs = append(errs, fmt.Errorf("recover run %s: %w", id, err))
			continue
		}
		recovered = append(recovered, id)
	}
	return recovered, errors.Join(errs...)
}

// recoverStage settles one stage left running by a dead process.
func (r Registry) recoverStage(ctx context.Context, run *Run, stage string, rec *StageRecord, state map[string]bool) error {
	id := run.Manifest.RunID
	complete, inStore := state[id]
	if stage == StagePublish && complete {
		rec.Status, rec.Error = StatusDone, ""
		rec.Summary = map[string]any{"recovered": "the run was committed before its process died"}
		r.Log.Info("recover: the interrupted publish had committed; recorded as done", "run_id", id, "stage", stage)
		return nil
	}
	if inStore && !complete {
		if err := r.Lists.DeleteRun(ctx, id); err != nil {
			return fmt.Errorf("delete the incomplete lists: %w", err)
		}
	}
	if run.Manifest.Trigger == TriggerScheduler {
		if err := os.RemoveAll(run.Path(exportDir + ".partial")); err != nil {
			return err
		}
	}
	rec.Status = StatusFailed
	rec.Error = fmt.Sprintf("interrupted: the process running the stage (pid %d on %s) stopped before it finished", rec.PID, rec.Host)
	r.Log.Warn("recover: marked an interrupted stage failed", "run_id", id, "stage", stage, "pid", rec.PID, "host", rec.Host)
	return nil
}

// PreviousRun returns the newest complete run published before current, of
// runs ordered newest first as data.Lists.Runs returns them: the run that
// a rollback returns to.
func PreviousRun(runs []data.PublishedRun, current string) (string, error) {
	if current == "" {
		return "", errors.New("nothing to roll back: no run is current yet")
	}
	seen := false
	for _, r := range runs {
		switch {
		case r.ID == current:
			seen = true
		case seen && r.Complete:
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("no complete run older than the current run %s is kept; name one with `marquee runs rollback RUN_ID`", current)
}

// GC deletes every run but the newest keep, the current run, the one a
// rollback would return to, and runs still running: their directories
// and their lists. With dryRun it deletes nothing. It returns the IDs of
// the runs it deleted, or would delete.
func (r Registry) GC(ctx context.Context, keep int, dryRun bool) ([]string, error) {
	if keep < 0 {
		return nil, fmt.Errorf("gc: keep %d: want >= 0", keep)
	}
	runs, current, err := r.Runs(ctx)
	if err != nil {
		return nil, err
	}
	published, err := r.Lists.Runs(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	previous, _ := PreviousRun(published, current)

	var deleted []string
	var errs []error
	for i, run := range runs {
		if i < keep || run.ID == current || run.ID == previous || run.Status == RunRunning {
			continue
		}
		deleted = append(deleted, run.ID)
		if dryRun {
			continue
		}
		if run.State != "" {
			if err := r.Lists.DeleteRun(ctx, run.ID); err != nil {
				errs = append(errs, fmt.Errorf("gc: run %s: %w", run.ID, err))
				continue
			}
		}
		if run.Dir != "" {
			if err := os.RemoveAll(run.Dir); err != nil {
				errs = append(errs, fmt.Errorf("gc: run %s: %w", run.ID, err))
				continue
			}
		}
		r.Log.Info("gc: deleted run", "run_id", run.ID, "status", run.Status)
	}
	if !dryRun && len(deleted) > 0 {
		errs = append(errs, r.Workspace.fixLatest())
	}
	return deleted, errors.Join(errs...)
}

// fixLatest points runs/LATEST at the newest run left, or removes it when
// no run is left, after runs were deleted.
func (ws Workspace) fixLatest() error {
	latest := filepath.Join(ws.Dir, "runs", "LATEST")
	b, err := os.ReadFile(latest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(ws.Dir, "runs", strings.TrimSpace(string(b)))); err == nil {
		return nil
	}
	ids, err := ws.Runs()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return os.Remove(latest)
	}
	return writeFileAtomic(latest, []byte(ids[0]+"\n"))
}

// Promote makes a run current and returns the run that was current
// before, empty when none was. A run the list store holds complete becomes
// current at once. A trained run of this workspace that the gate rejected
// or that was never published is published now by runner, past the gate,
// because promoting is an operator's decision.
func (r Registry) Promote(ctx context.Context, runner *Runner, runID string, opts Options) (string, error) {
	previous, err := r.Lists.Current(ctx)
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		return "", fmt.Errorf("promote %s: %w", runID, err)
	}
	published, err := r.Lists.Runs(ctx)
	if err != nil {
		return "", fmt.Errorf("promote %s: %w", runID, err)
	}
	for _, p := range published {
		if p.ID == runID && p.Complete {
			if err := r.Lists.Activate(ctx, runID); err != nil {
				return "", fmt.Errorf("promote %s: %w", runID, err)
			}
			return previous, nil
		}
	}

	run, err := r.Workspace.OpenRun(runID)
	if err != nil {
		return "", fmt.Errorf("promote %s: the list store does not hold it and this workspace cannot publish it: %w", runID, err)
	}
	if !run.Done(StageTrain) {
		return "", fmt.Errorf("promote %s: the run has no trained models to publish (status %s)", runID,
			runStatus(&run.Manifest, "", alive))
	}
	if opts.Publish.Model == "" {
		if g := run.Manifest.Gate; g != nil {
			opts.Publish.Model = g.Model
		}
	}
	r.Log.Info("promote: publishing the run's lists", "run_id", runID)
	if err := runner.Stage(ctx, run, StagePublish, opts); err != nil {
		return "", fmt.Errorf("promote %s: %w", runID, err)
	}
	return previous, nil
}
