package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/store"
)

// Error codes: the "error" member of every error answer.
const (
	CodeUnauthorized        = "unauthorized"         // 401: missing or wrong bearer token
	CodeAdminDisabled       = "admin_disabled"       // 503: no admin token configured
	CodeCompanionDisabled   = "companion_disabled"   // 503: neither an app nor an admin token configured
	CodeBadRequest          = "bad_request"          // 400: a parameter or body riscd cannot use
	CodeNotFound            = "not_found"            // 404: no such grant, account, event
	CodeNoGrant             = "no_grant"             // 404: /v1/token: riscd holds no grant for the subject
	CodeMissingScopes       = "missing_scopes"       // 403: /v1/token: detail {"missing_scopes": [...]}
	CodeGrantUnavailable    = "grant_unavailable"    // 409: /v1/token: detail {"state": ..., "reason": ...}
	CodeNotParked           = "not_parked"           // 409: retry of an event that is not parked
	CodeNotFailed           = "not_failed"           // 409: retry of an outbox job that has not failed
	CodeUnsupportedMedia    = "unsupported_media"    // 415: a body that is not JSON
	CodeNotImplemented      = "not_implemented"      // 501: the action is not wired in this riscd
	CodeUpstreamUnavailable = "upstream_unavailable" // 503: the token endpoint failed; retry later
	CodeUnavailable         = "unavailable"          // 503: riscd is shutting down or a request timed out
	CodeInternal            = "internal"             // 500: riscd failed; the log has the cause
)

// apiError is an answer decided by a handler: status, code and a detail
// safe to show. cause goes to the log only.
type apiError struct {
	status int
	code   string
	detail any
	cause  error
	// challenge is the WWW-Authenticate header of a 401.
	challenge string
	// retryAfter is the Retry-After header (seconds), if any.
	retryAfter string
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %v", e.code, e.cause)
	}
	return e.code
}

func (e *apiError) Unwrap() error { return e.cause }

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error  string `json:"error"`
	Detail any    `json:"detail,omitempty"`
}

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, detail: fmt.Sprintf(format, args...)}
}

func notFound(what string) error {
	return &apiError{status: http.StatusNotFound, code: CodeNotFound, detail: what + " not found"}
}

// verdict is what an error becomes: a status, a body safe to show, the
// headers that go with it, and whether the error was unexpected (and so
// logged at error level).
type verdict struct {
	status     int
	body       errorBody
	header     http.Header
	unexpected bool
}

// classify is the one place that decides what a handler's error becomes.
// Nothing of err's text reaches the body unless err is an apiError, whose
// detail was written to be shown.
func classify(err error) verdict {
	var (
		ae        *apiError
		he        *echo.HTTPError
		scopeErr  interface{ MissingScopes() []string }
		stateErr  interface{ GrantState() (string, string) }
		temporary interface{ Temporary() bool }
	)
	v := verdict{
		status: http.StatusInternalServerError,
		body:   errorBody{Error: CodeInternal, Detail: "riscd failed; the log has the cause"},
		header: http.Header{},
	}
	switch {
	case errors.As(err, &ae):
		v.body, v.status = errorBody{Error: ae.code, Detail: ae.detail}, ae.status
		if ae.challenge != "" {
			v.header.Set("WWW-Authenticate", ae.challenge)
		}
		if ae.retryAfter != "" {
			v.header.Set("Retry-After", ae.retryAfter)
		}
	case errors.As(err, &scopeErr):
		missing := slices.Clone(scopeErr.MissingScopes())
		if missing == nil {
			missing = []string{}
		}
		v.body = errorBody{Error: CodeMissingScopes, Detail: map[string][]string{"missing_scopes": missing}}
		v.status = http.StatusForbidden
	case errors.As(err, &stateErr):
		state, reason := stateErr.GrantState()
		v.body = errorBody{Error: CodeGrantUnavailable, Detail: map[string]string{"state": state, "reason": reason}}
		v.status = http.StatusConflict
	case errors.Is(err, store.ErrNotFound):
		v.body, v.status = errorBody{Error: CodeNotFound, Detail: "not found"}, http.StatusNotFound
	case errors.Is(err, store.ErrInvalid):
		v.body, v.status = errorBody{Error: CodeBadRequest, Detail: "invalid argument (a malformed cursor?)"}, http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, store.ErrClosed):
		v.body, v.status = errorBody{Error: CodeUnavailable, Detail: "the request could not finish in time or riscd is stopping; retry"}, http.StatusServiceUnavailable
		v.header.Set("Retry-After", "1")
	// context.DeadlineExceeded is Temporary too: it is matched above.
	case errors.As(err, &temporary) && temporary.Temporary():
		v.body, v.status = errorBody{Error: CodeUpstreamUnavailable, Detail: "the token endpoint failed; retry later"}, http.StatusServiceUnavailable
		v.header.Set("Retry-After", "5")
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

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
