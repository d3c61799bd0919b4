package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/lifecycle"
)

// The refresher refreshes ahead of expiry the grants used recently (served
// by the broker, or stored as used before a restart) and leaves idle ones
// alone; keep-alive is off by default, so grants unrefreshed for a month
// are not touched either. It writes the broker's last-use times.
func TestRefresherRefreshesRecentlyUsedGrantsAhead(t *testing.T) {
	w := newSimWorld(t, 4, nil)
	served, stored, idle, oldUse := w.subs[0], w.subs[1], w.subs[2], w.subs[3]
	grants := map[string]riscd.Grant{}
	for _, sub := range w.subs {
		grants[sub] = w.simGrant(sub, time.Time{})
	}
	w.clock.Advance(31 * 24 * time.Hour)
	now := w.clock.Now()
	// Every token expires in four minutes: within the five-minute lead time,
	// beyond the minute the broker needs.
	for sub, g := range grants {
		grants[sub] = w.editGrant(g.ID, func(g *riscd.Grant) {
			g.Expiry = now.Add(4 * time.Minute)
			switch sub {
			case stored:
				g.LastUsedAt = now.Add(-10 * time.Minute)
			case oldUse:
				g.LastUsedAt = now.Add(-2 * time.Hour)
			}
		})
	}
	tok, err := w.lc.Token(w.ctx, served, []string{"email"})
	if err != nil || tok.AccessToken != grants[served].AccessToken {
		t.Fatalf("Token = %v; want the stored token served", err)
	}

	stop := w.runRefresher()
	waitFor(t, "the refresh of the used grants", func() bool {
		return !w.getGrant(grants[served].ID).RefreshedAt.IsZero() && !w.getGrant(grants[stored].ID).RefreshedAt.IsZero()
	})
	stop()

	for _, sub := range []string{idle, oldUse} {
		if got := w.sim.RefreshCount(w.rts[sub]); got != 0 {
			t.Errorf("grant %s (idle) refreshed %d times, want 0", sub, got)
		}
		if g := w.getGrant(grants[sub].ID); g.AccessToken != grants[sub].AccessToken || !g.RefreshedAt.IsZero() {
			t.Errorf("idle grant %s changed", sub)
		}
	}
	for _, sub := range []string{served, stored} {
		if got := w.sim.RefreshCount(w.rts[sub]); got != 1 {
			t.Errorf("grant %s refreshed %d times, want 1", sub, got)
		}
		g := w.getGrant(grants[sub].ID)
		if g.AccessToken == grants[sub].AccessToken || !g.Expiry.Equal(now.Add(3599*time.Second)) || !g.RefreshedAt.Equal(now) {
			t.Errorf("grant %s: new token %v, expiry %v, refreshed at %v; want a new token until %v", sub,
				g.AccessToken != grants[sub].AccessToken, g.Expiry, g.RefreshedAt, now.Add(3599*time.Second))
		}
	}
	if g := w.getGrant(grants[served].ID); !g.LastUsedAt.Equal(now) {
		t.Errorf("served grant's LastUsedAt %v, want %v (written by the refresher)", g.LastUsedAt, now)
	}
	if g := w.getGrant(grants[stored].ID); !g.LastUsedAt.Equal(now.Add(-10 * time.Minute)) {
		t.Errorf("a refresh ahead moved LastUsedAt to %v", g.LastUsedAt)
	}
	// The token the app gets next is the refreshed one, without a request.
	before := w.refreshRequests()
	if tok, err := w.lc.Token(w.ctx, served, nil); err != nil || tok.AccessToken != w.getGrant(grants[served].ID).AccessToken {
		t.Errorf("Token after the refresh ahead: %v", err)
	}
	if got := w.refreshRequests(); got != before {
		t.Errorf("Token after the refresh ahead went upstream")
	}
	w.assertNoSecret(w.rts[served], w.rts[stored])
}

// A grant served once and not since drops off the schedule once the
// recent-use window has passed: its expiry comes, it is not refreshed.
func TestRefresherDropsGrantsGoneIdle(t *testing.T) {
	w := newSimWorld(t, 2, nil)
	idle, busy := w.subs[0], w.subs[1]
	gi := w.simGrant(idle, w.clock.Now().Add(2*time.Hour))
	gb := w.simGrant(busy, w.clock.Now().Add(2*time.Hour))
	if _, err := w.lc.Token(w.ctx, idle, nil); err != nil {
		t.Fatalf("Token: %v", err)
	}
	w.clock.Advance(2*time.Hour - 4*time.Minute) // both tokens within the lead time
	if _, err := w.lc.Token(w.ctx, busy, nil); err != nil {
		t.Fatalf("Token: %v", err)
	}
	stop := w.runRefresher()
	waitFor(t, "the refresh of the busy grant", func() bool { return !w.getGrant(gb.ID).RefreshedAt.IsZero() })
	stop()
	if got := w.sim.RefreshCount(w.rts[idle]); got != 0 {
		t.Errorf("grant idle for two hours refreshed %d times, want 0", got)
	}
	if g := w.getGrant(gi.ID); g.AccessToken != gi.AccessToken {
		t.Errorf("idle grant's token changed")
	}
}

// The refresher writes LastUsedAt at most once a minute per grant: a busy
// grant's calls in between change nothing in the store.
func TestRefresherWritesLastUseSparingly(t *testing.T) {
	w := newWorld(t, func(c *lifecycle.Config) { c.RefreshInterval = 5 * time.Millisecond })
	g := w.grant(subA, refreshToken(1))
	first := w.clock.Now()
	use := func() {
		t.Helper()
		if _, err := w.lc.Token(w.ctx, subA, nil); err != nil {
			t.Fatalf("Token: %v", err)
		}
	}
	use()
	stop := w.runRefresher()
	waitFor(t, "LastUsedAt written", func() bool { return w.getGrant(g.ID).LastUsedAt.Equal(first) })
	stop()
	updated := w.getGrant(g.ID).UpdatedAt

	w.clock.Advance(30 * time.Second)
	use()
	stop = w.runRefresher()
	stop() // a run writes what was collected when it stops
	if got := w.getGrant(g.ID); !got.LastUsedAt.Equal(first) || !got.UpdatedAt.Equal(updated) {
		t.Errorf("a use 30s later rewrote the grant: LastUsedAt %v, want still %v", got.LastUsedAt, first)
	}

	w.clock.Advance(31 * time.Second)
	use()
	stop = w.runRefresher()
	stop()
	if got := w.getGrant(g.ID).LastUsedAt; !got.Equal(w.clock.Now()) {
		t.Errorf("a use a minute later: LastUsedAt %v, want %v", got, w.clock.Now())
	}
}

// Keep-alive refreshes an idle grant not refreshed for the interval, and
// not one refreshed recently.
func TestKeepAlive(t *testing.T) {
	w := newSimWorld(t, 2, func(c *lifecycle.Config) { c.KeepAliveInterval = 30 * 24 * time.Hour })
	stale, recent := w.subs[0], w.subs[1]
	gs := w.simGrant(stale, time.Time{})
	gr := w.simGrant(recent, time.Time{})
	w.clock.Advance(31 * 24 * time.Hour)
	w.editGrant(gr.ID, func(g *riscd.Grant) { g.RefreshedAt = w.clock.Now().Add(-24 * time.Hour) })

	stop := w.runRefresher()
	waitFor(t, "the keep-alive refresh", func() bool { return !w.getGrant(gs.ID).RefreshedAt.IsZero() })
	stop()
	if g := w.getGrant(gs.ID); !g.RefreshedAt.Equal(w.clock.Now()) || g.AccessToken == gs.AccessToken || !g.LastUsedAt.IsZero() {
		t.Errorf("kept-alive grant: refreshed at %v, new token %v, last used %v; want now, true, zero",
			g.RefreshedAt, g.AccessToken != gs.AccessToken, g.LastUsedAt)
	}
	if got := w.sim.RefreshCount(w.rts[stale]); got != 1 {
		t.Errorf("idle grant refreshed %d times, want 1", got)
	}
	if got := w.sim.RefreshCount(w.rts[recent]); got != 0 {
		t.Errorf("grant refreshed a day ago was refreshed %d times, want 0", got)
	}
}

// One refresher per Lifecycle.
func TestRunRefresherTwice(t *testing.T) {
	w := newWorld(t, nil)
	ctx, cancel := context.WithCancel(w.ctx)
	results := make(chan error, 2)
	for range 2 {
		go func() { results <- w.lc.RunRefresher(ctx) }()
	}
	if err := <-results; !errors.Is(err, lifecycle.ErrRunning) {
		t.Errorf("one of two RunRefresher calls returned %v, want ErrRunning", err)
	}
	cancel()
	if err := <-results; err != nil {
		t.Errorf("the running RunRefresher returned %v after cancel, want nil", err)
	}
}
