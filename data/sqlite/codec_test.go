package sqlite

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/marquee/marquee/data"
)

func TestItemsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		items []data.ScoredItem
	}{
		{"empty", nil},
		{"one", []data.ScoredItem{{ID: "tt0133093", Score: 4.25}}},
		{"odd IDs and scores", []data.ScoredItem{
			{ID: "", Score: 0}, {ID: "日本語 🎬", Score: -1.5}, {ID: "\x00\xff", Score: math.MaxFloat32},
			{ID: string(make([]byte, 300)), Score: float32(math.Inf(-1))},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeItems(string(encodeItems(tc.items)))
			if err != nil {
				t.Fatalf("decodeItems: %v", err)
			}
			if !reflect.DeepEqual(got, tc.items) {
				t.Errorf("decodeItems(encodeItems(x)): got %v, want %v", got, tc.items)
			}
		})
	}
}

func TestDecodeItemsMalformed(t *testing.T) {
	valid := string(encodeItems([]data.ScoredItem{{ID: "a", Score: 1}, {ID: "bc", Score: 2}}))
	tests := []struct{ name, blob string }{
		{"empty", ""},
		{"unknown format", "\x02" + valid[1:]},
		{"count without items", "\x01\x05"},
		{"truncated count", "\x01\x80"},
		{"truncated score", valid[:len(valid)-1]},
		{"ID longer than the blob", "\x01\x01\x7f"},
		{"huge count", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f"},
	}
	for _, tc := range tests {
		if items, err := decodeItems(tc.blob); err == nil {
			t.Errorf("decodeItems(%s %q): got %v and no error", tc.name, tc.blob, items)
		}
	}
}

func FuzzDecodeItems(f *testing.F) {
	f.Add(string(encodeItems([]data.ScoredItem{{ID: "a", Score: 1}, {ID: "bc", Score: 2}})))
	f.Add("\x01\x00")
	f.Fuzz(func(t *testing.T, blob string) {
		items, err := decodeItems(blob)
		if err != nil {
			return
		}
		// What decodes must encode back to a blob that decodes the same.
		again, err := decodeItems(string(encodeItems(items)))
		if err != nil || len(again) != len(items) {
			t.Fatalf("re-decoding %q: got %d items, %v, want %d", blob, len(again), err, len(items))
		}
	})
}

// BenchmarkItemsCodec compares the blob encoding with JSON on a list of 100
// items, to justify the binary format.
func BenchmarkItemsCodec(b *testing.B) {
	items := make([]data.ScoredItem, 100)
	for i := range items {
		items[i] = data.ScoredItem{ID: fmt.Sprintf("tt%07d", i*7919), Score: float32(100-i) / 7}
	}
	blob := string(encodeItems(items))
	jsonBlob, err := json.Marshal(items)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("100 items: binary %d bytes, JSON %d bytes", len(blob), len(jsonBlob))

	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeItems(items)
		}
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeItems(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(items); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got []data.ScoredItem
			if err := json.Unmarshal(jsonBlob, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
