package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/data/movielens"
	"github.com/marquee/marquee/data/ratingsfile"
	"github.com/marquee/marquee/data/synth"
)

func newDataCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Import and generate data into the store"}
	importCmd := &cobra.Command{Use: "import", Short: "Import a dataset into the store"}
	importCmd.AddCommand(newImportMovieLensCommand(g), newImportRatingsCommand(g))
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
			for _, f := range []movielens.FileReport{rep.Movies, rep.Ratings} {
				if err := nothingImported(f.File, f.Read, f.Imported); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&batch, "batch", movielens.DefaultBatchSize, "rows written to the store per batch")
	return cmd
}

func newImportRatingsCommand(g *globals) *cobra.Command {
	opts := ratingsfile.Options{}
	var scale, comma string
	cmd := &cobra.Command{
		Use:   "ratings FILE",
		Short: "Import ratings from a user::item::rating::timestamp, CSV or Parquet file",
		Long: `Import ratings from a file in one of three layouts, chosen by --layout or by
the file's extension:

  dat      lines of user::item::rating::timestamp, as MovieLens 1M and 10M
           write them (ratings.dat); a movies.dat beside the file names the
           titles
  csv      a CSV file with a header; --user-col, --item-col, --rating-col and
           --time-col name its columns
  parquet  a Parquet file whose columns the same flags name

Users are created at their first rating, and titles the store lacks are
created named by their ID. Ratings must be 0.5 to 5 in steps of 0.5 unless
--rating-scale maps another range onto that. Bad rows are counted and the
first ones reported; importing the same file twice leaves the same data.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Scale, err = parseScale(scale); err != nil {
				return err
			}
			if opts.Comma, err = parseComma(comma); err != nil {
				return err
			}
			ctx := cmd.Context()
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()

			opts.Logger = g.log
			rep, err := ratingsfile.Import(ctx, store, args[0], opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "imported %d ratings, %d users and %d new titles from %s (%s layout) in %s\n",
				rep.Imported, rep.Users, rep.NewTitles, rep.File, rep.Layout, rep.Elapsed.Round(time.Millisecond))
			if rep.Bad > 0 {
				fmt.Fprintf(out, "skipped %d bad rows; the first ones:\n", rep.Bad)
				for _, b := range rep.BadRows {
					fmt.Fprintf(out, "  %s\n", b)
				}
			}
			return nothingImported(filepath.Base(rep.File), rep.Read, rep.Imported)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Layout, "layout", "", "file layout: dat, csv or parquet (default: from the extension; .dat, .parquet, else csv)")
	f.StringVar(&opts.Columns.User, "user-col", ratingsfile.DefaultColumns.User, "CSV or Parquet column of user IDs")
	f.StringVar(&opts.Columns.Item, "item-col", ratingsfile.DefaultColumns.Item, "CSV or Parquet column of title IDs")
	f.StringVar(&opts.Columns.Rating, "rating-col", ratingsfile.DefaultColumns.Rating, "CSV or Parquet column of ratings")
	f.StringVar(&opts.Columns.Time, "time-col", ratingsfile.DefaultColumns.Time, "CSV or Parquet column of rating times")
	f.StringVar(&opts.TimeFormat, "time-format", ratingsfile.TimeUnix, "format of the time column: unix (seconds), unix_ms or rfc3339; Parquet DATE, TIMESTAMP and INT96 columns carry their own unit")
	f.StringVar(&comma, "delimiter", ",", `CSV field separator, one character ("\t" for tab)`)
	f.StringVar(&scale, "rating-scale", "", "MIN:MAX of the file's ratings, mapped linearly onto 0.5 to 5 and rounded to halves (default: already 0.5 to 5)")
	f.IntVar(&opts.BatchSize, "batch", 5000, "records written to the store per batch")
	return cmd
}

// nothingImported returns an error when a file had rows and none of them
// was imported: every row was bad, which a wrong layout, column or scale
// causes, and exiting 0 would let a script go on with no data.
func nothingImported(file string, read, imported int) error {
	if read == 0 || imported > 0 {
		return nil
	}
	return fmt.Errorf("import %s: none of its %d rows could be imported; the bad rows above say why", file, read)
}

// parseScale parses MIN:MAX, and the empty string means no rescaling. Both
// bounds must be finite, because strconv.ParseFloat reads "Inf" as infinity
// and an infinite scale maps every rating to one end of Marquee's.
func parseScale(s string) (*ratingsfile.Scale, error) {
	if s == "" {
		return nil, nil
	}
	lo, hi, ok := strings.Cut(s, ":")
	minV, err1 := strconv.ParseFloat(lo, 64)
	maxV, err2 := strconv.ParseFloat(hi, 64)
	if !ok || err1 != nil || err2 != nil || !(maxV > minV) || math.IsInf(maxV-minV, 0) {
		return nil, fmt.Errorf("invalid --rating-scale %q: want MIN:MAX of finite numbers with MIN < MAX, such as 1:10", s)
	}
	return &ratingsfile.Scale{Min: minV, Max: maxV}, nil
}

func parseComma(s string) (rune, error) {
	if s == `\t` {
		return '\t', nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || size != len(s) || r == '"' || r == '\n' || r == '\r' {
		return 0, fmt.Errorf("invalid --delimiter %q: want one character other than a quote or a line end", s)
	}
	return r, nil
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
			// Config takes 0 for its defaults; on the command line it is a
			// mistake.
			switch {
			case cfg.Users < 1:
				return fmt.Errorf("invalid --users %d: give at least 1", cfg.Users)
			case cfg.Titles < 1:
				return fmt.Errorf("invalid --titles %d: give at least 1", cfg.Titles)
			case cfg.MeanInteractions < 1 || cfg.MeanInteractions > float64(cfg.Titles):
				return fmt.Errorf("invalid --mean-interactions %v: give at least 1 and at most --titles (%d)", cfg.MeanInteractions, cfg.Titles)
			}

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
	f.Float64Var(&cfg.MeanInteractions, "mean-interactions", synth.DefaultMeanInteractions,
		"mean number of titles a user rates or watches, at most --titles")
	f.StringVar(&end, "end", "2026-01-01", "UTC date at which the generated event log ends")
	return cmd
}
