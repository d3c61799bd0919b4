package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// Sentinels for Google's error answers and for bad input; an *Error
// matches exactly one of the answer sentinels with errors.Is.
var (
	// ErrInvalidKey: New was given something other than a service account
	// JSON key.
	ErrInvalidKey = errors.New("invalid service account key")
	// ErrInvalidConfig: NewChecker was given a config it cannot run with.
	ErrInvalidConfig = errors.New("invalid checker config")

	// ErrBadRequest: 400, the request lacks a field or cannot be parsed.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized: 401, Google refused the service account's JWT.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotHTTPS: 403, the delivery URL is not HTTPS.
	ErrNotHTTPS = errors.New("delivery URL not HTTPS")
	// ErrDomainNotAuthorized: 403, the delivery URL is not on one of the
	// project's authorized domains.
	ErrDomainNotAuthorized = errors.New("delivery URL not on an authorized domain")
	// ErrNotServiceAccount: 403, the caller is not a service account.
	ErrNotServiceAccount = errors.New("caller not a service account")
	// ErrMissingRole: 403, the service account lacks roles/riscconfigs.admin.
	ErrMissingRole = errors.New("missing RISC Configuration Admin role")
	// ErrNoOAuthClient: 403, the project has no OAuth client.
	ErrNoOAuthClient = errors.New("project has no OAuth client")
	// ErrProjectNotFound: 403, the service account's project is not found.
	ErrProjectNotFound = errors.New("project not found")
	// ErrFirebaseManaged: 403, Firebase manages the project's stream.
	ErrFirebaseManaged = errors.New("stream managed by Firebase")
	// ErrUnsupportedStatus: 403, a status other than enabled or disabled.
	ErrUnsupportedStatus = errors.New("unsupported status")
	// ErrAPIDisabled: 403, the RISC API is not enabled in the project.
	ErrAPIDisabled = errors.New("RISC API not enabled")
	// ErrPermissionDenied: another 403.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNoStream: 404, the project has no stream yet.
	ErrNoStream = errors.New("no stream")
	// ErrUnavailable: 5xx or another status; retrying later may help.
	ErrUnavailable = errors.New("API unavailable")
)

// Error is an error answer of Google's management API. Its Error method
// says what to do; it never holds a key or a token.
type Error struct {
	// HTTPStatus is the answer's HTTP status.
	HTTPStatus int
	// Status is Google's status word ("PERMISSION_DENIED"), when given.
	Status string
	// Message is Google's message, clipped to 300 printable characters.
	Message string
	// Hint is the action to take, as one sentence.
	Hint string

	kind error
}

// Error returns the hint followed by Google's answer.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Hint)
	fmt.Fprintf(&b, " (Google answered %d", e.HTTPStatus)
	if e.Status != "" {
		b.WriteString(" " + e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	b.WriteString(")")
	return b.String()
}

// Is matches the sentinel of the answer's case (ErrNoStream, ...).
func (e *Error) Is(target error) bool { return target == e.kind }

// googleError is the error body of Google's JSON APIs.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// errorCase is one of Google's documented answers: matched by status and a
// piece of its message, with the sentinel and the hint it gets.
type errorCase struct {
	status int
	match  string // lower-case piece of the message; "" matches any
	kind   error
	hint   string
}

// errorCases are checked in order; the first that matches wins.
func errorCases() []errorCase {
	return []errorCase{
		{http.StatusBadRequest, "", ErrBadRequest,
			"Google refused the request as malformed or missing a field; riscd may be out of date with Google's API"},
		{http.StatusUnauthorized, "", ErrUnauthorized,
			"Google refused the service account's credentials: check that risc.service_account_file holds a current key of the service account (a key deleted in the Google Cloud console stops working) and that this machine's clock is right"},
		{http.StatusForbidden, "https url", ErrNotHTTPS,
			"the delivery endpoint must be an HTTPS URL: set public_url to the https:// address Google reaches riscd at"},
		{http.StatusForbidden, "project's domains", ErrDomainNotAuthorized,
			"the delivery endpoint must be HTTPS on one of the project's authorized domains (Google Cloud console > APIs & Services > OAuth consent screen)"},
		{http.StatusForbidden, "permission to access your risc configuration", ErrMissingRole,
			"the service account needs the RISC Configuration Admin role (roles/riscconfigs.admin): grant it in Google Cloud console > IAM & Admin > IAM"},
		{http.StatusForbidden, "called by a service account", ErrNotServiceAccount,
			"the stream API accepts only a service account: risc.service_account_file must be a service account's JSON key (Google Cloud console > IAM & Admin > Service Accounts > Keys)"},
		{http.StatusForbidden, "oauth client", ErrNoOAuthClient,
			"the project has no OAuth client: create the web client in the same Google Cloud project as the service account (APIs & Services > Credentials)"},
		{http.StatusForbidden, "project could not be found", ErrProjectNotFound,
			"Google cannot find the service account's project: the key may belong to a deleted project, or to another project than the OAuth client"},
		{http.StatusForbidden, "spec-compliant delivery method", ErrFirebaseManaged,
			"Firebase manages this project's stream because Google Sign-In is enabled in Firebase Authentication: disable it there, wait an hour and try again"},
		{http.StatusForbidden, "status", ErrUnsupportedStatus,
			"Google accepts only the stream statuses enabled and disabled"},
		{http.StatusForbidden, "disabled", ErrAPIDisabled,
			"the RISC API is not enabled in the project: enable risc.googleapis.com in Google Cloud console > APIs & Services > Library"},
		{http.StatusForbidden, "", ErrPermissionDenied,
			"Google denied the call: check that the RISC API is enabled in the project and that the service account has the RISC Configuration Admin role (roles/riscconfigs.admin)"},
		{http.StatusNotFound, "", ErrNoStream,
			"no stream yet: run riscd stream update first"},
	}
}

// newError classifies an error answer.
func newError(status int, body []byte) *Error {
	e := &Error{HTTPStatus: status}
	var g googleError
	if json.Unmarshal(body, &g) == nil {
		e.Status, e.Message = clip(g.Error.Status, 40), clip(g.Error.Message, 300)
	}
	msg := strings.ToLower(e.Message)
	for _, c := range errorCases() {
		if c.status == status && strings.Contains(msg, c.match) {
			e.kind, e.Hint = c.kind, c.hint
			return e
		}
	}
	e.kind = ErrUnavailable
	e.Hint = fmt.Sprintf("Google's RISC API failed with HTTP %d: try again later", status)
	return e
}

// clip keeps the first n printable characters of s.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}
