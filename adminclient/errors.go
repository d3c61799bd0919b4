package adminclient

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinels. ErrInvalidConfig, ErrUnreachable, ErrUnexpectedAnswer and
// ErrInvalidArgument are wrapped by the errors New and the methods return;
// the others match any *APIError of the same code (errors.Is).
var (
	// ErrInvalidConfig: New cannot use the Config.
	ErrInvalidConfig = errors.New("invalid admin client config")
	// ErrUnreachable: the request got no HTTP answer.
	ErrUnreachable = errors.New("admin API unreachable")
	// ErrUnexpectedAnswer: a 2xx answer that is not the promised JSON, or
	// paging that does not advance.
	ErrUnexpectedAnswer = errors.New("unexpected admin API answer")
	// ErrInvalidArgument: a method refused its argument (an empty grant id
	// or subject, event id 0) and sent nothing.
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrUnauthorized: 401, the token is missing or wrong.
	ErrUnauthorized = &APIError{Code: CodeUnauthorized}
	// ErrAdminDisabled: 503, riscd runs without an admin token.
	ErrAdminDisabled = &APIError{Code: CodeAdminDisabled}
	// ErrBadRequest: 400, riscd cannot use a parameter.
	ErrBadRequest = &APIError{Code: CodeBadRequest}
	// ErrNotFound: 404, no such grant, account or event.
	ErrNotFound = &APIError{Code: CodeNotFound}
	// ErrNotParked: 409, only a parked event can be retried.
	ErrNotParked = &APIError{Code: CodeNotParked}
	// ErrNotFailed: 409, only a failed or pending outbox job can be retried
	// (the job is done).
	ErrNotFailed = &APIError{Code: CodeNotFailed}
	// ErrNotImplemented: 501, operator actions are not wired in this riscd.
	ErrNotImplemented = &APIError{Code: CodeNotImplemented}
	// ErrUnavailable: 503, riscd is stopping or the request timed out there.
	ErrUnavailable = &APIError{Code: CodeUnavailable}
)

// The admin API's error codes (the "error" member of an error answer).
const (
	CodeUnauthorized   = "unauthorized"
	CodeAdminDisabled  = "admin_disabled"
	CodeBadRequest     = "bad_request"
	CodeNotFound       = "not_found"
	CodeNotParked      = "not_parked"
	CodeNotFailed      = "not_failed"
	CodeNotImplemented = "not_implemented"
	CodeUnavailable    = "unavailable"
	CodeInternal       = "internal"
)

// APIError is an answer other than 2xx. Detail is the answer's sentence for
// people (an object's compact JSON when the API sent one); Code is "" when
// the answer was not an admin API error answer, and then Detail describes
// what came instead.
type APIError struct {
	Method     string // of the request
	Path       string // of the request, without the query
	StatusCode int
	Code       string
	Detail     string
	// RequestID is riscd's X-Request-Id of the answer: its log line for
	// the request carries the same id.
	RequestID string
	// Location is the target of a redirect (the Client never follows one).
	Location string
}

// Error is one line: "GET /admin/grants/x: grant not found (HTTP 404 not_found)".
func (e *APIError) Error() string {
	what := e.Code
	if what == "" {
		what = "not an admin API answer"
	}
	msg := e.Detail
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	s := fmt.Sprintf("%s %s: %s (HTTP %d %s", e.Method, e.Path, msg, e.StatusCode, what)
	if e.RequestID != "" {
		s += ", request id " + e.RequestID
	}
	return s + ")"
}

// Is reports whether target is an *APIError with the same non-empty Code,
// so errors.Is(err, ErrNotFound) matches any not_found answer.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code != "" && t.Code == e.Code
}
