package api

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Bounds of request fields. They keep every stored string to a size that
// lists and logs can carry, and every hash to bounded work.
const (
	maxEmailBytes    = 254 // the maximum address length of RFC 5321 (a 256-byte path less its angle brackets)
	maxNameRunes     = 100
	minPasswordRunes = 8
	maxPasswordRunes = 128
	maxListItems     = 20
	maxTagRunes      = 50
	maxTitleRunes    = 300
	maxDescRunes     = 5000
	maxQueryRunes    = 200
	maxTitleYear     = 2200
	maxSeconds       = 1_000_000 // about 11.5 days: longer than any title
)

// fieldErrors collects the invalid fields of one request, so that a client
// learns of all of them at once.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// err returns the collected problems as one 400, or nil when there are none.
func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return invalidFields(fe)
}

// hasControl reports whether s holds a control character; allowNewlines
// lets tabs and line breaks through, for long text.
func hasControl(s string, allowNewlines bool) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		if allowNewlines && (r == '\n' || r == '\r' || r == '\t') {
			return false
		}
		return unicode.IsControl(r) || r == utf8.RuneError
	})
}

// checkText checks a required one-line text field of 1 to max characters.
func (fe *fieldErrors) checkText(field, s string, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case strings.TrimSpace(s) == "":
		fe.add(field, "is required; send 1 to %d characters", max)
	case n > max:
		fe.add(field, "is %d characters long; send at most %d", n, max)
	case hasControl(s, false):
		fe.add(field, "holds a control character or invalid UTF-8; send printable text")
	}
}

// normalizeEmail returns an e-mail address in Unicode NFC. One address can
// be typed as different code points, such as "é" precomposed or as "e" and
// a combining accent. Every route stores and looks up the NFC form, so the
// two are one account.
func normalizeEmail(s string) string {
	return norm.NFC.String(s)
}

// checkEmail checks an e-mail address: a bare addr-spec such as
// ada@example.com, without a display name.
func (fe *fieldErrors) checkEmail(field, s string) {
	if s == "" {
		fe.add(field, "is required; send an address such as ada@example.com")
		return
	}
	if len(s) > maxEmailBytes {
		fe.add(field, "is %d bytes long; send at most %d", len(s), maxEmailBytes)
		return
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || hasControl(s, false) {
		fe.add(field, "is not an e-mail address; send one such as ada@example.com")
	}
}

// checkPassword checks a new password's length. Any characters are allowed,
// so pass phrases work.
func (fe *fieldErrors) checkPassword(field, s string) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		fe.add(field, "is not valid UTF-8")
	case n < minPasswordRunes || n > maxPasswordRunes:
		fe.add(field, "is %d characters long; send %d to %d", n, minPasswordRunes, maxPasswordRunes)
	case strings.TrimSpace(s) == "":
		fe.add(field, "is only white space; send a password")
	}
}

// checkList checks a list of short labels such as genres: at most
// maxListItems, each 1 to maxTagRunes characters, no two equal ignoring
// case.
func (fe *fieldErrors) checkList(field string, list []string) {
	if len(list) > maxListItems {
		fe.add(field, "has %d items; send at most %d", len(list), maxListItems)
		return
	}
	seen := make(map[string]bool, len(list))
	for i, s := range list {
		item := fmt.Sprintf("%s[%d]", field, i)
		fe.checkText(item, s, maxTagRunes)
		key := strings.ToLower(s)
		if seen[key] {
			fe.add(item, "repeats %q; send each value once", s)
		}
		seen[key] = true
	}
}

// Path and body identifiers.
var (
	// validEventID is the form of client-chosen watch event IDs: a UUID, a
	// ULID or any other token of 8 to 64 safe characters.
	validEventID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$`)
	// validNewTitleID is the form of title IDs chosen by an admin. Titles
	// imported from datasets may have other IDs, which the read routes
	// accept as any UTF-8 of up to maxIDLength bytes.
	validNewTitleID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	// validTitleType is the form of a title's type, such as movie or series.
	validTitleType = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// checkID checks an identifier that names a stored record: 1 to
// maxIDLength bytes of printable UTF-8.
func (fe *fieldErrors) checkID(field, s string) {
	if s == "" || len(s) > maxIDLength || !utf8.ValidString(s) || hasControl(s, false) {
		fe.add(field, "must be 1 to %d bytes of printable UTF-8", maxIDLength)
	}
}

// pathID returns the path parameter name, or a 400 naming it.
func pathID(value, name string) (string, error) {
	var fe fieldErrors
	fe.checkID(name, value)
	return value, fe.err()
}
