// Package titlecursor is the cursor of data.Catalog.ListTitles that the
// stores share, so that both accept and reject the same strings.
//
// A cursor is base64url without padding of a version byte (1), the last
// title ID of the page and the CRC-32 (IEEE) of the two, big-endian. The
// checksum is no secret. It catches cursors that were cut, edited or made
// up, so that a store rejects them with data.ErrInvalid rather than return
// a page that starts at an arbitrary ID.
package titlecursor
