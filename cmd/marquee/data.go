package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/data/movielens"
	"github.com/marquee/marquee/data/synth"
)

func newDataCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Import and generate data into the store"}
	importCmd := &cobra.Command{Use: "import", Short: "Import a dataset into the store"}
	importCmd.AddCommand(newImportMovieLensCommand(g))
	cmd.AddCommand(importCmd, newGenerateCommand(g))
	return cmd
}

func newImportMovieLensCommand(g *globals) *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "movielens DIR",
		Short: "Import ratings.csv, movies.csv and tags.csv of a MovieLens dataset",
		Long: `Import a MovieLens dataset in its CSV layout. Bad rows are counted and the
first few are reported with their line numbers; the import goes on past them.
Importing the same files twice leaves the same data.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()

			rep, err := movielens.Import(ctx, store, args[0], movielens.Options{BatchSize: batch, Logger: g.log})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "imported %d titles, %d ratings, %d users from %s in %s\n",
				rep.Movies.Imported, rep.Ratings.Imported, rep.Users, rep.Dir, rep.Elapsed.Round(time.Millisecond))
			if n := rep.BadTotal(); n > 0 {
				fmt.Fprintf(out, "skipped %d bad rows; the first ones:\n", n)
				for _, b := range rep.BadRows {
					fmt.Fprintf(out, "  %s\n", b)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&batch, "batch", movielens.DefaultBatchSize, "rows written to the store per batch")
	return cmd
}

func newGenerateCommand(g *globals) *cobra.Command {
	cfg := synth.Config{}
	var end string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a seeded synthetic catalog and event log",
		Long: `Generate titles, users, ratings and watch events from a latent taste model
with power-law popularity. The same seed and settings always give the same
data, so the demo and tests need no download.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := time.Parse(time.DateOnly, end)
			if err != nil {
				return fmt.Errorf("invalid --end %q: want a date like 2026-01-31", end)
			}
			cfg.End = t.UTC()

			ctx := cmd.Context()
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()

			rep, err := synth.Generate(ctx, store, cfg, synth.Options{Logger: g.log})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "generated %d titles, %d users, %d ratings, %d watch events in %s\n",
				rep.Titles, rep.Users, rep.Ratings, rep.Watches, rep.Elapsed.Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&cfg.Seed, "seed", 1, "random seed; the same seed gives the same data")
	f.IntVar(&cfg.Users, "users", synth.DefaultUsers, "number of users")
	f.IntVar(&cfg.Titles, "titles", synth.DefaultTitles, "number of titles")
	f.StringVar(&end, "end", "2026-01-01", "UTC date at which the generated event log ends")
	return cmd
}
