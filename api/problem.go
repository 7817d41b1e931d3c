package api

import (
	"errors"
	"fmt"
	"net/http"

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
}

func (e *problemError) Error() string { return e.detail }

// invalid returns a 400 naming the field and the fix.
func invalid(field, detail string) error {
	return &problemError{
		status: http.StatusBadRequest, slug: "invalid-request",
		detail: fmt.Sprintf("%s: %s", field, detail),
		fields: []FieldError{{Field: field, Detail: detail}},
	}
}

// notFound returns a 404 for a missing resource.
func notFound(detail string) error {
	return &problemError{status: http.StatusNotFound, slug: "not-found", detail: detail}
}

// problemContentType is the media type of problem bodies.
const problemContentType = "application/problem+json"

// writeError turns err into a problem response. Errors the handlers did not
// classify are internal: the client gets a generic 500 body and the error is
// logged once, with the request id.
func writeError(c *gin.Context, err error) {
	p := Problem{Instance: c.Request.URL.Path, RequestID: requestID(c)}
	var pe *problemError
	switch {
	case errors.As(err, &pe):
		p.Status, p.Type, p.Detail, p.Errors = pe.status, "/problems/"+pe.slug, pe.detail, pe.fields
	case errors.Is(err, serving.ErrNoRun):
		p.Status, p.Type = http.StatusServiceUnavailable, "/problems/no-published-run"
		p.Detail = "no recommendations are published yet; run `marquee pipeline run` and retry"
		c.Header("Retry-After", "60")
	case errors.Is(err, data.ErrNotFound):
		p.Status, p.Type, p.Detail = http.StatusNotFound, "/problems/not-found", err.Error()
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
