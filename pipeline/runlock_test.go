package pipeline

import (
	"errors"
	"testing"
)

func TestRunLockRejectsSecondHolder(t *testing.T) {
	f := newGateFixture(t)
	run := f.evaluatedRun(t, "r1", ModelIALS, 0.1)

	unlock, err := run.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Lock(); !errors.Is(err, ErrRunBusy) {
		t.Errorf("second Lock: err = %v, want ErrRunBusy", err)
	}
	if err := f.r.Stage(t.Context(), run, StageEvaluate, Options{}); !errors.Is(err, ErrRunBusy) {
		t.Errorf("Stage on a locked run: err = %v, want ErrRunBusy", err)
	}
	unlock()

	again, err := run.Lock()
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
}

func TestPublishedRunRefusesOtherStages(t *testing.T) {
	f := newGateFixture(t)
	run := f.evaluatedRun(t, "r1", ModelIALS, 0.1)
	f.publish(t, "r1", run, nil)

	for _, stage := range []string{StageExport, StageSplit, StageTrain, StageEvaluate} {
		if err := f.r.Stage(t.Context(), run, stage, Options{}); !errors.Is(err, ErrRunPublished) {
			t.Errorf("%s on a published run: err = %v, want ErrRunPublished", stage, err)
		}
	}
	if got := run.Manifest.Stages[StageEvaluate].Status; got != StatusDone {
		t.Errorf("evaluate record = %q after a refused rerun, want it left done", got)
	}
	if err := f.r.Stage(t.Context(), run, StagePublish, Options{}); err != nil {
		t.Errorf("publish of a published run: %v, want nil", err)
	}
	model := run.Manifest.Published.Model
	if err := f.r.Stage(t.Context(), run, StagePublish, Options{Publish: PublishConfig{Model: model}}); err != nil {
		t.Errorf("publish of a published run naming its model %s: %v, want nil", model, err)
	}
	other := ModelEASE
	if model == other {
		other = ModelItemKNN
	}
	for _, name := range []string{other, "nope"} {
		if err := f.r.Stage(t.Context(), run, StagePublish, Options{Publish: PublishConfig{Model: name}}); err == nil {
			t.Errorf("publish of a published run naming model %q: nil error, want a refusal", name)
		}
	}
}

func TestPublishRecordsRunCommittedBeforeACrash(t *testing.T) {
	f := newGateFixture(t)
	run := f.evaluatedRun(t, "r1", ModelIALS, 0.1)
	run.Manifest.Params = &TrainParams{}
	// The list store holds r1 complete, but the manifest never recorded the
	// publication, as when a process dies between the two writes.
	f.publish(t, "r1", nil, nil)

	if err := f.r.Stage(t.Context(), run, StagePublish, Options{}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	p := run.Manifest.Published
	if p == nil {
		t.Fatal("the publication was not recorded")
	}
	if p.Model != ModelIALS || p.Lists != 1 {
		t.Errorf("publication = %+v, want model ials with 1 list", *p)
	}
	if got := run.Manifest.Stages[StagePublish].Status; got != StatusDone {
		t.Errorf("publish stage = %q, want done", got)
	}
}
