package pipeline

import "testing"

// TestChooseModelNeedsScoredUsers checks that publish does not pick a model
// by an NDCG of 0 that was computed over no user.
func TestChooseModelNeedsScoredUsers(t *testing.T) {
	unscored := map[string]Metrics{ModelIALS: {}, ModelEASE: {}}
	if got, err := ChooseModel("", unscored); err == nil {
		t.Errorf("ChooseModel of models scored on no user = %q, want an error", got)
	}
	mixed := map[string]Metrics{ModelIALS: {NDCG: 0, Users: 10}, ModelEASE: {}}
	if got, err := ChooseModel("", mixed); err != nil || got != ModelIALS {
		t.Errorf("ChooseModel = %q, %v, want ials, the one model scored on users", got, err)
	}
	if got, err := ChooseModel(ModelEASE, unscored); err != nil || got != ModelEASE {
		t.Errorf("ChooseModel(ease) = %q, %v, want the named model", got, err)
	}
}
