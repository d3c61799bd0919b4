package lifecycle_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
)

// No token reaches a log line, an audit entry, a job's error or a webhook,
// even when the revoke endpoint echoes it back; a 400 other than
// invalid_token fails the job at once.
func TestTokensNeverLeak(t *testing.T) {
	rt := refreshToken(42)
	var mu sync.Mutex
	calls := 0
	revoke := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" || r.Method != http.MethodPost {
			t.Errorf("revoke request %s with Content-Type %q", r.Method, ct)
		}
		if !strings.Contains(string(body), "token=") {
			t.Errorf("revoke request body lacks the token parameter")
		}
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"error": %q}`, rt)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error": "invalid_request", "error_description": %q}`, rt)
	}))
	t.Cleanup(revoke.Close)

	w := newWorld(t, func(c *lifecycle.Config) {
		c.RevokeURL = revoke.URL + "/revoke"
		c.Actions = map[string][]string{"token-revoked": {"revoke_upstream", "revoke_grants", "notify"}}
	})
	w.useRealClock()
	g := w.grant(subA, rt)
	w.deliver(googleSET(t, "leak", events.TypeTokenRevoked, tokenSubject(events.AlgPrefix, rt[:16]), ""))
	stop := w.runOutbox()
	w.waitJobs()
	stop()

	var jobs []string
	for _, j := range w.outbox() {
		jobs = append(jobs, fmt.Sprintf("%s %s %d %s", j.Kind, j.Status, j.Attempts, j.LastError))
	}
	want := []string{"revoke failed 2 revoke: HTTP 400 (invalid_request)", "webhook done 1 "}
	if strings.Join(jobs, "|") != strings.Join(want, "|") {
		t.Errorf("jobs %q, want %q", jobs, want)
	}
	if got := w.getGrant(g.ID); got.AccessToken != "" || got.RefreshToken != "" {
		t.Errorf("tokens kept after revoke_grants")
	}

	secrets := []string{rt, rt[:16], "ya29.access-", base64.StdEncoding.EncodeToString([]byte(rt))}
	var places []string
	places = append(places, w.logs.String())
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
			if strings.Contains(p, s) {
				t.Errorf("a secret (%d characters) leaked into %q", len(s), p)
			}
		}
	}
}

// SETs signed by googlesim's transmitter, as Google sends them, act like
// the hand-built ones; a subject with the transmitter's own issuer is
// trusted without configuration.
func TestSignedSETsFromGooglesim(t *testing.T) {
	sim, tokens := startSim(t, 2)
	w := newWorld(t, func(c *lifecycle.Config) { useSim(c, sim) })
	var subs []string
	grants := map[string]riscd.Grant{}
	for sub, rt := range tokens {
		subs = append(subs, sub)
		grants[sub] = w.grant(sub, rt)
	}
	parse := func(ev googlesim.Event, opts ...googlesim.SETOption) *events.SET {
		t.Helper()
		jws, err := sim.Transmitter().Sign(ev, opts...)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		parts := strings.Split(jws, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatalf("payload: %v", err)
		}
		set, err := events.NewRegistry().Parse(payload, events.FormatGoogle)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return set
	}
	w.deliver(parse(googlesim.TokenRevoked(tokens[subs[0]], googlesim.IdentifierHash)))
	w.deliver(parse(googlesim.AccountDisabled(subs[1], googlesim.ReasonHijacking), googlesim.WithRFC9493Subject()))
	if got := w.getGrant(grants[subs[0]].ID); got.Status != riscd.GrantRevoked {
		t.Errorf("token-revoked: grant %s, want revoked", got.Status)
	}
	if got := w.getGrant(grants[subs[1]].ID); got.Status != riscd.GrantHeld {
		t.Errorf("account-disabled: grant %s, want held", got.Status)
	}
	if a := w.getAccount(subs[1]); !a.Held || a.Email == "" {
		t.Errorf("account created by the event: held %v, email kept %v", a.Held, a.Email != "")
	}
}

// An operator's release returns held grants to active, once.
func TestReleaseHolds(t *testing.T) {
	w := newWorld(t, nil)
	s := seed(w)
	w.deliver(googleSET(t, "hold", events.TypeAccountDisabled, issSub(subA), `"reason": "hijacking"`))
	if err := w.lc.ReleaseHolds(w.ctx, subA, lifecycle.Op{Actor: "operator", Reason: "verified by phone"}); err != nil {
		t.Fatalf("ReleaseHolds: %v", err)
	}
	n := len(w.audit())
	if err := w.lc.ReleaseHolds(w.ctx, subA, lifecycle.Op{}); err != nil {
		t.Fatalf("ReleaseHolds again: %v", err)
	}
	if got := len(w.audit()); got != n {
		t.Errorf("a second release wrote %d audit entries", got-n)
	}
	for _, name := range []string{"a1", "a2"} {
		if g := w.getGrant(s.grants[name].ID); g.Status != riscd.GrantActive || g.ChangedBy != "operator" || g.Reason != "verified by phone" {
			t.Errorf("grant %s: %s by %q for %q, want active by operator", name, g.Status, g.ChangedBy, g.Reason)
		}
	}
	if w.getAccount(subA).Held {
		t.Errorf("account still held")
	}
	if err := w.lc.ReleaseHolds(w.ctx, "unknown-sub", lifecycle.Op{}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("ReleaseHolds of an unknown subject: %v, want not found", err)
	}
	stop := w.runOutbox()
	w.waitJobs()
	stop()
	var types []string
	for _, h := range w.hooks.delivered() {
		types = append(types, h.payload.Type+":"+h.payload.Action)
	}
	if want := "account-disabled:end_sessions,set_sessions_revoked_at,hold_grants operator:release-holds:enable_signin,release_holds"; strings.Join(types, " ") != want {
		t.Errorf("webhooks %q, want %q", types, want)
	}
}
