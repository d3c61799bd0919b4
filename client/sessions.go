package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Defaults of a SessionConfig.
const (
	DefaultSessionCacheTTL  = 30 * time.Second
	DefaultSessionCacheSize = 10000
)

// EndReason says why a SessionGuard ended a session.
type EndReason string

// Why a session ends; see the package doc for the rule.
const (
	EndPurged          EndReason = "purged"           // the Google account was deleted (riscd also says signin_disabled)
	EndSigninDisabled  EndReason = "signin_disabled"  // Google disabled the account
	EndHeld            EndReason = "held"             // the account or one of its grants is held
	EndSessionsRevoked EndReason = "sessions_revoked" // created at or before end_sessions_before
)

// ErrAppUserLookup is Check's error for an AppUser: riscd's
// GET /v1/subjects/{sub} looks accounts up by Google subject only, so the
// app names the session's user by the sub ConnectResult gave it.
var ErrAppUserLookup = errors.New("riscd client: subjects are looked up by Google sub, not by app user")

// SessionConfig is what a SessionGuard needs from the app.
type SessionConfig struct {
	// Session returns the user of the request's app session (client.Sub of
	// the Google subject) and when the session was created; ok false when
	// the request carries no session (the guard lets it through).
	// Required.
	Session func(r *http.Request) (who Who, created time.Time, ok bool)
	// End ends the app's session of r and writes the answer (e.g. clears
	// the cookie and redirects to sign-in); the guarded handler is not
	// called. Required.
	End func(w http.ResponseWriter, r *http.Request, why EndReason)
	// CacheTTL is how long an answer of riscd is reused for a subject,
	// unless a webhook about that subject comes first. Default
	// DefaultSessionCacheTTL; at most that long a session outlives an
	// event of which the app missed the webhook.
	CacheTTL time.Duration
	// CacheSize bounds the subjects cached. Default DefaultSessionCacheSize.
	CacheSize int
	// FailClosed answers 503 instead of serving the request while riscd
	// cannot be asked. Default false: the request is served.
	FailClosed bool
	// OnError, if set, is told every failure to ask riscd.
	OnError func(r *http.Request, err error)
}

// SessionGuard ends app sessions that riscd's account state condemns (see
// the package doc for the rule). Build it with Client.SessionGuard, wrap
// handlers with Middleware, and pass it to WebhookConfig.Sessions so that
// webhooks take effect at once. It is safe for concurrent use.
type SessionGuard struct {
	c     *Client
	cfg   SessionConfig
	cache *lru.Cache[string, cached]
	// signedOut is, per subject, the latest end_sessions_before a webhook
	// stated.
	signedOut *lru.Cache[string, time.Time]
	flights   singleflight.Group

	mu  sync.Mutex
	gen uint64 // bumped by each webhook
}

// cached is one answer of GET /v1/subjects/{sub}; s is nil for a 404.
type cached struct {
	s       *Subject
	fetched time.Time
}

// SessionGuard returns a SessionGuard asking this Client. Errors: cfg
// lacks Session or End.
func (c *Client) SessionGuard(cfg SessionConfig) (*SessionGuard, error) {
	if cfg.Session == nil || cfg.End == nil {
		return nil, errors.New("riscd client: session guard: Session and End are required")
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultSessionCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultSessionCacheSize
	}
	cache, err := lru.New[string, cached](cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	signedOut, err := lru.New[string, time.Time](cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	return &SessionGuard{c: c, cfg: cfg, cache: cache, signedOut: signedOut}, nil
}

// Middleware ends, through SessionConfig.End, the sessions Check condemns
// and serves the others with next. When riscd cannot be asked it tells
// OnError and serves the request, or answers 503 with FailClosed.
func (g *SessionGuard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, created, ok := g.cfg.Session(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		why, err := g.Check(r.Context(), who, created)
		if err != nil {
			if g.cfg.OnError != nil {
				g.cfg.OnError(r, err)
			}
			if g.cfg.FailClosed {
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if why != "" {
			g.cfg.End(w, r, why)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check returns why the session of who created at created must end, or ""
// when it stands. It asks riscd (GET /v1/subjects/{sub}) at most once per
// CacheTTL per subject, and again after each webhook about the subject.
//
// Errors: ErrAppUserLookup for an AppUser; Client.Subject's errors other
// than ErrNotFound (a subject riscd never saw keeps its sessions).
func (g *SessionGuard) Check(ctx context.Context, who Who, created time.Time) (EndReason, error) {
	if who.AppUser() != "" {
		return "", ErrAppUserLookup
	}
	sub := who.Sub()
	if sub == "" {
		return "", errNobody
	}
	s, err := g.subject(ctx, sub)
	if err != nil {
		return "", err
	}
	var cut time.Time
	if out, ok := g.signedOut.Get(sub); ok {
		cut = out
	}
	if s != nil {
		switch {
		case s.Purged:
			return EndPurged, nil
		case s.SigninDisabled:
			return EndSigninDisabled, nil
		case s.Held:
			return EndHeld, nil
		}
		if s.EndSessionsBefore != nil && s.EndSessionsBefore.After(cut) {
			cut = *s.EndSessionsBefore
		}
	}
	if !cut.IsZero() && !created.After(cut) {
		return EndSessionsRevoked, nil
	}
	return "", nil
}

// subject returns sub's state, from the cache while it is fresh; nil when
// riscd never saw sub. Concurrent misses share one request; an answer
// fetched across a webhook is used but not cached.
func (g *SessionGuard) subject(ctx context.Context, sub string) (*Subject, error) {
	if c, ok := g.cache.Get(sub); ok && g.c.now().Sub(c.fetched) < g.cfg.CacheTTL {
		return c.s, nil
	}
	gen := g.generation()
	v, err, _ := g.flights.Do(strconv.FormatUint(gen, 10)+"/"+sub, func() (any, error) {
		s, err := g.c.Subject(ctx, sub)
		var got *Subject
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			got = &s
		}
		g.mu.Lock()
		if g.gen == gen {
			g.cache.Add(sub, cached{s: got, fetched: g.c.now()})
		}
		g.mu.Unlock()
		return got, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Subject), nil
}

// generation returns the count of webhooks observed.
func (g *SessionGuard) generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// Observe takes a webhook into account: the subject's cached state is
// dropped, and when the event states EndSessionsBefore the subject's
// sessions created at or before it end at once, whatever riscd answers
// next (SigninDisabled and Held are asked of riscd again at the next
// Check). WebhookHandler calls it for each verified webhook when
// WebhookConfig.Sessions is set.
func (g *SessionGuard) Observe(ev Event) {
	if ev.Sub == "" {
		return
	}
	g.mu.Lock()
	g.gen++
	if b := ev.EndSessionsBefore; b != nil {
		if prev, ok := g.signedOut.Get(ev.Sub); !ok || b.After(prev) {
			g.signedOut.Add(ev.Sub, *b)
		}
	}
	g.cache.Remove(ev.Sub)
	g.mu.Unlock()
}
