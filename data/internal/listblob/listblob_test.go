package listblob

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/marquee/marquee/data"
)

func TestRoundTrip(t *testing.T) {
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
			blob := Encode(tc.items)
			if got, want := len(blob), Size(tc.items); got != want {
				t.Errorf("len(Encode(x)): got %d, want Size(x) = %d", got, want)
			}
			got, err := Decode(string(blob))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.items) {
				t.Errorf("Decode(Encode(x)): got %v, want %v", got, tc.items)
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	items := []data.ScoredItem{{ID: "a", Score: 1}}
	b := Append([]byte("head"), items)
	if string(b[:4]) != "head" {
		t.Fatalf("Append: got prefix %q, want %q", b[:4], "head")
	}
	got, err := Decode(string(b[4:]))
	if err != nil || !reflect.DeepEqual(got, items) {
		t.Errorf("Decode(Append(head, x)[4:]): got %v, %v, want %v", got, err, items)
	}
}

func TestDecodeMalformed(t *testing.T) {
	valid := string(Encode([]data.ScoredItem{{ID: "a", Score: 1}, {ID: "bc", Score: 2}}))
	tests := []struct{ name, blob string }{
		{"empty", ""},
		{"unknown format", "\x02" + valid[1:]},
		{"count without items", "\x01\x05"},
		{"truncated count", "\x01\x80"},
		{"truncated score", valid[:len(valid)-1]},
		{"trailing bytes", valid + "x"},
		{"bytes after an empty list", "\x01\x00x"},
		{"ID longer than the blob", "\x01\x01\x7f"},
		{"huge count", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f"},
		{"count overflowing 64 bits", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"},
	}
	for _, tc := range tests {
		if items, err := Decode(tc.blob); err == nil {
			t.Errorf("Decode(%s %q): got %v and no error", tc.name, tc.blob, items)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(string(Encode([]data.ScoredItem{{ID: "a", Score: 1}, {ID: "bc", Score: 2}})))
	f.Add("\x01\x00")
	f.Fuzz(func(t *testing.T, blob string) {
		items, err := Decode(blob)
		if err != nil {
			return
		}
		// What decodes must encode to a blob that decodes to the same items.
		// The bytes may differ, since a uvarint has more than one encoding.
		first := Encode(items)
		again, err := Decode(string(first))
		if err != nil || string(Encode(again)) != string(first) {
			t.Fatalf("re-decoding %q: got %v, %v, want %v", blob, again, err, items)
		}
	})
}

// BenchmarkCodec compares the blob encoding with JSON on a list of 100
// items, to justify the binary format.
func BenchmarkCodec(b *testing.B) {
	items := make([]data.ScoredItem, 100)
	for i := range items {
		items[i] = data.ScoredItem{ID: fmt.Sprintf("tt%07d", i*7919), Score: float32(100-i) / 7}
	}
	blob := string(Encode(items))
	jsonBlob, err := json.Marshal(items)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("100 items: binary %d bytes, JSON %d bytes", len(blob), len(jsonBlob))

	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Encode(items)
		}
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(blob); err != nil {
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
