package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/pipeline"
)

func newRunsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "The run registry: list, show, promote, roll back and delete runs",
		Long: `The registry holds the runs of the workspace (WORKDIR/runs) and the published
runs of the list cache (--cache), merged by run ID. A run's status comes from
its manifest and the list cache:

  running     a stage is running in a live process
  trained     trained, and the list cache holds no complete run of it:
              not published yet, or its lists were deleted
  published   the list cache holds it complete; one of them is current
  rejected    the quality gate kept it from being published
  failed      a stage failed, or the process running it died
  incomplete  stopped by hand before training

Readers see the current run. Promotion and rollback switch the pointer to
another run in one atomic step; API replicas sharing Redis are told at once
through its channel.`,
	}
	cmd.AddCommand(newRunsListCommand(g), newRunsShowCommand(g), newRunsPromoteCommand(g),
		newRunsRollbackCommand(g), newRunsGCCommand(g))
	return cmd
}

// openRegistry opens the list cache and returns the registry on it and
// the workspace; close closes the list cache.
func openRegistry(cmd *cobra.Command, g *globals) (reg pipeline.Registry, close func() error, err error) {
	lists, err := openLists(cmd.Context(), g.cache, g.log)
	if err != nil {
		return pipeline.Registry{}, nil, err
	}
	reg = pipeline.Registry{Workspace: pipeline.Workspace{Dir: g.workdir}, Lists: lists, Log: g.log}
	return reg, lists.Close, nil
}

func checkOutput(output string) error {
	if output != "table" && output != "json" {
		return fmt.Errorf("invalid --output %q: use table or json", output)
	}
	return nil
}

func newRunsListCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the runs, newest first, with their status; * marks the current one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			reg, closeReg, err := openRegistry(cmd, g)
			if err != nil {
				return err
			}
			defer closeReg()
			runs, _, err := reg.Runs(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), runs)
			}
			return printRuns(cmd.OutOrStdout(), runs)
		},
	}
	cmd.Flags().StringVar(&output, "output", "table", "output format: table or json")
	return cmd
}

func printRuns(out io.Writer, runs []pipeline.RunInfo) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATUS\tCREATED\tWINDOW\tMODEL\tNDCG@10\tLISTS")
	for _, r := range runs {
		id := r.ID
		if r.Current {
			id += " *"
		}
		ndcg := "-"
		if r.NDCG != nil {
			ndcg = fmt.Sprintf("%.4f", *r.NDCG)
		}
		lists := "-"
		if r.State != "" {
			lists = fmt.Sprint(r.Lists)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, r.Status, timeText(r.CreatedAt), windowText(r.Window),
			orDash(r.Model), ndcg, lists)
	}
	return tw.Flush()
}

func newRunsShowCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run: status, data window, parameters, stages, metrics, gate and artifact checksums",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			reg, closeReg, err := openRegistry(cmd, g)
			if err != nil {
				return err
			}
			defer closeReg()
			runs, _, err := reg.Runs(cmd.Context())
			if err != nil {
				return err
			}
			for _, r := range runs {
				if r.ID != args[0] {
					continue
				}
				if output == "json" {
					return printJSON(cmd.OutOrStdout(), struct {
						pipeline.RunInfo
						Manifest *pipeline.Manifest `json:"manifest,omitempty"`
					}{r, r.Manifest})
				}
				return printRun(cmd.OutOrStdout(), r)
			}
			return fmt.Errorf("run %q: %w in the workspace %s or in the list cache", args[0], data.ErrNotFound, g.workdir)
		},
	}
	cmd.Flags().StringVar(&output, "output", "table", "output format: table or json")
	return cmd
}

func printRun(out io.Writer, r pipeline.RunInfo) error {
	current := ""
	if r.Current {
		current = " (current)"
	}
	fmt.Fprintf(out, "run        %s\nstatus     %s%s\n", r.ID, r.Status, current)
	fmt.Fprintf(out, "created    %s\nwindow     %s\n", timeText(r.CreatedAt), windowText(r.Window))
	if r.Trigger != "" {
		fmt.Fprintf(out, "trigger    %s\n", r.Trigger)
	}
	if r.State != "" {
		fmt.Fprintf(out, "lists      %d, %s in the list cache, published %s\n", r.Lists, r.State, timeText(r.PublishedAt))
	}
	if r.Dir != "" {
		fmt.Fprintf(out, "directory  %s\n", r.Dir)
	}
	if r.Error != "" {
		fmt.Fprintf(out, "error      %s\n", r.Error)
	}
	if gt := r.Gate; gt != nil {
		verdict := "passed"
		if !gt.Passed {
			verdict = "rejected"
		}
		fmt.Fprintf(out, "gate       %s: %s\n", verdict, gt.Reason)
	}
	m := r.Manifest
	if m == nil {
		if r.Model != "" {
			fmt.Fprintf(out, "model      %s\n", r.Model)
		}
		fmt.Fprintln(out, "\nThis workspace does not hold the run's directory; its manifest is on the machine that ran it.")
		return nil
	}
	fmt.Fprintf(out, "seed       %d\nmodel      %s\n", m.Seed, orDash(r.Model))
	if m.Params != nil {
		b, err := json.Marshal(m.Params)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "parameters %s\n", b)
	}

	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTATUS\tSECONDS\tSTARTED\tERROR")
	for _, s := range pipeline.GatedStages {
		if rec := m.Stages[s]; rec != nil {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\n", s, rec.Status, rec.Seconds, timeText(rec.StartedAt), rec.Error)
		}
	}
	tw.Flush()
	if len(m.Metrics) > 0 {
		fmt.Fprintln(out)
		if err := printMetrics(out, "table", m.Metrics); err != nil {
			return err
		}
	}
	if len(m.Artifacts) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ARTIFACT\tBYTES\tSHA256")
		for _, a := range m.Artifacts {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", a.Path, a.Bytes, a.SHA256)
		}
		tw.Flush()
	}
	return nil
}

func newRunsPromoteCommand(g *globals) *cobra.Command {
	var model string
	var topN, workers int
	cmd := &cobra.Command{
		Use:   "promote RUN_ID",
		Short: "Make a run current, publishing it first if it is trained but not published",
		Long: `Make RUN_ID current. A run the list cache holds complete becomes current at
once. A trained run of this workspace that the quality gate rejected, or
that was never published or whose lists were deleted, is published now,
past the gate, then made current: promotion is the operator's decision.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, closeReg, err := openRegistry(cmd, g)
			if err != nil {
				return err
			}
			defer closeReg()
			runner := &pipeline.Runner{Workspace: reg.Workspace, Lists: reg.Lists, Log: g.log, Now: time.Now}
			opts := pipeline.Options{Workers: workers, Publish: pipeline.PublishConfig{Model: model, TopN: topN}}
			previous, err := reg.Promote(cmd.Context(), runner, args[0], opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "current run: %s (was %s)\n", args[0], orNone(previous))
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "when publishing, the model whose lists users get (default: the model the gate judged, or the best NDCG@10 of the run)")
	cmd.Flags().IntVar(&topN, "top-n", 100, "when publishing, titles per user list")
	cmd.Flags().IntVar(&workers, "workers", 0, "when publishing, goroutines for scoring (0: one per CPU)")
	return cmd
}

func newRunsRollbackCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback [RUN_ID]",
		Short: "Make an earlier complete run current",
		Long: `Make RUN_ID current, or without it the newest complete run published
before the current one. Readers switch at once; API replicas sharing Redis
are told through its channel. A scheduled run that passes the gate later
becomes current in turn: to hold a rollback, stop the scheduler or suspend
the CronJob.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lists, err := openLists(ctx, g.cache, g.log)
			if err != nil {
				return err
			}
			defer lists.Close()
			runs, err := lists.Runs(ctx)
			if err != nil {
				return err
			}
			current, err := lists.Current(ctx)
			if err != nil && !errors.Is(err, data.ErrNotFound) {
				return err
			}
			target := ""
			if len(args) == 1 {
				target = args[0]
			} else if target, err = pipeline.PreviousRun(runs, current); err != nil {
				return err
			}
			if !slices.ContainsFunc(runs, func(r data.PublishedRun) bool { return r.ID == target && r.Complete }) {
				return fmt.Errorf("cannot roll back to run %q: not found among the complete runs of the list cache; "+
					"`marquee runs list` shows the runs, and `marquee runs promote` publishes a trained one", target)
			}
			if err := lists.Activate(ctx, target); err != nil {
				return fmt.Errorf("roll back to %q: %w", target, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "current run: %s (was %s)\n", target, orNone(current))
			return nil
		},
	}
}

func newRunsGCCommand(g *globals) *cobra.Command {
	var keep int
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete old runs: their directories and their published lists",
		Long: `Delete every run but the newest --keep, the current run, the run a
rollback returns to, and runs still running: their directories in the
workspace and their lists in the list cache.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keep < 0 {
				return fmt.Errorf("invalid --keep %d: give a number of runs >= 0", keep)
			}
			reg, closeReg, err := openRegistry(cmd, g)
			if err != nil {
				return err
			}
			defer closeReg()
			deleted, err := reg.GC(cmd.Context(), keep, dryRun)
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			sort.Strings(deleted)
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d runs%s\n", verb, len(deleted), listText(deleted))
			return err
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 10, "number of newest runs to keep, whatever their status")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be deleted and delete nothing")
	return cmd
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// windowText formats a data window as FROM..TO, either end empty when
// open.
func windowText(w data.Window) string {
	if w.From.IsZero() && w.To.IsZero() {
		return "all"
	}
	end := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return end(w.From) + ".." + end(w.To)
}

func listText(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ": " + strings.Join(ids, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
