package redis

import (
	"strconv"

	"github.com/marquee/marquee/data"
)

// keys builds the key names described in the package documentation.
type keys struct {
	prefix string
}

// registry is the hash tag of the registry keys, which scripts change
// together and so must share a cluster slot.
const registry = "{runs}"

func (k keys) current() string         { return joinKey(k.prefix, registry, "current") }
func (k keys) index() string           { return joinKey(k.prefix, registry, "index") }
func (k keys) seq() string             { return joinKey(k.prefix, registry, "seq") }
func (k keys) trash() string           { return joinKey(k.prefix, registry, "trash") }
func (k keys) run(runID string) string { return joinKey(k.prefix, registry, "run") + ":" + runID }
func (k keys) lock() string            { return joinKey(k.prefix, registry, "lock") }
func (k keys) fence() string           { return joinKey(k.prefix, registry, "fence") }
func (k keys) tick() string            { return joinKey(k.prefix, registry, "tick") }
func (k keys) channel() string         { return joinKey(k.prefix, "events") }
func (k keys) history(userID string) string {
	return joinKey(k.prefix, "h") + ":" + userID
}

func (k keys) artifacts(gen int64) string {
	return joinKey(k.prefix, "a", strconv.FormatInt(gen, 10))
}

// bucket returns the hash that holds the list of a kind and key in a run of
// generation gen with n buckets per kind.
func (k keys) bucket(gen int64, n int, kind data.ListKind, key string) string {
	return k.bucketAt(gen, kindCode(kind), bucketOf(key, n))
}

func (k keys) bucketAt(gen int64, kind string, b int) string {
	return joinKey(k.prefix, "l", strconv.FormatInt(gen, 10), kind, strconv.Itoa(b))
}

// kinds are the one-letter codes of the list kinds in bucket keys.
var kinds = []string{"u", "s", "t"}

func kindCode(kind data.ListKind) string {
	switch kind {
	case data.ListSimilar:
		return "s"
	case data.ListTrending:
		return "t"
	}
	return "u"
}

// bucketOf spreads keys over n buckets by their FNV-1a hash. The hash is part
// of the stored format: changing it would hide the lists of existing runs.
func bucketOf(key string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}
