package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes of riscd's JSON error answers ({"error": code, "detail": ...})
// that this package turns into typed errors.
const (
	CodeNoGrant             = "no_grant"             // 404 from POST /v1/token
	CodeMissingScopes       = "missing_scopes"       // 403 from POST /v1/token
	CodeGrantUnavailable    = "grant_unavailable"    // 409 from POST /v1/token
	CodeUpstreamUnavailable = "upstream_unavailable" // 503: Google's token endpoint failed
	CodeNotFound            = "not_found"            // 404 of any other route
)

// Grant states riscd reports in an *UnavailableError (and in
// GrantSummary.Status beside "active"). They are the values of riscd's
// State* constants.
const (
	StateHeld              = "held"               // held after an account event until released; tokens kept
	StateRevoked           = "revoked"            // tokens discarded; the user must consent again
	StateReconsentRequired = "reconsent_required" // the account must consent again
	StateReauthRequired    = "reauth_required"    // Google demands re-authentication (invalid_rapt)
)

var (
	// ErrNoGrant: riscd holds no grant for the user (404 no_grant). The user
	// has to consent first (see Connect).
	ErrNoGrant = errors.New("riscd client: no grant for this user")
	// ErrMissingScopes is matched (errors.Is) by every *ScopeError.
	ErrMissingScopes = errors.New("riscd client: the grant lacks scopes")
	// ErrGrantUnavailable is matched (errors.Is) by every *UnavailableError.
	ErrGrantUnavailable = errors.New("riscd client: the grant is unavailable")
	// ErrNotFound: riscd has never seen the subject, or knows no such
	// connect session (404 not_found).
	ErrNotFound = errors.New("riscd client: not found")
	// ErrUnauthorized: riscd refused the app token (401).
	ErrUnauthorized = errors.New("riscd client: the app token was refused")
)

// ScopeError is POST /v1/token's 403 missing_scopes: the user has an active
// grant, but none covers the scopes asked. The user has to consent to more.
// errors.Is(err, ErrMissingScopes) holds for it.
type ScopeError struct {
	// Missing are the scopes missing from the grant that covers the most.
	Missing []string
}

func (e *ScopeError) Error() string {
	return "riscd client: the grant lacks scopes " + strings.Join(e.Missing, " ")
}

// Is matches ErrMissingScopes.
func (e *ScopeError) Is(target error) bool { return target == ErrMissingScopes }

// UnavailableError is POST /v1/token's 409 grant_unavailable: the grant that
// would serve cannot be used. errors.Is(err, ErrGrantUnavailable) holds for
// it.
type UnavailableError struct {
	// State is StateHeld, StateRevoked, StateReconsentRequired or
	// StateReauthRequired (or a state a later riscd adds).
	State string
	// Reason is the event or cause behind it, e.g. "hijacking",
	// "token-revoked", "invalid_rapt".
	Reason string
}

func (e *UnavailableError) Error() string {
	if e.Reason == "" {
		return "riscd client: the grant is " + e.State
	}
	return fmt.Sprintf("riscd client: the grant is %s (%s)", e.State, e.Reason)
}

// Is matches ErrGrantUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrGrantUnavailable }

// APIError is any other refusal of riscd: its HTTP status and error code.
// Temporary reports the answers worth retrying (503, 429, 502, 504);
// RetryAfter is riscd's Retry-After, if any. errors.Is matches ErrNoGrant,
// ErrNotFound and ErrUnauthorized by status and code.
type APIError struct {
	Status     int
	Code       string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("riscd client: HTTP %d", e.Status)
	}
	return fmt.Sprintf("riscd client: HTTP %d (%s)", e.Status, e.Code)
}

// Is matches the sentinels of its status and code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNoGrant:
		return e.Status == http.StatusNotFound && e.Code == CodeNoGrant
	case ErrNotFound:
		return e.Status == http.StatusNotFound && e.Code != CodeNoGrant
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// Temporary reports whether retrying later may succeed.
func (e *APIError) Temporary() bool {
	switch e.Status {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// errorAnswer is riscd's JSON error answer.
type errorAnswer struct {
	Error  string          `json:"error"`
	Detail json.RawMessage `json:"detail"`
}

// answerError turns a non-2xx answer into its typed error. The answer's
// detail text is never put in the error: only codes, scopes and states.
func answerError(resp *http.Response, body []byte) error {
	var a errorAnswer
	_ = json.Unmarshal(body, &a) // a body that is not riscd's JSON leaves the code empty
	switch {
	case resp.StatusCode == http.StatusForbidden && a.Error == CodeMissingScopes:
		var d struct {
			Missing []string `json:"missing_scopes"`
		}
		_ = json.Unmarshal(a.Detail, &d)
		return &ScopeError{Missing: d.Missing}
	case resp.StatusCode == http.StatusConflict && a.Error == CodeGrantUnavailable:
		var d struct {
			State  string `json:"state"`
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(a.Detail, &d)
		return &UnavailableError{State: d.State, Reason: d.Reason}
	}
	e := &APIError{Status: resp.StatusCode, Code: a.Error}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
