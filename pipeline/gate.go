package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/marquee/marquee/data"
)

// ErrRejected means the quality gate kept a run from being published.
var ErrRejected = errors.New("rejected by the quality gate")

// Metrics the quality gate can compare, all higher-is-better ranking
// metrics of the evaluation protocol.
var gateMetrics = map[string]func(Metrics) float64{
	"ndcg_at_10":     func(m Metrics) float64 { return m.NDCG },
	"recall_at_20":   func(m Metrics) float64 { return m.Recall },
	"hit_rate_at_10": func(m Metrics) float64 { return m.HitRate },
	"map_at_10":      func(m Metrics) float64 { return m.MAP },
}

// GateMetrics returns the names of the metrics the gate can compare.
func GateMetrics() []string {
	names := make([]string, 0, len(gateMetrics))
	for n := range gateMetrics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GateConfig sets the quality gate, the stage between evaluate and publish
// that keeps a run worse than the serving one from reaching viewers.
//
// Both sides are measured the same way: the metric of the model a run
// publishes, on that run's own held-out test split, as the evaluate stage
// scored it. A new run passes when its value is at least the serving run's
// times (1 - Tolerance). Each run is scored on its own split, not both on
// the new split, because the serving run's model was trained on other
// users and titles than the new data, and scoring it there would need its
// vocabularies and factors at hand. The protocol keeps the split rules
// fixed, so the two values are comparable up to the drift of the data,
// which the tolerance absorbs.
type GateConfig struct {
	Metric    string  // one of GateMetrics(); default ndcg_at_10
	Tolerance float64 // relative drop allowed, from 0 to 1: 0.02 lets a run 2% worse through
}

// Validate checks the metric and the tolerance.
func (c GateConfig) Validate() error {
	if _, ok := gateMetrics[c.metric()]; !ok {
		return fmt.Errorf("gate metric %q: choose from %s", c.Metric, strings.Join(GateMetrics(), ", "))
	}
	if c.Tolerance < 0 || c.Tolerance > 1 {
		return fmt.Errorf("gate tolerance %v: want a fraction from 0 to 1", c.Tolerance)
	}
	return nil
}

func (c GateConfig) metric() string {
	if c.Metric == "" {
		return "ndcg_at_10"
	}
	return c.Metric
}

// GateResult records the gate's decision in the manifest.
type GateResult struct {
	Passed    bool    `json:"passed"`
	Reason    string  `json:"reason"`
	Metric    string  `json:"metric"`
	Tolerance float64 `json:"tolerance"`
	Model     string  `json:"model"`
	Candidate float64 `json:"candidate"`
	// The serving run and its value; empty when nothing was serving or its
	// value is unknown.
	ServingRun   string    `json:"serving_run,omitempty"`
	ServingModel string    `json:"serving_model,omitempty"`
	Serving      *float64  `json:"serving,omitempty"`
	Threshold    *float64  `json:"threshold,omitempty"`
	At           time.Time `json:"at"`
}

// SummaryArtifact is the name of the artifact that publish writes with a
// run's lists: the RunSummary as JSON. It travels with the lists, so the
// gate and the run registry of any replica read a published run's
// metrics, whichever machine's workspace holds its directory.
const SummaryArtifact = "run.json"

// RunSummary is the description of a run that its publication stores with
// its lists.
type RunSummary struct {
	RunID     string             `json:"run_id"`
	CreatedAt time.Time          `json:"created_at"`
	Trigger   string             `json:"trigger,omitempty"`
	Window    data.Window        `json:"window"`
	Seed      uint64             `json:"seed"`
	Params    *TrainParams       `json:"params,omitempty"`
	Model     string             `json:"model"`
	Metrics   map[string]Metrics `json:"metrics,omitempty"`
	Gate      *GateResult        `json:"gate,omitempty"`
}

// summary returns the summary of a run that publishes model.
func (m *Manifest) summary(model string) RunSummary {
	return RunSummary{RunID: m.RunID, CreatedAt: m.CreatedAt, Trigger: m.Trigger, Window: m.Window, Seed: m.Seed,
		Params: m.Params, Model: model, Metrics: m.Metrics, Gate: m.Gate}
}

// ReadSummary returns the summary of a run: the artifact its publication
// wrote, or else one built from the workspace's manifest of the run. It
// returns an error wrapping data.ErrNotFound when neither exists.
func ReadSummary(ctx context.Context, lists data.Lists, ws Workspace, runID string) (*RunSummary, error) {
	b, err := lists.Artifact(ctx, runID, SummaryArtifact)
	if err == nil {
		var s RunSummary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("summary of run %s: %w", runID, err)
		}
		return &s, nil
	}
	if !errors.Is(err, data.ErrNotFound) {
		return nil, err
	}
	if checkRunID(runID) != nil {
		// A run of the list store named so that no workspace can hold it.
		return nil, fmt.Errorf("summary of run %q: %w", runID, data.ErrNotFound)
	}
	run, err := ws.OpenRun(runID)
	if err != nil {
		return nil, err
	}
	model := ""
	if p := run.Manifest.Published; p != nil {
		model = p.Model
	} else if g := run.Manifest.Gate; g != nil {
		model = g.Model
	}
	s := run.Manifest.summary(model)
	return &s, nil
}

// gate compares the run with the serving run and records the outcome in
// the manifest. A rejected run is not an error of the stage: All stops
// after it with ErrRejected.
func (r *Runner) gate(ctx context.Context, run *Run, opts Options, log *slog.Logger) (map[string]any, error) {
	cfg := *opts.Gate
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	if r.Lists == nil {
		return nil, errors.New("gate: no list store configured")
	}
	if !run.Done(StageEvaluate) {
		return nil, errors.New("gate: the run has no finished evaluation: run `marquee pipeline evaluate` first")
	}
	model, err := ChooseModel(opts.Publish.Model, run.Manifest.Metrics)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	m, ok := run.Manifest.Metrics[model]
	if !ok {
		return nil, fmt.Errorf("gate: model %q was not evaluated in this run", model)
	}
	value := gateMetrics[cfg.metric()]
	res := &GateResult{Metric: cfg.metric(), Tolerance: cfg.Tolerance, Model: model, Candidate: value(m), At: r.Now().UTC()}

	if err := r.compare(ctx, res, value); err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	run.Manifest.Gate = res
	attrs := []any{"passed", res.Passed, "metric", res.Metric, "model", model, "candidate", res.Candidate}
	if res.Serving != nil {
		attrs = append(attrs, "serving_run", res.ServingRun, "serving", *res.Serving, "threshold", *res.Threshold)
	}
	if res.Passed {
		log.Info("gate: "+res.Reason, attrs...)
	} else {
		log.Warn("gate: run rejected: "+res.Reason, attrs...)
	}
	summary := map[string]any{"passed": res.Passed, "model": model, res.Metric: res.Candidate}
	if res.Serving != nil {
		summary["serving_run"], summary["serving_"+res.Metric] = res.ServingRun, *res.Serving
	}
	return summary, nil
}

// compare fills in the serving side of res and the decision.
func (r *Runner) compare(ctx context.Context, res *GateResult, value func(Metrics) float64) error {
	current, err := r.Lists.Current(ctx)
	if errors.Is(err, data.ErrNotFound) {
		res.Passed, res.Reason = true, "no run is serving yet, so the first run passes"
		return nil
	}
	if err != nil {
		return err
	}
	res.ServingRun = current

	s, err := ReadSummary(ctx, r.Lists, r.Workspace, current)
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		return err
	}
	var serving Metrics
	ok := err == nil
	if ok {
		res.ServingModel = s.Model
		serving, ok = s.Metrics[s.Model]
	}
	if !ok {
		// Blocking every later run on a serving run that was published
		// without metrics, by hand or by an older version, would need an
		// operator each time. So the gate lets the run through and records
		// the reason.
		res.Passed = true
		res.Reason = fmt.Sprintf("the serving run %s has no recorded %s, so the gate cannot compare and lets the run through", current, res.Metric)
		return nil
	}

	v := value(serving)
	threshold := v * (1 - res.Tolerance)
	res.Serving, res.Threshold = &v, &threshold
	// The slack keeps a value at the threshold, such as 0.07 * 0.98, from
	// failing on rounding.
	res.Passed = res.Candidate >= threshold-1e-12
	if res.Passed {
		res.Reason = fmt.Sprintf("%s %.4f is within %.1f%% of the serving run's %.4f", res.Metric, res.Candidate, 100*res.Tolerance, v)
	} else {
		res.Reason = fmt.Sprintf("%s %.4f is below %.4f, %.1f%% under the serving run's %.4f", res.Metric, res.Candidate, threshold, 100*res.Tolerance, v)
	}
	return nil
}
