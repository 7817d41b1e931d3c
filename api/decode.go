package api

import (
	"bytes"
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
// fields, keys that match a field only without regard to case, keys given
// twice, and anything after the object. encoding/json alone accepts
// {"Rating": 4} as rating and keeps the last of {"rating": 4, "rating": 2},
// where another parser of the same body could keep the first.
func decodeJSON(r io.Reader, limit int64, v any) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return decodeError(err, limit, v)
	}
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, limit, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("body", "holds more than one JSON value; send one object")
	}
	return nil
}

// checkKeys walks the first JSON value of body and returns a 400 naming
// the first object key that repeats in its object, or that matches a field
// of the struct the object decodes into only without regard to case. t is
// the Go type the value decodes into. Malformed JSON passes: the decoder
// reports it with its position.
func checkKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := walkValue(dec, t, "")
	if errors.Is(err, errMalformed) {
		return nil
	}
	return err
}

// errMalformed stops checkKeys at JSON it cannot read.
var errMalformed = errors.New("malformed JSON")

// walkValue reads one value from dec. t is its Go type, nil when unknown,
// and path names it in problems.
func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return errMalformed
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errMalformed
		}
	}
	return nil
}

// walkObject reads the members of an object whose opening brace dec has
// read, and its closing brace.
func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	fields := jsonFields(t)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return errMalformed
		}
		name := key
		if path != "" {
			name = path + "." + key
		}
		if seen[key] {
			if name == "" {
				return invalid("body", `holds the key "" more than once; send each field once`)
			}
			return invalid(truncate(name, 64), "is given more than once; send each field once")
		}
		seen[key] = true

		var ft reflect.Type
		switch {
		case fields != nil:
			var known bool
			if ft, known = fields[key]; !known {
				if exact := foldMatch(fields, key); exact != "" {
					return invalid(truncate(name, 64), fmt.Sprintf("is not a field of this request; names are case-sensitive: send %q", exact))
				}
			}
		case t != nil && t.Kind() == reflect.Map:
			ft = t.Elem()
		}
		if err := walkValue(dec, ft, name); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return errMalformed
	}
	return nil
}

// jsonFields returns the JSON names of the fields of struct type t and
// their types, or nil when t is not a struct.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
			continue
		case name == "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// foldMatch returns the field name that key matches without regard to
// case, or "".
func foldMatch(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
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
	// The remaining errors are failures to read the body. Their text names
	// addresses and internals, so only the log gets it.
	return withCause(invalid("body", "could not be read completely; send the request again with one JSON object"), err)
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
