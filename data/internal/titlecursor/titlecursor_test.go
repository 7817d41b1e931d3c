package titlecursor

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
)

func TestRoundTrip(t *testing.T) {
	for _, id := range []string{"", "t00001", "with space", "日本語", "\x00\xff", strings.Repeat("x", 300)} {
		got, err := Decode(Encode(id))
		if err != nil || got != id {
			t.Errorf("Decode(Encode(%q)): got %q, %v", id, got, err)
		}
	}
	if got, err := Decode(""); err != nil || got != "" {
		t.Errorf(`Decode(""): got %q, %v, want the start of the catalog`, got, err)
	}
}

func TestDecodeRejectsForgeries(t *testing.T) {
	valid := Encode("t00042")
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	edited := append([]byte(nil), raw...)
	edited[3] ^= 1
	otherVersion := append([]byte(nil), raw...)
	otherVersion[0] = 2
	tests := map[string]string{
		"not base64":         "abc!",
		"plain base64 of id": base64.RawURLEncoding.EncodeToString([]byte("t00042")),
		"old t1: form":       base64.RawURLEncoding.EncodeToString([]byte("t1:t00042")),
		"short":              "abc",
		"padding":            valid + "==",
		"cut":                valid[:len(valid)-2],
		"edited id":          base64.RawURLEncoding.EncodeToString(edited),
		"other version":      base64.RawURLEncoding.EncodeToString(otherVersion),
		"zeros":              strings.Repeat("A", 40),
		"too long":           strings.Repeat("A", MaxLen+1),
	}
	for name, c := range tests {
		if id, err := Decode(c); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("%s: Decode(%.50q) = %q, %v, want ErrInvalid", name, c, id, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode("t1"))
	f.Add("abc")
	f.Fuzz(func(t *testing.T, c string) {
		id, err := Decode(c)
		if err == nil && c != "" && Encode(id) != c {
			t.Fatalf("Decode(%q) accepted a cursor Encode does not write for %q", c, id)
		}
	})
}
