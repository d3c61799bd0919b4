package flowweb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/riscd/riscd/store"
)

// Outcomes of getting a usable access token.
var (
	// errGrantDead: the refresh token was refused with invalid_grant; the
	// grant is now revoked (reason invalid_grant) and its tokens discarded.
	errGrantDead = errors.New("grant is dead")
	// errReauth: Google demands re-authentication (invalid_grant with
	// error_subtype invalid_rapt); the grant is now reauth_required.
	errReauth = errors.New("re-authentication required")
	// errNoRefreshToken: the access token is used up and the grant has no
	// refresh token; only a new consent helps.
	errNoRefreshToken = errors.New("grant has no refresh token")
	// errNotActive: the grant changed status meanwhile (an event, a revoke).
	errNotActive = errors.New("grant is not active")
	// errRefreshFailed: the token endpoint could not be reached or failed;
	// trying later may work.
	errRefreshFailed = errors.New("token refresh failed")
)

// refreshMargin: an access token expiring within this is refreshed first.
// refreshTimeout bounds one refresh and its store writes.
const (
	refreshMargin  = time.Minute
	refreshTimeout = 30 * time.Second
)

// dueForRefresh reports whether g's access token is missing or expires
// within refreshMargin. An unknown expiry counts as valid.
func (h *Handler) dueForRefresh(g store.Grant) bool {
	return g.AccessToken.IsZero() || (!g.Expiry.IsZero() && !h.now().Add(refreshMargin).Before(g.Expiry))
}

// usableToken returns g with an access token riscd may use: the stored one
// unless it is due for refresh or is stale (the token an API just refused),
// else a refreshed one, persisted before it is returned. Concurrent calls
// for one grant share one refresh. refreshed tells whether this call's
// answer came from a refresh.
//
// With Config.Tokens set, the TokenSource decides instead (sourceToken).
func (h *Handler) usableToken(ctx context.Context, g store.Grant, stale store.Secret) (store.Grant, bool, error) {
	if h.cfg.Tokens != nil {
		return h.sourceToken(ctx, g, stale)
	}
	if stale.IsZero() && !h.dueForRefresh(g) {
		return g, false, nil
	}
	v, err, _ := h.refreshes.Do(g.ID, func() (any, error) {
		// The refresh serves every waiter: one browser going away must
		// not fail it for the others.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return h.refreshGrant(fctx, g.ID, stale)
	})
	if err != nil {
		return store.Grant{}, false, err
	}
	return v.(store.Grant), true, nil
}

// refreshGrant refreshes grant id unless another caller already did.
func (h *Handler) refreshGrant(ctx context.Context, id string, stale store.Secret) (store.Grant, error) {
	cur, err := h.store.Grant(ctx, id)
	if err != nil {
		return store.Grant{}, fmt.Errorf("read grant: %w", err)
	}
	if cur.Status != store.GrantActive {
		return store.Grant{}, errNotActive
	}
	if !h.dueForRefresh(cur) && (stale.IsZero() || cur.AccessToken != stale) {
		return cur, nil // refreshed meanwhile
	}
	if cur.RefreshToken.IsZero() {
		return store.Grant{}, errNoRefreshToken
	}
	used := cur.RefreshToken
	src := h.oauthConfig(nil).TokenSource(h.oauthContext(ctx), &oauth2.Token{RefreshToken: used.Reveal()})
	tok, err := src.Token()
	if err != nil {
		return store.Grant{}, h.refreshRefused(ctx, id, used, err)
	}
	now := h.now()
	return h.store.UpdateGrant(ctx, id, func(g store.Grant) (store.Grant, error) {
		if g.Status != store.GrantActive {
			return g, errNotActive
		}
		g.AccessToken, g.Expiry, g.RefreshedAt = store.Secret(tok.AccessToken), h.expiry(tok), now
		if tok.TokenType != "" {
			g.TokenType = tok.TokenType
		}
		if tok.RefreshToken != "" { // a rotating server replaced it
			g.RefreshToken = store.Secret(tok.RefreshToken)
		}
		if scope, _ := tok.Extra("scope").(string); scope != "" {
			g.Scopes = normScopes(scope)
		}
		return g, nil
	})
}

// refreshRefused classifies a failed refresh. invalid_grant marks the grant
// revoked (tokens discarded) or, with error_subtype invalid_rapt,
// reauth_required, with an audit entry, unless the grant's refresh token
// changed meanwhile.
func (h *Handler) refreshRefused(ctx context.Context, id string, used store.Secret, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		h.log.WarnContext(ctx, "flowweb: token refresh failed", "grant", id, "err", redactRetrieve(err))
		return fmt.Errorf("%w: %w", errRefreshFailed, redactRetrieve(err))
	}
	var body struct {
		Subtype string `json:"error_subtype"`
	}
	_ = json.Unmarshal(re.Body, &body)
	status, reason, outcome := store.GrantRevoked, "invalid_grant", errGrantDead
	if body.Subtype == "invalid_rapt" {
		status, reason, outcome = store.GrantReauthRequired, "invalid_rapt", errReauth
	}
	now := h.now()
	uerr := h.store.Update(ctx, func(tx *store.Tx) error {
		g, err := tx.Grant(id)
		if err != nil {
			return fmt.Errorf("read grant: %w", err)
		}
		if g.Status != store.GrantActive || g.RefreshToken != used {
			return errNotActive
		}
		g.Status, g.Reason, g.ChangedBy = status, reason, "refresh"
		if status == store.GrantRevoked {
			g.RefreshToken, g.AccessToken = "", ""
		}
		if err := tx.PutGrant(g); err != nil {
			return fmt.Errorf("put grant: %w", err)
		}
		_, err = tx.AppendAudit(store.AuditEntry{
			At: now, Sub: g.Sub, GrantIDs: []string{g.ID}, Action: "refresh", Actor: "user",
			Outcome: "grant " + string(status), Detail: "token endpoint answered " + reason,
		})
		return err
	})
	switch {
	case errors.Is(uerr, errNotActive):
		return errNotActive
	case uerr != nil:
		return fmt.Errorf("mark grant %s: %w", status, uerr)
	}
	h.log.InfoContext(ctx, "flowweb: refresh refused, grant marked", "grant", id, "status", string(status), "reason", reason)
	return outcome
}

// sourceToken gets g's access token from Config.Tokens and maps its errors
// onto flowweb's outcomes: a grant that can no longer be used asks for a new
// consent, a temporary failure asks to try again.
func (h *Handler) sourceToken(ctx context.Context, g store.Grant, stale store.Secret) (store.Grant, bool, error) {
	tok, refreshed, err := h.cfg.Tokens.GrantToken(ctx, g.ID, stale)
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
		case string(store.GrantReauthRequired):
			return store.Grant{}, false, fmt.Errorf("%w: %w", errReauth, err)
		case string(store.GrantHeld):
			return store.Grant{}, false, fmt.Errorf("%w: %w", errNotActive, err)
		}
		return store.Grant{}, false, fmt.Errorf("%w: %w", errGrantDead, err)
	case errors.Is(err, store.ErrNotFound):
		return store.Grant{}, false, fmt.Errorf("%w: %w", errNotActive, err)
	case errors.As(err, &temporary) && temporary.Temporary():
		h.log.WarnContext(ctx, "flowweb: token source failed", "grant", g.ID, "err", err)
		return store.Grant{}, false, fmt.Errorf("%w: %w", errRefreshFailed, err)
	}
	return store.Grant{}, false, fmt.Errorf("token source: %w", err)
}
