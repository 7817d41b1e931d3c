package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRejectsBadInvocations runs commands a user may mistype and checks
// that each fails with a message naming the mistake, before it writes
// anything into the workspace.
func TestCLIRejectsBadInvocations(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"typo in a pipeline stage", []string{"pipeline", "rn"}, []string{`unknown command "rn" for "marquee pipeline"`, "did you mean run?"}},
		{"typo in a runs command", []string{"runs", "lst"}, []string{`unknown command "lst"`, "did you mean list?"}},
		{"typo under data", []string{"data", "imprt", "x"}, []string{`unknown command "imprt" for "marquee data"`}},
		{"typo in an import format", []string{"data", "import", "movielen", "x"}, []string{`unknown command "movielen"`, "did you mean movielens?"}},
		{"gc with a negative keep", []string{"runs", "gc", "--keep", "-1"}, []string{"invalid --keep -1"}},
		{"rollback to an unknown run", []string{"runs", "rollback", "nope"}, []string{`cannot roll back to run "nope"`}},
		{"generate without users", []string{"data", "generate", "--users", "0"}, []string{"invalid --users 0"}},
		{"generate with too few titles", []string{"data", "generate", "--titles", "10"}, []string{"invalid --mean-interactions 60", "--titles (10)"}},
		{"pipeline on a missing store", []string{"pipeline", "run"}, []string{"no store at", "marquee data generate"}},
		{"split without recs", []string{"pipeline", "evaluate", "--split", "validation"}, []string{"--split applies to --recs and --predictions only"}},
		{"scheduler once with an unknown zone", []string{"scheduler", "--once", "--timezone", "Mars/Base"}, []string{`invalid --timezone "Mars/Base"`}},
		{"cache URL without a host", []string{"--cache", "redis://", "runs", "list"}, []string{"has no host"}},
		{"serve on a port in use", []string{"serve", "--dev-ephemeral-secret", "--addr", busy.Addr().String()},
			[]string{"listen on --addr", "address already in use"}},
		{"serve on a malformed address", []string{"serve", "--dev-ephemeral-secret", "--addr", "notanaddr"}, []string{"listen on --addr"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := filepath.Join(t.TempDir(), "work")
			_, err := runCLIErr(append([]string{"--workdir", work}, tc.args...)...)
			if err == nil {
				t.Fatalf("marquee %s: nil error", strings.Join(tc.args, " "))
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("marquee %s: error %q, want it to contain %q", strings.Join(tc.args, " "), err, want)
				}
			}
			if tc.args[0] == "data" || tc.args[0] == "runs" || tc.args[0] == "pipeline" {
				if _, err := os.Stat(filepath.Join(work, "marquee.db")); err == nil {
					t.Errorf("marquee %s created the store", strings.Join(tc.args, " "))
				}
			}
		})
	}
}
