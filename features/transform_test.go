package features

import (
	"math"
	"testing"
	"time"
)

func TestTransform(t *testing.T) {
	t0 := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	xs := []Interaction{
		{UserID: "u", ItemID: "a", Value: 5, Time: t0},
		{UserID: "u", ItemID: "b", Value: 1, Time: t0.Add(-48 * time.Hour)},
		{UserID: "v", ItemID: "a", Value: 3, Time: t0.Add(-96 * time.Hour)}, // v's newest
	}
	tests := []struct {
		name string
		t    Transform
		want []float64
	}{
		{"identity", Transform{}, []float64{5, 1, 3}},
		{"binary", Transform{Binary: true}, []float64{1, 1, 1}},
		{"offset", Transform{Offset: 2.5}, []float64{2.5, -1.5, 0.5}},
		{"binary then offset", Transform{Binary: true, Offset: 0.5}, []float64{0.5, 0.5, 0.5}},
		// Ages are relative to each user's newest interaction: two days old
		// for u's b at a half-life of two days counts half.
		{"decay", Transform{HalfLife: 48 * time.Hour}, []float64{5, 0.5, 3}},
		{"offset then decay", Transform{Offset: 2, HalfLife: 24 * time.Hour}, []float64{3, -0.25, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.t.Apply(xs)
			for k, x := range got {
				if math.Abs(x.Value-tt.want[k]) > 1e-12 {
					t.Errorf("value %d = %v, want %v", k, x.Value, tt.want[k])
				}
				if x.UserID != xs[k].UserID || x.ItemID != xs[k].ItemID || !x.Time.Equal(xs[k].Time) {
					t.Errorf("pair %d = %+v, want the pair of %+v", k, x, xs[k])
				}
			}
		})
	}
	if xs[0].Value != 5 {
		t.Error("Apply changed its input")
	}
}

func TestTransformValidate(t *testing.T) {
	tests := []struct {
		t    Transform
		want string
	}{
		{Transform{Offset: math.NaN()}, "features: Offset is NaN, want a finite value"},
		{Transform{HalfLife: -time.Hour}, "features: HalfLife is -1h0m0s, want >= 0"},
	}
	for _, tt := range tests {
		if err := tt.t.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("Validate = %v, want %q", err, tt.want)
		}
	}
	if err := (Transform{Offset: 2.5, HalfLife: time.Hour}).Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}
}
