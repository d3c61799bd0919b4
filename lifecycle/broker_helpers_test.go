package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
)

// simWorld is a world whose lifecycle refreshes tokens at a googlesim on
// 127.0.0.1 where each of its users has consented.
type simWorld struct {
	*world
	sim  *googlesim.Server
	rts  map[string]string // sub -> refresh token googlesim issued
	subs []string          // sorted
	// consents are the token requests of the users' consents.
	consents int
}

// newSimWorld starts googlesim with n users and a world refreshing there.
// The refresher ticks every few milliseconds; backoff starts at a second of
// the test clock.
func newSimWorld(t *testing.T, n int, edit func(*lifecycle.Config)) *simWorld {
	t.Helper()
	sim, rts := startSim(t, n)
	w := newWorld(t, func(c *lifecycle.Config) {
		useSim(c, sim)
		c.RefreshTimeout = 20 * time.Second
		c.RefreshBackoffBase, c.RefreshBackoffMax = time.Second, 4*time.Second
		c.RefreshInterval = 5 * time.Millisecond
		if edit != nil {
			edit(c)
		}
	})
	sw := &simWorld{world: w, sim: sim, rts: rts, consents: sim.Stats().Requests[googlesim.EndpointToken]}
	for sub := range rts {
		sw.subs = append(sw.subs, sub)
	}
	slices.Sort(sw.subs)
	return sw
}

// simGrant stores an active grant of sub holding googlesim's refresh token,
// with a stand-in access token expiring at expiry.
func (w *simWorld) simGrant(sub string, expiry time.Time) riscd.Grant {
	w.t.Helper()
	g, err := w.db.CreateGrant(w.ctx, riscd.Grant{
		Sub: sub, Email: sub + "@example.com", Scopes: []string{"email", "openid"},
		RefreshToken: riscd.Secret(w.rts[sub]), AccessToken: riscd.Secret("ya29.stored-" + sub),
		TokenType: "Bearer", Expiry: expiry, Status: riscd.GrantActive,
	})
	if err != nil {
		w.t.Fatalf("CreateGrant: %v", err)
	}
	return g
}

// editGrant changes a stored grant.
func (w *world) editGrant(id string, fn func(*riscd.Grant)) riscd.Grant {
	w.t.Helper()
	g, err := w.db.UpdateGrant(w.ctx, id, func(g riscd.Grant) (riscd.Grant, error) { fn(&g); return g, nil })
	if err != nil {
		w.t.Fatalf("UpdateGrant: %v", err)
	}
	return g
}

// refreshRequests counts the refresh_token requests googlesim received.
func (w *simWorld) refreshRequests() int { return w.sim.Stats().TokenRequests["refresh_token"] }

// tokenRequests counts the requests of googlesim's token endpoint since
// the consents, faulted ones included.
func (w *simWorld) tokenRequests() int {
	return w.sim.Stats().Requests[googlesim.EndpointToken] - w.consents
}

// runRefresher runs RunRefresher in the background until the returned stop
// is called (or the test ends).
func (w *world) runRefresher() (stop func()) {
	w.t.Helper()
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	lc := w.lc
	go func() { done <- lc.RunRefresher(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				w.t.Errorf("RunRefresher: %v", err)
			}
		})
	}
	w.t.Cleanup(stop)
	return stop
}

// The admin package recognises the broker's errors by these methods.
type (
	scopeErr     interface{ MissingScopes() []string }
	stateErr     interface{ GrantState() (string, string) }
	temporaryErr interface{ Temporary() bool }
)

// describeErr sums up a broker error as the companion API would see it.
func describeErr(err error) string {
	var (
		se scopeErr
		st stateErr
		te temporaryErr
	)
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		return "missing " + strings.Join(se.MissingScopes(), " ")
	case errors.As(err, &st):
		state, reason := st.GrantState()
		return "state " + state + " (" + reason + ")"
	case errors.Is(err, riscd.ErrNotFound):
		return "not found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "ctx: " + err.Error()
	case errors.As(err, &te):
		return fmt.Sprintf("upstream temporary=%v", te.Temporary())
	}
	return "other: " + err.Error()
}

// assertNoSecret fails when any of secrets appears in the log, the audit
// log, the outbox jobs' payloads and errors, or the webhooks received.
func (w *world) assertNoSecret(secrets ...string) {
	w.t.Helper()
	places := []string{w.logs.String()}
	for _, e := range w.audit() {
		places = append(places, fmt.Sprintf("%+v", e))
	}
	for _, j := range w.outbox() {
		places = append(places, j.LastError, string(j.Payload))
	}
	for _, h := range w.hooks.all() {
		places = append(places, string(h.body))
	}
	for _, p := range places {
		for _, s := range secrets {
			if s != "" && strings.Contains(p, s) {
				w.t.Errorf("a secret (%d characters) leaked into %q", len(s), p)
			}
		}
	}
}
