package flowweb

import (
	"context"
	"errors"
	"fmt"

	"github.com/riscd/riscd"
)

// Outcomes of getting a usable access token.
var (
	// errGrantDead: the grant can no longer be used (revoked, its refresh
	// token refused with invalid_grant, or the account must consent again).
	errGrantDead = errors.New("grant is dead")
	// errReauth: Google demands re-authentication (invalid_grant with
	// error_subtype invalid_rapt); the grant is now reauth_required.
	errReauth = errors.New("re-authentication required")
	// errNotActive: the grant changed status meanwhile (an event, a revoke).
	errNotActive = errors.New("grant is not active")
	// errRefreshFailed: the token endpoint could not be reached or failed;
	// trying later may work.
	errRefreshFailed = errors.New("token refresh failed")
)

// usableToken returns g with an access token riscd may use, from the grants
// service: the stored one unless it is due for refresh or is stale (the
// token an API just refused), else a refreshed one. refreshed tells whether
// the token differs from the one the grant held. Its errors map the
// service's onto flowweb's outcomes: a grant that can no longer be used
// asks for a new consent, a temporary failure asks to try again.
func (h *Handler) usableToken(ctx context.Context, g riscd.Grant, stale riscd.Secret) (riscd.Grant, bool, error) {
	tok, refreshed, err := h.grants.GrantToken(ctx, g.ID, stale)
	if err == nil {
		g.AccessToken = tok
		return g, refreshed, nil
	}
	var (
		state     interface{ GrantState() (string, string) }
		temporary interface{ Temporary() bool }
	)
	switch {
	case errors.As(err, &state):
		switch s, _ := state.GrantState(); s {
		case string(riscd.GrantReauthRequired):
			return riscd.Grant{}, false, fmt.Errorf("%w: %w", errReauth, err)
		case string(riscd.GrantHeld):
			return riscd.Grant{}, false, fmt.Errorf("%w: %w", errNotActive, err)
		}
		return riscd.Grant{}, false, fmt.Errorf("%w: %w", errGrantDead, err)
	case errors.Is(err, riscd.ErrNotFound):
		return riscd.Grant{}, false, fmt.Errorf("%w: %w", errNotActive, err)
	case errors.As(err, &temporary) && temporary.Temporary():
		h.log.WarnContext(ctx, "flowweb: token source failed", "grant", g.ID, "err", err)
		return riscd.Grant{}, false, fmt.Errorf("%w: %w", errRefreshFailed, err)
	}
	return riscd.Grant{}, false, fmt.Errorf("token source: %w", err)
}
