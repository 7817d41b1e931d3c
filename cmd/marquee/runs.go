package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/data"
)

func newRunsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the published runs of the list cache and roll back to an earlier one",
		Long: `Runs are the published versions of the recommendation lists in the list
cache (--cache). Readers see the current run; earlier complete runs are kept
for rollback (with Redis, the newest 3 by default: ?keep=N in the URL).`,
	}
	cmd.AddCommand(newRunsListCommand(g), newRunsRollbackCommand(g))
	return cmd
}

func newRunsListCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the runs held, newest first, and which one is current",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("invalid --output %q: use table or json", output)
			}
			ctx := cmd.Context()
			lists, err := openLists(ctx, g.cache, g.log)
			if err != nil {
				return err
			}
			defer lists.Close()
			runs, current, err := runsAndCurrent(cmd, lists)
			if err != nil {
				return err
			}
			if output == "json" {
				return printRunsJSON(cmd.OutOrStdout(), runs, current)
			}
			return printRuns(cmd.OutOrStdout(), runs, current)
		},
	}
	cmd.Flags().StringVar(&output, "output", "table", "output format: table or json")
	return cmd
}

func newRunsRollbackCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback [RUN_ID]",
		Short: "Make an earlier complete run current",
		Long: `Make RUN_ID current, or without it the newest complete run published
before the current one. Readers switch at once; API replicas sharing Redis
are told through its channel.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lists, err := openLists(ctx, g.cache, g.log)
			if err != nil {
				return err
			}
			defer lists.Close()
			runs, current, err := runsAndCurrent(cmd, lists)
			if err != nil {
				return err
			}
			target := ""
			if len(args) == 1 {
				target = args[0]
			} else if target, err = previousRun(runs, current); err != nil {
				return err
			}
			if err := lists.Activate(ctx, target); err != nil {
				return fmt.Errorf("roll back to %q: %w", target, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "current run: %s (was %s)\n", target, orNone(current))
			return nil
		},
	}
}

// runsAndCurrent returns the runs held and the current run ID, "" before
// the first commit.
func runsAndCurrent(cmd *cobra.Command, lists data.Lists) ([]data.PublishedRun, string, error) {
	ctx := cmd.Context()
	runs, err := lists.Runs(ctx)
	if err != nil {
		return nil, "", err
	}
	current, err := lists.Current(ctx)
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		return nil, "", err
	}
	return runs, current, nil
}

// previousRun returns the newest complete run published before the current
// one.
func previousRun(runs []data.PublishedRun, current string) (string, error) {
	if current == "" {
		return "", fmt.Errorf("nothing to roll back: no run is current yet")
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

func printRuns(out io.Writer, runs []data.PublishedRun, current string) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATE\tPUBLISHED\tLISTS")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", r.ID, runState(r, current), r.PublishedAt.UTC().Format(time.RFC3339), r.Lists)
	}
	return tw.Flush()
}

type runJSON struct {
	ID          string    `json:"run_id"`
	State       string    `json:"state"`
	PublishedAt time.Time `json:"published_at"`
	Lists       int       `json:"lists"`
}

func printRunsJSON(out io.Writer, runs []data.PublishedRun, current string) error {
	rows := make([]runJSON, len(runs))
	for i, r := range runs {
		rows[i] = runJSON{ID: r.ID, State: runState(r, current), PublishedAt: r.PublishedAt.UTC(), Lists: r.Lists}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// runState is current, complete or writing (a publish in progress or cut
// short).
func runState(r data.PublishedRun, current string) string {
	switch {
	case r.ID == current:
		return "current"
	case r.Complete:
		return "complete"
	}
	return "writing"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
