package pipeline

import (
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// TestSVGPlotIsHTML checks that inline plots carry no XML declaration or
// doctype, which HTML5 does not allow inside a page.
func TestSVGPlotIsHTML(t *testing.T) {
	p, err := svgPlot(plot.New(), "empty", "")
	if err != nil {
		t.Fatal(err)
	}
	svg := string(p.SVG)
	if !strings.Contains(svg, "<svg") {
		t.Errorf("inline SVG has no <svg element: %q", svg[:min(len(svg), 60)])
	}
	if strings.Contains(svg, "<?xml") || strings.Contains(svg, "<!DOCTYPE") {
		t.Errorf("inline SVG contains an XML declaration or doctype: %q", svg[:min(len(svg), 120)])
	}
}

// TestReportNamesMissingStage checks that a report of a run without
// metrics says which stage is missing or failed, and the command to go on.
func TestReportNamesMissingStage(t *testing.T) {
	done := &StageRecord{Status: StatusDone}
	tests := []struct {
		name   string
		stages map[string]*StageRecord
		want   []string
	}{
		{"export failed", map[string]*StageRecord{StageExport: {Status: StatusFailed, Error: "no events"}},
			[]string{"export stage failed (no events)", "--resume --run r1"}},
		{"interrupted in train", map[string]*StageRecord{StageExport: done, StageSplit: done, StageTrain: {Status: StatusRunning}},
			[]string{"train stage did not finish"}},
		{"not evaluated", map[string]*StageRecord{StageExport: done, StageSplit: done, StageTrain: done},
			[]string{"evaluate stage has not run"}},
		{"nothing trained", map[string]*StageRecord{StageExport: done, StageSplit: done, StageTrain: done, StageEvaluate: done},
			[]string{"train trained none"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := &Run{Manifest: Manifest{RunID: "r1", Stages: tc.stages}}
			_, err := reportData(run)
			if err == nil {
				t.Fatal("nil error for a run without metrics")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q, want it to contain %q", err, want)
				}
			}
		})
	}
}
