package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// decodeBody reads a request body into v, a pointer to a struct. The body
// must be application/json (or a +json type) and contain exactly one JSON
// object whose fields v declares. Errors are problems that name the field:
// 413 for a body over the limit, 415 for another media type and 400 for
// anything else.
func decodeBody(c *gin.Context, limit int64, v any) error {
	if c.Request.ContentLength > limit {
		return tooLarge(limit)
	}
	ct := c.GetHeader("Content-Type")
	media, _, err := mime.ParseMediaType(ct)
	if err != nil || (media != "application/json" && !strings.HasSuffix(media, "+json")) {
		return unsupportedMedia(ct)
	}
	return decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, limit), limit, v)
}

// decodeJSON decodes one JSON object from r into v and rejects unknown
// fields and anything after the object.
func decodeJSON(r io.Reader, limit int64, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, limit, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge(limit)
		}
		return invalid("body", "holds more than one JSON value; send one object")
	}
	return nil
}

// decodeError turns an error of encoding/json into a problem naming the
// field.
func decodeError(err error, limit int64, v any) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(limit)
	case errors.Is(err, io.EOF):
		return invalid("body", "is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "ends before the JSON object does; send a complete object")
	case errors.As(err, &syntaxErr):
		return invalid("body", fmt.Sprintf("is not valid JSON at byte %d (%s); send a JSON object", syntaxErr.Offset, syntaxErr.Error()))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("body", fmt.Sprintf("is a JSON %s; send a JSON object", typeErr.Value))
		}
		return invalid(typeErr.Field, fmt.Sprintf("must be %s, got a JSON %s", jsonKind(typeErr.Type), typeErr.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		if field == "" {
			return invalid("body", "holds a field with an empty name; remove it (known fields: "+knownFields(v)+")")
		}
		return invalid(truncate(field, 64), "is not a field of this request; remove it (known fields: "+knownFields(v)+")")
	}
	return invalid("body", "cannot be read as the expected JSON object: "+err.Error())
}

// jsonKind names the JSON type that a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// knownFields lists the JSON names of the fields of the struct v points to.
func knownFields(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}
