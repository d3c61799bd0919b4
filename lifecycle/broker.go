package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/oauthclient"
)

// tokenMargin: an access token expiring within this is refreshed before it
// is handed out.
const tokenMargin = time.Minute

// broker is the token broker's state: the shared refreshes, the per-grant
// backoff after failures, and the refresher's schedule.
type broker struct {
	oauth   *oauth2.Config // nil when refresh is not configured
	flight  singleflight.Group
	sched   *schedule
	running atomic.Bool // RunRefresher

	mu      sync.Mutex
	failing map[string]*failure // grant ID -> its last refresh failure
}

// failure is a grant's run of failed refreshes.
type failure struct {
	n   int
	err *UpstreamError // err.RetryAt ends the backoff
}

func newBroker(cfg Config) *broker {
	b := &broker{sched: newSchedule(cfg.RefreshLeadTime, cfg.RecentUseWindow, cfg.TokenURL != ""), failing: map[string]*failure{}}
	if cfg.TokenURL != "" {
		b.oauth = &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
			// As at the revocation endpoint (RFC 7009 §2.1).
			Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: oauthclient.AuthStyle},
		}
	}
	return b
}

// Token returns an access token of sub's newest active grant whose scopes
// include every one of scopes (none asked: any active grant), for an app
// through the companion API. The stored token is returned while it is valid
// for more than a minute; otherwise it is refreshed first, one upstream
// refresh per grant however many callers wait for it, and the new token is
// stored before it is returned. When the refresh fails for a reason other
// than the grant's death and the stored token has not yet expired, the
// stored token is returned. It never returns a refresh token. Each call
// counts as a use of the grant (Grant.LastUsedAt, written at most once a
// minute per grant by RunRefresher) and keeps it on RunRefresher's schedule.
//
// Errors:
//   - riscd.ErrNotFound (wrapped): riscd holds no grant for sub;
//   - *ScopeError: sub has an active grant but none covers scopes;
//   - *StateError: the grant is held, revoked or needs re-authentication,
//     or the account must consent again (also after the token endpoint
//     answered invalid_grant, which revokes the grant in this call);
//   - *UpstreamError: the token endpoint failed and the stored token has
//     expired (Temporary reports whether retrying may help); during the
//     backoff that follows a failure, no new upstream call is made;
//   - ErrNoRefresh (wrapped): the token expired and Config has no token
//     endpoint;
//   - ctx's error (wrapped) when ctx ends while a refresh is awaited (the
//     refresh itself goes on, bounded by Config.RefreshTimeout);
//   - a store failure.
//
// No error text holds a token.
func (l *Lifecycle) Token(ctx context.Context, sub string, scopes []string) (Token, error) {
	acct, grants, err := l.subject(ctx, sub)
	if err != nil {
		return Token{}, err
	}
	g, err := pickGrant(acct, grants, scopes)
	if err != nil {
		return Token{}, err
	}
	if g, _, err = l.usable(ctx, g, ""); err != nil {
		return Token{}, err
	}
	typ := g.TokenType
	if typ == "" {
		typ = "Bearer"
	}
	return Token{AccessToken: g.AccessToken, TokenType: typ, Expiry: g.Expiry, Scopes: slices.Clone(g.Scopes), GrantID: g.ID}, nil
}

// GrantToken returns an access token of the grant grantID for riscd's own
// API calls (flowweb's feature calls), on the terms of Token: the stored
// token while it is valid for more than a minute, else a refreshed one
// (shared, stored first). stale is a token an API has just refused: when
// the grant still holds it, it is refreshed whatever its expiry says.
// refreshed reports whether the token returned differs from the one the
// grant held when the call began. Errors are Token's (riscd.ErrNotFound for
// an unknown grant), without *ScopeError.
func (l *Lifecycle) GrantToken(ctx context.Context, grantID string, stale riscd.Secret) (token riscd.Secret, refreshed bool, err error) {
	acct, g, err := l.grantOf(ctx, grantID)
	if err != nil {
		return "", false, err
	}
	if err := unusable(acct, g); err != nil {
		return "", false, err
	}
	g, refreshed, err = l.usable(ctx, g, stale)
	if err != nil {
		return "", false, err
	}
	return g.AccessToken, refreshed, nil
}

// subject reads sub's account (nil when riscd has none) and grants.
func (l *Lifecycle) subject(ctx context.Context, sub string) (*riscd.Account, []riscd.Grant, error) {
	var acct *riscd.Account
	var grants []riscd.Grant
	err := l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
		a, err := tx.Account(ctx, sub)
		switch {
		case err == nil:
			acct = &a
		case !errors.Is(err, riscd.ErrNotFound):
			return err
		}
		grants, err = tx.GrantsBySub(ctx, sub)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("lifecycle: token: read subject: %w", err)
	}
	return acct, grants, nil
}

// grantOf reads a grant and its account (nil when riscd has none).
func (l *Lifecycle) grantOf(ctx context.Context, id string) (*riscd.Account, riscd.Grant, error) {
	var acct *riscd.Account
	var g riscd.Grant
	err := l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
		var err error
		if g, err = tx.Grant(ctx, id); err != nil {
			return err
		}
		a, err := tx.Account(ctx, g.Sub)
		switch {
		case err == nil:
			acct = &a
		case !errors.Is(err, riscd.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return nil, riscd.Grant{}, fmt.Errorf("lifecycle: token: read grant: %w", err)
	}
	return acct, g, nil
}

// pickGrant chooses the grant that serves scopes from a subject's grants
// (oldest first): the newest active one covering them. When none does, the
// error says why.
func pickGrant(acct *riscd.Account, grants []riscd.Grant, scopes []string) (riscd.Grant, error) {
	if len(grants) == 0 {
		return riscd.Grant{}, fmt.Errorf("lifecycle: token: no grant for the subject: %w", riscd.ErrNotFound)
	}
	newest := grants[len(grants)-1]
	if err := accountBlocks(acct, newest); err != nil {
		return riscd.Grant{}, err
	}
	best, bestMissing := -1, []string(nil)
	for i := len(grants) - 1; i >= 0; i-- {
		g := grants[i]
		if g.Status != riscd.GrantActive {
			continue
		}
		missing := missingScopes(g.Scopes, scopes)
		if len(missing) == 0 {
			return g, nil
		}
		if best < 0 || len(missing) < len(bestMissing) {
			best, bestMissing = i, missing
		}
	}
	if best >= 0 {
		return riscd.Grant{}, &ScopeError{GrantID: grants[best].ID, Missing: bestMissing}
	}
	// No active grant: report the state of the newest grant covering the
	// scopes, else of the newest grant.
	for i := len(grants) - 1; i >= 0; i-- {
		if len(missingScopes(grants[i].Scopes, scopes)) == 0 {
			return riscd.Grant{}, stateOf(grants[i])
		}
	}
	return riscd.Grant{}, stateOf(newest)
}

// unusable says why g's tokens may not be served, or nil.
func unusable(acct *riscd.Account, g riscd.Grant) error {
	if err := accountBlocks(acct, g); err != nil {
		return err
	}
	if g.Status != riscd.GrantActive {
		return stateOf(g)
	}
	return nil
}

// accountBlocks reports an account-wide reason to serve nothing: a demand
// for a new consent, or a hold. g names the reason when it has one. The
// state reported is the one that decides what the app does: a grant that
// is revoked or needs re-authentication outranks a hold (the user must
// come back through consent whether or not the hold is released).
func accountBlocks(acct *riscd.Account, g riscd.Grant) error {
	switch {
	case acct == nil:
		return nil
	case acct.ReconsentRequired:
		return &StateError{GrantID: g.ID, State: StateReconsentRequired, Reason: reasonOr(g, riscd.GrantRevoked, StateReconsentRequired)}
	case acct.Held && (g.Status == riscd.GrantRevoked || g.Status == riscd.GrantReauthRequired):
		return stateOf(g)
	case acct.Held:
		return &StateError{GrantID: g.ID, State: StateHeld, Reason: reasonOr(g, riscd.GrantHeld, "account held")}
	}
	return nil
}

// stateOf is the StateError of a grant that is not active.
func stateOf(g riscd.Grant) *StateError {
	state := StateRevoked
	switch g.Status {
	case riscd.GrantHeld:
		state = StateHeld
	case riscd.GrantReauthRequired:
		state = StateReauthRequired
	}
	return &StateError{GrantID: g.ID, State: state, Reason: reasonOr(g, g.Status, string(g.Status))}
}

// reasonOr is g's Reason when g has status s, else def.
func reasonOr(g riscd.Grant, s riscd.GrantStatus, def string) string {
	if g.Status == s && g.Reason != "" {
		return g.Reason
	}
	return def
}

// missingScopes lists the scopes of want that have lacks, in want's order.
func missingScopes(have, want []string) []string {
	var missing []string
	for _, s := range want {
		if !slices.Contains(have, s) && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// fresh reports whether g's access token is valid beyond margin at now. An
// unknown expiry counts as valid.
func fresh(g riscd.Grant, now time.Time, margin time.Duration) bool {
	return !g.AccessToken.IsZero() && (g.Expiry.IsZero() || now.Add(margin).Before(g.Expiry))
}

// usable returns g with an access token riscd may hand out: g's own while
// it is fresh and not stale, else a refreshed one. When the refresh fails
// (the endpoint, or no way to refresh) and g's token has not expired and is
// not stale, g is returned as is. refreshed reports whether the token
// changed.
func (l *Lifecycle) usable(ctx context.Context, g riscd.Grant, stale riscd.Secret) (riscd.Grant, bool, error) {
	now := l.now()
	isStale := !stale.IsZero() && g.AccessToken == stale
	if !isStale && fresh(g, now, tokenMargin) {
		l.tokens.sched.used(g, now)
		return g, false, nil
	}
	got, err := l.refresh(ctx, g.ID, refreshReq{why: whyUse, stale: stale}, true)
	if err != nil {
		var ue *UpstreamError
		var se *StateError
		fallback := errors.As(err, &ue) || errors.Is(err, ErrNoRefresh) ||
			(errors.As(err, &se) && se.Reason == ReasonNoRefreshToken)
		if !fallback || isStale || !fresh(g, l.now(), 0) {
			return riscd.Grant{}, false, err
		}
		got = g
	}
	l.tokens.sched.used(got, l.now())
	return got, got.AccessToken != g.AccessToken, nil
}
