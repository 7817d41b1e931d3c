package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SQLite's lower(), which handles ASCII only.
// NOTE: lower-casing is not full Unicode case folding: "straße" and
// "STRASSE" stay different.
func foldCase(s string) string {
	return strings.ToLower(s)
}

// millis returns t as milliseconds since the Unix epoch, the unit of every
// time column, rounded down as data.Normalize rounds.
func millis(t time.Time) int64 {
	return t.UnixMilli()
}

// ceilMillis returns the first whole millisecond at or after t.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}

func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// nullMillis stores the zero time as NULL, so that it reads back as the zero
// time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}

func encodeStrings(s []string) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// decodeStrings returns nil for an empty list, like the zero value of a
// record.
func decodeStrings(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("decode string list %q: %w", s, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
