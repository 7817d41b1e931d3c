package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/internal/redistest"
	"github.com/marquee/marquee/pipeline"
)

// The marquee binary that the tests of real processes run, built once.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// marqueeBinary builds the marquee binary with go build, once per test
// binary, and returns its path.
func marqueeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "marquee-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "marquee")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running marquee process whose JSON log lines are read as they
// come.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan map[string]any // every log line, closed at exit
	done   chan struct{}       // closed when the process has exited

	mu  sync.Mutex // guards log
	log []string
}

// start starts the binary with args; its log must be JSON (--log-format
// json) for waitFor to read it. It is killed when the test ends.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(marqueeBinary(t), args...),
		lines: make(chan map[string]any, 10_000), done: make(chan struct{})}
	p.cmd.Stdout = &p.stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				p.lines <- line
			}
		}
		close(p.lines)
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// waitFor reads log lines until one matches, and returns it. It fails the
// test when the process exits or timeout passes first.
func (p *proc) waitFor(timeout time.Duration, what string, match func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s exited before logging %s:\n%s", p.name, what, p.logText())
			}
			if match(line) {
				return line
			}
		case <-deadline:
			p.t.Fatalf("%s logged no %s in %v:\n%s", p.name, what, timeout, p.logText())
		}
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s did not stop within 30 s of SIGTERM", p.name)
		p.kill()
	}
}

func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// allLines returns every JSON log line of a process that has exited.
func (p *proc) allLines() []map[string]any {
	<-p.done
	var out []map[string]any
	for _, l := range strings.Split(p.logText(), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(l), &line) == nil {
			out = append(out, line)
		}
	}
	return out
}

// runBinary runs the binary to the end and returns its standard output,
// failing the test when it fails.
func runBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(marqueeBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("marquee %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// stageStarted matches the log line of a stage's start.
func stageStarted(stage string) func(map[string]any) bool {
	return func(l map[string]any) bool { return l["msg"] == "stage started" && l["stage"] == stage }
}

var runLine = regexp.MustCompile(`run (\S+): (\w+)`)

// onceResult parses the line marquee scheduler --once prints.
func onceResult(t *testing.T, out string) (runID, outcome string) {
	t.Helper()
	m := runLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no run outcome in %q", out)
	}
	return m[1], m[2]
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// servingWatch polls an API process for a user's recommendations and the
// trending titles, and records every response that is not a full page
// from an expected run.
type servingWatch struct {
	base     string
	expected atomic.Value // []string: run IDs a response may come from
	answers  atomic.Int64
	mu       sync.Mutex // guards bad
	bad      []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func watchServing(base string, runs ...string) *servingWatch {
	w := &servingWatch{base: base, stop: make(chan struct{})}
	w.expect(runs...)
	w.wg.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			for _, path := range []string{"/v1/users/u00001/recommendations?limit=10", "/v1/trending?limit=10"} {
				w.check(path)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	return w
}

func (w *servingWatch) expect(runs ...string) { w.expected.Store(runs) }

func (w *servingWatch) check(path string) {
	want := w.expected.Load().([]string)
	resp, err := get(w.base, path)
	w.answers.Add(1)
	bad := ""
	switch {
	case err != nil:
		bad = err.Error()
	case resp.status != 200 || resp.degraded || len(resp.page.Items) != 10:
		bad = fmt.Sprintf("status %d, degraded %v, %d items", resp.status, resp.degraded, len(resp.page.Items))
	case !slices.Contains(want, resp.page.RunID):
		bad = fmt.Sprintf("run %s, want one of %v", resp.page.RunID, want)
	}
	if bad != "" {
		w.mu.Lock()
		w.bad = append(w.bad, path+": "+bad)
		w.mu.Unlock()
	}
}

// waitFor polls until the API serves pages of run.
func (w *servingWatch) waitFor(t *testing.T, run string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := get(w.base, "/v1/trending?limit=1")
		if err == nil && resp.page.RunID == run {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serving did not switch to run %s within 10 s: %+v, %v", run, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *servingWatch) close(t *testing.T) {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.bad) > 0 {
		t.Errorf("%d of %d responses were not full pages from an expected run, first: %s", len(w.bad), w.answers.Load(), w.bad[0])
	}
	t.Logf("%d responses checked", w.answers.Load())
}

// schedulerArgs are the flags of a quick scheduled run on small data.
var schedulerArgs = []string{"--models", "ials,popularity", "--workers", "2", "--keep-runs", "0"}

// TestSchedulerSurvivesSIGKILLAtEveryStage publishes a good run, then
// starts scheduled runs and kills each with SIGKILL as soon as it logs the
// start of a stage, stage after stage. An API process serves the good run
// throughout, fully and never degraded. The next run cleans up after the
// killed ones, marks them failed, and succeeds, and the API switches to it.
func TestSchedulerSurvivesSIGKILLAtEveryStage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the pipeline in processes")
	}
	work := t.TempDir()
	common := []string{"--workdir", work, "--log-format", "json"}
	runBinary(t, append(common, "data", "generate", "--users", "200", "--titles", "300")...)
	once := append(append(slices.Clone(common), "scheduler", "--once"), schedulerArgs...)
	good, outcome := onceResult(t, runBinary(t, once...))
	if outcome != pipeline.OutcomePublished {
		t.Fatalf("first run: %s, want published", outcome)
	}

	addr := freeAddr(t)
	// A long serving timeout keeps a slow read on a loaded machine from
	// counting as a degraded response: only a failed read degrades one.
	api := start(t, "serve", append(common, "serve", "--addr", addr, "--dev-ephemeral-secret", "--public-user-recommendations", "--pointer-ttl", "100ms",
		"--serving-timeout", "5s")...)
	api.waitFor(30*time.Second, "serving", func(l map[string]any) bool { return l["msg"] == "serving" })
	watch := &servingWatch{base: "http://" + addr}
	watch.waitFor(t, good) // the server logs before it listens
	watch = watchServing("http://"+addr, good)

	var killed []string
	for _, stage := range pipeline.GatedStages {
		p := start(t, "scheduler killed at "+stage, once...)
		line := p.waitFor(30*time.Second, "the start of "+stage, stageStarted(stage))
		p.kill()
		runID := line["run_id"].(string)
		killed = append(killed, runID)

		run, err := pipeline.Workspace{Dir: work}.OpenRun(runID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Manifest.Stages[stage] == nil || run.Manifest.Published != nil {
			t.Errorf("run %s killed at %s: stages %v, published %v", runID, stage, run.Manifest.Stages, run.Manifest.Published)
		}
		t.Logf("killed run %s at %s", runID, stage)
	}

	watch.expect(good, "") // the next run's ID is not known until it starts
	next, outcome := onceResult(t, runBinary(t, once...))
	if outcome != pipeline.OutcomePublished {
		t.Fatalf("the run after the kills: %s, want published", outcome)
	}
	watch.expect(good, next)
	watch.waitFor(t, next)
	watch.expect(next)
	time.Sleep(200 * time.Millisecond)
	watch.close(t)

	var runs []pipeline.RunInfo
	if err := json.Unmarshal([]byte(runBinary(t, append(common, "runs", "list", "--output", "json")...)), &runs); err != nil {
		t.Fatal(err)
	}
	status := map[string]pipeline.RunInfo{}
	for _, r := range runs {
		status[r.ID] = r
	}
	for _, id := range killed {
		r := status[id]
		if r.Status != pipeline.RunFailed || !strings.Contains(r.Error, "interrupted") || r.State != "" {
			t.Errorf("killed run %s: status %s, error %q, list store %q; want failed, interrupted, no lists", id, r.Status, r.Error, r.State)
		}
		if _, err := os.Stat(filepath.Join(work, "runs", id, "export.partial")); !os.IsNotExist(err) {
			t.Errorf("killed run %s left its export staging directory: %v", id, err)
		}
	}
	if r := status[next]; r.Status != pipeline.RunPublished || !r.Current {
		t.Errorf("the run after the kills: %+v, want published and current", r)
	}
	if r := status[good]; r.Status != pipeline.RunPublished || r.Current {
		t.Errorf("the first run: %+v, want published, not current", r)
	}
}

// TestTwoSchedulersOneRedis runs two scheduler processes with separate
// workspaces against one Redis, on a schedule of every two seconds, and
// shows that each scheduled time runs exactly once between them: one
// process runs it and the other skips it.
func TestTwoSchedulersOneRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the pipeline in processes")
	}
	addr := redistest.Shared(t)
	cache := "redis://" + addr + "/0?prefix=" + redistest.Prefix(t, addr) + "&keep=100"
	storeDir := t.TempDir()
	runBinary(t, "--workdir", storeDir, "data", "generate", "--users", "200", "--titles", "300")
	store := "sqlite://" + filepath.Join(storeDir, "marquee.db")

	var procs []*proc
	workdirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for i, name := range []string{"a", "b"} {
		args := []string{"--workdir", workdirs[i], "--store", store, "--cache", cache, "--log-format", "json",
			"scheduler", "--cron", "*/2 * * * * *", "--lock-ttl", "5s"}
		procs = append(procs, start(t, "scheduler "+name, append(args, schedulerArgs...)...))
	}
	// Let at least three times run, then stop both.
	finished := 0
	deadline := time.Now().Add(30 * time.Second)
	for finished < 3 && time.Now().Before(deadline) {
		for _, p := range procs {
			select {
			case l := <-p.lines:
				if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "scheduler: run published") || strings.HasPrefix(msg, "scheduler: run failed") {
					finished++
				}
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		p.stop()
	}

	ran := map[string][]string{}     // tick -> processes that ran it
	skipped := map[string][]string{} // tick -> processes that skipped it
	var outcomes []string
	for i, p := range procs {
		name := string(rune('a' + i))
		for _, l := range p.allLines() {
			tick, _ := l["tick"].(string)
			switch l["msg"] {
			case "scheduler: run started":
				ran[tick] = append(ran[tick], name)
			case "scheduler: run skipped":
				skipped[tick] = append(skipped[tick], name)
			case "scheduler: run published", "scheduler: run failed", "scheduler: run rejected by the quality gate; kept unpublished":
				outcomes = append(outcomes, l["msg"].(string))
			}
		}
	}
	t.Logf("ran %v, skipped %v", ran, skipped)
	if len(ran) < 3 {
		t.Fatalf("%d scheduled times ran, want at least 3:\n%s\n%s", len(ran), procs[0].logText(), procs[1].logText())
	}
	for tick, runners := range ran {
		if len(runners) != 1 {
			t.Errorf("time %s ran %d times, by %v", tick, len(runners), runners)
		}
		if len(skipped[tick]) != 1 || skipped[tick][0] == runners[0] {
			t.Errorf("time %s ran by %v was skipped by %v, want the other scheduler", tick, runners, skipped[tick])
		}
	}

	lists, err := openLists(t.Context(), cache, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer lists.Close()
	published, err := lists.Runs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	complete := 0
	for _, r := range published {
		if r.Complete {
			complete++
		}
	}
	want := 0
	for _, o := range outcomes {
		if o == "scheduler: run published" {
			want++
		}
	}
	// The registry of either workspace describes the other's runs too,
	// from the summaries their publication wrote to Redis.
	var runs []pipeline.RunInfo
	out := runBinary(t, "--workdir", workdirs[0], "--cache", cache, "runs", "list", "--output", "json")
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status == pipeline.RunPublished && (r.Model != pipeline.ModelIALS || r.NDCG == nil || r.Trigger != pipeline.TriggerScheduler) {
			t.Errorf("run %s (directory %q): model %q, NDCG@10 %v, trigger %q; want ials with its NDCG, by the scheduler",
				r.ID, r.Dir, r.Model, r.NDCG, r.Trigger)
		}
	}

	// A run that SIGTERM cut short counts as ran but not as published.
	if complete != want || want < 3 || want < len(ran)-1 {
		t.Errorf("%d runs in the list store, %d published, %d times ran; want the first two equal and at least 3 (outcomes %v)",
			complete, want, len(ran), outcomes)
	}
}

// TestGateRejectsWorseModelAndRollbackRestores publishes a run, then one
// forced to publish popularity, which the gate rejects: it is kept with
// its metrics, marked rejected, counted, and serving stays on the first
// run. An operator promotes it anyway, then rolls back, which restores the
// first run's lists exactly; gc then deletes the rejected run. It runs on
// the embedded cache and on Redis.
func TestGateRejectsWorseModelAndRollbackRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	caches := map[string]func(t *testing.T, work string) string{
		"sqlite": func(t *testing.T, work string) string { return "sqlite://" + filepath.Join(work, "cache.db") },
		"redis": func(t *testing.T, work string) string {
			addr := redistest.Shared(t)
			return "redis://" + addr + "/0?prefix=" + redistest.Prefix(t, addr)
		},
	}
	for name, cacheURL := range caches {
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			cache := cacheURL(t, work)
			metricsFile := filepath.Join(work, "metrics.prom")
			cli := func(args ...string) (string, error) {
				return runCLIErr(append([]string{"--workdir", work, "--cache", cache}, args...)...)
			}
			must := func(args ...string) string {
				t.Helper()
				out, err := cli(args...)
				if err != nil {
					t.Fatalf("marquee %s: %v", strings.Join(args, " "), err)
				}
				return out
			}
			must("data", "generate", "--users", "200", "--titles", "300")
			once := append([]string{"scheduler", "--once", "--metrics-file", metricsFile}, schedulerArgs...)

			good, outcome := onceResult(t, must(once...))
			if outcome != pipeline.OutcomePublished {
				t.Fatalf("first run: %s", outcome)
			}
			lists, err := openLists(t.Context(), cache, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer lists.Close()
			goodLists := readLists(t, lists, good)

			out, err := cli(append(once, "--model", pipeline.ModelPopularity)...)
			if err == nil || !strings.Contains(err.Error(), "rejected by the quality gate") {
				t.Fatalf("worse run: got %q, %v, want a rejection", out, err)
			}
			worse, outcome := onceResult(t, out)
			if outcome != pipeline.OutcomeRejected {
				t.Fatalf("worse run: outcome %s", outcome)
			}
			checkRun(t, cli, worse, func(r pipeline.RunInfo) string {
				if r.Status != pipeline.RunRejected || r.Current || r.State != "" || r.Gate == nil || r.Gate.Passed ||
					r.Gate.ServingRun != good || r.Gate.Model != pipeline.ModelPopularity {
					return "want rejected against the first run, with no lists"
				}
				return ""
			})
			if cur, _ := lists.Current(t.Context()); cur != good {
				t.Errorf("current run after the rejection: %s, want %s", cur, good)
			}
			if show := must("runs", "show", worse); !strings.Contains(show, "rejected: ndcg_at_10") || !strings.Contains(show, "split/test.parquet") {
				t.Errorf("runs show of the rejected run lacks the gate or the checksums:\n%s", show)
			}
			checkMetricsFile(t, metricsFile, `marquee_pipeline_runs_total{outcome="rejected"} 1`,
				`marquee_pipeline_stage_duration_seconds_count{stage="gate",status="done"} 1`)

			// The operator promotes the rejected run anyway, then rolls back.
			if out := must("--log-level", "warn", "runs", "promote", worse); !strings.Contains(out, "current run: "+worse) {
				t.Errorf("promote: %q", out)
			}
			if got := readLists(t, lists, worse); reflect.DeepEqual(got, goodLists) {
				t.Error("the promoted popularity run has the same lists as the first run")
			}
			checkRun(t, cli, worse, func(r pipeline.RunInfo) string {
				if r.Status != pipeline.RunPublished || !r.Current {
					return "want published and current"
				}
				return ""
			})
			if out := must("runs", "rollback"); !strings.Contains(out, "current run: "+good) {
				t.Errorf("rollback: %q", out)
			}
			if got := readLists(t, lists, good); !reflect.DeepEqual(got, goodLists) {
				t.Error("the rollback did not restore the first run's lists")
			}
			if cur, _ := lists.Current(t.Context()); cur != good {
				t.Errorf("current run after the rollback: %s, want %s", cur, good)
			}

			if out := must("runs", "gc", "--keep", "0"); !strings.Contains(out, "deleted 1 runs: "+worse) {
				t.Errorf("gc: %q, want the rejected run deleted", out)
			}
			if _, err := lists.List(t.Context(), worse, data.ListTrending, "all"); err == nil {
				t.Error("gc left the lists of the deleted run")
			}
			if got := readLists(t, lists, good); !reflect.DeepEqual(got, goodLists) {
				t.Error("gc changed the current run's lists")
			}
		})
	}
}

// readLists returns the trending list and a few users' lists of a run.
func readLists(t *testing.T, lists data.Lists, runID string) map[string][]data.ScoredItem {
	t.Helper()
	ctx := context.Background()
	out := map[string][]data.ScoredItem{}
	keys := map[data.ListKind][]string{data.ListTrending: {"all"}, data.ListUser: {"u00001", "u00002", "u00003"}}
	for kind, ks := range keys {
		for _, k := range ks {
			items, err := lists.List(ctx, runID, kind, k)
			if err != nil {
				t.Fatalf("list %s %s of run %s: %v", kind, k, runID, err)
			}
			out[string(kind)+"/"+k] = items
		}
	}
	return out
}

// checkRun finds a run in `marquee runs list` and reports what check
// finds wrong with it.
func checkRun(t *testing.T, cli func(...string) (string, error), runID string, check func(pipeline.RunInfo) string) {
	t.Helper()
	out, err := cli("runs", "list", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var runs []pipeline.RunInfo
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.ID == runID {
			if msg := check(r); msg != "" {
				b, _ := json.Marshal(r)
				t.Errorf("run %s: %s; got %s", runID, msg, b)
			}
			return
		}
	}
	t.Errorf("run %s is not in the registry", runID)
}

func checkMetricsFile(t *testing.T, path string, want ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("metrics file lacks %q", w)
		}
	}
	if !regexp.MustCompile(`marquee_pipeline_last_success_timestamp_seconds \d\.\d+e\+09`).Match(b) {
		t.Errorf("metrics file has no last success time:\n%s", b)
	}
}
