package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// settingsOf runs a command that does nothing but record the global
// settings after flags, the environment and the config file are applied.
func settingsOf(t *testing.T, args ...string) (*globals, error) {
	t.Helper()
	root := newRootCommand()
	var got *globals
	probe := &cobra.Command{Use: "probe", RunE: func(cmd *cobra.Command, _ []string) error { return nil }}
	probe.Flags().String("addr", ":8080", "")
	root.AddCommand(probe)
	root.PersistentPreRunE = wrapPreRun(root.PersistentPreRunE, &got)
	root.SetArgs(append([]string{"probe"}, args...))
	err := root.Execute()
	return got, err
}

// wrapPreRun captures the globals that the root command's pre-run set up.
func wrapPreRun(pre func(*cobra.Command, []string) error, got **globals) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := pre(cmd, args); err != nil {
			return err
		}
		*got = &globals{
			workdir:  cmd.Flag("workdir").Value.String(),
			store:    cmd.Flag("store").Value.String(),
			logLevel: cmd.Flag("log-level").Value.String(),
		}
		return nil
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "marquee.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFilePrecedence(t *testing.T) {
	path := writeConfig(t, "workdir: /from/file\nstore: sqlite:///from/file.db\nlog-level: warn\naddr: 127.0.0.1:1\n")
	t.Setenv("MARQUEE_STORE", "sqlite:///from/env.db")

	got, err := settingsOf(t, "--config", path, "--log-level", "error")
	if err != nil {
		t.Fatal(err)
	}
	if got.workdir != "/from/file" {
		t.Errorf("workdir = %q, want the file's /from/file", got.workdir)
	}
	if got.store != "sqlite:///from/env.db" {
		t.Errorf("store = %q, want the environment's value", got.store)
	}
	if got.logLevel != "error" {
		t.Errorf("log-level = %q, want the command line's error", got.logLevel)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	t.Setenv("MARQUEE_CONFIG", writeConfig(t, "workdir: /from/file\n"))
	got, err := settingsOf(t)
	if err != nil {
		t.Fatal(err)
	}
	if got.workdir != "/from/file" {
		t.Errorf("workdir = %q, want /from/file", got.workdir)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown setting", "wrokdir: /x\n", `unknown setting "wrokdir"`},
		{"invalid value", "shutdown-timeout: soon\n", `invalid shutdown-timeout "soon"`},
		{"not yaml", "store: [unclosed\n", "read config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := newRootCommand()
			root.SetArgs([]string{"serve", "--config", writeConfig(t, tc.body), "--addr", "127.0.0.1:0"})
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := settingsOf(t, "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing config file accepted")
	}
}
