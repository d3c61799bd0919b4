package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/riscd/riscd"
)

// ReasonNoRefreshToken is package riscd's, under its name in this package.
const ReasonNoRefreshToken = riscd.ReasonNoRefreshToken

// refreshWhy says who asks for a refresh, which decides whether one is due.
type refreshWhy int

const (
	whyUse       refreshWhy = iota // a caller needs a token valid beyond tokenMargin
	whyAhead                       // the refresher: the token expires within the lead time
	whyKeepAlive                   // keep-alive: no refresh for KeepAliveInterval
)

// refreshReq is one request for a grant's refresh.
type refreshReq struct {
	why   refreshWhy
	stale riscd.Secret // whyUse: a token an API refused
}

// due reports whether g needs the refresh req asks for at now.
func (l *Lifecycle) due(req refreshReq, g riscd.Grant, now time.Time) bool {
	switch req.why {
	case whyAhead:
		return !fresh(g, now, l.cfg.RefreshLeadTime+maxJitter(l.cfg.RefreshLeadTime))
	case whyKeepAlive:
		return now.Sub(lastRefresh(g)) >= l.cfg.KeepAliveInterval
	}
	return !fresh(g, now, tokenMargin) || (!req.stale.IsZero() && g.AccessToken == req.stale)
}

// lastRefresh is when g last got tokens from Google: its last refresh, else
// its creation (the consent).
func lastRefresh(g riscd.Grant) time.Time {
	if g.RefreshedAt.After(g.CreatedAt) {
		return g.RefreshedAt
	}
	return g.CreatedAt
}

// refresh refreshes grant id if req finds it due, sharing one upstream
// refresh among all concurrent callers for the grant (whatever their
// reasons) in this process and, through the store's lock, with every
// replica sharing the store, and returns the grant as stored afterwards. detach lets the
// refresh outlive ctx (bounded by RefreshTimeout) so that one caller
// leaving does not fail it for the others; ctx's end still releases the
// caller. A caller that joined a refresh started for another reason, or
// one cancelled under it, tries once more.
func (l *Lifecycle) refresh(ctx context.Context, id string, req refreshReq, detach bool) (riscd.Grant, error) {
	for attempt := 0; ; attempt++ {
		ch := l.tokens.flight.DoChan(id, func() (any, error) {
			fctx := ctx
			if detach {
				fctx = context.WithoutCancel(ctx)
			}
			fctx, cancel := context.WithTimeout(fctx, l.cfg.RefreshTimeout)
			defer cancel()
			return l.refreshGrant(fctx, id, req)
		})
		var res singleflight.Result
		select {
		case res = <-ch:
		case <-ctx.Done():
			return riscd.Grant{}, fmt.Errorf("lifecycle: token: waiting for a refresh: %w", ctx.Err())
		}
		if attempt == 0 && ctx.Err() == nil {
			cancelled := errors.Is(res.Err, context.Canceled)
			short := res.Err == nil && req.why == whyUse && l.due(req, res.Val.(riscd.Grant), l.now())
			if cancelled || short {
				continue
			}
		}
		if res.Err != nil {
			return riscd.Grant{}, res.Err
		}
		return res.Val.(riscd.Grant), nil
	}
}

// refreshGrant reads grant id and, if req finds it due, refreshes it
// upstream and stores the new token, returning the grant as stored.
func (l *Lifecycle) refreshGrant(ctx context.Context, id string, req refreshReq) (riscd.Grant, error) {
	acct, g, err := l.grantOf(ctx, id)
	if err != nil {
		return riscd.Grant{}, err
	}
	if err := unusable(acct, g); err != nil {
		l.tokens.sched.drop(id)
		return riscd.Grant{}, err
	}
	now := l.now()
	if !l.due(req, g, now) {
		return g, nil
	}
	if g.RefreshToken.IsZero() {
		l.tokens.sched.drop(id)
		return riscd.Grant{}, &StateError{GrantID: id, State: StateReconsentRequired, Reason: ReasonNoRefreshToken}
	}
	if ue := l.tokens.backingOff(id, now); ue != nil {
		return riscd.Grant{}, ue
	}
	if l.tokens.oauth == nil {
		return riscd.Grant{}, fmt.Errorf("lifecycle: token: grant %s: %w", id, ErrNoRefresh)
	}
	// One upstream refresh per grant at a time across every replica
	// sharing the store (the single flight covers only this one): a refresh
	// token may be rotated by a refresh, and two at once would race.
	release, err := l.cfg.Store.Lock(ctx, grantRefreshLock(id))
	if err != nil {
		return riscd.Grant{}, fmt.Errorf("lifecycle: token: grant %s: waiting for the refresh lock: %w", id, err)
	}
	defer release() // once the new token is stored
	// Another replica may have refreshed the grant (or found it dead) while
	// this one waited: read it again, and serve what it stored if that will
	// do.
	if acct, g, err = l.grantOf(ctx, id); err != nil {
		return riscd.Grant{}, err
	}
	if err := unusable(acct, g); err != nil {
		l.tokens.sched.drop(id)
		return riscd.Grant{}, err
	}
	if now = l.now(); !l.due(req, g, now) {
		return g, nil
	}
	if g.RefreshToken.IsZero() {
		l.tokens.sched.drop(id)
		return riscd.Grant{}, &StateError{GrantID: id, State: StateReconsentRequired, Reason: ReasonNoRefreshToken}
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, l.cfg.HTTPClient)
	tok, err := l.tokens.oauth.TokenSource(octx, &oauth2.Token{RefreshToken: g.RefreshToken.Reveal()}).Token()
	// What Google answered is recorded even when ctx ends now: a rotated
	// refresh token would otherwise be lost, a dead one kept.
	if err != nil {
		return l.refreshFailed(ctx, g, err)
	}
	l.observeRefresh(RefreshOK)
	return l.saveRefresh(context.WithoutCancel(ctx), g, tok, req)
}

// grantRefreshLock names the store lock held around a grant's upstream
// refresh.
func grantRefreshLock(id string) string { return "grant-refresh:" + id }

// saveRefresh stores a refreshed access token (and a new refresh token, if
// one came) on the grant, unless the grant changed status meanwhile, and
// returns the grant as stored.
func (l *Lifecycle) saveRefresh(ctx context.Context, used riscd.Grant, tok *oauth2.Token, req refreshReq) (riscd.Grant, error) {
	now := l.now()
	expiry := tok.Expiry
	if tok.ExpiresIn > 0 {
		expiry = now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	var saved riscd.Grant
	var changed error
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		changed = nil
		g, err := tx.Grant(ctx, used.ID)
		if err != nil {
			return err
		}
		if g.Status != riscd.GrantActive {
			changed = stateOf(g)
			return nil
		}
		if g.RefreshToken != used.RefreshToken {
			// A new consent replaced the tokens meanwhile: they are newer.
			saved = g
			return nil
		}
		g.AccessToken, g.Expiry, g.RefreshedAt = riscd.Secret(tok.AccessToken), expiry, now
		if tok.TokenType != "" {
			g.TokenType = tok.TokenType
		}
		if tok.RefreshToken != "" {
			g.RefreshToken = riscd.Secret(tok.RefreshToken) // rotated (x/oauth2 keeps the old one otherwise)
		}
		if req.why == whyUse {
			g.LastUsedAt = now
		}
		if err := tx.PutGrant(ctx, g); err != nil {
			return err
		}
		saved = g
		return nil
	})
	if err != nil {
		return riscd.Grant{}, fmt.Errorf("lifecycle: token: save refreshed token of grant %s: %w", used.ID, err)
	}
	if changed != nil {
		l.tokens.sched.drop(used.ID)
		return riscd.Grant{}, changed
	}
	l.tokens.succeeded(used.ID)
	l.tokens.sched.refreshed(saved.ID, saved.Expiry)
	l.log.DebugContext(ctx, "access token refreshed", "grant", saved.ID, "expiry", saved.Expiry)
	return saved, nil
}
