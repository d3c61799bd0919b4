package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// webhookSink receives the app's webhooks and checks each signature with an
// implementation of the Standard Webhooks scheme written here from the spec.
type webhookSink struct {
	secret []byte
	mu     sync.Mutex
	got    []map[string]any
	bad    int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" || !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+want+" ") {
		s.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		s.bad++
	}
	s.got = append(s.got, m)
	w.WriteHeader(http.StatusNoContent)
}

// find returns the webhooks of sub.
func (s *webhookSink) find(sub string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, m := range s.got {
		if m["sub"] == sub {
			out = append(out, m)
		}
	}
	return out
}

// TestEveryEventEndToEnd pushes each Google event type, signed by googlesim,
// through riscd's HTTP receiver and checks the grant and account state,
// the audit log and the signed webhook the app receives.
func TestEveryEventEndToEnd(t *testing.T) {
	ctx := context.Background()
	secretBytes := []byte("0123456789abcdef01234567")
	sink := &webhookSink{secret: secretBytes}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hooks := &httptest.Server{Listener: ln, Config: &http.Server{Handler: sink}}
	hooks.Start()
	defer hooks.Close()

	sim := startSim(t)
	cfg := simConfig(t, sim)
	l, err := load(cfg, []string{
		"RISCD_COMPANION_WEBHOOK_URL=" + hooks.URL + "/hooks",
		"RISCD_COMPANION_WEBHOOK_SECRET=whsec_" + base64.StdEncoding.EncodeToString(secretBytes),
	}, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	waitReady(t, "http://"+m.InternalAddr())
	target := "http://" + m.PublicAddr() + "/risc"
	tr := sim.Transmitter()

	type check func(t *testing.T, a riscd.Account, g riscd.Grant)
	for i, tc := range []struct {
		name    string
		events  func(sub, refresh string) []googlesim.Event
		hook    string // webhook type expected last; "" for none
		action  string // a piece of the webhook's action list
		check   check
		auditOf string // an action that must be audited
	}{
		{"sessions-revoked", func(sub, _ string) []googlesim.Event { return []googlesim.Event{googlesim.SessionsRevoked(sub)} },
			"sessions-revoked", "end_sessions", func(t *testing.T, a riscd.Account, g riscd.Grant) {
				if a.SessionsRevokedAt.IsZero() || g.Status != riscd.GrantActive {
					t.Errorf("sessions_revoked_at %v, grant %s; want set and active", a.SessionsRevokedAt, g.Status)
				}
			}, "set_sessions_revoked_at"},
		{"tokens-revoked", func(sub, _ string) []googlesim.Event { return []googlesim.Event{googlesim.TokensRevoked(sub)} },
			"tokens-revoked", "revoke_grants", func(t *testing.T, a riscd.Account, g riscd.Grant) {
				if g.Status != riscd.GrantRevoked || !g.RefreshToken.IsZero() || !a.ReconsentRequired {
					t.Errorf("grant %s (tokens kept %v), reconsent %v; want revoked, discarded, reconsent", g.Status, !g.RefreshToken.IsZero(), a.ReconsentRequired)
				}
			}, "revoke_grants"},
		{"token-revoked by hash", func(_, rt string) []googlesim.Event {
			return []googlesim.Event{googlesim.TokenRevoked(rt, googlesim.IdentifierHash)}
		}, "token-revoked", "revoke_grants", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if g.Status != riscd.GrantRevoked || !a.ReconsentRequired {
				t.Errorf("grant %s, reconsent %v; want revoked and reconsent", g.Status, a.ReconsentRequired)
			}
		}, "revoke_grants"},
		{"token-revoked by prefix", func(_, rt string) []googlesim.Event {
			return []googlesim.Event{googlesim.TokenRevoked(rt, googlesim.IdentifierPrefix)}
		}, "token-revoked", "revoke_grants", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if g.Status != riscd.GrantRevoked {
				t.Errorf("grant %s, want revoked", g.Status)
			}
		}, "revoke_grants"},
		{"account-disabled hijacking", func(sub, _ string) []googlesim.Event {
			return []googlesim.Event{googlesim.AccountDisabled(sub, googlesim.ReasonHijacking)}
		}, "account-disabled", "hold_grants", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if g.Status != riscd.GrantHeld || !a.Held || g.RefreshToken.IsZero() {
				t.Errorf("grant %s, account held %v, tokens kept %v; want held, held, kept", g.Status, a.Held, !g.RefreshToken.IsZero())
			}
		}, "hold_grants"},
		{"account-disabled bulk-account", func(sub, _ string) []googlesim.Event {
			return []googlesim.Event{googlesim.AccountDisabled(sub, googlesim.ReasonBulkAccount)}
		}, "account-disabled", "flag_review", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if !a.Review || g.Status != riscd.GrantActive {
				t.Errorf("review %v, grant %s; want review and active", a.Review, g.Status)
			}
		}, "flag_review"},
		{"account-disabled without reason", func(sub, _ string) []googlesim.Event {
			return []googlesim.Event{googlesim.AccountDisabled(sub, "")}
		}, "account-disabled", "disable_signin", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if !a.SigninDisabled || g.Status != riscd.GrantHeld {
				t.Errorf("signin_disabled %v, grant %s; want disabled and held", a.SigninDisabled, g.Status)
			}
		}, "disable_signin"},
		{"account-enabled after disabled", func(sub, _ string) []googlesim.Event {
			return []googlesim.Event{googlesim.AccountDisabled(sub, ""), googlesim.AccountEnabled(sub)}
		}, "account-enabled", "release_holds", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if a.SigninDisabled || a.Held || g.Status != riscd.GrantActive {
				t.Errorf("signin_disabled %v, held %v, grant %s; want all lifted", a.SigninDisabled, a.Held, g.Status)
			}
		}, "release_holds"},
		{"account-credential-change-required", func(sub, _ string) []googlesim.Event {
			return []googlesim.Event{googlesim.AccountCredentialChangeRequired(sub)}
		}, "account-credential-change-required", "flag_credential_change", func(t *testing.T, a riscd.Account, g riscd.Grant) {
			if !a.CredentialChangeRequired || g.Status != riscd.GrantActive {
				t.Errorf("credential change %v, grant %s", a.CredentialChangeRequired, g.Status)
			}
		}, "flag_credential_change"},
		{"account-purged", func(sub, _ string) []googlesim.Event { return []googlesim.Event{googlesim.AccountPurged(sub)} },
			"account-purged", "purge", func(t *testing.T, a riscd.Account, g riscd.Grant) {
				if !a.Purged || a.Email != "" || g.Status != riscd.GrantRevoked || g.Email != "" {
					t.Errorf("purged %v, email %q, grant %s email %q; want purged and erased", a.Purged, a.Email, g.Status, g.Email)
				}
			}, "purge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := fmt.Sprintf("e2e-subject-%02d", i)
			rt := fmt.Sprintf("1//0e2e%02d-%s", i, strings.Repeat("r", 90))
			if _, err := m.DB().UpdateAccount(ctx, sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
				a.Email = sub + "@example.com"
				return a, nil
			}); err != nil {
				t.Fatal(err)
			}
			g, err := m.DB().CreateGrant(ctx, riscd.Grant{Sub: sub, Email: sub + "@example.com", Scopes: []string{"openid", "email"},
				RefreshToken: riscd.Secret(rt), AccessToken: "ya29.e2e", Status: riscd.GrantActive})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tc.events(sub, rt) {
				code, body, err := tr.Push(ctx, target, ev)
				if err != nil || code != http.StatusAccepted {
					t.Fatalf("push: %d %s %v", code, body, err)
				}
			}
			var hook map[string]any
			testkit.Eventually(t, fmt.Sprintf("a %s webhook for %s", tc.hook, sub), func() bool {
				if hs := sink.find(sub); len(hs) > 0 && hs[len(hs)-1]["type"] == tc.hook {
					hook = hs[len(hs)-1]
				}
				return hook != nil
			})
			if !strings.Contains(fmt.Sprint(hook["action"]), tc.action) {
				t.Errorf("webhook action %q, want it to include %s", hook["action"], tc.action)
			}
			if strings.Contains(fmt.Sprint(hook), rt) {
				t.Errorf("the webhook carries the refresh token")
			}
			a, err := m.DB().Account(ctx, sub)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.DB().Grant(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a, got)
			entries, _, err := m.DB().ListAudit(ctx, riscd.AuditQuery{Sub: sub, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var audited bool
			for _, e := range entries {
				audited = audited || (e.Action == tc.auditOf && e.Actor == "event")
			}
			if !audited {
				t.Errorf("no audit entry for %s among %d entries", tc.auditOf, len(entries))
			}
		})
	}
	t.Run("verification is recorded with its state", func(t *testing.T) {
		code, _, err := tr.Push(ctx, target, googlesim.Verification("state-e2e-42"))
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("push: %d %v", code, err)
		}
		testkit.Eventually(t, "an audit entry with the verification state", func() bool {
			entries, _, err := m.DB().ListAudit(ctx, riscd.AuditQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				found = found || (strings.HasSuffix(e.EventType, "/verification") && strings.Contains(e.Detail, "state-e2e-42"))
			}
			return found
		})
	})
	t.Run("metrics count what happened", func(t *testing.T) {
		// One forged token more: a rejection with its err code.
		code, _, err := tr.Send(ctx, target, "not.a-set.at-all")
		if err != nil || code != http.StatusBadRequest {
			t.Fatalf("push of garbage: %d %v", code, err)
		}
		got := scrape(t, "http://"+m.InternalAddr()+"/metrics")
		for _, want := range []string{
			`riscd_sets_received_total{err="",outcome="accepted",transmitter="google"}`,
			`riscd_sets_received_total{err="invalid_request",outcome="rejected",transmitter=""} 1`,
			`riscd_set_verification_duration_seconds_count{transmitter="google"}`,
			`riscd_jwks_refreshes_total{outcome="ok",transmitter="google"}`,
			`riscd_outbox_attempts_total{kind="webhook",outcome="done"}`,
			`riscd_event_processing_duration_seconds_count{type="account-disabled"}`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("/metrics lacks %s:\n%s", want, grepLines(got, "riscd_"))
			}
		}
	})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.bad != 0 {
		t.Errorf("%d webhooks failed the signature check", sink.bad)
	}
}
