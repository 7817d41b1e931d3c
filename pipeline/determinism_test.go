package pipeline

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// trainedChecksums trains every model on a fixed split in a new run and
// returns the checksums that the run's manifest records for the models.
func trainedChecksums(t *testing.T, ws Workspace, id string, seed uint64) map[string]string {
	t.Helper()
	p, err := TrainParams{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	run, err := ws.CreateRun(id, seed, data.Window{}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	writeTestSplit(t, run.Path(splitDir))
	if _, err := Train(context.Background(), run.Path(splitDir), run.Path(modelsDir), p, seed, 2, discard()); err != nil {
		t.Fatal(err)
	}

	var files []string
	err = filepath.WalkDir(run.Path(modelsDir), func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		rel, err := filepath.Rel(run.Dir, path)
		files = append(files, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.RecordArtifacts(files...); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, a := range run.Manifest.Artifacts {
		sums[a.Path] = a.SHA256
	}
	return sums
}

// TestTrainSameSeedSameChecksums trains twice with one split and seed.
// Every recorded checksum must match, model.json included, so that a
// manifest shows two runs trained the same models.
func TestTrainSameSeedSameChecksums(t *testing.T) {
	ws := Workspace{Dir: t.TempDir()}
	first := trainedChecksums(t, ws, "r1", 7)
	second := trainedChecksums(t, ws, "r2", 7)
	if len(first) == 0 {
		t.Fatal("no artifacts recorded")
	}
	for path, sum := range first {
		if second[path] != sum {
			t.Errorf("%s: checksum %.12s in the first run, %.12s in the second", path, sum, second[path])
		}
	}
}

// TestRunIDStaysInsideRuns creates runs whose IDs leave the runs
// directory, as `marquee pipeline export --run ../../x` does.
func TestRunIDStaysInsideRuns(t *testing.T) {
	root := t.TempDir()
	ws := Workspace{Dir: filepath.Join(root, "work")}
	for _, id := range []string{"../escape", "../../escape2", "a/b", "LATEST", "."} {
		if _, err := ws.CreateRun(id, 1, data.Window{}, time.Now()); err == nil {
			t.Errorf("CreateRun(%q) succeeded, expected an error for an ID that is not one path element", id)
		}
	}
	for _, outside := range []string{filepath.Join(root, "work", "escape"), filepath.Join(root, "escape2")} {
		if _, err := os.Stat(outside); err == nil {
			t.Errorf("%s was created outside the runs directory", outside)
		}
	}
}
