package serving

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// cursor is where the next page of a response starts: the run and the list
// it pages through, and the position in that list, before filtering, of
// the first entry not yet considered. Since a published list never changes,
// a page that follows a cursor repeats and skips no title, even when a new
// run is published between pages. The query hash ties the cursor to the
// subject and filters it was issued for.
type cursor struct {
	run    string
	source Source
	pos    int
	query  uint32
}

// cursorVersion is the first byte of every encoded cursor.
const cursorVersion = 1

// maxCursor bounds the length of an encoded cursor that decode accepts.
const maxCursor = 512

func (c cursor) encode() string {
	b := []byte{cursorVersion}
	b = binary.AppendUvarint(b, uint64(len(c.run)))
	b = append(b, c.run...)
	b = binary.AppendUvarint(b, uint64(len(c.source)))
	b = append(b, c.source...)
	b = binary.AppendUvarint(b, uint64(c.pos))
	b = binary.BigEndian.AppendUint32(b, c.query)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by encode. It returns an error wrapping
// ErrBadCursor for anything else.
func decodeCursor(s string) (cursor, error) {
	bad := func(why string) (cursor, error) { return cursor{}, fmt.Errorf("%w: %s", ErrBadCursor, why) }
	if len(s) > maxCursor {
		return bad("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != cursorVersion {
		return bad("not a cursor of this API: pass next_cursor of the previous page unchanged")
	}
	b = b[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		out := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return out, true
	}
	var c cursor
	run, ok1 := str()
	source, ok2 := str()
	pos, k := binary.Uvarint(b)
	if !ok1 || !ok2 || k <= 0 || pos > 1<<31 || len(b)-k != 4 {
		return bad("malformed: pass next_cursor of the previous page unchanged")
	}
	c.run, c.source, c.pos = run, Source(source), int(pos)
	c.query = binary.BigEndian.Uint32(b[k:])
	return c, nil
}

// queryHash identifies the subject and filters of a query, so that a
// cursor is only honoured for the query it was issued for.
func queryHash(subject string, q Query) uint32 {
	h := fnv.New32a()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(subject)
	write(strings.ToLower(q.Genre))
	exclude := q.Exclude
	if !slices.IsSorted(exclude) {
		exclude = slices.Sorted(slices.Values(exclude))
	}
	for _, id := range exclude {
		write(id)
	}
	return h.Sum32()
}
