package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
)

// Options are the settings of a run's stages.
type Options struct {
	Window  data.Window
	Seed    uint64
	Workers int // goroutines for training and evaluation; 0 means one per CPU
	Split   features.SplitConfig
	Params  TrainParams
	Export  ExportConfig
	Publish PublishConfig
	Tune    TuneConfig
	// Tuned makes the train stage use the parameters of the run's tuning,
	// for the models it tuned.
	Tuned bool
	// Gate, when set, makes All run the gate stage before publish, and
	// stop with ErrRejected instead of publishing a run that fails it.
	Gate *GateConfig
}

// Runner runs pipeline stages against one workspace, recording each in the
// run's manifest and logging one line per stage with the run ID.
type Runner struct {
	Workspace Workspace
	Source    Source     // the store exported from
	Lists     data.Lists // the list store publish writes to; nil when not publishing
	Log       *slog.Logger
	Now       func() time.Time
	// OnStage, when set, is called after each stage with its record, for
	// metrics.
	OnStage func(stage string, rec *StageRecord)
}

// Run directories of a run, relative to it.
const (
	exportDir = "export"
	splitDir  = "split"
	modelsDir = "models"
)

// Stage runs one stage of run and records its outcome in the manifest,
// which is saved whether the stage succeeds or fails. It holds the run's
// lock meanwhile, and refuses to change a published run (see guard).
func (r *Runner) Stage(ctx context.Context, run *Run, stage string, opts Options) error {
	unlock, err := run.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := guard(run, stage); err != nil {
		return err
	}
	return r.stage(ctx, run, stage, opts)
}

// guard refuses every stage but publish on a published run, whose models
// and metrics serving and the registry rely on. Publish itself is allowed,
// and finds the run already published.
func guard(run *Run, stage string) error {
	if run.Manifest.Published != nil && stage != StagePublish {
		return &publishedError{stage: stage}
	}
	return nil
}

// publishedError is the error of guard. It matches ErrRunPublished, and its
// text leaves the run ID to the caller, which names the run.
type publishedError struct{ stage string }

func (e *publishedError) Error() string {
	return fmt.Sprintf("the run is published, so its %s stage cannot run again: start a new run with `marquee pipeline run`", e.stage)
}

func (e *publishedError) Is(target error) bool { return target == ErrRunPublished }

// ErrNoEvents means an export found nothing to train on.
var ErrNoEvents = errors.New("no events")

// describeWindow formats a window for messages.
func describeWindow(w data.Window) string {
	bound := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.Format(time.RFC3339)
	}
	return "[" + bound(w.From, "beginning") + ", " + bound(w.To, "now") + ")"
}

// ErrRunPublished means a stage would change a run that is published.
var ErrRunPublished = errors.New("run is published")

func (r *Runner) stage(ctx context.Context, run *Run, stage string, opts Options) error {
	log := r.Log.With("run_id", run.Manifest.RunID, "stage", stage)
	host, pid := processID()
	rec := &StageRecord{Status: StatusRunning, StartedAt: r.Now().UTC(), Host: host, PID: pid}
	run.Manifest.Stages[stage] = rec
	if err := run.Save(); err != nil {
		return err
	}
	log.Info("stage started")

	summary, err := r.runStage(ctx, run, stage, opts, log)
	rec.FinishedAt = r.Now().UTC()
	rec.Seconds = rec.FinishedAt.Sub(rec.StartedAt).Seconds()
	rec.Summary = summary
	if err != nil {
		rec.Status, rec.Error = StatusFailed, err.Error()
		log.Error("stage failed", "err", err, "seconds", rec.Seconds)
	} else {
		rec.Status = StatusDone
		log.Info("stage done", "seconds", rec.Seconds)
	}
	if r.OnStage != nil {
		r.OnStage(stage, rec)
	}
	if saveErr := run.Save(); saveErr != nil && err == nil {
		return saveErr
	}
	return err
}

// All runs every stage in order, the gate included when opts.Gate is set.
// With resume, stages the run already finished are skipped, so a run that
// failed or was killed continues where it stopped. A run the gate rejects
// is not published, and All returns an error wrapping ErrRejected.
func (r *Runner) All(ctx context.Context, run *Run, opts Options, resume bool) error {
	unlock, err := run.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	stages := Stages
	if opts.Gate != nil {
		stages = GatedStages
	}
	for _, stage := range stages {
		if resume && run.Done(stage) && stage != StageGate {
			r.Log.Info("stage already done, skipped", "run_id", run.Manifest.RunID, "stage", stage)
			continue
		}
		if err := guard(run, stage); err != nil {
			return err
		}
		if err := r.stage(ctx, run, stage, opts); err != nil {
			return err
		}
		if g := run.Manifest.Gate; stage == StageGate && !g.Passed {
			return fmt.Errorf("%w: %s", ErrRejected, g.Reason)
		}
	}
	return nil
}

func (r *Runner) runStage(ctx context.Context, run *Run, stage string, opts Options, log *slog.Logger) (map[string]any, error) {
	switch stage {
	case StageExport:
		return r.export(ctx, run, opts, log)
	case StageSplit:
		return r.split(ctx, run, opts, log)
	case StageTrain:
		return r.train(ctx, run, opts, log)
	case StageEvaluate:
		return r.evaluate(ctx, run, opts, log)
	case StagePublish:
		return r.publish(ctx, run, opts, log)
	case StageTune:
		return r.tune(ctx, run, opts, log)
	case StageGate:
		if opts.Gate == nil {
			return nil, errors.New("gate: no gate configured")
		}
		return r.gate(ctx, run, opts, log)
	}
	return nil, fmt.Errorf("unknown stage %q", stage)
}

func (r *Runner) export(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	if r.Source == nil {
		return nil, errors.New("export: no store to export from")
	}
	run.Manifest.Window = opts.Window
	res, err := Export(ctx, r.Source, opts.Window, run.Path(exportDir), opts.Export, log)
	if err != nil {
		return nil, err
	}
	if res.Events == 0 {
		hint := "import or generate data first (`marquee data import`, `marquee data generate`)"
		if !opts.Window.From.IsZero() || !opts.Window.To.IsZero() {
			hint = "widen --from and --to, or import data of that time (`marquee data import`)"
		}
		return nil, fmt.Errorf("export: %w in the window %s: %s", ErrNoEvents, describeWindow(opts.Window), hint)
	}
	// Only the export's own manifest, which names its window, files and
	// counts, is checksummed: an export has a file per day.
	if err := run.RecordArtifacts(filepath.Join(exportDir, "manifest.json")); err != nil {
		return nil, err
	}
	return map[string]any{"events": res.Events, "by_type": res.ByType, "days": res.Days, "files": len(res.Files),
		"titles": res.Titles, "partitions": res.Partitions, "resumed_partitions": res.Resumed}, nil
}

func (r *Runner) split(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	if !run.Done(StageExport) {
		return nil, errors.New("split: the run has no finished export: run `marquee pipeline export` first")
	}
	cfg := opts.Split
	run.Manifest.Split = &cfg
	res, err := Split(ctx, run.Path(exportDir), run.Path(splitDir), cfg, log)
	if err != nil {
		return nil, err
	}
	splitFiles := []string{TrainFile, TestFile, TrainWatchesFile, AllWatchesFile}
	for i, f := range splitFiles {
		splitFiles[i] = filepath.Join(splitDir, f)
	}
	if err := run.RecordArtifacts(splitFiles...); err != nil {
		return nil, err
	}
	return map[string]any{"train_ratings": res.TrainRatings, "test_ratings": res.TestRatings,
		"test_users": res.TestUsers, "train_watches": res.TrainWatches}, nil
}

func (r *Runner) train(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	if !run.Done(StageSplit) {
		return nil, errors.New("train: the run has no finished split: run `marquee pipeline split` first")
	}
	params, err := r.trainParams(run, opts)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	run.Manifest.Seed, run.Manifest.Params = opts.Seed, &params
	models, err := Train(ctx, run.Path(splitDir), run.Path(modelsDir), params, opts.Seed, opts.Workers, log)
	if err != nil {
		return nil, err
	}
	run.Manifest.Models = models
	var files []string
	summary := map[string]any{}
	for name, m := range models {
		for _, f := range m.Files {
			files = append(files, filepath.Join(modelsDir, f))
		}
		summary[name+"_seconds"] = m.Seconds
	}
	return summary, run.RecordArtifacts(files...)
}

// trainParams returns the parameters of the train stage: those of opts, or
// with opts.Tuned those the run's tuning found for the models it tuned.
func (r *Runner) trainParams(run *Run, opts Options) (TrainParams, error) {
	if !opts.Tuned {
		return opts.Params.WithDefaults()
	}
	t := run.Manifest.Tuning
	if t == nil {
		return TrainParams{}, errors.New("the run has no tuning: run `marquee pipeline tune` first")
	}
	p := opts.Params
	for name := range t.Models {
		p.setModel(name, t.Params)
	}
	return p.WithDefaults()
}

func (r *Runner) tune(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	if !run.Done(StageSplit) {
		return nil, errors.New("tune: the run has no finished split: run `marquee pipeline split` first")
	}
	cfg := opts.Split
	if run.Manifest.Split != nil {
		cfg = *run.Manifest.Split
	}
	t, err := Tune(ctx, run.Path(splitDir), cfg, opts.Tune, log)
	if err != nil {
		return nil, err
	}
	if prev := run.Manifest.Tuning; prev != nil {
		t = mergeTuning(prev, t, log)
	}
	run.Manifest.Tuning = t
	files := []string{filepath.Join(splitDir, ValidationDir, TrainFile), filepath.Join(splitDir, ValidationDir, TestFile)}
	if err := run.RecordArtifacts(files...); err != nil {
		return nil, err
	}
	summary := map[string]any{"search": t.Search, "trials_per_model": t.Trials}
	for name, m := range t.Models {
		summary[name+"_tuned_"+m.Objective] = objectiveValue(m.Objective, m.Tuned)
	}
	return summary, nil
}

func (r *Runner) evaluate(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	if !run.Done(StageTrain) || run.Manifest.Params == nil {
		return nil, errors.New("evaluate: the run has no trained models: run `marquee pipeline train` first")
	}
	metrics, err := Evaluate(ctx, run.Path(splitDir), run.Path(modelsDir), *run.Manifest.Params, opts.Workers, log)
	if err != nil {
		return nil, err
	}
	run.Manifest.Metrics = metrics
	summary := map[string]any{}
	for name, m := range metrics {
		summary[name+"_ndcg_at_10"] = m.NDCG
	}
	return summary, nil
}

func (r *Runner) publish(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	if r.Lists == nil {
		return nil, errors.New("publish: no list store configured")
	}
	if p := run.Manifest.Published; p != nil {
		if named := opts.Publish.Model; named != "" && named != p.Model {
			if _, err := ChooseModel(named, nil); err != nil {
				return nil, fmt.Errorf("publish: %w", err)
			}
			return nil, fmt.Errorf("publish: the run is already published with model %s, and a run is published once: "+
				"to serve %s, start a new run with `marquee pipeline run --model %s`", p.Model, named, named)
		}
		log.Info("publish: the run is already published", "model", p.Model)
		return map[string]any{"model": p.Model, "lists": p.Lists, "already_published": true}, nil
	}
	if !run.Done(StageTrain) || run.Manifest.Params == nil {
		return nil, errors.New("publish: the run has no trained models: run `marquee pipeline train` first")
	}
	model, err := ChooseModel(opts.Publish.Model, run.Manifest.Metrics)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if n, ok, err := committedLists(ctx, r.Lists, run.Manifest.RunID); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	} else if ok {
		// An earlier publish committed, but its process stopped before the
		// manifest recorded it.
		log.Info("publish: the list store already holds this run complete; recording it", "lists", n)
		run.Manifest.Published = &Publication{Model: model, Lists: n, At: r.Now().UTC()}
		return map[string]any{"model": model, "lists": n, "already_published": true}, nil
	}
	summary, err := json.Marshal(run.Manifest.summary(model))
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	cfg := opts.Publish
	cfg.Artifacts = map[string][]byte{SummaryArtifact: summary}
	n, err := Publish(ctx, run.Manifest.RunID, run.Path(exportDir), run.Path(splitDir), run.Path(modelsDir), r.Lists, model,
		*run.Manifest.Params, cfg, run.Manifest.Seed, opts.Workers, log)
	if err != nil {
		return nil, err
	}
	run.Manifest.Published = &Publication{Model: model, Lists: n, At: r.Now().UTC()}
	return map[string]any{"model": model, "lists": n}, nil
}

// committedLists reports whether the list store holds run id complete, and
// with how many lists.
func committedLists(ctx context.Context, lists data.Lists, id string) (int, bool, error) {
	runs, err := lists.Runs(ctx)
	if err != nil {
		return 0, false, err
	}
	for _, p := range runs {
		if p.ID == id && p.Complete {
			return p.Lists, true, nil
		}
	}
	return 0, false, nil
}

// processID returns the host name and process ID recorded with a stage.
func processID() (string, int) {
	host, err := os.Hostname()
	if err != nil {
		host = ""
	}
	return host, os.Getpid()
}
