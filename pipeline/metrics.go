package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a scheduled run, the values of the outcome label.
const (
	OutcomePublished = "published" // the run passed the gate and is current
	OutcomeRejected  = "rejected"  // the gate kept the run from being published
	OutcomeFailed    = "failed"    // a stage failed or the lease was lost
	OutcomeSkipped   = "skipped"   // another replica held the lock or had taken the tick
)

// SchedulerMetrics are the Prometheus collectors of scheduled runs. Its
// methods are safe for concurrent use, and do nothing on a nil receiver.
type SchedulerMetrics struct {
	lastSuccess prometheus.Gauge
	lastRun     *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	stages      *prometheus.HistogramVec
	lastStage   *prometheus.GaugeVec
	inProgress  prometheus.Gauge
	gate        *prometheus.GaugeVec
}

// NewSchedulerMetrics registers the collectors in reg.
func NewSchedulerMetrics(reg prometheus.Registerer) *SchedulerMetrics {
	m := &SchedulerMetrics{
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "marquee_pipeline_last_success_timestamp_seconds",
			Help: "Unix time at which the newest run was published: by this process, or as the list store recorded it at start.",
		}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "marquee_pipeline_last_run_timestamp_seconds",
			Help: "Unix time at which the last run of each outcome ended.",
		}, []string{"outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "marquee_pipeline_runs_total",
			Help: "Scheduled runs by outcome: published, rejected, failed or skipped.",
		}, []string{"outcome"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "marquee_pipeline_stage_duration_seconds",
			Help:    "Duration of pipeline stages, by stage and status (done or failed).",
			Buckets: prometheus.ExponentialBuckets(0.1, 3, 11), // 0.1 s to about 4 hours
		}, []string{"stage", "status"}),
		lastStage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "marquee_pipeline_stage_last_duration_seconds",
			Help: "Duration of the last run of each stage.",
		}, []string{"stage"}),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "marquee_pipeline_run_in_progress",
			Help: "1 while this process runs the pipeline, else 0.",
		}),
		gate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "marquee_pipeline_gate_metric",
			Help: "The gate's metric at the last gate: of the candidate run, of the serving run, and the threshold.",
		}, []string{"side"}),
	}
	reg.MustRegister(m.lastSuccess, m.lastRun, m.runs, m.stages, m.lastStage, m.inProgress, m.gate)
	for _, o := range []string{OutcomePublished, OutcomeRejected, OutcomeFailed, OutcomeSkipped} {
		m.runs.WithLabelValues(o) // every outcome shows as 0 before it first happens
	}
	return m
}

// SetLastSuccess sets the time of the newest publication, such as the one
// the list store holds when the scheduler starts.
func (m *SchedulerMetrics) SetLastSuccess(t time.Time) {
	if m != nil && !t.IsZero() {
		m.lastSuccess.Set(float64(t.UnixNano()) / 1e9)
	}
}

func (m *SchedulerMetrics) stage(stage string, rec *StageRecord) {
	if m == nil {
		return
	}
	m.stages.WithLabelValues(stage, rec.Status).Observe(rec.Seconds)
	m.lastStage.WithLabelValues(stage).Set(rec.Seconds)
}

func (m *SchedulerMetrics) running(on bool) {
	if m == nil {
		return
	}
	if on {
		m.inProgress.Set(1)
	} else {
		m.inProgress.Set(0)
	}
}

func (m *SchedulerMetrics) outcome(outcome string, at time.Time, g *GateResult) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(outcome).Inc()
	if outcome == OutcomeSkipped {
		return
	}
	m.lastRun.WithLabelValues(outcome).Set(float64(at.UnixNano()) / 1e9)
	if outcome == OutcomePublished {
		m.SetLastSuccess(at)
	}
	if g != nil {
		m.gate.WithLabelValues("candidate").Set(g.Candidate)
		if g.Serving != nil {
			m.gate.WithLabelValues("serving").Set(*g.Serving)
			m.gate.WithLabelValues("threshold").Set(*g.Threshold)
		}
	}
}
