package features

import (
	"reflect"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func TestVocabSortedAndDistinct(t *testing.T) {
	v := NewVocab([]string{"b", "a", "c", "a", "b"})
	if got, want := v.IDs(), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("IDs = %v, want %v", got, want)
	}
	for i, id := range v.IDs() {
		if got, ok := v.Index(id); !ok || got != i {
			t.Errorf("Index(%q) = %d, %v, want %d, true", id, got, ok, i)
		}
	}
	if _, ok := v.Index("z"); ok {
		t.Error("Index of an unknown ID reports ok")
	}
}

func TestCSRSumsDuplicatesAndSortsColumns(t *testing.T) {
	m, err := NewCSR(2, 3, []Entry{{1, 2, 1}, {0, 2, 5}, {0, 0, 1}, {1, 2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	cols, vals := m.Row(0)
	if !reflect.DeepEqual(cols, []int32{0, 2}) || !reflect.DeepEqual(vals, []float64{1, 5}) {
		t.Errorf("row 0 = %v %v, want [0 2] [1 5]", cols, vals)
	}
	cols, vals = m.Row(1)
	if !reflect.DeepEqual(cols, []int32{2}) || !reflect.DeepEqual(vals, []float64{3}) {
		t.Errorf("row 1 = %v %v, want [2] [3]", cols, vals)
	}
	if m.NNZ() != 3 {
		t.Errorf("NNZ = %d, want 3", m.NNZ())
	}
}

func TestCSRRejectsOutOfRange(t *testing.T) {
	if _, err := NewCSR(2, 2, []Entry{{2, 0, 1}}); err == nil {
		t.Error("entry outside the matrix accepted")
	}
}

func TestCSRTransposeTwiceIsIdentity(t *testing.T) {
	m, _ := NewCSR(3, 4, []Entry{{0, 3, 1}, {2, 0, 2}, {1, 1, 3}, {2, 3, 4}})
	tt := m.Transpose()
	if tt.Rows != 4 || tt.Cols != 3 {
		t.Fatalf("transpose is %d x %d, want 4 x 3", tt.Rows, tt.Cols)
	}
	cols, vals := tt.Row(3)
	if !reflect.DeepEqual(cols, []int32{0, 2}) || !reflect.DeepEqual(vals, []float64{1, 4}) {
		t.Errorf("transpose row 3 = %v %v, want [0 2] [1 4]", cols, vals)
	}
	if back := tt.Transpose(); !reflect.DeepEqual(back, m) {
		t.Errorf("transpose of transpose = %+v, want %+v", back, m)
	}
}

func TestCurrentRatingsLatestWins(t *testing.T) {
	rating := func(user, item string, v float64, sec int) data.Event {
		return data.Event{Type: data.EventRating, UserID: user, ContentID: item, Rating: v, Time: at(sec)}
	}
	deleted := func(user, item string, sec int) data.Event {
		return data.Event{Type: data.EventRatingDeleted, UserID: user, ContentID: item, Time: at(sec)}
	}
	events := []data.Event{
		rating("u1", "a", 4, 10), rating("u1", "a", 2, 5), // older event arrives later: 4 stays
		rating("u1", "b", 3, 1), deleted("u1", "b", 2), // deleted
		rating("u1", "c", 3, 1), deleted("u1", "c", 0), rating("u1", "c", 5, 3), // rated again after a deletion
		rating("u2", "a", 1, 7), deleted("u2", "a", 7), // same millisecond: the deletion wins
		{Type: data.EventWatch, UserID: "u2", ContentID: "z", Time: at(1)}, // ignored
	}
	got := CurrentRatings(events)
	want := []Interaction{
		{UserID: "u1", ItemID: "a", Value: 4, Time: at(10)},
		{UserID: "u1", ItemID: "c", Value: 5, Time: at(3)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CurrentRatings = %+v, want %+v", got, want)
	}
}

func TestWatchStrength(t *testing.T) {
	watch := func(user, item string, kind data.WatchKind, pos, dur float64, sec int) data.Event {
		return data.Event{Type: data.EventWatch, UserID: user, ContentID: item, WatchKind: kind, Position: pos, Duration: dur, Time: at(sec)}
	}
	events := []data.Event{
		watch("u1", "a", data.WatchStart, 0, 100, 1),
		watch("u1", "a", data.WatchProgress, 30, 100, 2),
		watch("u1", "b", data.WatchComplete, 90, 100, 3),
		watch("u1", "b", data.WatchComplete, 100, 100, 9),
		watch("u1", "c", data.WatchStart, 0, 100, 4),   // nothing watched: left out
		watch("u2", "a", data.WatchProgress, 50, 0, 5), // unknown duration: left out
	}
	got := WatchStrength(events)
	want := []Interaction{
		{UserID: "u1", ItemID: "a", Value: 0.3, Time: at(2)},
		{UserID: "u1", ItemID: "b", Value: 2, Time: at(9)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WatchStrength = %+v, want %+v", got, want)
	}
}

func TestTestCount(t *testing.T) {
	tests := []struct{ n, want int }{
		{0, 0}, {4, 0}, {5, 1}, {7, 1}, {8, 2}, {10, 2}, {12, 2}, {13, 3}, {100, 20},
	}
	for _, tc := range tests {
		if got := DefaultSplit.TestCount(tc.n); got != tc.want {
			t.Errorf("TestCount(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestSplitHoldsOutMostRecent(t *testing.T) {
	var xs []Interaction
	// u1 has 11 ratings, so 2 are held out. The three newest share a time,
	// so item ID order decides: y and z are test, x stays in train.
	for i, item := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		xs = append(xs, Interaction{UserID: "u1", ItemID: item, Value: 4, Time: at(i)})
	}
	for _, item := range []string{"z", "y", "x"} {
		xs = append(xs, Interaction{UserID: "u1", ItemID: item, Value: 4, Time: at(8)})
	}
	// u2 has 4 ratings: too few to split.
	for i, item := range []string{"a", "b", "c", "d"} {
		xs = append(xs, Interaction{UserID: "u2", ItemID: item, Value: 3, Time: at(i)})
	}
	train, test := Split(xs, DefaultSplit)

	if len(test) != 2 {
		t.Fatalf("test has %d interactions, want 2", len(test))
	}
	if test[0].ItemID != "y" || test[1].ItemID != "z" {
		t.Errorf("test items = %s, %s, want y, z", test[0].ItemID, test[1].ItemID)
	}
	if len(train) != 13 {
		t.Errorf("train has %d interactions, want 13", len(train))
	}
	for _, x := range train {
		if x.UserID == "u1" && (x.ItemID == "y" || x.ItemID == "z") {
			t.Errorf("held-out item %s also in train", x.ItemID)
		}
	}
}
