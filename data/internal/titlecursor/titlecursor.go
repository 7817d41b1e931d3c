package titlecursor

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/marquee/marquee/data"
)

// version is the first byte of every cursor.
const version = 1

// MaxLen bounds the length of a cursor that Decode reads, so that a huge
// parameter is rejected before it is decoded.
const MaxLen = 1024

// Encode returns the cursor of a page whose last title has the ID lastID.
func Encode(lastID string) string {
	b := make([]byte, 0, 1+len(lastID)+crc32.Size)
	b = append(b, version)
	b = append(b, lastID...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the last title ID that cursor names. The empty cursor
// names the start of the catalog, "". Anything Encode did not return is an
// error wrapping data.ErrInvalid.
func Decode(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	bad := fmt.Errorf("%w: cursor %.40q was not returned by ListTitles: pass TitlePage.Next unchanged", data.ErrInvalid, cursor)
	if len(cursor) > MaxLen {
		return "", bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(b) < 1+crc32.Size || b[0] != version {
		return "", bad
	}
	body, sum := b[:len(b)-crc32.Size], binary.BigEndian.Uint32(b[len(b)-crc32.Size:])
	if crc32.ChecksumIEEE(body) != sum {
		return "", bad
	}
	return string(body[1:]), nil
}
