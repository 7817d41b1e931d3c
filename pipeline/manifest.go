package pipeline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
)

// Stage names, in the order a full run executes them.
const (
	StageExport   = "export"
	StageSplit    = "split"
	StageTrain    = "train"
	StageEvaluate = "evaluate"
	StagePublish  = "publish"
	// StageTune is run on its own, never by a full run: it searches
	// parameters on a validation split carved out of the training split.
	StageTune = "tune"
	// StageGate runs between evaluate and publish when Options.Gate is
	// set: it compares the run with the serving run (see GateConfig).
	StageGate = "gate"
)

// Stages lists every stage of a full run without a quality gate, in run
// order.
var Stages = []string{StageExport, StageSplit, StageTrain, StageEvaluate, StagePublish}

// GatedStages lists every stage of a full run with a quality gate, in run
// order.
var GatedStages = []string{StageExport, StageSplit, StageTrain, StageEvaluate, StageGate, StagePublish}

// Triggers of a run, recorded in its manifest.
const (
	TriggerManual    = ""          // by hand: marquee pipeline ...
	TriggerScheduler = "scheduler" // by marquee scheduler, under its lock
)

// Stage statuses recorded in a manifest.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// StageRecord is what a manifest keeps of one stage.
type StageRecord struct {
	Status     string         `json:"status"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
	Seconds    float64        `json:"seconds"`
	Error      string         `json:"error,omitempty"`
	Summary    map[string]any `json:"summary,omitempty"`
	// Host and PID name the process that ran the stage, so that a stage
	// left running by a process that died is distinguished from a live one.
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// Artifact is a file a run wrote, with its checksum.
type Artifact struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Manifest records a run: its id, data window, parameters, metrics, stages
// and artifacts. It is rewritten after every stage, so it always tells how
// far the run came.
type Manifest struct {
	RunID     string                  `json:"run_id"`
	CreatedAt time.Time               `json:"created_at"`
	Seed      uint64                  `json:"seed"`
	Window    data.Window             `json:"window"`
	Split     *features.SplitConfig   `json:"split,omitempty"`
	Params    *TrainParams            `json:"params,omitempty"`
	Models    map[string]ModelSummary `json:"models,omitempty"`
	Metrics   map[string]Metrics      `json:"metrics,omitempty"`
	Tuning    *Tuning                 `json:"tuning,omitempty"`
	Stages    map[string]*StageRecord `json:"stages"`
	Gate      *GateResult             `json:"gate,omitempty"`
	Published *Publication            `json:"published,omitempty"`
	Artifacts []Artifact              `json:"artifacts,omitempty"`
	// Trigger is TriggerScheduler for a run the scheduler started under its
	// lock, and empty for a run started by hand.
	Trigger string `json:"trigger,omitempty"`
}

// Publication records which model a run published and where.
type Publication struct {
	Model  string    `json:"model"`
	Lists  int       `json:"lists"`
	Target string    `json:"target"`
	At     time.Time `json:"at"`
}

// Run is the directory of one pipeline run:
//
//	export/   the exported event log and catalog snapshot
//	split/    train and test files
//	models/   one folder per trained model
//	manifest.json
type Run struct {
	Dir      string
	Manifest Manifest
}

// Workspace is the directory that holds runs, under runs/<run-id>, with the
// newest run named in runs/LATEST.
type Workspace struct {
	Dir string
}

// NewRunID returns a fresh run ID: the UTC time to the second and a random
// suffix, so IDs sort by creation time and never collide.
func NewRunID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// checkRunID returns an error wrapping data.ErrInvalid for an ID that is
// not a name of its own under runs/: empty, with a path separator, hidden,
// or the name of the LATEST file. A run ID given by a user, as to
// `marquee runs promote`, must never name a directory outside the runs.
func checkRunID(id string) error {
	if id == "" || id == "LATEST" || strings.HasPrefix(id, ".") || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("%w: run ID %q: want a name without path separators that does not start with a dot", data.ErrInvalid, id)
	}
	return nil
}

// CreateRun makes a new run directory and records it as the latest.
func (ws Workspace) CreateRun(id string, seed uint64, w data.Window, now time.Time) (*Run, error) {
	if err := checkRunID(id); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	dir := filepath.Join(ws.Dir, "runs", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	r := &Run{Dir: dir, Manifest: Manifest{
		RunID: id, CreatedAt: now.UTC(), Seed: seed, Window: w,
		Stages: map[string]*StageRecord{},
	}}
	if err := r.Save(); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(ws.Dir, "runs", "LATEST"), []byte(id+"\n")); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	return r, nil
}

// OpenRun opens an existing run; an empty id means the latest run.
func (ws Workspace) OpenRun(id string) (*Run, error) {
	if id == "" {
		b, err := os.ReadFile(filepath.Join(ws.Dir, "runs", "LATEST"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open run: no run in %s yet: run `marquee pipeline export` or `marquee pipeline run` first", ws.Dir)
		}
		if err != nil {
			return nil, fmt.Errorf("open run: %w", err)
		}
		id = strings.TrimSpace(string(b))
	}
	if err := checkRunID(id); err != nil {
		return nil, fmt.Errorf("open run: %w", err)
	}
	dir := filepath.Join(ws.Dir, "runs", id)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open run %s: %w: no manifest in %s", id, data.ErrNotFound, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open run %s: %w", id, err)
	}
	r := &Run{Dir: dir}
	if err := json.Unmarshal(b, &r.Manifest); err != nil {
		return nil, fmt.Errorf("open run %s: manifest: %w", id, err)
	}
	if r.Manifest.Stages == nil {
		r.Manifest.Stages = map[string]*StageRecord{}
	}
	return r, nil
}

// Runs returns the IDs of the runs in the workspace, newest first.
func (ws Workspace) Runs() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(ws.Dir, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	return ids, nil
}

// Path returns the path of a file or folder of the run.
func (r *Run) Path(elem ...string) string {
	return filepath.Join(append([]string{r.Dir}, elem...)...)
}

// Done reports whether a stage finished in this run.
func (r *Run) Done(stage string) bool {
	rec := r.Manifest.Stages[stage]
	return rec != nil && rec.Status == StatusDone
}

// ErrRunBusy means another process holds the run's lock.
var ErrRunBusy = errors.New("run is in use")

// Lock takes the run's exclusive lock, an flock on the file .lock in its
// directory, so that two processes never work on one run at once; the
// kernel releases it when the process exits, however it exits. It fails at
// once with ErrRunBusy when another process holds it. Call unlock to
// release it.
func (r *Run) Lock() (unlock func(), err error) {
	f, err := os.OpenFile(r.Path(".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run %s: %w", r.Manifest.RunID, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: run %s is being worked on by another process; wait for it, or start a new run",
				ErrRunBusy, r.Manifest.RunID)
		}
		return nil, fmt.Errorf("lock run %s: %w", r.Manifest.RunID, err)
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// Save writes the manifest atomically.
func (r *Run) Save() error {
	b, err := json.MarshalIndent(r.Manifest, "", "  ")
	if err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	if err := writeFileAtomic(r.Path("manifest.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	return nil
}

// RecordArtifacts adds the checksums of files under the run directory,
// given relative to it, replacing older records of the same paths.
func (r *Run) RecordArtifacts(paths ...string) error {
	keep := r.Manifest.Artifacts[:0]
	replaced := make(map[string]bool, len(paths))
	for _, p := range paths {
		replaced[filepath.ToSlash(p)] = true
	}
	for _, a := range r.Manifest.Artifacts {
		if !replaced[a.Path] {
			keep = append(keep, a)
		}
	}
	for _, p := range paths {
		sum, n, err := fileSHA256(r.Path(p))
		if err != nil {
			return fmt.Errorf("record artifact: %w", err)
		}
		keep = append(keep, Artifact{Path: filepath.ToSlash(p), SHA256: sum, Bytes: n})
	}
	sort.Slice(keep, func(a, b int) bool { return keep[a].Path < keep[b].Path })
	r.Manifest.Artifacts = keep
	return nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
