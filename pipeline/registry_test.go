package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/sqlite"
)

func TestFileLock(t *testing.T) {
	ctx := t.Context()
	lock := FileLock{Path: filepath.Join(t.TempDir(), "scheduler.lock")}
	t1 := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

	first, err := lock.Acquire(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Acquire(ctx, t1.Add(time.Hour)); !errors.Is(err, ErrLocked) {
		t.Errorf("second holder: got %v, want ErrLocked", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		t.Errorf("second release: %v", err)
	}

	steps := []struct {
		name      string
		tick      time.Time
		wantErr   error
		wantToken int64
	}{
		{"the same tick again", t1, ErrTickTaken, 0},
		{"an earlier tick", t1.Add(-time.Hour), ErrTickTaken, 0},
		{"the next tick", t1.Add(time.Hour), nil, 2},
		{"a run by hand", time.Time{}, nil, 3},
		{"the next tick once more", t1.Add(time.Hour), ErrTickTaken, 0},
	}
	for _, s := range steps {
		lease, err := lock.Acquire(ctx, s.tick)
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.wantErr)
		}
		if err != nil {
			continue
		}
		if got := lease.Token(); got != s.wantToken {
			t.Errorf("%s: token %d, want %d", s.name, got, s.wantToken)
		}
		select {
		case <-lease.Lost():
			t.Errorf("%s: a file lease reports lost", s.name)
		default:
		}
		lease.Release(ctx)
	}
}

// gateFixture is a workspace and an embedded list store.
type gateFixture struct {
	ws    Workspace
	lists data.Lists
	r     *Runner
}

func newGateFixture(t *testing.T) gateFixture {
	t.Helper()
	dir := t.TempDir()
	lists, err := sqlite.OpenLists(t.Context(), filepath.Join(dir, "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lists.Close() })
	ws := Workspace{Dir: dir}
	return gateFixture{ws: ws, lists: lists, r: &Runner{Workspace: ws, Lists: lists, Log: discard(), Now: time.Now}}
}

// evaluatedRun creates a run whose evaluation scored model at ndcg.
func (f gateFixture) evaluatedRun(t *testing.T, id, model string, ndcg float64) *Run {
	t.Helper()
	run, err := f.ws.CreateRun(id, 42, data.Window{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run.Manifest.Stages[StageTrain] = &StageRecord{Status: StatusDone}
	run.Manifest.Stages[StageEvaluate] = &StageRecord{Status: StatusDone}
	run.Manifest.Metrics = map[string]Metrics{model: {NDCG: ndcg, Recall: 2 * ndcg, Users: 100}}
	if err := run.Save(); err != nil {
		t.Fatal(err)
	}
	return run
}

// publish commits a run of one list, with a summary artifact unless
// summary is nil, and records the publication in its manifest when run is
// not nil.
func (f gateFixture) publish(t *testing.T, id string, run *Run, summary *RunSummary) {
	t.Helper()
	ctx := t.Context()
	w, err := f.lists.NewRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, []data.ListEntry{{Kind: data.ListTrending, Key: "all", Items: []data.ScoredItem{{ID: id}}}}); err != nil {
		t.Fatal(err)
	}
	if summary != nil {
		b, _ := json.Marshal(summary)
		if err := w.PutArtifact(ctx, SummaryArtifact, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if run != nil {
		run.Manifest.Stages[StagePublish] = &StageRecord{Status: StatusDone}
		model, _ := ChooseModel("", run.Manifest.Metrics)
		run.Manifest.Published = &Publication{Model: model}
		if err := run.Save(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Millisecond) // distinct publication times
}

func TestGate(t *testing.T) {
	tests := []struct {
		name string
		// serve sets up what is serving, if anything.
		serve      func(t *testing.T, f gateFixture)
		candidate  float64
		tolerance  float64
		wantPassed bool
		wantReason string
	}{
		{"nothing serving", func(*testing.T, gateFixture) {}, 0.01, 0.02, true, "first run passes"},
		{"equal", servingFromArtifact(0.07), 0.07, 0, true, "within 0.0%"},
		{"within tolerance", servingFromArtifact(0.07), 0.0686, 0.02, true, "within 2.0%"},
		{"below tolerance", servingFromArtifact(0.07), 0.0685, 0.02, false, "below 0.0686"},
		{"better", servingFromArtifact(0.07), 0.09, 0.02, true, "within"},
		{"serving metrics from the workspace manifest", func(t *testing.T, f gateFixture) {
			f.publish(t, "serving", f.evaluatedRun(t, "serving", ModelIALS, 0.07), nil)
		}, 0.05, 0.02, false, "below"},
		{"serving run without metrics", func(t *testing.T, f gateFixture) {
			f.publish(t, "serving", nil, nil)
		}, 0.01, 0.02, true, "cannot compare"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newGateFixture(t)
			tc.serve(t, f)
			run := f.evaluatedRun(t, "candidate", ModelIALS, tc.candidate)
			opts := Options{Gate: &GateConfig{Tolerance: tc.tolerance}}
			if err := f.r.Stage(t.Context(), run, StageGate, opts); err != nil {
				t.Fatal(err)
			}
			g := run.Manifest.Gate
			if g == nil || g.Passed != tc.wantPassed || !strings.Contains(g.Reason, tc.wantReason) {
				t.Fatalf("gate: got %+v, want passed=%v with a reason containing %q", g, tc.wantPassed, tc.wantReason)
			}
			if g.Model != ModelIALS || g.Candidate != tc.candidate {
				t.Errorf("gate judged %s at %v, want ials at %v", g.Model, g.Candidate, tc.candidate)
			}
			reopened, err := f.ws.OpenRun("candidate")
			if err != nil || reopened.Manifest.Gate == nil || reopened.Manifest.Gate.Passed != tc.wantPassed {
				t.Errorf("the manifest does not record the gate: %+v, %v", reopened.Manifest.Gate, err)
			}
		})
	}

	t.Run("metric", func(t *testing.T) {
		f := newGateFixture(t)
		servingFromArtifact(0.07)(t, f) // recall 0.14
		run := f.evaluatedRun(t, "candidate", ModelIALS, 0.069)
		opts := Options{Gate: &GateConfig{Metric: "recall_at_20", Tolerance: 0}}
		if err := f.r.Stage(t.Context(), run, StageGate, opts); err != nil {
			t.Fatal(err)
		}
		if g := run.Manifest.Gate; g.Passed || g.Metric != "recall_at_20" || *g.Serving != 0.14 {
			t.Errorf("gate on recall: got %+v, want a rejection against 0.14", g)
		}
		if err := (GateConfig{Metric: "rmse"}).Validate(); err == nil {
			t.Error("gate on rmse: got no error, want one naming the metrics")
		}
		if err := (GateConfig{Tolerance: 2}).Validate(); err == nil {
			t.Error("tolerance 2: got no error")
		}
	})
}

// servingFromArtifact publishes a run known only by its summary artifact,
// as a run of another replica is.
func servingFromArtifact(ndcg float64) func(t *testing.T, f gateFixture) {
	return func(t *testing.T, f gateFixture) {
		f.publish(t, "serving", nil, &RunSummary{RunID: "serving", Model: ModelEASE,
			Metrics: map[string]Metrics{ModelEASE: {NDCG: ndcg, Recall: 2 * ndcg, Users: 100}}})
	}
}

func TestRunStatus(t *testing.T) {
	done := &StageRecord{Status: StatusDone}
	live := &StageRecord{Status: StatusRunning, PID: 1}
	dead := &StageRecord{Status: StatusRunning, PID: 2}
	isLive := func(rec *StageRecord) bool { return rec.PID == 1 }
	stages := func(kv ...any) map[string]*StageRecord {
		m := map[string]*StageRecord{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(*StageRecord)
		}
		return m
	}
	tests := []struct {
		name  string
		m     *Manifest
		state string
		want  string
	}{
		{"exporting", &Manifest{Stages: stages(StageExport, live)}, "", RunRunning},
		{"killed while training", &Manifest{Stages: stages(StageExport, done, StageTrain, dead)}, "", RunFailed},
		{"failed", &Manifest{Stages: stages(StageExport, &StageRecord{Status: StatusFailed})}, "", RunFailed},
		{"exported by hand", &Manifest{Stages: stages(StageExport, done)}, "", RunIncomplete},
		{"trained", &Manifest{Stages: stages(StageTrain, done, StageEvaluate, done)}, "", RunTrained},
		{"rejected", &Manifest{Stages: stages(StageTrain, done, StageGate, done), Gate: &GateResult{Passed: false}}, "", RunRejected},
		{"published", &Manifest{Stages: stages(StageTrain, done, StagePublish, done)}, "complete", RunPublished},
		{"rejected, then promoted", &Manifest{Stages: stages(StageTrain, done), Gate: &GateResult{}}, "complete", RunPublished},
		{"published, lists deleted", &Manifest{Stages: stages(StageTrain, done, StagePublish, done)}, "", RunTrained},
		{"killed while publishing", &Manifest{Stages: stages(StageTrain, done, StagePublish, dead)}, "writing", RunFailed},
		{"only in the list store", nil, "complete", RunPublished},
		{"only in the list store, writing", nil, "writing", RunRunning},
	}
	for _, tc := range tests {
		if got := runStatus(tc.m, tc.state, isLive); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// deadPID returns the ID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

func TestRecover(t *testing.T) {
	ctx := t.Context()
	f := newGateFixture(t)
	host, pid := processID()
	exited := deadPID(t)

	// mk creates a run whose stage is left running by the process pid.
	mk := func(id, trigger, stage string, pid int) *Run {
		run, err := f.ws.CreateRun(id, 1, data.Window{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		run.Manifest.Trigger = trigger
		run.Manifest.Stages[stage] = &StageRecord{Status: StatusRunning, Host: host, PID: pid}
		if err := run.Save(); err != nil {
			t.Fatal(err)
		}
		return run
	}
	scheduled := mk("scheduled", TriggerScheduler, StageExport, pid) // alive, but the lock holder takes it as dead
	if err := os.MkdirAll(scheduled.Path("export.partial", "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	mk("manual-dead", TriggerManual, StageTrain, exited)
	mk("manual-alive", TriggerManual, StageTrain, pid)
	mk("publishing", TriggerScheduler, StagePublish, exited)
	w, err := f.lists.NewRun(ctx, "publishing")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, []data.ListEntry{{Kind: data.ListTrending, Key: "all"}}); err != nil {
		t.Fatal(err)
	}
	committed := mk("committed", TriggerScheduler, StagePublish, exited)
	f.publish(t, "committed", nil, nil)

	got, err := Registry{Workspace: f.ws, Lists: f.lists, Log: discard()}.Recover(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"committed", "manual-dead", "publishing", "scheduled"}; !slices.Equal(got, want) {
		t.Errorf("recovered %v, want %v", got, want)
	}

	want := map[string]string{"scheduled": RunFailed, "manual-dead": RunFailed, "manual-alive": RunRunning,
		"publishing": RunFailed, "committed": RunPublished}
	runs, _, err := Registry{Workspace: f.ws, Lists: f.lists}.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status != want[r.ID] {
			t.Errorf("run %s: status %s, want %s (%s)", r.ID, r.Status, want[r.ID], r.Error)
		}
		if r.ID == "publishing" && r.State != "" {
			t.Errorf("the interrupted publish left its lists in the list store (%s)", r.State)
		}
		if r.Status == RunFailed && !strings.Contains(r.Error, "interrupted") {
			t.Errorf("run %s: error %q does not say it was interrupted", r.ID, r.Error)
		}
	}
	if _, err := os.Stat(scheduled.Path("export.partial")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staging directory of the scheduled run is still there: %v", err)
	}
	reopened, err := f.ws.OpenRun(committed.Manifest.RunID)
	if err != nil || !reopened.Done(StagePublish) {
		t.Errorf("the publish that had committed is not recorded as done: %+v, %v", reopened.Manifest.Stages, err)
	}
}

func TestGC(t *testing.T) {
	ctx := t.Context()
	f := newGateFixture(t)
	for _, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		run := f.evaluatedRun(t, id, ModelIALS, 0.1)
		f.publish(t, id, run, nil)
		time.Sleep(time.Second / 100)
	}
	f.evaluatedRun(t, "r6", ModelIALS, 0.1) // trained, not published: the newest
	if err := f.lists.Activate(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	reg := Registry{Workspace: f.ws, Lists: f.lists, Log: discard()}

	dry, err := reg.GC(ctx, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: r6, the newest; r3, current; r2, the run a rollback returns to.
	if want := []string{"r5", "r4", "r1"}; !slices.Equal(dry, want) {
		t.Errorf("dry run: would delete %v, want %v", dry, want)
	}
	runs, _, _ := reg.Runs(ctx)
	if len(runs) != 6 {
		t.Fatalf("the dry run deleted runs: %d left", len(runs))
	}

	if _, err := reg.GC(ctx, 1, false); err != nil {
		t.Fatal(err)
	}
	runs, current, err := reg.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range runs {
		left = append(left, r.ID+"="+r.Status)
	}
	if want := "r6=trained r3=published r2=published"; strings.Join(left, " ") != want || current != "r3" {
		t.Errorf("after gc: %v with %s current, want %s with r3 current", left, current, want)
	}
	for _, id := range []string{"r1", "r4", "r5"} {
		if _, err := os.Stat(filepath.Join(f.ws.Dir, "runs", id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run %s: directory left: %v", id, err)
		}
		if _, err := f.lists.List(ctx, id, data.ListTrending, "all"); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("run %s: lists left: %v", id, err)
		}
	}
}

func TestLeaseContext(t *testing.T) {
	lease := &fakeLease{lost: make(chan struct{})}
	ctx, cancel := LeaseContext(context.Background(), lease)
	defer cancel()
	close(lease.lost)
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), ErrLeaseLost) {
		t.Errorf("cause %v, want ErrLeaseLost", context.Cause(ctx))
	}
}

type fakeLease struct{ lost chan struct{} }

func (l *fakeLease) Token() int64                  { return 1 }
func (l *fakeLease) Lost() <-chan struct{}         { return l.lost }
func (l *fakeLease) Release(context.Context) error { return nil }
