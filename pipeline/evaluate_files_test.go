package pipeline

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/features"
)

// writeSplitFiles writes train and test as a split in a new directory and
// returns it.
func writeSplitFiles(t *testing.T, train, test []features.Interaction) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]features.Interaction{TrainFile: train, TestFile: test, TrainWatchesFile: nil}
	for name, xs := range files {
		if err := writeInteractions(filepath.Join(dir, name), xs); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeFile writes body to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ratings returns interactions written as "user,item,value", an hour apart
// in the order given.
func ratings(rows ...string) []features.Interaction {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var xs []features.Interaction
	for i, r := range rows {
		f := strings.Split(r, ",")
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			panic(err)
		}
		xs = append(xs, features.Interaction{UserID: f[0], ItemID: f[1], Value: v, Time: t0.Add(time.Duration(i) * time.Hour)})
	}
	return xs
}

// rankSplit is a split with one evaluated user, u1, whose relevant test
// items are i5 and i6. The candidates are the 8 training items i1 to i8.
func rankSplit(t *testing.T) string {
	train := ratings("u1,i1,4", "u1,i2,3",
		"u2,i3,4", "u2,i4,4", "u2,i5,4", "u2,i6,4", "u2,i7,4", "u2,i8,4")
	test := ratings("u1,i5,5", "u1,i6,4.5", "u2,i1,2")
	return writeSplitFiles(t, train, test)
}

func TestEvaluateRecsRanks(t *testing.T) {
	// u1's ideal DCG, with two relevant items, is 1/log2(2) + 1/log2(3)
	// = 1 + 0.6309297535714574 = 1.6309297535714574.
	idcg := 1 + 1/math.Log2(3)
	tests := []struct {
		name string
		rows string
		want Metrics
	}{{
		// i6 at rank 1 and i5 at rank 15: NDCG@10 = 1/1.6309297535714574
		// = 0.6131471927654584, as rank 15 is past 10. Recall@20 = 2/2,
		// HitRate@10 = 1, MAP@10 = precision@1 / min(10, 2) = 1/2, and
		// Coverage@10 = 1 item (i6) of 8 candidates.
		name: "rank gap",
		rows: "u1,1,i6\nu1,15,i5\n",
		want: Metrics{NDCG: 1 / idcg, Recall: 1, HitRate: 1, MAP: 0.5, Coverage: 1.0 / 8, Users: 1},
	}, {
		// Rank 25 is past every cutoff: Recall@20 = 1/2.
		name: "rank past recall cutoff",
		rows: "u1,1,i6\nu1,25,i5\n",
		want: Metrics{NDCG: 1 / idcg, Recall: 0.5, HitRate: 1, MAP: 0.5, Coverage: 1.0 / 8, Users: 1},
	}, {
		// i5 at rank 2 after an empty rank 1: NDCG@10 = (1/log2(3))/idcg
		// = 0.6309297535714574/1.6309297535714574 = 0.3868528072345416,
		// MAP@10 = precision@2 / 2 = (1/2)/2 = 0.25.
		name: "empty first rank",
		rows: "u1,2,i5\n",
		want: Metrics{NDCG: (1 / math.Log2(3)) / idcg, Recall: 0.5, HitRate: 1, MAP: 0.25, Coverage: 1.0 / 8, Users: 1},
	}, {
		name: "ranks out of order",
		rows: "u1,2,i6\nu1,1,i5\n",
		want: Metrics{NDCG: 1, Recall: 1, HitRate: 1, MAP: 1, Coverage: 2.0 / 8, Users: 1},
	}, {
		// A repeated item counts once, at its better rank: i5 at rank 1.
		name: "repeated item",
		rows: "u1,3,i5\nu1,1,i5\n",
		want: Metrics{NDCG: 1 / idcg, Recall: 0.5, HitRate: 1, MAP: 0.5, Coverage: 1.0 / 8, Users: 1},
	}, {
		// The empty rank 2 is not an unknown item, but i99 is.
		name: "gap before unknown item",
		rows: "u1,1,i6\nu1,3,i99\n",
		want: Metrics{NDCG: 1 / idcg, Recall: 0.5, HitRate: 1, MAP: 0.5, Coverage: 1.0 / 8, Users: 1, NonCandidates: 1},
	}, {
		name: "leading zeros",
		rows: "u1,01,i6\nu1,002,i5\n",
		want: Metrics{NDCG: 1, Recall: 1, HitRate: 1, MAP: 1, Coverage: 2.0 / 8, Users: 1},
	}}
	dir := rankSplit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "recs.csv", "user_id,rank,item_id\n"+tt.rows)
			got, err := EvaluateRecs(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "NDCG", got.NDCG, tt.want.NDCG)
			checkClose(t, "Recall", got.Recall, tt.want.Recall)
			checkClose(t, "HitRate", got.HitRate, tt.want.HitRate)
			checkClose(t, "MAP", got.MAP, tt.want.MAP)
			checkClose(t, "Coverage", got.Coverage, tt.want.Coverage)
			if got.Users != tt.want.Users {
				t.Errorf("Users = %d, want %d", got.Users, tt.want.Users)
			}
			if got.NonCandidates != tt.want.NonCandidates {
				t.Errorf("NonCandidates = %d, want %d", got.NonCandidates, tt.want.NonCandidates)
			}
			if got.RMSE != nil {
				t.Errorf("RMSE = %v, want nil", *got.RMSE)
			}
		})
	}
}

func checkClose(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.16g, want %.16g", name, got, want)
	}
}

func TestEvaluateRecsErrors(t *testing.T) {
	tests := []struct {
		name string
		rows string
		want []string // substrings of the error
	}{
		{"plus sign", "u1,+1,i5\n", []string{"line 2, field rank", `"+1"`}},
		{"minus sign", "u1,-1,i5\n", []string{"line 2, field rank", `"-1"`}},
		{"zero", "u1,0,i5\n", []string{"line 2, field rank", `"0"`}},
		{"decimal point", "u1,1.0,i5\n", []string{"line 2, field rank", `"1.0"`}},
		{"exponent", "u1,1e1,i5\n", []string{"line 2, field rank", `"1e1"`}},
		{"underscore", "u1,1_0,i5\n", []string{"line 2, field rank", `"1_0"`}},
		{"hexadecimal", "u1,0x1,i5\n", []string{"line 2, field rank", `"0x1"`}},
		{"space", "u1, 1,i5\n", []string{"line 2, field rank", `" 1"`}},
		{"empty rank", "u1,,i5\n", []string{"line 2, field rank", `""`}},
		{"rank overflows int", "u1,99999999999999999999,i5\n", []string{"line 2, field rank", "too large"}},
		{"duplicate rank", "u1,1,i5\nu2,1,i5\nu1,1,i6\n", []string{"line 4, field rank", `"u1"`, `"i5"`, "line 2"}},
		{"empty item", "u1,1,\n", []string{"line 2, field item_id"}},
		{"empty user", ",1,i5\n", []string{"line 2, field user_id"}},
	}
	dir := rankSplit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "recs.csv", "user_id,rank,item_id\n"+tt.rows)
			_, err := EvaluateRecs(dir, path)
			if err == nil {
				t.Fatal("EvaluateRecs error = nil, want one")
			}
			for _, s := range append(tt.want, path) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("EvaluateRecs error = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

// predictionSplit is a split with two scorable test ratings, (u1, i3) = 4
// and (u2, i2) = 1, and two that are skipped: u3 and i9 are not in training.
func predictionSplit(t *testing.T) string {
	train := ratings("u1,i1,4", "u1,i2,3", "u2,i1,5", "u2,i3,2")
	test := ratings("u1,i3,4", "u2,i2,1", "u3,i1,3", "u1,i9,5")
	return writeSplitFiles(t, train, test)
}

func TestEvaluatePredictionsParsing(t *testing.T) {
	tests := []struct {
		name     string
		rows     string
		wantRMSE float64
	}{
		// Errors of -1 and +1: RMSE = sqrt((1 + 1)/2) = 1.
		{"plain", "u1,i3,3\nu2,i2,2\n", 1},
		{"signs and exponents", "u1,i3,+3.\nu2,i2,20e-1\n", 1},
		{"leading point", "u1,i3,3.0\nu2,i2,.2E1\n", 1},
		// Predictions of pairs outside the test ratings are ignored.
		{"extra pairs", "u1,i3,3\nu2,i2,2\nu1,i1,9\nu3,i1,1e150\n", 1},
		// Errors of -3 and -1: RMSE = sqrt((9 + 1)/2) = sqrt(5).
		{"negative", "u1,i3,1\nu2,i2,-0\n", math.Sqrt(5)},
	}
	dir := predictionSplit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "preds.csv", "user_id,item_id,prediction\n"+tt.rows)
			got, err := EvaluatePredictions(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			if got.RMSE == nil {
				t.Fatal("RMSE = nil, want a value")
			}
			checkClose(t, "RMSE", *got.RMSE, tt.wantRMSE)
			if got.Ratings != 2 {
				t.Errorf("Ratings = %d, want 2", got.Ratings)
			}
			if got.Skipped != 2 {
				t.Errorf("Skipped = %d, want 2", got.Skipped)
			}
		})
	}
}

func TestEvaluatePredictionsErrors(t *testing.T) {
	tests := []struct {
		name string
		rows string
		want []string // substrings of the error
	}{
		{"hexadecimal", "u1,i3,0x1p1\nu2,i2,2\n", []string{"line 2, field prediction", `"0x1p1"`}},
		{"underscore", "u1,i3,3\nu2,i2,1_000\n", []string{"line 3, field prediction", `"1_000"`}},
		{"infinity", "u1,i3,Inf\nu2,i2,2\n", []string{"line 2, field prediction", `"Inf"`}},
		{"not a number", "u1,i3,NaN\nu2,i2,2\n", []string{"line 2, field prediction", `"NaN"`}},
		{"comma decimal", "u1,i3,\"3,5\"\nu2,i2,2\n", []string{"line 2, field prediction", `"3,5"`}},
		{"empty", "u1,i3,\nu2,i2,2\n", []string{"line 2, field prediction", `""`}},
		{"out of range", "u1,i3,1e400\nu2,i2,2\n", []string{"line 2, field prediction", `"1e400"`}},
		{"square overflows", "u1,i3,1e308\nu2,i2,2\n", []string{"line 2, field prediction", `"1e308"`, "square"}},
		{"square overflows unscored", "u1,i3,3\nu2,i2,2\nu3,i1,-1e200\n", []string{"line 4, field prediction", `"-1e200"`}},
		// Each square, about 1.8e308, is finite, but their sum is not.
		{"sum overflows", "u1,i3,1.34e154\nu2,i2,1.34e154\n", []string{"line 3, field prediction", "overflow"}},
		{"duplicate pair", "u1,i3,3\nu2,i2,2\nu1,i3,4\n", []string{"line 4", "line 2", `"u1"`, `"i3"`}},
		{"empty user", "u1,i3,3\n,i2,2\n", []string{"line 3, field user_id"}},
		{"empty item", "u1,,3\nu2,i2,2\n", []string{"line 2, field item_id"}},
		{"missing prediction", "u1,i3,3\n", []string{`user_id "u2", item_id "i2"`}},
	}
	dir := predictionSplit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "preds.csv", "user_id,item_id,prediction\n"+tt.rows)
			_, err := EvaluatePredictions(dir, path)
			if err == nil {
				t.Fatal("EvaluatePredictions error = nil, want one")
			}
			for _, s := range append(tt.want, path) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("EvaluatePredictions error = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

func TestEvaluatePredictionsNoneScorable(t *testing.T) {
	// Neither test user is in training, so no test rating can be scored.
	dir := writeSplitFiles(t, ratings("u1,i1,4", "u2,i2,3"), ratings("u3,i1,4", "u4,i2,2"))
	path := writeFile(t, t.TempDir(), "preds.csv", "user_id,item_id,prediction\nu3,i1,4\n")

	got, err := EvaluatePredictions(dir, path)
	if err != nil {
		t.Fatal(err)
	}
	if got.RMSE != nil {
		t.Errorf("RMSE = %v, want nil", *got.RMSE)
	}
	if got.Ratings != 0 {
		t.Errorf("Ratings = %d, want 0", got.Ratings)
	}
	if got.Skipped != 2 {
		t.Errorf("Skipped = %d, want 2", got.Skipped)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if want := `{"ratings":0,"skipped":2}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}
