package popularity

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/marquee/marquee/features"
)

func TestTrain(t *testing.T) {
	r, err := features.NewCSR(3, 4, []features.Entry{
		{Row: 0, Col: 1, Value: 5}, {Row: 1, Col: 1, Value: 1}, {Row: 2, Col: 1, Value: 2},
		{Row: 0, Col: 3, Value: 9}, {Row: 2, Col: 3, Value: 1},
		{Row: 1, Col: 0, Value: 4},
	})
	if err != nil {
		t.Fatal(err)
	}

	m, err := Train(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}

	got := make([]float64, 4)
	m.Score(0, got)
	if want := []float64{1, 3, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("Score = %v, want %v", got, want)
	}
}

func TestTrainDecayed(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	items := features.NewVocab([]string{"a", "b", "c"})
	xs := []features.Interaction{
		{UserID: "u", ItemID: "a", Time: now},
		{UserID: "v", ItemID: "a", Time: now.Add(-10 * day)},
		{UserID: "u", ItemID: "b", Time: now.Add(-20 * day)},
		{UserID: "u", ItemID: "b", Time: now.Add(-10 * day)}, // the newest of u's b counts
		{UserID: "w", ItemID: "c", Time: now.Add(day)},       // after Now counts 1
		{UserID: "w", ItemID: "zzz", Time: now},              // not in items
	}

	m, err := TrainDecayed(context.Background(), items, xs, Decay{HalfLife: 10 * day, Now: now})
	if err != nil {
		t.Fatal(err)
	}

	want := []float64{1.5, 0.5, 1}
	for i, got := range m.Counts() {
		if math.Abs(got-want[i]) > 1e-12 {
			t.Errorf("count of item %d = %v, want %v", i, got, want[i])
		}
	}
}

func TestErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := features.NewCSR(1, 1, nil)
	if _, err := Train(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("Train error = %v, want context.Canceled", err)
	}
	_, err := TrainDecayed(context.Background(), features.NewVocab(nil), nil, Decay{})
	if err == nil || err.Error() != "popularity: HalfLife is 0s, want > 0" {
		t.Errorf("TrainDecayed error = %v, want the HalfLife error", err)
	}
}
