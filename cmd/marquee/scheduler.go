package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/redis"
	"github.com/marquee/marquee/pipeline"
)

// schedulerFlags are the settings of marquee scheduler.
type schedulerFlags struct {
	spec        string
	timezone    string
	once        bool
	lock        string
	lockTTL     time.Duration
	window      time.Duration
	keep        int
	noGate      bool
	metricsAddr string
	metricsFile string
	metricsPush string
}

func newSchedulerCommand(g *globals) *cobra.Command {
	var sf schedulerFlags
	pf := &pipelineFlags{}
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Retrain on a cron schedule: export, train, evaluate, gate and publish",
		Long: `Run the whole pipeline at every time of --cron, in --timezone, until
SIGINT or SIGTERM; with --once, run it once now and exit, as a Kubernetes
CronJob does.

Every replica takes a shared lock before a run, so two runs never overlap
and each scheduled time runs once between them: the Redis of --cache when
it is Redis, else a file lock on WORKDIR/scheduler.lock. A run first cleans
up after runs whose process died, then runs every stage. The quality gate
publishes the run only if its --gate-metric is within --gate-tolerance of
the serving run's; a run that fails it is kept, marked rejected, logged and
counted. After each run, runs beyond the newest --keep-runs are deleted
(never the current run or the one a rollback returns to).

--cron takes five fields (minute hour day-of-month month day-of-week), six
with seconds first, or a descriptor such as @daily or @every 6h.`,
		Example: `  marquee scheduler --cron "0 3 * * *" --timezone Europe/Paris --metrics-addr :9091
  marquee scheduler --once --cache redis://redis:6379/0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScheduler(cmd, g, &sf, pf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.spec, "cron", "", "when to run: a cron expression of 5 fields, or 6 with seconds first, or @daily, @every 6h...")
	f.StringVar(&sf.timezone, "timezone", "UTC", "time zone of --cron: an IANA name such as Europe/Paris, or Local")
	f.BoolVar(&sf.once, "once", false, "run the pipeline once now and exit, instead of following --cron")
	f.StringVar(&sf.lock, "lock", "auto", "lock shared by scheduler replicas: auto (the Redis of --cache, else a file lock on WORKDIR/scheduler.lock) or file")
	f.DurationVar(&sf.lockTTL, "lock-ttl", redis.DefaultLockTTL, "with the Redis lock, how long a lease outlives its last renewal, so how long a dead holder blocks the next run; renewed every third of it")
	f.DurationVar(&sf.window, "window", 0, "export the events of this long before each run's start, such as 2160h for 90 days (0: every event)")
	f.IntVar(&sf.keep, "keep-runs", 10, "after each run, delete runs beyond the newest N, their directories and lists, except the current run and the one a rollback returns to (0: delete none)")
	f.BoolVar(&sf.noGate, "no-gate", false, "publish every run that finishes, without the quality gate")
	f.StringVar(&sf.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address, such as :9091 (default: not served)")
	f.StringVar(&sf.metricsFile, "metrics-file", "", "after each run, write the metrics to this file in the text format of node_exporter's textfile collector")
	f.StringVar(&sf.metricsPush, "metrics-push", "", "after each run, push the metrics to this Prometheus Pushgateway URL, under job marquee_pipeline")
	cmd.Flags().IntVar(&pf.workers, "workers", 0, "goroutines for training and evaluation (0: one per CPU)")
	pf.trainFlags(cmd)
	pf.publishFlags(cmd)
	pf.gateFlags(cmd)
	cmd.Flags().IntVar(&pf.exportCf.Concurrency, "concurrency", 8, "partitions the export reads at once")
	return cmd
}

func runScheduler(cmd *cobra.Command, g *globals, sf *schedulerFlags, pf *pipelineFlags) error {
	ctx := cmd.Context()
	pf.gate = !sf.noGate
	opts, err := pf.options(cmd)
	if err != nil {
		return err
	}
	// The zone is checked with --once too, so that a typo in a CronJob's
	// arguments fails at once and not when --once is dropped.
	if _, err := time.LoadLocation(sf.timezone); err != nil {
		return fmt.Errorf("invalid --timezone %q: %w", sf.timezone, err)
	}
	var sched pipeline.Schedule
	if !sf.once {
		if sched, err = parseSchedule(sf.spec, sf.timezone); err != nil {
			return err
		}
	}
	if sf.keep < 0 {
		return fmt.Errorf("invalid --keep-runs %d: want >= 0", sf.keep)
	}

	store, err := openEventSource(ctx, g.store, g.log)
	if err != nil {
		return err
	}
	defer store.Close()
	lists, err := openLists(ctx, g.cache, g.log)
	if err != nil {
		return err
	}
	defer lists.Close()
	lock, fenced, err := schedulerLock(sf, g.workdir, lists)
	if err != nil {
		return err
	}

	log := g.log.With("subsystem", "scheduler")
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := pipeline.NewSchedulerMetrics(reg)
	metrics.SetLastSuccess(lastPublication(ctx, lists, log))
	s := &pipeline.Scheduler{
		Runner: &pipeline.Runner{
			Workspace: pipeline.Workspace{Dir: g.workdir}, Source: store, Lists: lists, Log: g.log, Now: time.Now,
		},
		Lock: lock, Options: opts, Window: sf.window, Fenced: fenced, Keep: sf.keep, Metrics: metrics, Log: log,
		OnRun: func(pipeline.Result) { exportMetrics(ctx, sf, reg, log) },
	}
	if sf.metricsAddr != "" {
		stop, err := serveMetrics(sf.metricsAddr, reg, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	if sf.once {
		res, err := s.RunOnce(ctx, time.Time{})
		fmt.Fprintf(cmd.OutOrStdout(), "run %s: %s\n", orNone(res.RunID), res.Outcome)
		if err != nil && res.RunID != "" {
			return fmt.Errorf("run %s: %w", res.RunID, err)
		}
		return err
	}
	log.Info("scheduler: started", "cron", sf.spec, "timezone", sf.timezone, "lock", fmt.Sprintf("%T", lock), "gate", !sf.noGate)
	return s.Run(ctx, sched)
}

// parseSchedule parses a cron expression of 5 fields, 6 with seconds first,
// or a descriptor, whose times are in the named time zone.
func parseSchedule(spec, timezone string) (pipeline.Schedule, error) {
	if spec == "" {
		return nil, errors.New("missing --cron: give a schedule such as \"0 3 * * *\", or --once")
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return nil, fmt.Errorf("invalid --timezone %q: %w", timezone, err)
	}
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := p.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid --cron %q: %w", spec, err)
	}
	return zoned{s, loc}, nil
}

// zoned reads a cron schedule in a time zone.
type zoned struct {
	s   cron.Schedule
	loc *time.Location
}

func (z zoned) Next(t time.Time) time.Time { return z.s.Next(t.In(z.loc)) }

// schedulerLock returns the lock that --lock names, and whether the list
// store checks its fencing tokens at commit.
func schedulerLock(sf *schedulerFlags, workdir string, lists data.Lists) (pipeline.Lock, bool, error) {
	file := pipeline.FileLock{Path: filepath.Join(workdir, "scheduler.lock")}
	switch sf.lock {
	case "file":
		return file, false, nil
	case "auto":
		if r, ok := lists.(*redis.Lists); ok {
			return redisLock{r.Lock(sf.lockTTL)}, true, nil
		}
		return file, false, nil
	}
	return nil, false, fmt.Errorf("invalid --lock %q: use auto or file", sf.lock)
}

// redisLock adapts the Redis lock of package redis to pipeline.Lock.
type redisLock struct{ l *redis.Lock }

func (r redisLock) Acquire(ctx context.Context, tick time.Time) (pipeline.Lease, error) {
	lease, err := r.l.Acquire(ctx, tick)
	switch {
	case errors.Is(err, redis.ErrLocked):
		return nil, pipeline.ErrLocked
	case errors.Is(err, redis.ErrTickTaken):
		return nil, fmt.Errorf("%w: %s", pipeline.ErrTickTaken, tick.UTC().Format(time.RFC3339))
	case err != nil:
		return nil, err
	}
	return lease, nil
}

// lastPublication returns when the newest complete run of the list store
// was published, or the zero time.
func lastPublication(ctx context.Context, lists data.Lists, log *slog.Logger) time.Time {
	runs, err := lists.Runs(ctx)
	if err != nil {
		log.Warn("scheduler: reading the published runs failed; the last success metric starts at 0", "err", err)
		return time.Time{}
	}
	for _, r := range runs {
		if r.Complete {
			return r.PublishedAt
		}
	}
	return time.Time{}
}

// serveMetrics serves /metrics and /healthz on addr until stop is called.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status": "ok"}`)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --metrics-addr %q: %w", addr, err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("scheduler: serving metrics failed", "addr", addr, "err", err)
		}
	}()
	log.Info("scheduler: serving metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// exportMetrics writes the metrics to --metrics-file and pushes them to
// --metrics-push, logging failures: metrics never fail a run.
func exportMetrics(ctx context.Context, sf *schedulerFlags, reg *prometheus.Registry, log *slog.Logger) {
	if sf.metricsFile != "" {
		if err := prometheus.WriteToTextfile(sf.metricsFile, reg); err != nil {
			log.Warn("scheduler: writing the metrics file failed", "path", sf.metricsFile, "err", err)
		}
	}
	if sf.metricsPush != "" {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := push.New(sf.metricsPush, "marquee_pipeline").Gatherer(reg).PushContext(pctx); err != nil {
			log.Warn("scheduler: pushing the metrics failed", "url", sf.metricsPush, "err", err)
		}
	}
}
