package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
)

// TestConsentEventWebhookAcrossRestart is the harness's own check: a
// consent through the real binary, a SET acknowledged, its webhook signed
// and delivered, a graceful restart, and a store that passes its check.
func TestConsentEventWebhookAcrossRestart(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{webhooks: true})
	r.start()
	alice := r.sim.Users()[0]
	g := r.mustConsent(ctx, alice)

	tok, err := r.tr.Sign(googlesim.SessionsRevoked(alice.Sub), googlesim.WithJTI("SMOKE-1"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.deliver(ctx, tok)
	if err != nil || res.status != http.StatusAccepted {
		t.Fatalf("deliver = %+v %v, want 202", res, err)
	}
	r.waitDrained(ctx, time.Minute)
	waitFor(t, 30*time.Second, "no webhook for the event", func() bool {
		for _, hs := range r.hooks.snapshot() {
			if hs[0].EventJTI == "SMOKE-1" && hs[0].Sub == alice.Sub {
				return true
			}
		}
		return false
	})
	r.stop()
	r.start()
	if gs := r.grantsOf(ctx, alice.Sub); len(gs) != 1 || gs[0].ID != g.ID || gs[0].Status != "active" {
		t.Errorf("grants after a restart: %+v, want %s active", gs, g.ID)
	}
	r.stop()
	r.checkStore(ctx)
	if bad := r.hooks.refused(); len(bad) > 0 {
		t.Errorf("webhooks refused by the sink: %v", bad)
	}
}
