package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// globals are the settings every subcommand shares. Each flag can also be set
// through the environment as MARQUEE_<FLAG>, with dashes as underscores, or
// in the YAML file named by --config. The command line wins over the
// environment, which wins over the file.
type globals struct {
	config    string
	workdir   string
	store     string
	cache     string
	logLevel  string
	logFormat string
	profile   string

	log         *slog.Logger
	stopProfile func()
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "marquee",
		Short:         "Marquee: recommendations for a video platform",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			fromEnv, err := applyEnv(cmd.Flags())
			if err != nil {
				return err
			}
			if g.config != "" {
				if err := applyConfigFile(cmd, g.config, fromEnv); err != nil {
					return err
				}
			}
			return g.setUp()
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if g.stopProfile != nil {
				g.stopProfile()
			}
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.config, "config", "", "YAML file of settings, flag names as keys (flags and MARQUEE_* variables win over it)")
	f.StringVar(&g.workdir, "workdir", "marquee-data", "directory for the embedded store, the embedded cache and pipeline runs")
	f.StringVar(&g.store, "store", "", "event and catalog store URL: sqlite://PATH or cassandra://HOST1,HOST2:9042/KEYSPACE?consistency=LOCAL_QUORUM (default: sqlite://WORKDIR/marquee.db)")
	f.StringVar(&g.cache, "cache", "", "published-list store URL: sqlite://PATH or redis://HOST:PORT[/DB][?prefix=mq&keep=3] (default: sqlite://WORKDIR/cache.db)")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&g.profile, "cpuprofile", "", "write a CPU profile of the command to this file, for go tool pprof")

	root.AddCommand(newDataCommand(g), newDBCommand(g), newPipelineCommand(g), newServeCommand(g), newUserCommand(g), newRunsCommand(g),
		newSchedulerCommand(g))
	for _, c := range root.Commands() {
		rejectUnknownSubcommands(c)
	}
	return root
}

// rejectUnknownSubcommands makes every command group under c, such as
// `marquee pipeline`, fail on an unknown subcommand. Cobra does so only for
// the root: a group prints its help and exits 0 on a typo, which a script
// would take for success.
func rejectUnknownSubcommands(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	for _, sub := range c.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if c.Runnable() {
		return
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default for the root
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
			msg += "; did you mean " + strings.Join(suggestions, " or ") + "?"
		}
		return fmt.Errorf("%s (run %q for its commands)", msg, cmd.CommandPath()+" --help")
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
}

// applyEnv sets every flag not given on the command line from its
// MARQUEE_* environment variable, if there is one, and returns the names of
// the flags it set.
func applyEnv(flags *pflag.FlagSet) (map[string]bool, error) {
	set := map[string]bool{}
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "MARQUEE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if setErr := f.Value.Set(v); setErr != nil {
				err = fmt.Errorf("invalid %s=%q: %w", name, v, setErr)
			}
			set[f.Name] = true
		}
	})
	return set, err
}

func (g *globals) setUp() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		g.log = slog.New(slog.NewTextHandler(os.Stderr, opts))
	case "json":
		g.log = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	default:
		return fmt.Errorf("invalid --log-format %q: use text or json", g.logFormat)
	}
	if g.profile != "" {
		f, err := os.Create(g.profile)
		if err != nil {
			return fmt.Errorf("invalid --cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("start CPU profile: %w", err)
		}
		g.stopProfile = func() {
			pprof.StopCPUProfile()
			f.Close()
		}
	}
	if g.store == "" {
		g.store = "sqlite://" + filepath.Join(g.workdir, "marquee.db")
	}
	if g.cache == "" {
		g.cache = "sqlite://" + filepath.Join(g.workdir, "cache.db")
	}
	return nil
}
