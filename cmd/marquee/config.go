package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// applyConfigFile sets flags from a YAML file of flag names and values, such
// as
//
//	store: cassandra://10.0.0.1,10.0.0.2:9042/marquee?consistency=LOCAL_QUORUM
//	cache: redis://10.0.0.3:6379/0
//	log-format: json
//
// A flag given on the command line or in the environment (skip lists those
// set from the environment) keeps its value. One file serves every
// subcommand, so a setting of another subcommand is ignored here, but a
// name that no subcommand has is an error, since it is most likely a typo.
// A list value is passed to the flag joined with commas.
func applyConfigFile(cmd *cobra.Command, path string, skip map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var settings map[string]any
	if err := yaml.Unmarshal(b, &settings); err != nil {
		return fmt.Errorf("read config %s: %w", path, err)
	}

	known := allFlagNames(cmd.Root())
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !known[name] {
			return fmt.Errorf("config %s: unknown setting %q: use the name of a flag without dashes, such as store or log-level", path, name)
		}
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed || skip[name] {
			continue
		}
		value := configValue(settings[name])
		if err := f.Value.Set(value); err != nil {
			return fmt.Errorf("config %s: invalid %s %q: %w", path, name, value, err)
		}
	}
	return nil
}

func configValue(v any) string {
	if list, ok := v.([]any); ok {
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// allFlagNames returns the names of the flags of cmd and every subcommand.
func allFlagNames(cmd *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.PersistentFlags(), c.Flags()} {
			fs.VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd)
	return names
}
