package redis

import (
	"fmt"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
)

// slot returns the Redis Cluster hash slot of a key: CRC16 (XMODEM) of its
// hash tag, or of the whole key when it has none, modulo 16384.
func slot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			key = key[open+1 : open+1+end]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestSlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 0x31C3 % 16384},
		{"foo", 12182},
		{"{user1000}.following", 3443},
		{"foo{}{bar}", slot("foo{}{bar}")}, // an empty tag does not count
	}
	for _, tc := range tests {
		if got := slot(tc.key); got != tc.want {
			t.Errorf("slot(%q): got %d, want %d", tc.key, got, tc.want)
		}
	}
	if slot("{user1000}.following") != slot("{user1000}.followers") {
		t.Error("keys with the same hash tag are in different slots")
	}
}

// TestScriptKeysShareSlot checks that the keys every registry script gets
// hash to one slot, whatever the run ID, so that the scripts run on Redis
// Cluster.
func TestScriptKeysShareSlot(t *testing.T) {
	k := keys{prefix: "mq"}
	for _, runID := range []string{"r1", "2026-12-04T20-00-00Z", "{evil}", "}{", "a{b}c", ""} {
		scripts := map[string][]string{
			"newRun":   {k.run(runID), k.index(), k.seq()},
			"commit":   {k.run(runID), k.current(), k.seq()},
			"activate": {k.run(runID), k.current()},
			"delete":   {k.run(runID), k.current(), k.index(), k.trash()},
		}
		for name, ks := range scripts {
			for _, key := range ks[1:] {
				if slot(key) != slot(ks[0]) {
					t.Errorf("%s script with run %q: %s in slot %d, %s in slot %d",
						name, runID, ks[0], slot(ks[0]), key, slot(key))
				}
			}
		}
	}
}

// TestBucketsSpreadOverSlots checks that the lists of a run do not pile up
// in one slot of a cluster.
func TestBucketsSpreadOverSlots(t *testing.T) {
	k := keys{prefix: "mq"}
	slots := map[int]bool{}
	for i := range 10_000 {
		slots[slot(k.bucket(42, DefaultBuckets, data.ListUser, fmt.Sprintf("u%d", i)))] = true
	}
	if len(slots) < DefaultBuckets*9/10 {
		t.Errorf("10,000 user lists in %d buckets use %d slots, want at least %d", DefaultBuckets, len(slots), DefaultBuckets*9/10)
	}
}

func TestBucketOfIsStable(t *testing.T) {
	// The bucket of a key is part of the stored format.
	tests := []struct {
		key  string
		n    int
		want int
	}{
		{"", 1024, 2166136261 % 1024},
		{"u1", 1, 0},
		{"a", 1 << 16, 0xe40c292c % (1 << 16)},
	}
	for _, tc := range tests {
		if got := bucketOf(tc.key, tc.n); got != tc.want {
			t.Errorf("bucketOf(%q, %d): got %d, want %d", tc.key, tc.n, got, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"prefix with a brace", WithPrefix("mq{x}")},
		{"empty prefix", WithPrefix("")},
		{"negative keep", WithKeep(-1)},
		{"no buckets", WithBuckets(0)},
		{"no writers", WithWriters(0)},
		{"no history TTL", WithHistory(0, 10)},
		{"nil clock", WithClock(nil)},
	}
	for _, tc := range tests {
		if _, err := newConfig([]Option{tc.opt}); err == nil {
			t.Errorf("newConfig with %s: got no error", tc.name)
		}
	}
}
