package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	_ "gonum.org/v1/plot/vg/vgsvg" // registers the svg format
)

// ReportFile is the name of the page Report writes into a run directory.
const ReportFile = "report.html"

// ReportModel is one model's row of a report.
type ReportModel struct {
	Name    string
	Metrics Metrics
	Seconds float64   // training time; 0 when not recorded
	Loss    []float64 // training loss per iteration; empty for closed-form models
}

// ReportData is the content of a report.
type ReportData struct {
	Manifest Manifest
	Models   []ReportModel // evaluated models, by name
	Plots    []ReportPlot
	Failures []string // stages of the run that failed, each with its error
}

// ReportPlot is one figure of a report, as inline SVG.
type ReportPlot struct {
	Title   string
	Caption string
	SVG     template.HTML
}

// Report reads a run's manifest and its saved models and writes an HTML
// page with tables and plots to path. The page shows the metrics of every
// evaluated model, their training loss per iteration, and coverage and
// long-tail share as measures of popularity bias. For a tuned run it also
// shows the search, with the metric against factors and regularisation.
// Report returns the content of the page, which needs no network to be
// read: plots are inline SVG.
func Report(run *Run, path string) (*ReportData, error) {
	d, err := reportData(run)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var b bytes.Buffer
	if err := reportPage.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return d, nil
}

func reportData(run *Run) (*ReportData, error) {
	m := run.Manifest
	if len(m.Metrics) == 0 {
		return nil, fmt.Errorf("the run has no evaluated models: %s", missingStage(m))
	}
	d := &ReportData{Manifest: m, Failures: failures(m)}
	for _, name := range sortedMetricNames(m.Metrics) {
		rm := ReportModel{Name: name, Metrics: m.Metrics[name], Seconds: m.Models[name].Seconds}
		loss, err := savedLoss(run.Path(modelsDir, name))
		if err != nil {
			return nil, err
		}
		rm.Loss = loss
		d.Models = append(d.Models, rm)
	}
	plots, err := reportPlots(d)
	if err != nil {
		return nil, err
	}
	d.Plots = plots
	return d, nil
}

func sortedMetricNames(m map[string]Metrics) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// savedLoss reads the loss per iteration from a saved model's model.json;
// a model saved without one has none.
func savedLoss(dir string) ([]float64, error) {
	b, err := os.ReadFile(filepath.Join(dir, modelInfoFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var info modelInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, modelInfoFile), err)
	}
	return info.Loss, nil
}

// reportPlots draws every figure the data allows.
func reportPlots(d *ReportData) ([]ReportPlot, error) {
	builders := []func(*ReportData) (*ReportPlot, error){
		metricsPlot, biasPlot, lossPlot,
		tuningPlot("factors", "factors", false, ObjectiveNDCG), tuningPlot("factors", "factors", false, ObjectiveRMSE),
		tuningPlot("regularization", "regularisation", true, ObjectiveNDCG),
		tuningPlot("regularization", "regularisation", true, ObjectiveRMSE),
		tuningPlot("lambda", "EASE lambda", true, ObjectiveNDCG),
	}
	var plots []ReportPlot
	for _, build := range builders {
		p, err := build(d)
		if err != nil {
			return nil, err
		}
		if p != nil {
			plots = append(plots, *p)
		}
	}
	return plots, nil
}

// groupedBars draws one group of bars per model, one bar per series.
func groupedBars(title string, models []ReportModel, series []string, value func(Metrics, string) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}

	width := vg.Points(float64(40) / float64(len(series)))
	top := 0.0
	for k, s := range series {
		vals := make(plotter.Values, len(models))
		for i, m := range models {
			vals[i] = value(m.Metrics, s)
			top = max(top, vals[i])
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.Color = plotutil.Color(k)
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(k)-float64(len(series)-1)/2)
		p.Add(bars)
		p.Legend.Add(s, bars)
	}

	p.Legend.Top = true
	p.NominalX(names...)
	// Room above the bars for the legend, and beside the outer groups for
	// their labels.
	p.Y.Min, p.Y.Max = 0, top*1.3
	p.X.Min, p.X.Max = -0.7, float64(len(models))-0.3
	return p, nil
}

func metricValue(m Metrics, name string) float64 {
	switch name {
	case "NDCG@10":
		return m.NDCG
	case "Recall@20":
		return m.Recall
	case "HitRate@10":
		return m.HitRate
	case "MAP@10":
		return m.MAP
	case "Coverage@10":
		return m.Coverage
	case "LongTail@10":
		return m.LongTail
	}
	return math.NaN()
}

func metricsPlot(d *ReportData) (*ReportPlot, error) {
	p, err := groupedBars("Ranking metrics on the test split", d.Models, []string{"NDCG@10", "Recall@20", "MAP@10"}, metricValue)
	if err != nil {
		return nil, err
	}
	return svgPlot(p, "Ranking metrics per model", "Higher is better. Relevant items are test ratings of 4 or more.")
}

func biasPlot(d *ReportData) (*ReportPlot, error) {
	p, err := groupedBars("Popularity bias", d.Models, []string{"Coverage@10", "LongTail@10"}, metricValue)
	if err != nil {
		return nil, err
	}
	return svgPlot(p, "Popularity bias",
		"Coverage@10: share of candidate titles that appear in some user's top 10. LongTail@10: share of top-10 slots "+
			"given to titles outside the 20% most popular. Popularity ranking scores near 0 on both.")
}

func lossPlot(d *ReportData) (*ReportPlot, error) {
	p := plot.New()
	p.Title.Text = "Training loss relative to the first iteration"
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "loss / loss after iteration 1"
	k := 0
	for _, m := range d.Models {
		if len(m.Loss) < 2 || m.Loss[0] == 0 {
			continue
		}
		pts := make(plotter.XYs, len(m.Loss))
		for i, l := range m.Loss {
			pts[i] = plotter.XY{X: float64(i + 1), Y: l / m.Loss[0]}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(k)
		line.Dashes = plotutil.Dashes(k)
		p.Add(line)
		p.Legend.Add(m.Name, line)
		k++
	}
	if k == 0 {
		return nil, nil
	}
	p.Legend.Top = true
	p.Y.Max = max(p.Y.Max, 1) * 1.15 // room above the lines for the legend
	return svgPlot(p, "Training loss per iteration",
		"Each model's objective on the training split, divided by its value after the first iteration.")
}

// tuningPlot returns a builder of the figure of the validation objective of
// every trial against one searched parameter, one series per model searched
// for that objective.
func tuningPlot(param, label string, logScale bool, objective string) func(*ReportData) (*ReportPlot, error) {
	return func(d *ReportData) (*ReportPlot, error) {
		t := d.Manifest.Tuning
		if t == nil {
			return nil, nil
		}
		byModel := map[string]plotter.XYs{}
		var names []string
		for _, tr := range t.Results {
			x, ok := numeric(tr.Params[param])
			if !ok || (logScale && x <= 0) || t.Models[tr.Model].Objective != objective {
				continue
			}
			if _, seen := byModel[tr.Model]; !seen {
				names = append(names, tr.Model)
			}
			byModel[tr.Model] = append(byModel[tr.Model], plotter.XY{X: x, Y: objectiveValue(t.Models[tr.Model].Objective, tr.Metrics)})
		}
		if len(names) == 0 {
			return nil, nil
		}
		name := map[string]string{ObjectiveNDCG: "NDCG@10", ObjectiveRMSE: "RMSE"}[objective]
		p := plot.New()
		p.Title.Text = "Validation " + name + " against " + label
		p.X.Label.Text = label
		p.Y.Label.Text = name
		if logScale {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		for k, name := range names {
			s, err := plotter.NewScatter(byModel[name])
			if err != nil {
				return nil, err
			}
			s.Color = plotutil.Color(k)
			s.Shape = plotutil.Shape(k)
			p.Add(s)
			p.Legend.Add(name, s)
		}
		p.Legend.Top = true
		return svgPlot(p, name+" against "+label,
			"One point per trial of the search, scored on the validation split.")
	}
}

func numeric(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// missingStage explains why a run has no metrics: the first stage up to
// evaluate that failed or did not finish, and the command to go on.
func missingStage(m Manifest) string {
	for _, stage := range []string{StageExport, StageSplit, StageTrain, StageEvaluate} {
		rec := m.Stages[stage]
		switch {
		case rec == nil:
			return fmt.Sprintf("its %s stage has not run; `marquee pipeline run --resume --run %s` runs it and the rest", stage, m.RunID)
		case rec.Status == StatusFailed:
			return fmt.Sprintf("its %s stage failed (%s); `marquee pipeline run --resume --run %s` retries it", stage, rec.Error, m.RunID)
		case rec.Status != StatusDone:
			return fmt.Sprintf("its %s stage did not finish; `marquee pipeline run --resume --run %s` runs it again", stage, m.RunID)
		}
	}
	return "its evaluate stage scored no model, because train trained none: check the --models of train against the split's data"
}

// failures lists the failed stages of a run, each with its error.
func failures(m Manifest) []string {
	var out []string
	for _, stage := range GatedStages {
		if rec := m.Stages[stage]; rec != nil && rec.Status == StatusFailed {
			out = append(out, stage+": "+rec.Error)
		}
	}
	return out
}

// svgPlot renders p as inline SVG.
func svgPlot(p *plot.Plot, title, caption string) (*ReportPlot, error) {
	p.BackgroundColor = color.White
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	// Icons before text, at the left: a viewer whose font is wider than the
	// one the layout was measured with then stretches the text into the
	// plot, not over the icons or off the page.
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	w, err := p.WriterTo(7*vg.Inch, 3.5*vg.Inch, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, err
	}
	// The SVG comes from gonum/plot with no user-supplied markup but model
	// names, which it escapes as XML text. Its XML declaration is dropped,
	// because HTML5 does not allow one inside a page.
	svg := b.String()
	if strings.HasPrefix(svg, "<?xml") {
		if end := strings.Index(svg, "?>"); end >= 0 {
			svg = strings.TrimLeft(svg[end+2:], "\r\n")
		}
	}
	return &ReportPlot{Title: title, Caption: caption, SVG: template.HTML(svg)}, nil
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"f4": func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"rmse": func(m Metrics) string {
		if m.RMSE == nil {
			return "–"
		}
		return fmt.Sprintf("%.4f", *m.RMSE)
	},
	"objective": objectiveValue,
	"params": func(p map[string]any) string {
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := ""
		for i, k := range keys {
			if i > 0 {
				s += ", "
			}
			s += fmt.Sprintf("%s=%v", k, p[k])
		}
		return s
	},
}).Parse(reportTemplate))

const reportTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Marquee run {{.Manifest.RunID}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
figure { margin: 2em 0; } figcaption { color: #555; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 0.2em; }
</style></head><body>
<h1>Marquee run {{.Manifest.RunID}}</h1>
<p>Created {{.Manifest.CreatedAt.Format "2006-01-02 15:04 MST"}}, seed {{.Manifest.Seed}}.
{{with .Manifest.Split}}Split: per user with at least {{.MinRatings}} ratings, the newest {{.TestFraction}} of them are test.{{end}}
{{with .Manifest.Published}}Published: {{.Model}} ({{.Lists}} lists).{{end}}</p>
{{range .Failures}}<p class="failed">Failed stage, {{.}}</p>
{{end}}

<h2>Metrics per model</h2>
<table>
<tr><th>model</th><th>NDCG@10</th><th>Recall@20</th><th>HitRate@10</th><th>MAP@10</th><th>Coverage@10</th><th>LongTail@10</th><th>RMSE</th><th>users</th><th>training s</th></tr>
{{range .Models}}<tr><td>{{.Name}}</td><td>{{f4 .Metrics.NDCG}}</td><td>{{f4 .Metrics.Recall}}</td><td>{{f4 .Metrics.HitRate}}</td><td>{{f4 .Metrics.MAP}}</td><td>{{f4 .Metrics.Coverage}}</td><td>{{f4 .Metrics.LongTail}}</td><td>{{rmse .Metrics}}</td><td>{{.Metrics.Users}}</td><td>{{printf "%.2f" .Seconds}}</td></tr>
{{end}}</table>

{{with .Manifest.Tuning}}
<h2>Tuning</h2>
<p>{{.Search}} search, {{.Trials}} trials per model (the first with the defaults), seed {{.Seed}}, on a validation split of
{{.Validation.TrainRatings}} training and {{.Validation.TestRatings}} test ratings carved out of the training split by the same protocol.
Default and tuned are trained on the whole training split and scored on the test split.</p>
<table>
<tr><th>model</th><th>objective</th><th>best on validation</th><th>default on test</th><th>tuned on test</th><th>best parameters</th></tr>
{{range $name, $m := .Models}}<tr><td>{{$name}}</td><td class="text">{{$m.Objective}}</td><td>{{f4 $m.BestValue}}</td><td>{{f4 (objective $m.Objective $m.Default)}}</td><td>{{f4 (objective $m.Objective $m.Tuned)}}</td><td class="text">{{params $m.Best}}</td></tr>
{{end}}</table>
<details><summary>Every trial</summary>
<table>
<tr><th>model</th><th>NDCG@10</th><th>RMSE</th><th>seconds</th><th>parameters</th></tr>
{{range .Results}}<tr><td>{{.Model}}</td><td>{{f4 .Metrics.NDCG}}</td><td>{{rmse .Metrics}}</td><td>{{printf "%.1f" .Seconds}}</td><td class="text">{{params .Params}}</td></tr>
{{end}}</table></details>
{{end}}

{{range .Plots}}<figure><h2>{{.Title}}</h2>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
</body></html>
`
