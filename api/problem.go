package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/serving"
)

// Problem is an RFC 9457 problem details body. Errors lists each invalid
// field with what is wrong and how to fix it.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// problemError is an error that carries the problem to send.
type problemError struct {
	status int
	slug   string
	detail string
	fields []FieldError
	cause  error // the internal error behind the problem, or nil: logged, never sent
}

func (e *problemError) Error() string { return e.detail }

// withCause returns a copy of the problem err that keeps cause for the log.
// Errors other than problems are returned unchanged.
func withCause(err, cause error) error {
	pe, ok := err.(*problemError)
	if !ok {
		return err
	}
	copied := *pe
	copied.cause = cause
	return &copied
}

// invalid returns a 400 naming the field and the fix.
func invalid(field, detail string) error {
	return &problemError{
		status: http.StatusBadRequest, slug: "invalid-request",
		detail: fmt.Sprintf("%s: %s", field, detail),
		fields: []FieldError{{Field: field, Detail: detail}},
	}
}

// invalidFields returns a 400 naming several fields at once.
func invalidFields(fields []FieldError) error {
	detail := ""
	for i, f := range fields {
		if i > 0 {
			detail += "; "
		}
		detail += f.Field + ": " + f.Detail
	}
	return &problemError{status: http.StatusBadRequest, slug: "invalid-request", detail: detail, fields: fields}
}

// notFound returns a 404 for a missing resource.
func notFound(detail string) error {
	return &problemError{status: http.StatusNotFound, slug: "not-found", detail: detail}
}

// notFoundField returns a 404 naming the path parameter, query parameter or
// body field whose value names nothing, and what to send instead.
func notFoundField(field, detail string) error {
	return &problemError{
		status: http.StatusNotFound, slug: "not-found", detail: fmt.Sprintf("%s: %s", field, detail),
		fields: []FieldError{{Field: field, Detail: detail}},
	}
}

// conflict returns a 409 naming the field whose value is taken.
func conflict(field, detail string) error {
	return &problemError{
		status: http.StatusConflict, slug: "conflict", detail: fmt.Sprintf("%s: %s", field, detail),
		fields: []FieldError{{Field: field, Detail: detail}},
	}
}

// unauthorized returns a 401. Its detail does not reveal which check
// failed beyond what the client can see itself.
func unauthorized(detail string) error {
	return &problemError{status: http.StatusUnauthorized, slug: "unauthorized", detail: detail}
}

// forbidden returns a 403.
func forbidden(detail string) error {
	return &problemError{status: http.StatusForbidden, slug: "forbidden", detail: detail}
}

// tooLarge returns a 413 for a body over the limit.
func tooLarge(limit int64) error {
	return &problemError{status: http.StatusRequestEntityTooLarge, slug: "body-too-large",
		detail: fmt.Sprintf("body: larger than %d bytes; send a smaller body", limit),
		fields: []FieldError{{Field: "body", Detail: fmt.Sprintf("larger than %d bytes; send a smaller body", limit)}}}
}

// unsupportedMedia returns a 415 for a body that is not JSON.
func unsupportedMedia(got string) error {
	detail := fmt.Sprintf("is %q; send application/json", got)
	return &problemError{status: http.StatusUnsupportedMediaType, slug: "unsupported-media-type",
		detail: "Content-Type: " + detail, fields: []FieldError{{Field: "Content-Type", Detail: detail}}}
}

// rateLimited is a 429 with the time after which a retry may succeed.
type rateLimited struct{ retryAfter time.Duration }

func (e *rateLimited) Error() string { return "too many requests" }

// problemContentType is the media type of problem bodies.
const problemContentType = "application/problem+json"

// writeError turns err into a problem response. Errors the handlers did not
// classify are internal: the client gets a generic 500 body and the error is
// logged once, with the request id.
func writeError(c *gin.Context, err error) {
	p := Problem{Instance: c.Request.URL.Path, RequestID: requestID(c)}
	var (
		pe *problemError
		rl *rateLimited
	)
	switch {
	case errors.As(err, &pe):
		p.Status, p.Type, p.Detail, p.Errors = pe.status, "/problems/"+pe.slug, pe.detail, pe.fields
		if pe.cause != nil {
			logger(c).Debug("client error", "status", pe.status, "err", pe.cause, "path", c.FullPath(), "request_id", p.RequestID)
		}
		if pe.status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer realm="marquee"`)
		}
	case errors.As(err, &rl):
		p.Status, p.Type = http.StatusTooManyRequests, "/problems/too-many-requests"
		seconds := max(1, int((rl.retryAfter+time.Second-1)/time.Second))
		p.Detail = fmt.Sprintf("too many attempts; retry in %d s", seconds)
		c.Header("Retry-After", strconv.Itoa(seconds))
	case errors.Is(err, serving.ErrNoRun):
		p.Status, p.Type = http.StatusServiceUnavailable, "/problems/no-published-run"
		p.Detail = "no recommendations are published yet; run `marquee pipeline run` and retry"
		c.Header("Retry-After", "60")
	case errors.Is(err, data.ErrNotFound):
		// Handlers turn each not-found they expect into a problem naming the
		// field. Any other, such as a record deleted by a concurrent request,
		// gets a generic detail, because its text contains store names and keys.
		p.Status, p.Type = http.StatusNotFound, "/problems/not-found"
		p.Detail = "the record this request names does not exist, or was deleted while the request ran; check the ids in the path"
		logger(c).Warn("unclassified not found", "err", err, "path", c.FullPath(), "request_id", p.RequestID)
	case errors.Is(err, data.ErrConflict):
		p.Status, p.Type = http.StatusConflict, "/problems/conflict"
		p.Detail = "the write conflicts with the stored state; read it again and retry"
	case errors.Is(err, data.ErrInvalid):
		// Handlers validate before they write, so the store rejecting a
		// record means a check is missing here: a bug, but the client's
		// request still was not acceptable.
		p.Status, p.Type = http.StatusBadRequest, "/problems/invalid-request"
		p.Detail = "the request holds a value the store does not accept"
		logger(c).Warn("store rejected a validated request", "err", err, "request_id", p.RequestID)
	case errors.Is(err, context.DeadlineExceeded):
		p.Status, p.Type = http.StatusServiceUnavailable, "/problems/timeout"
		p.Detail = "the request took too long; retry later"
		c.Header("Retry-After", "5")
		logger(c).Warn("request timed out", "err", err, "path", c.FullPath(), "request_id", p.RequestID)
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away, so the response is not read.
		p.Status, p.Type, p.Detail = http.StatusServiceUnavailable, "/problems/canceled", "the request was canceled"
	case errors.Is(err, data.ErrUnavailable):
		p.Status, p.Type = http.StatusServiceUnavailable, "/problems/unavailable"
		p.Detail = "the store is unavailable; retry later"
		c.Header("Retry-After", "5")
		logger(c).Warn("store unavailable", "err", err, "request_id", p.RequestID)
	default:
		p.Status, p.Type = http.StatusInternalServerError, "/problems/internal"
		p.Detail = "internal error; report the request id"
		logger(c).Error("internal error", "err", err, "path", c.Request.URL.Path, "request_id", p.RequestID)
	}
	p.Title = http.StatusText(p.Status)
	c.Header("Content-Type", problemContentType)
	c.AbortWithStatusJSON(p.Status, p)
}
