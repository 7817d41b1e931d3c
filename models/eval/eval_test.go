package eval

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/marquee/marquee/features"
)

func xs(triples ...any) []features.Interaction {
	var out []features.Interaction
	for k := 0; k < len(triples); k += 3 {
		out = append(out, features.Interaction{
			UserID: triples[k].(string), ItemID: triples[k+1].(string), Value: triples[k+2].(float64),
		})
	}
	return out
}

// The tiny case every metric is computed on by hand. The candidates are the
// eight items a..h of train.
var (
	tinyTrain = xs(
		"u1", "a", 3.0,
		"u2", "b", 3.0,
		"u3", "c", 3.0, "u3", "d", 3.0, "u3", "h", 3.0,
		"u4", "a", 3.0, "u4", "e", 3.0,
		"u5", "f", 3.0, "u5", "g", 3.0,
	)
	tinyTest = xs(
		"u1", "b", 5.0, "u1", "c", 4.0, "u1", "d", 3.0, // relevant b, c
		"u2", "a", 4.5, "u2", "d", 4.0, "u2", "e", 4.0, // relevant a, d, e
		"u3", "g", 4.0, // relevant g, but no list
		"u4", "f", 2.0, // nothing relevant: left out
		"u5", "b", 4.0, "u5", "h", 5.0, // relevant b, h
	)
	tinyLists = map[string][]string{
		"u1": {"e", "b", "f", "c"}, // hits at ranks 2 and 4
		"u2": {"a"},                // fewer relevant in the list than K
		"u4": {"a", "zzz", "h"},    // a is u4's own, zzz is unknown
		"u5": {"h", "h", "b"},      // the repeated h counts once: hits at 1 and 3
	}
)

func lg(r float64) float64 { return 1 / math.Log2(r+1) }

func TestRank(t *testing.T) {
	got := Rank(tinyLists, tinyTrain, tinyTest, Config{})

	u1NDCG := (lg(2) + lg(4)) / (lg(1) + lg(2))
	u2NDCG := lg(1) / (lg(1) + lg(2) + lg(3))
	u5NDCG := (lg(1) + lg(3)) / (lg(1) + lg(2))
	want := Ranking{
		NDCG:     (u1NDCG + u2NDCG + 0 + u5NDCG) / 4,
		Recall:   (2.0/2 + 1.0/3 + 0 + 2.0/2) / 4,
		HitRate:  (1 + 1 + 0 + 1) / 4.0,
		MAP:      ((1.0/2+2.0/4)/2 + (1.0/1)/3 + 0 + (1.0/1+2.0/3)/2) / 4,
		Coverage: 6.0 / 8, // e, b, f, c, a, h
		// The head is the ceil(0.2·8) = 2 most popular items: a (two users)
		// and b (first by ID of the items with one). Listed candidates:
		// e b f c | a | h b, of which e, f, c and h are in the tail.
		LongTail:     4.0 / 7,
		Users:        4,
		MissingLists: 1,
		Unknown:      1,
		Seen:         1,
	}
	checkRanking(t, got, want)
	if got.NonCandidates() != 2 {
		t.Errorf("NonCandidates = %d, want 2", got.NonCandidates())
	}
}

func TestRankThreshold(t *testing.T) {
	lists := map[string][]string{"u1": {"e", "b", "f", "c"}}
	test := xs("u1", "b", 5.0, "u1", "c", 4.0, "u1", "d", 3.0)

	got := Rank(lists, tinyTrain, test, Config{Threshold: 3})

	want := Ranking{
		NDCG:     (lg(2) + lg(4)) / (lg(1) + lg(2) + lg(3)),
		Recall:   2.0 / 3,
		HitRate:  1,
		MAP:      (1.0/2 + 2.0/4) / 3,
		Coverage: 4.0 / 8,
		LongTail: 3.0 / 4,
		Users:    1,
	}
	checkRanking(t, got, want)
}

func TestRankCutoffs(t *testing.T) {
	// 25 relevant items r00..r24; the list holds them at ranks 11..25 after
	// ten misses, so nothing counts at 10 and 10 of 20 count for recall.
	var train, test []features.Interaction
	var list []string
	for k := 0; k < 10; k++ {
		id := string(rune('A' + k))
		train = append(train, features.Interaction{UserID: "v", ItemID: id, Value: 1})
		list = append(list, "m"+id)
		train = append(train, features.Interaction{UserID: "w", ItemID: "m" + id, Value: 1})
	}
	for k := 0; k < 25; k++ {
		id := "r" + string(rune('a'+k))
		test = append(test, features.Interaction{UserID: "v", ItemID: id, Value: 5})
		train = append(train, features.Interaction{UserID: "w", ItemID: id, Value: 1})
		list = append(list, id)
	}

	got := Rank(map[string][]string{"v": list}, train, test, Config{})

	// Every item has one user: the head is the first ceil(0.2·45) = 9 by ID,
	// A..I, and the top 10 holds mA..mJ, all in the tail.
	want := Ranking{Recall: 10.0 / 20, Coverage: 10.0 / 45, LongTail: 1, Users: 1}
	checkRanking(t, got, want)
}

func checkRanking(t *testing.T, got, want Ranking) {
	t.Helper()
	floats := []struct {
		name      string
		got, want float64
	}{
		{"NDCG", got.NDCG, want.NDCG},
		{"Recall", got.Recall, want.Recall},
		{"HitRate", got.HitRate, want.HitRate},
		{"MAP", got.MAP, want.MAP},
		{"Coverage", got.Coverage, want.Coverage},
		{"LongTail", got.LongTail, want.LongTail},
	}
	for _, f := range floats {
		if math.Abs(f.got-f.want) > 1e-12 {
			t.Errorf("%s = %.15f, want %.15f", f.name, f.got, f.want)
		}
	}
	ints := []struct {
		name      string
		got, want int
	}{
		{"Users", got.Users, want.Users},
		{"MissingLists", got.MissingLists, want.MissingLists},
		{"Unknown", got.Unknown, want.Unknown},
		{"Seen", got.Seen, want.Seen},
	}
	for _, f := range ints {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
}

// fixedScorer gives every user the same scores.
type fixedScorer []float64

func (s fixedScorer) Score(u int, dst []float64) { copy(dst, s) }

func TestLists(t *testing.T) {
	train := xs("x", "b", 1.0, "y", "a", 1.0, "y", "c", 1.0, "y", "d", 1.0, "y", "e", 1.0)
	d, err := features.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	test := xs("x", "a", 5.0, "nobody", "a", 5.0, "y", "b", 4.0)
	// Items a..e; c and d tie, and b is x's own.
	scorer := fixedScorer{1, 5, 2, 2, 0}

	want := map[string][]string{
		"x": {"c", "d", "a"},
		"y": {"b"},
	}
	for _, workers := range []int{1, 3} {
		got, err := Lists(context.Background(), scorer, d, test, 3, workers)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("workers %d: Lists = %v, want %v", workers, got, want)
		}
	}
}

func TestListsCancelled(t *testing.T) {
	d, err := features.NewDataset(xs("x", "a", 1.0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err = Lists(ctx, fixedScorer{1}, d, xs("x", "b", 1.0), 3, 2)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Lists error = %v, want context.Canceled", err)
	}
}

type constant float64

func (c constant) Predict(u, i int) float64 { return float64(c) }

func TestRMSE(t *testing.T) {
	d, err := features.NewDataset(xs("u1", "a", 4.0, "u2", "b", 4.0, "u2", "c", 4.0))
	if err != nil {
		t.Fatal(err)
	}
	test := xs(
		"u1", "b", 5.0,
		"u1", "c", 3.0,
		"u2", "a", 2.0,
		"ghost", "a", 4.0, // unknown user
		"u1", "zzz", 4.0, // unknown item
	)

	got := RMSE(constant(4), d, test)

	want := Rating{RMSE: math.Sqrt((1 + 1 + 4) / 3.0), Ratings: 3, Skipped: 2}
	if math.Abs(got.RMSE-want.RMSE) > 1e-12 || got.Ratings != want.Ratings || got.Skipped != want.Skipped {
		t.Errorf("RMSE = %+v, want %+v", got, want)
	}
}

// TestScoresToMetrics follows a tiny case from scores to metrics by hand:
// tied scores are ranked by lower item index, and both users have fewer
// relevant items than K.
func TestScoresToMetrics(t *testing.T) {
	train := xs("x", "a", 4.0, "y", "b", 4.0, "z", "c", 1.0, "z", "d", 1.0, "z", "e", 1.0)
	test := xs(
		"x", "c", 4.0, "x", "e", 5.0, "x", "d", 3.5, // relevant c, e; d is below the threshold
		"y", "d", 4.0, // relevant d
	)
	d, err := features.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	// Items a..e by index; c and d tie.
	scorer := fixedScorer{3, 1, 2, 2, 0}

	lists, err := Lists(context.Background(), scorer, d, test, RecallK, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantLists := map[string][]string{
		"x": {"c", "d", "b", "e"}, // a is x's own; c before d on the tie
		"y": {"a", "c", "d", "e"}, // b is y's own
	}
	if !reflect.DeepEqual(lists, wantLists) {
		t.Fatalf("Lists = %v, want %v", lists, wantLists)
	}

	got := Rank(lists, train, test, Config{})

	xNDCG := (lg(1) + lg(4)) / (lg(1) + lg(2)) // hits at ranks 1 and 4 of 2 relevant
	yNDCG := lg(3) / lg(1)                     // a hit at rank 3 of 1 relevant
	want := Ranking{
		NDCG:     (xNDCG + yNDCG) / 2,
		Recall:   (2.0/2 + 1.0/1) / 2,
		HitRate:  1,
		MAP:      ((1.0/1+2.0/4)/2 + (1.0/3)/1) / 2,
		Coverage: 5.0 / 5,
		// The head is ceil(0.2·5) = 1 item: a, the first by ID of five items
		// with one user each. Of the 8 listed candidates, 7 are in the tail.
		LongTail: 7.0 / 8,
		Users:    2,
	}
	checkRanking(t, got, want)
}
