package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee/marquee/pipeline"
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

// TestEvaluateFilesOutput scores a recs file and a predictions file of the
// same base name in one call, and checks that both rows show, each with
// "-" for the metrics it does not have, and that JSON holds no ranking
// metrics for predictions.
func TestEvaluateFilesOutput(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	for _, args := range [][]string{
		{"data", "generate", "--users", "40", "--titles", "80", "--mean-interactions", "20"},
		{"pipeline", "export"},
		{"pipeline", "split"},
	} {
		if _, err := runCLIErr(append([]string{"--workdir", work}, args...)...); err != nil {
			t.Fatalf("marquee %s: %v", strings.Join(args, " "), err)
		}
	}
	// A list for every user, so that the test users of the split have one,
	// and a prediction for every test rating.
	var recsCSV, predsCSV strings.Builder
	recsCSV.WriteString("user_id,rank,item_id\n")
	for u := 1; u <= 40; u++ {
		fmt.Fprintf(&recsCSV, "u%05d,1,t%05d\n", u, u)
	}
	runs, err := filepath.Glob(filepath.Join(work, "runs", "*", "split", pipeline.TestFile))
	if err != nil || len(runs) != 1 {
		t.Fatalf("test split files: %v, %v; want one", runs, err)
	}
	test, err := pipeline.ReadInteractions(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	predsCSV.WriteString("user_id,item_id,prediction\n")
	for _, x := range test {
		fmt.Fprintf(&predsCSV, "%s,%s,3.5\n", x.UserID, x.ItemID)
	}
	recs := filepath.Join(dir, "base.csv")
	if err := os.WriteFile(recs, []byte(recsCSV.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	preds := filepath.Join(dir, "p", "base.csv")
	if err := os.WriteFile(preds, []byte(predsCSV.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := runCLIErr("--workdir", work, "pipeline", "evaluate", "--recs", recs, "--predictions", preds)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines[f[0]] = line
		}
	}
	recsRow, predsRow := lines["recs:"+recs], lines["predictions:"+preds]
	if recsRow == "" || predsRow == "" {
		t.Fatalf("want a row for each file, got:\n%s", out)
	}
	if f := strings.Fields(predsRow); f[1] != "-" || f[len(f)-1] != "-" {
		t.Errorf("predictions row %q, want - for NDCG@10 and USERS", predsRow)
	}
	if f := strings.Fields(recsRow); f[1] == "-" {
		t.Errorf("recs row %q, want an NDCG@10", recsRow)
	}

	_, err = runCLIErr("--workdir", work, "pipeline", "evaluate", "--recs", recs, "--split", "validation")
	if err == nil || !strings.Contains(err.Error(), "has no validation split") {
		t.Errorf("evaluate --split validation before tune: err = %v, want one naming the missing validation split", err)
	}
	_, err = runCLIErr("--workdir", work, "pipeline", "report", "one", "--run", "other")
	if err == nil || !strings.Contains(err.Error(), "give one of them") {
		t.Errorf("report RUN --run OTHER: err = %v, want a conflict", err)
	}

	js, err := runCLIErr("--workdir", work, "pipeline", "evaluate", "--predictions", preds, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js, "ndcg_at_10") {
		t.Errorf("JSON of predictions holds ranking metrics: %s", js)
	}
}
