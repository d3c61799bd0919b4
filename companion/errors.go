package companion

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
)

// Error codes of the companion API, beside the admin package's Code*
// constants (unauthorized, bad_request, not_found, unavailable, internal...)
// that its answers share.
const (
	CodeCompanionDisabled   = "companion_disabled"   // 503: neither an app nor an admin token configured
	CodeNoGrant             = "no_grant"             // 404: /v1/token: riscd holds no grant for the subject
	CodeMissingScopes       = "missing_scopes"       // 403: /v1/token: detail {"missing_scopes": [...]}
	CodeGrantUnavailable    = "grant_unavailable"    // 409: /v1/token: detail {"state": ..., "reason": ...}
	CodeUpstreamUnavailable = "upstream_unavailable" // 503: the token endpoint failed; retry later
)

// brokerError maps a TokenBroker error to its answer, as TokenBroker
// documents: the refusals become admin.Error values; the request's end,
// a store that stops and riscd's own failures pass through to the
// internal listener's one error mapping (503 unavailable, 500 internal).
func brokerError(err error) error {
	var (
		scopeErr  interface{ MissingScopes() []string }
		stateErr  interface{ GrantState() (string, string) }
		temporary interface{ Temporary() bool }
	)
	switch {
	case errors.Is(err, riscd.ErrNotFound):
		return &admin.Error{Status: http.StatusNotFound, Code: CodeNoGrant, Detail: "riscd holds no grant for this subject", Cause: err}
	case errors.As(err, &scopeErr):
		missing := slices.Clone(scopeErr.MissingScopes())
		if missing == nil {
			missing = []string{}
		}
		return &admin.Error{Status: http.StatusForbidden, Code: CodeMissingScopes, Detail: map[string][]string{"missing_scopes": missing}, Cause: err}
	case errors.As(err, &stateErr):
		state, reason := stateErr.GrantState()
		return &admin.Error{Status: http.StatusConflict, Code: CodeGrantUnavailable, Detail: map[string]string{"state": state, "reason": reason}, Cause: err}
	case errors.Is(err, riscd.ErrInvalid), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, riscd.ErrClosed):
		// context.DeadlineExceeded is Temporary too: it stays 503 unavailable.
		return err
	case errors.As(err, &temporary) && temporary.Temporary():
		return &admin.Error{Status: http.StatusServiceUnavailable, Code: CodeUpstreamUnavailable, Detail: "the token endpoint failed; retry later", RetryAfter: "5", Cause: err}
	}
	return err
}
