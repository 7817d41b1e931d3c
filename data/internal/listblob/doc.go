// Package listblob is the binary encoding of a published list that the list
// stores share, so that the format has one definition.
//
// A blob is a format byte (1), the item count as a uvarint, then for each
// item the length of its ID as a uvarint, the ID's bytes and its score as a
// little-endian float32. A list of 100 items with 9-byte IDs takes 1,402
// bytes, two fifths of its JSON size, and decodes about 50 times faster
// (BenchmarkCodec).
package listblob
