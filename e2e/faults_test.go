package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
)

// TestUpstreamAndWebhookFaults runs a steady stream of SETs and companion
// token calls while googlesim's token, revoke and JWKS endpoints answer
// 500s, answer slowly or hang, the transmitter rotates its keys, and the
// app's webhook receiver is down. Throughout, /v1/token answers 200 (or,
// while the token endpoint fails, 503 with Retry-After once no valid token
// is left); at the end nothing acknowledged is lost, every upstream
// revocation and every webhook was delivered, and the store passes its
// check.
func TestUpstreamAndWebhookFaults(t *testing.T) {
	t.Parallel() // mostly waiting: it overlaps the other waiting suites
	s := suiteSettings(t)
	ctx := context.Background()
	users := simUsers("fault", 12)
	r := newRig(t, rigOptions{
		users: users, webhooks: true, keys: 4,
		// Tokens need a refresh one second after they are issued, so the
		// broker and refresher call the token endpoint all the time.
		accessTTL: 61 * time.Second,
		risc: []string{
			"  actions:",
			"    tokens-revoked: [end_sessions, revoke_upstream, revoke_grants, mark_reconsent, notify]",
		},
	})
	r.start()
	refresh := map[string]string{}
	for _, u := range users {
		r.mustConsent(ctx, u)
		info, _ := r.sim.Grant(u.Sub)
		refresh[u.Sub] = info.RefreshTokens[0]
	}
	tokenUsers, eventUsers, revokeUsers := users[:3], users[3:8], users[8:]

	var (
		led        ledger
		jtis       = &jtiSource{prefix: "FAULT"}
		problems   = make(chan string, 100)
		wg         sync.WaitGroup
		faulty     atomic.Bool // a token-endpoint fault is on (or its effect not yet over)
		senderDone atomic.Bool // the SET sender stopped (on a problem, reported)
		tokenOK    atomic.Int64
		token503   atomic.Int64
	)
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	report := func(format string, args ...any) {
		select {
		case problems <- fmt.Sprintf(format, args...):
		default:
		}
	}
	// SETs about event users and strangers, retried as Google does.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer senderDone.Store(true)
		rng := rand.New(rand.NewPCG(7, 7))
		for bg.Err() == nil {
			var p plannedSET
			if rng.IntN(2) == 0 {
				u := eventUsers[rng.IntN(len(eventUsers))]
				if rng.IntN(2) == 0 {
					p = sessionsRevoked(jtis, u.Sub)
				} else {
					p = credentialChange(jtis, u.Sub)
				}
			} else {
				p = unknownSubjectSET(jtis, rng, "fault")
			}
			// Each SET gets as long as the longest outage to go through.
			sendCtx, cancel := context.WithTimeout(ctx, 10*time.Minute+3*s.outage)
			res, err := r.deliverPlanned(sendCtx, p)
			cancel()
			if err != nil {
				report("SET: %v", err)
				return
			}
			led.add(p, res.retried)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The app asks for access tokens.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; bg.Err() == nil; i++ {
			u := tokenUsers[i%len(tokenUsers)]
			wasFaulty := faulty.Load()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.internal+"/v1/token",
				jsonBody(map[string]any{"sub": u.Sub, "scopes": []string{"openid"}}))
			req.Header.Set("Authorization", "Bearer "+r.appToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := r.client.Do(req)
			if err != nil {
				report("POST /v1/token: %v", err)
				return
			}
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				tokenOK.Add(1)
			case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && (wasFaulty || faulty.Load()):
				token503.Add(1)
			default:
				report("POST /v1/token for %s = %d (token endpoint faulty: %v)", u.Sub, resp.StatusCode, wasFaulty)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	fault := func(t *testing.T, ep googlesim.Endpoint, f googlesim.Fault, d time.Duration) {
		t.Helper()
		if err := r.sim.SetFault(ep, f); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		if err := r.sim.SetFault(ep, googlesim.Fault{}); err != nil {
			t.Fatal(err)
		}
	}
	// recovered waits until every token user gets a token googlesim has
	// just refreshed: the broker is past its backoff.
	recovered := func(t *testing.T, what string) {
		t.Helper()
		for _, u := range tokenUsers {
			n := r.sim.RefreshCount(refresh[u.Sub])
			waitFor(t, 5*time.Minute, what+": no refresh for "+u.Sub, func() bool { return r.sim.RefreshCount(refresh[u.Sub]) > n })
		}
	}

	t.Run("token endpoint", func(t *testing.T) {
		r := r.as(t)
		faulty.Store(true)
		if err := r.sim.SetFault(googlesim.EndpointToken, googlesim.Fault{Status: http.StatusInternalServerError}); err != nil {
			t.Fatal(err)
		}
		// A consent cannot finish while the code cannot be exchanged.
		victim := eventUsers[0]
		if _, _, err := r.consent(ctx, victim, ""); err == nil {
			t.Errorf("a consent finished while the token endpoint answered 500")
		}
		time.Sleep(s.outage)
		fault(t, googlesim.EndpointToken, googlesim.Fault{Delay: 2 * time.Second}, s.outage)
		hang := googlesim.Fault{Hang: true, Count: 2}
		if s.long {
			hang.Count = 0
		}
		fault(t, googlesim.EndpointToken, hang, s.outage)
		r.sim.ClearFaults()
		recovered(t, "after token endpoint faults")
		faulty.Store(false)
		if gs := r.grantsOf(ctx, victim.Sub); len(gs) != 1 || gs[0].Status != "active" {
			t.Errorf("grants of %s after a failed re-consent: %+v, want the one active grant", victim.Sub, gs)
		}
		if _, _, err := r.consent(ctx, victim, ""); err != nil {
			t.Errorf("consent after the token endpoint recovered: %v", err)
		}
	})

	t.Run("revoke endpoint", func(t *testing.T) {
		r := r.as(t)
		if err := r.sim.SetFault(googlesim.EndpointRevoke, googlesim.Fault{Status: http.StatusInternalServerError}); err != nil {
			t.Fatal(err)
		}
		for _, u := range revokeUsers[:3] {
			p := tokensRevoked(jtis, u.Sub)
			res, err := r.deliverPlanned(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			led.add(p, res.retried)
		}
		g := r.grantsOf(ctx, revokeUsers[3].Sub)[0]
		if code, body, err := r.do(ctx, http.MethodDelete, r.internal+"/admin/grants/"+g.ID, r.adminToken, nil); err != nil || code != http.StatusAccepted {
			t.Fatalf("DELETE /admin/grants/%s = %d %s %v, want 202", g.ID, code, body, err)
		}
		time.Sleep(s.outage)
		fault(t, googlesim.EndpointRevoke, googlesim.Fault{Delay: 2 * time.Second}, s.outage)
		if s.long {
			fault(t, googlesim.EndpointRevoke, googlesim.Fault{Hang: true}, s.outage)
		}
		r.sim.ClearFaults()
		for _, u := range revokeUsers {
			waitFor(t, 20*time.Minute, "the refresh token of "+u.Sub+" was never revoked at Google", func() bool {
				return r.sim.IsRevoked(refresh[u.Sub])
			})
		}
	})

	t.Run("key rotation and JWKS faults, webhooks down", func(t *testing.T) {
		r := r.as(t)
		// The app's webhook receiver goes down for a while.
		r.hooks.down()
		// Google rotates its keys (dropping the old ones) while its JWKS
		// answers 500: SETs signed with the new key get 503 and are
		// retried until riscd's next refetch (at most one per 1 to 5 s) loads
		// the keys, here slowly.
		if err := r.sim.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusInternalServerError}); err != nil {
			t.Fatal(err)
		}
		rotate(t, r)
		time.Sleep(s.outage)
		if err := r.sim.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Delay: 2 * time.Second, Count: 1}); err != nil {
			t.Fatal(err)
		}
		r.hooks.up(t)
		waitAcked(t, &led, &senderDone)
		if s.long {
			// A rotation whose JWKS fetch hangs until riscd gives up,
			// after the refetch interval has passed.
			time.Sleep(31 * time.Second)
			if err := r.sim.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Hang: true, Count: 1}); err != nil {
				t.Fatal(err)
			}
			rotate(t, r)
			waitAcked(t, &led, &senderDone)
		}
		r.sim.ClearFaults()
	})

	stopBG()
	wg.Wait()
	close(problems)
	for p := range problems {
		t.Error(p)
	}
	t.Logf("%d SETs acknowledged (%d deliveries retried); /v1/token: %d ok, %d 503 while the token endpoint failed",
		len(led.list()), led.retried, tokenOK.Load(), token503.Load())
	if led.retried == 0 {
		t.Errorf("no SET delivery was retried: the JWKS fault did not bite")
	}
	r.waitDrained(ctx, 20*time.Minute)
	r.stop()
	db := r.checkStore(ctx)
	verifyAcked(t, ctx, db, r.hooks, led.list())
}

// jsonBody encodes v for a request body.
func jsonBody(v any) *bytes.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// rotate makes googlesim sign with a new key and drop the old ones.
func rotate(t *testing.T, r *rig) {
	t.Helper()
	if _, err := r.sim.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
}

// waitAcked waits until riscd acknowledges a few more SETs: keys signed
// with the newest key verify. It returns early when the sender stopped on
// a problem (reported at the end).
func waitAcked(t *testing.T, led *ledger, senderDone *atomic.Bool) {
	t.Helper()
	before := len(led.list())
	waitFor(t, 5*time.Minute, "no SET acknowledged after the JWKS recovered", func() bool {
		return len(led.list()) > before+5 || senderDone.Load()
	})
}
