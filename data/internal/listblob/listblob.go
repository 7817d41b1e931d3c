package listblob

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/marquee/marquee/data"
)

// format is the first byte of every blob.
const format = 1

// Size returns the length of the blob of items, so that callers can size a
// buffer once.
func Size(items []data.ScoredItem) int {
	n := 1 + uvarintLen(uint64(len(items)))
	for _, it := range items {
		n += uvarintLen(uint64(len(it.ID))) + len(it.ID) + 4
	}
	return n
}

// Encode returns the blob of items.
func Encode(items []data.ScoredItem) []byte {
	return Append(make([]byte, 0, Size(items)), items)
}

// Append appends the blob of items to dst and returns the extended slice.
func Append(dst []byte, items []data.ScoredItem) []byte {
	dst = append(dst, format)
	dst = binary.AppendUvarint(dst, uint64(len(items)))
	for _, it := range items {
		dst = binary.AppendUvarint(dst, uint64(len(it.ID)))
		dst = append(dst, it.ID...)
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(it.Score))
	}
	return dst
}

// Decode decodes a blob written by Encode. The IDs it returns share the
// memory of blob, which is why it takes a string. An empty list decodes as
// nil.
func Decode(blob string) ([]data.ScoredItem, error) {
	if len(blob) == 0 || blob[0] != format {
		return nil, errors.New("list blob has an unknown format")
	}
	rest := blob[1:]
	n, rest, ok := uvarint(rest)
	// Every item takes at least 5 bytes, which bounds the allocation below
	// by the blob's length.
	if !ok || n > uint64(len(rest))/5 {
		return nil, errors.New("list blob has a malformed item count")
	}
	if n == 0 {
		if len(rest) != 0 {
			return nil, fmt.Errorf("list blob has %d bytes after its item count", len(rest))
		}
		return nil, nil
	}

	items := make([]data.ScoredItem, n)
	for i := range items {
		var size uint64
		size, rest, ok = uvarint(rest)
		if !ok || size > uint64(len(rest)) || uint64(len(rest))-size < 4 {
			return nil, fmt.Errorf("list blob is truncated at item %d", i)
		}
		items[i].ID = rest[:size]
		items[i].Score = math.Float32frombits(littleEndian32(rest[size : size+4]))
		rest = rest[size+4:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("list blob has %d bytes after its last item", len(rest))
	}
	return items, nil
}

// uvarint reads a uvarint from the front of s without copying s.
func uvarint(s string) (uint64, string, bool) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, s, false // overflows 64 bits
			}
			return x | uint64(c)<<(7*i), s[i+1:], true
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, s, false
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

func littleEndian32(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
