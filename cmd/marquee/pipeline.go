package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/pipeline"
)

// pipelineFlags are the settings of the pipeline subcommands.
type pipelineFlags struct {
	runID    string
	from, to string
	seed     uint64
	workers  int
	models   string
	publish  string
	topN     int
	output   string
	recs     string
	preds    string
	resume   bool
	tuned    bool
	on       string
	tune     pipeline.TuneConfig
	tuneMods string
	params   pipeline.TrainParams
	exportCf pipeline.ExportConfig
	gate     bool
	gateCf   pipeline.GateConfig
}

func newPipelineCommand(g *globals) *cobra.Command {
	pf := &pipelineFlags{}
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Run the batch pipeline: export, split, train, evaluate, publish",
		Long: `Each stage works on a run directory under WORKDIR/runs/<run-id> and records
what it did in the run's manifest.json. export starts a new run; the other
stages work on the latest run unless --run names one. run executes every
stage in order.`,
	}
	cmd.PersistentFlags().StringVar(&pf.runID, "run", "", "run ID to work on (default: the latest run)")
	cmd.PersistentFlags().IntVar(&pf.workers, "workers", 0, "goroutines for training and evaluation (0: one per CPU)")

	stage := func(name, short string, setUp func(*cobra.Command)) *cobra.Command {
		c := &cobra.Command{
			Use:   name,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runStages(cmd, g, pf, []string{name})
			},
		}
		if setUp != nil {
			setUp(c)
		}
		return c
	}
	evaluateFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&pf.output, "output", "table", "output format: table or json")
		c.Flags().StringVar(&pf.recs, "recs", "", "score a CSV of user_id,rank,item_id written by any tool, on the run's split")
		c.Flags().StringVar(&pf.preds, "predictions", "", "score the RMSE of a CSV of user_id,item_id,prediction written by any tool, on the run's split")
		c.Flags().StringVar(&pf.on, "split", "test", "with --recs or --predictions, the split to score on: test, or validation (written by tune)")
	}
	tuneFlags := func(c *cobra.Command) {
		c.Flags().Uint64Var(&pf.seed, "seed", 42, "seed of the search and of training")
		c.Flags().StringVar(&pf.tuneMods, "models", "", "comma-separated models to tune: "+strings.Join(pipeline.TunableModels, ", ")+" (default all of them)")
		c.Flags().StringVar(&pf.tune.Search, "search", pipeline.SearchRandom, "search strategy: random (log scale for ranges) or grid")
		c.Flags().IntVar(&pf.tune.Trials, "trials", 20, "parameter sets tried per model, the first being the defaults")
		c.Flags().StringVar(&pf.output, "output", "table", "output format: table or json")
	}

	runCmd := &cobra.Command{
		Use:   "run",
		Short: "Run every stage in order and print a summary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pf.gate {
				return runStages(cmd, g, pf, pipeline.GatedStages)
			}
			return runStages(cmd, g, pf, pipeline.Stages)
		},
	}
	runCmd.Flags().BoolVar(&pf.resume, "resume", false, "continue the run named by --run (or the latest) from its first unfinished stage")
	runCmd.Flags().BoolVar(&pf.gate, "gate", false, "run the quality gate before publish, and publish only a run that passes it")
	pf.gateFlags(runCmd)
	pf.exportFlags(runCmd)
	pf.trainFlags(runCmd)
	pf.publishFlags(runCmd)
	runCmd.Flags().StringVar(&pf.output, "output", "table", "summary format: table or json")

	cmd.AddCommand(
		stage(pipeline.StageExport, "Export events of a time window to Parquet, starting a new run", pf.exportFlags),
		stage(pipeline.StageSplit, "Split the exported ratings into train and test Parquet files", nil),
		stage(pipeline.StageTrain, "Train the models on the split", func(c *cobra.Command) {
			pf.trainFlags(c)
			c.Flags().BoolVar(&pf.tuned, "tuned", false, "use the parameters that the tune stage found in this run for the models it tuned")
		}),
		stage(pipeline.StageEvaluate, "Score the trained models, or a CSV of lists, on the split", evaluateFlags),
		stage(pipeline.StagePublish, "Publish top-N, similar and trending lists as a new current run", pf.publishFlags),
		stage(pipeline.StageTune, "Search model parameters on a validation split carved out of the training split", tuneFlags),
		runCmd,
		newReportCommand(g, pf),
	)
	return cmd
}

// exportFlags registers the flags of the export stage.
func (pf *pipelineFlags) exportFlags(c *cobra.Command) {
	c.Flags().StringVar(&pf.from, "from", "", "start of the export window, inclusive: RFC 3339 time or YYYY-MM-DD (default: the beginning)")
	c.Flags().StringVar(&pf.to, "to", "", "end of the export window, exclusive: RFC 3339 time or YYYY-MM-DD (default: no end)")
	c.Flags().IntVar(&pf.exportCf.Concurrency, "concurrency", 8, "partitions read at once")
}

// trainFlags registers the flags of the train stage.
func (pf *pipelineFlags) trainFlags(c *cobra.Command) {
	c.Flags().Uint64Var(&pf.seed, "seed", 42, "random seed of training; the same seed and data give the same models")
	c.Flags().StringVar(&pf.models, "models", "all", "comma-separated models to train: "+strings.Join(pipeline.AllModels, ", "))
	c.Flags().IntVar(&pf.params.IALS.Factors, "ials-factors", 0, "iALS factors (0: the model's default)")
	c.Flags().Float64Var(&pf.params.IALS.Regularization, "ials-reg", 0, "iALS regularisation (0: the model's default)")
	c.Flags().Float64Var(&pf.params.IALS.Alpha, "ials-alpha", 0, "iALS confidence scale alpha (0: the model's default)")
	c.Flags().IntVar(&pf.params.IALS.Iterations, "ials-iterations", 0, "iALS iterations (0: the model's default)")
	c.Flags().IntVar(&pf.params.IALS.CGSteps, "ials-cg-steps", 0, "iALS conjugate-gradient steps per row (0: the model's default)")
	c.Flags().BoolVar(&pf.params.IALS.Binary, "ials-binary", false, "iALS trains on 1 for every rated title instead of the rating")
	c.Flags().Float64Var(&pf.params.IALS.HalfLifeDays, "ials-half-life", 0, "iALS time decay of confidence: age in days, relative to the user's newest rating, at which a rating counts half (0: no decay)")
	c.Flags().Float64Var(&pf.params.IALS.Center, "ials-center", 0, "iALS trains on the rating minus this value and takes ratings at or below it as dislikes (0: off)")
	c.Flags().IntVar(&pf.params.ALS.Factors, "als-factors", 0, "explicit ALS factors (0: the model's default)")
	c.Flags().IntVar(&pf.params.ALS.Iterations, "als-iterations", 0, "explicit ALS iterations (0: the model's default)")
	c.Flags().Float64Var(&pf.params.ALS.Regularization, "als-reg", 0, "explicit ALS regularisation per rating (0: the model's default)")
	c.Flags().IntVar(&pf.params.KNN.K, "knn-k", 0, "item-kNN neighbours per item (0: the model's default)")
	c.Flags().Float64Var(&pf.params.KNN.Shrink, "knn-shrink", 0, "item-kNN shrinkage of the cosine (0: the model's default)")
	c.Flags().StringVar(&pf.params.KNN.Weighting, "knn-weighting", "", "item-kNN weighting: none, tfidf or bm25 (default none)")
	c.Flags().Float64Var(&pf.params.EASE.Lambda, "ease-lambda", 0, "EASE regularisation (0: the model's default)")
	c.Flags().IntVar(&pf.params.EASE.MinCount, "ease-min-count", 0, "EASE keeps items with at least this many users (0: the model's default)")
	c.Flags().IntVar(&pf.params.EASE.Neighbors, "ease-neighbors", 0, "EASE weights kept per item (0: the model's default)")
	c.Flags().StringVar(&pf.params.EASE.Input, "ease-input", "", "EASE input: ratings, binary or centered (default centered)")
	c.Flags().Float64Var(&pf.params.EASE.Center, "ease-center", 0, "value the centered EASE input subtracts from ratings (0: 2.5)")
}

// publishFlags registers the flags of the publish stage.
func (pf *pipelineFlags) publishFlags(c *cobra.Command) {
	c.Flags().StringVar(&pf.publish, "model", "", "model whose lists users get: "+strings.Join(pipeline.PublishableModels(), ", ")+" (default: the one with the best NDCG@10 of the run)")
	c.Flags().IntVar(&pf.topN, "top-n", 100, "titles per user list")
}

// gateFlags registers the settings of the quality gate.
func (pf *pipelineFlags) gateFlags(c *cobra.Command) {
	c.Flags().StringVar(&pf.gateCf.Metric, "gate-metric", "ndcg_at_10", "metric the quality gate compares: "+strings.Join(pipeline.GateMetrics(), ", "))
	c.Flags().Float64Var(&pf.gateCf.Tolerance, "gate-tolerance", 0.02, "relative drop of the gate metric allowed against the serving run: 0.02 publishes a run at most 2% worse")
}

// options turns flags into stage options.
func (pf *pipelineFlags) options(cmd *cobra.Command) (pipeline.Options, error) {
	w, err := parseWindow(pf.from, pf.to)
	if err != nil {
		return pipeline.Options{}, err
	}
	models, err := pipeline.ParseModels(pf.models)
	if err != nil {
		return pipeline.Options{}, fmt.Errorf("invalid --models: %w", err)
	}
	params := pf.params
	params.Models = models
	tune := pf.tune
	tune.Seed, tune.Workers = pf.seed, pf.workers
	if pf.tuneMods != "" {
		for _, m := range strings.Split(pf.tuneMods, ",") {
			tune.Models = append(tune.Models, strings.TrimSpace(m))
		}
	}

	if err := pf.validateCounts(cmd); err != nil {
		return pipeline.Options{}, err
	}
	opts := pipeline.Options{
		Window: w, Seed: pf.seed, Workers: pf.workers, Split: features.DefaultSplit, Params: params,
		Export: pf.exportCf, Publish: pipeline.PublishConfig{Model: pf.publish, TopN: pf.topN},
		Tune: tune, Tuned: pf.tuned,
	}
	if pf.gate {
		if err := pf.gateCf.Validate(); err != nil {
			return opts, fmt.Errorf("invalid --gate-metric or --gate-tolerance: %w", err)
		}
		gate := pf.gateCf
		opts.Gate = &gate
	}
	return opts, nil
}

// validateCounts rejects the counts of cmd's flags that must be positive,
// whose zero values would otherwise fall back to defaults silently. Flags
// that cmd does not have are left alone.
func (pf *pipelineFlags) validateCounts(cmd *cobra.Command) error {
	has := func(name string) bool { return cmd.Flags().Lookup(name) != nil }
	for _, c := range []struct {
		flag  string
		value int
	}{{"top-n", pf.topN}, {"trials", pf.tune.Trials}, {"concurrency", pf.exportCf.Concurrency}} {
		if has(c.flag) && c.value < 1 {
			return fmt.Errorf("invalid --%s %d: use a whole number of 1 or more", c.flag, c.value)
		}
	}
	if has("workers") && pf.workers < 0 {
		return fmt.Errorf("invalid --workers %d: use 0 for one per CPU, or a positive number", pf.workers)
	}
	if has("split") && pf.on != "test" && pf.on != "validation" {
		return fmt.Errorf("invalid --split %q: use test or validation", pf.on)
	}
	if has("split") && cmd.Flags().Changed("split") && pf.recs == "" && pf.preds == "" {
		return errors.New("--split applies to --recs and --predictions only: the models of a run are scored on its test split, " +
			"and `marquee pipeline tune` reports the validation split")
	}
	return nil
}

func runStages(cmd *cobra.Command, g *globals, pf *pipelineFlags, stages []string) error {
	ctx := cmd.Context()
	opts, err := pf.options(cmd)
	if err != nil {
		return err
	}
	if pf.output != "table" && pf.output != "json" {
		return fmt.Errorf("invalid --output %q: use table or json", pf.output)
	}
	ws := pipeline.Workspace{Dir: g.workdir}
	runner := &pipeline.Runner{Workspace: ws, Log: g.log, Now: time.Now}

	needs := func(s string) bool { return slices.Contains(stages, s) }
	if needs(pipeline.StageExport) {
		store, err := openEventSource(ctx, g.store, g.log)
		if err != nil {
			return err
		}
		defer store.Close()
		runner.Source = store
	}
	if needs(pipeline.StagePublish) {
		lists, err := openLists(ctx, g.cache, g.log)
		if err != nil {
			return err
		}
		defer lists.Close()
		runner.Lists = lists
	}

	run, err := openOrCreateRun(ws, pf, stages, opts)
	if err != nil {
		return err
	}
	if pf.recs != "" || pf.preds != "" {
		return evaluateFiles(cmd, run, pf)
	}

	// A published run keeps the metrics it was published with; evaluate
	// prints them instead of scoring the models again.
	if slices.Equal(stages, []string{pipeline.StageEvaluate}) && run.Manifest.Published != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "run %s is published; these are the metrics it was published with\n", run.Manifest.RunID)
		return printOutcome(cmd.OutOrStdout(), pf.output, run, stages, 0)
	}

	start := time.Now()
	if len(stages) > 1 {
		err = runner.All(ctx, run, opts, pf.resume)
	} else {
		err = runner.Stage(ctx, run, stages[0], opts)
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		next := "marquee pipeline run --resume --run " + run.Manifest.RunID
		if len(stages) == 1 {
			next = "marquee pipeline " + stages[0] + " --run " + run.Manifest.RunID
		}
		return fmt.Errorf("run %s: interrupted (%w); its finished stages are kept, and `%s` continues it", run.Manifest.RunID, err, next)
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", run.Manifest.RunID, err)
	}
	return printOutcome(cmd.OutOrStdout(), pf.output, run, stages, time.Since(start))
}

func newReportCommand(g *globals, pf *pipelineFlags) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report [RUN]",
		Short: "Write an HTML report of a run and print its summary",
		Long: `Write an HTML page with the run's metrics per model, training loss per
iteration, popularity bias (coverage and long-tail share) and, for a tuned
run, the search with the metric against factors and regularisation. The
run is RUN, --run, or the latest run; the page goes to RUN_DIR/report.html
unless --out names a file.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := pf.runID
			if len(args) == 1 {
				if id != "" && id != args[0] {
					return fmt.Errorf("report names run %s and --run names %s: give one of them", args[0], id)
				}
				id = args[0]
			}
			run, err := pipeline.Workspace{Dir: g.workdir}.OpenRun(id)
			if err != nil {
				return err
			}
			path := out
			if path == "" {
				path = run.Path(pipeline.ReportFile)
			}
			d, err := pipeline.Report(run, path)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "run %s: report written to %s\n\n", run.Manifest.RunID, path)
			if err := printMetrics(w, "table", run.Manifest.Metrics); err != nil {
				return err
			}
			if run.Manifest.Tuning != nil {
				fmt.Fprintln(w)
				printTuning(w, run.Manifest.Tuning)
			}
			fmt.Fprintf(w, "\n%d plots\n", len(d.Plots))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the page to (default: report.html in the run directory)")
	return cmd
}

// evaluateFiles scores the lists of --recs and the predictions of
// --predictions, written by any tool, on the run's test or validation split.
// Each result is named by its kind and its path as given, such as
// "recs:out/base.csv", so two files of one name both show. Metrics that a
// file does not yield print as "-" in the table and are absent from JSON.
func evaluateFiles(cmd *cobra.Command, run *pipeline.Run, pf *pipelineFlags) error {
	out := cmd.OutOrStdout()
	dir := run.Path("split")
	switch pf.on {
	case "test":
	case "validation":
		dir = filepath.Join(dir, pipeline.ValidationDir)
		if run.Manifest.Tuning == nil {
			return fmt.Errorf("run %s has no validation split: `marquee pipeline tune --run %s` writes it", run.Manifest.RunID, run.Manifest.RunID)
		}
	default:
		return fmt.Errorf("invalid --split %q: use test or validation", pf.on)
	}

	results := map[string]any{}
	var rows []metricsRow
	if pf.recs != "" {
		m, err := pipeline.EvaluateRecs(dir, pf.recs)
		if err != nil {
			return err
		}
		warnRecs(cmd.ErrOrStderr(), pf.recs, m)
		name := "recs:" + pf.recs
		results[name] = m
		rows = append(rows, metricsRow{name: name, ranking: &m})
	}
	if pf.preds != "" {
		m, err := pipeline.EvaluatePredictions(dir, pf.preds)
		if err != nil {
			return err
		}
		warnPredictions(cmd.ErrOrStderr(), pf.preds, m)
		name := "predictions:" + pf.preds
		results[name] = m
		rows = append(rows, metricsRow{name: name, rmse: m.RMSE})
	}

	if pf.output == "json" {
		return writeJSON(out, results)
	}
	return printMetricsTable(out, rows)
}

// warnRecs reports on stderr what makes lists from another tool score lower
// than they would otherwise: test users without a list, who score 0, and
// listed titles that were not candidates.
func warnRecs(w io.Writer, path string, m pipeline.Metrics) {
	if m.MissingLists > 0 {
		fmt.Fprintf(w, "warning: %s has no list for %d of the %d test users scored; they count as 0\n", path, m.MissingLists, m.Users)
	}
	if m.NonCandidates > 0 {
		fmt.Fprintf(w, "warning: %s lists %d titles that are not candidates (unknown in training, or already rated by the user in training)\n", path, m.NonCandidates)
	}
}

// warnPredictions reports on stderr that predictions could not be scored
// because no test rating has both its user and its item in training.
func warnPredictions(w io.Writer, path string, m pipeline.RatingMetrics) {
	if m.Ratings == 0 {
		fmt.Fprintf(w, "warning: %s: 0 (user_id, item_id) pairs scored, because none of the split's %d test ratings has both its user and its item in training, so RMSE is undefined\n", path, m.Skipped)
	}
}

// openOrCreateRun starts a new run for export and run (unless resuming), and
// opens the named or latest run for the other stages.
func openOrCreateRun(ws pipeline.Workspace, pf *pipelineFlags, stages []string, opts pipeline.Options) (*pipeline.Run, error) {
	fresh := stages[0] == pipeline.StageExport && !pf.resume
	if !fresh {
		return ws.OpenRun(pf.runID)
	}
	id := pf.runID
	if id == "" {
		id = pipeline.NewRunID(time.Now())
	}
	return ws.CreateRun(id, opts.Seed, opts.Window, time.Now())
}

func parseWindow(from, to string) (data.Window, error) {
	var w data.Window
	var err error
	if w.From, err = parseTime("--from", from); err != nil {
		return w, err
	}
	if w.To, err = parseTime("--to", to); err != nil {
		return w, err
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
		return w, fmt.Errorf("invalid window: --from %s is not before --to %s", from, to)
	}
	return w, nil
}

func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid %s %q: use an RFC 3339 time (2024-05-01T00:00:00Z) or a date (2024-05-01)", flag, s)
}

func printOutcome(out io.Writer, format string, run *pipeline.Run, stages []string, elapsed time.Duration) error {
	m := run.Manifest
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if slices.Equal(stages, []string{pipeline.StageEvaluate}) {
			return enc.Encode(m.Metrics)
		}
		if slices.Equal(stages, []string{pipeline.StageTune}) {
			return enc.Encode(m.Tuning)
		}
		return enc.Encode(m)
	}

	fmt.Fprintf(out, "run %s (%s)\n\n", m.RunID, run.Dir)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTATUS\tSECONDS\tSUMMARY")
	for _, s := range stages {
		rec := m.Stages[s]
		if rec == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\n", s, rec.Status, rec.Seconds, summaryText(rec.Summary))
	}
	tw.Flush()
	if m.Tuning != nil && slices.Contains(stages, pipeline.StageTune) {
		fmt.Fprintln(out)
		printTuning(out, m.Tuning)
	}
	if len(m.Metrics) > 0 && (slices.Contains(stages, pipeline.StageEvaluate)) {
		fmt.Fprintln(out)
		if err := printMetrics(out, "table", m.Metrics); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\ntotal %.2f s\n", elapsed.Seconds())
	return nil
}

func summaryText(s map[string]any) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		if !strings.HasSuffix(k, "_seconds") && !strings.HasSuffix(k, "_ndcg_at_10") && k != "by_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, s[k])
	}
	return strings.Join(parts, " ")
}

// printMetrics prints the metrics of models as a table, or as JSON keyed
// by model name.
func printMetrics(out io.Writer, format string, metrics map[string]pipeline.Metrics) error {
	if format == "json" {
		return writeJSON(out, metrics)
	}
	rows := make([]metricsRow, 0, len(metrics))
	for _, name := range sortedNames(metrics) {
		m := metrics[name]
		rows = append(rows, metricsRow{name: name, ranking: &m, rmse: m.RMSE})
	}
	return printMetricsTable(out, rows)
}

// metricsRow is one row of a metrics table. A nil ranking or rmse prints as
// "-", for metrics that were not computed.
type metricsRow struct {
	name    string
	ranking *pipeline.Metrics // RMSE is taken from rmse, not from here
	rmse    *float64
}

// printMetricsTable prints rows in the order given.
func printMetricsTable(out io.Writer, rows []metricsRow) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tNDCG@10\tRECALL@20\tHITRATE@10\tMAP@10\tCOVERAGE@10\tLONGTAIL@10\tRMSE\tUSERS\t")
	for _, r := range rows {
		ranking := []string{"-", "-", "-", "-", "-", "-"}
		users := "-"
		if m := r.ranking; m != nil {
			for i, v := range []float64{m.NDCG, m.Recall, m.HitRate, m.MAP, m.Coverage, m.LongTail} {
				ranking[i] = fmt.Sprintf("%.4f", v)
			}
			users = strconv.Itoa(m.Users)
		}
		rmse := "-"
		if r.rmse != nil {
			rmse = fmt.Sprintf("%.4f", *r.rmse)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.name, strings.Join(ranking, "\t"), rmse, users)
	}
	return tw.Flush()
}

// writeJSON writes v as indented JSON.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTuning prints, per tuned model, its objective with the default and
// the tuned parameters on the test split, and the best parameters.
func printTuning(out io.Writer, t *pipeline.Tuning) {
	fmt.Fprintf(out, "%s search, %d trials per model, on a validation split of %d training and %d test ratings\n\n",
		t.Search, t.Trials, t.Validation.TrainRatings, t.Validation.TestRatings)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tOBJECTIVE\tVALIDATION\tDEFAULT TEST\tTUNED TEST\tBEST PARAMETERS")
	for _, name := range sortedNames(t.Models) {
		mt := t.Models[name]
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\t%s\n", name, mt.Objective, mt.BestValue,
			objective(mt.Objective, mt.Default), objective(mt.Objective, mt.Tuned), paramText(mt.Best))
	}
	tw.Flush()
}

func objective(name string, m pipeline.Metrics) float64 {
	if name == pipeline.ObjectiveRMSE && m.RMSE != nil {
		return *m.RMSE
	}
	return m.NDCG
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func paramText(p map[string]any) string {
	parts := make([]string, 0, len(p))
	for _, k := range sortedNames(p) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return strings.Join(parts, " ")
}
