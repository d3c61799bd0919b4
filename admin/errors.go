package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// Error codes: the "error" member of every error answer (the companion
// package adds the codes of POST /v1/token).
const (
	CodeUnauthorized     = "unauthorized"      // 401: missing or wrong bearer token
	CodeAdminDisabled    = "admin_disabled"    // 503: no admin token configured
	CodeBadRequest       = "bad_request"       // 400: a parameter or body riscd cannot use
	CodeNotFound         = "not_found"         // 404: no such grant, account, event
	CodeNotParked        = "not_parked"        // 409: retry of an event that is not parked
	CodeNotFailed        = "not_failed"        // 409: retry of an outbox job that has not failed
	CodeUnsupportedMedia = "unsupported_media" // 415: a body that is not JSON
	CodeNotImplemented   = "not_implemented"   // 501: the action is not wired in this riscd
	CodeUnavailable      = "unavailable"       // 503: riscd is shutting down or a request timed out
	CodeInternal         = "internal"          // 500: riscd failed; the log has the cause
)

// Error is an answer decided by a handler of the internal listener (the
// admin API's, the companion API's, the admin page's): Status, Code and a
// Detail safe to show. Cause goes to the log only.
type Error struct {
	Status int
	// Code is the "error" member of the answer: one of the Code* constants
	// or a code of the API that decided the answer.
	Code   string
	Detail any
	Cause  error
	// Challenge is the WWW-Authenticate header of a 401.
	Challenge string
	// RetryAfter is the Retry-After header (seconds), if any.
	RetryAfter string
}

// Error names the code and the cause.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Code, e.Cause)
	}
	return e.Code
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error  string `json:"error"`
	Detail any    `json:"detail,omitempty"`
}

// BadRequest is a 400 bad_request answer whose detail is the formatted
// sentence.
func BadRequest(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Detail: fmt.Sprintf(format, args...)}
}

// NotFound is a 404 not_found answer naming what was missing.
func NotFound(what string) error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Detail: what + " not found"}
}

// Verdict is what an error becomes: a status, a code and detail safe to
// show, the headers that go with them, and whether the error was
// unexpected (and so logged at error level).
type Verdict struct {
	Status     int
	Code       string
	Detail     any // the Error's Detail, or a fixed sentence; never a cause's text
	Header     http.Header
	Unexpected bool
}

// Classify is what err becomes in an answer of the admin API or page; see
// verdict.
func Classify(err error) Verdict {
	v := classify(err)
	return Verdict{Status: v.status, Code: v.body.Error, Detail: v.body.Detail, Header: v.header, Unexpected: v.unexpected}
}

// verdict is Verdict with the API's JSON body.
type verdict struct {
	status     int
	body       errorBody
	header     http.Header
	unexpected bool
}

// classify is the one place that decides what a handler's error becomes.
// Nothing of err's text reaches the body unless err is an Error, whose
// detail was written to be shown.
func classify(err error) verdict {
	var (
		ae *Error
		he *echo.HTTPError
	)
	v := verdict{
		status: http.StatusInternalServerError,
		body:   errorBody{Error: CodeInternal, Detail: "riscd failed; the log has the cause"},
		header: http.Header{},
	}
	switch {
	case errors.As(err, &ae):
		v.body, v.status = errorBody{Error: ae.Code, Detail: ae.Detail}, ae.Status
		if ae.Challenge != "" {
			v.header.Set("WWW-Authenticate", ae.Challenge)
		}
		if ae.RetryAfter != "" {
			v.header.Set("Retry-After", ae.RetryAfter)
		}
	case errors.Is(err, riscd.ErrNotFound):
		v.body, v.status = errorBody{Error: CodeNotFound, Detail: "not found"}, http.StatusNotFound
	case errors.Is(err, riscd.ErrInvalid):
		v.body, v.status = errorBody{Error: CodeBadRequest, Detail: "invalid argument (a malformed cursor?)"}, http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, riscd.ErrClosed):
		v.body, v.status = errorBody{Error: CodeUnavailable, Detail: "the request could not finish in time or riscd is stopping; retry"}, http.StatusServiceUnavailable
		v.header.Set("Retry-After", "1")
	case errors.As(err, &he):
		v.status = he.Code
		v.body = errorBody{Error: CodeBadRequest, Detail: http.StatusText(he.Code)}
		if he.Code >= 500 {
			v.body.Error = CodeInternal
		}
	default:
		v.unexpected = true
	}
	if v.status >= 500 && v.status != http.StatusServiceUnavailable && v.status != http.StatusNotImplemented {
		v.unexpected = true
	}
	return v
}

// answer turns a handler's error into the JSON answer the API routes give.
// It returns the answer's code and whether the error was unexpected (and so
// logged at error level by the caller).
func answer(c echo.Context, err error) (code string, unexpected bool) {
	v := classify(err)
	for k, vs := range v.header {
		c.Response().Header()[k] = vs
	}
	switch {
	case c.Response().Committed:
	case c.Request().Method == http.MethodHead:
		c.NoContent(v.status)
	default:
		c.JSON(v.status, v.body)
	}
	return v.body.Error, v.unexpected
}

func isNotFound(err error) bool { return errors.Is(err, riscd.ErrNotFound) }
