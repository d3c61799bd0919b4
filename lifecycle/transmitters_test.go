package lifecycle_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// idpIss is the issuer of another transmitter, an identity provider the app
// also trusts.
const idpIss = "https://idp.example.com"

// idpSET is a CAEP session-revoked SET (OpenID CAEP 1.0 section 3.1) from
// idpIss about subID (an RFC 9493 subject identifier), parsed as the
// dispatcher would, with its payload.
func idpSET(tb testing.TB, jti, subID string) (*events.SET, json.RawMessage) {
	tb.Helper()
	payload := fmt.Sprintf(`{"iss": %q, "aud": "riscd", "iat": %d, "jti": %q, "sub_id": %s, "events": {%q: {"event_timestamp": %d}}}`,
		idpIss, eventTime, jti, subID, events.TypeSessionRevoked, eventTime)
	set, err := events.NewRegistry().Parse([]byte(payload), events.FormatSSF)
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, payload)
	}
	return set, json.RawMessage(payload)
}

// deliverFrom hands a SET of transmitter name to the handler.
func (w *world) deliverFrom(name string, set *events.SET, claims json.RawMessage) {
	w.t.Helper()
	d := dispatch.Delivery{Entry: dispatch.Entry{ID: 1, Transmitter: name, Format: set.Format, Claims: claims}, SET: set, Attempt: 1}
	if err := w.lc.Handler().Handle(w.ctx, d); err != nil {
		w.t.Fatalf("Handle: %v", err)
	}
}

// emailGrant creates an active grant of sub whose email the ID token did
// (or did not) mark verified.
func (w *world) emailGrant(sub, email string, verified bool, rt string) riscd.Grant {
	w.t.Helper()
	g, err := w.db.CreateGrant(w.ctx, riscd.Grant{
		Sub: sub, Email: email, EmailVerified: verified, Scopes: []string{"openid", "email"},
		RefreshToken: riscd.Secret(rt), Status: riscd.GrantActive,
	})
	if err != nil {
		w.t.Fatalf("CreateGrant: %v", err)
	}
	return g
}

// eventAudit returns the event's audit entries as "action: outcome".
func eventAudit(w *world) []string {
	var out []string
	for _, e := range w.audit() {
		if e.Actor == "event" {
			out = append(out, e.Action+": "+e.Outcome)
		}
	}
	return out
}

func TestOtherTransmitter(t *testing.T) {
	endSessions := map[string][]string{"caep:session-revoked": {"end_sessions", "set_sessions_revoked_at", "notify"}}
	emailOf := func(addr string) string { return fmt.Sprintf(`{"format": "email", "email": %q}`, addr) }
	for _, c := range []struct {
		name    string
		policy  lifecycle.Transmitter
		subID   string
		verifed bool // subject A's grant's email is verified
		// want
		matched   bool   // the event names subject A
		ended     bool   // sess-old ended, sessions_revoked_at set
		action    string // the webhook's action
		audit     []string
		rawSubjct bool // the webhook carries the subject as received
	}{
		{
			name: "email subject matching a verified email ends sessions when configured", policy: lifecycle.Transmitter{Subjects: []string{"email"}, Actions: endSessions},
			subID: emailOf("Alice@IdP.Example.com"), verifed: true, matched: true, ended: true, action: "end_sessions,set_sessions_revoked_at",
			audit: []string{"record: recorded", "end_sessions: ended 1 sessions created before 2026-03-01T12:00:00.999999999Z",
				"set_sessions_revoked_at: sessions_revoked_at set to 2026-03-01T12:00:00.999999999Z", "notify: webhook queued"},
		},
		{
			name: "email subject queues notify only by default", policy: lifecycle.Transmitter{Subjects: []string{"email"}},
			subID: emailOf("alice@idp.example.com"), verifed: true, matched: true, action: "record",
			audit: []string{"record: recorded", "notify: webhook queued"},
		},
		{
			name: "email subject in a complex subject's user facet", policy: lifecycle.Transmitter{Subjects: []string{"email"}, Actions: endSessions},
			subID:   `{"format": "complex", "user": {"format": "email", "email": "alice@idp.example.com"}, "session": {"format": "opaque", "id": "s-1"}}`,
			verifed: true, matched: true, ended: true, action: "end_sessions,set_sessions_revoked_at",
			audit: []string{"record: recorded", "end_sessions: ended 1 sessions created before 2026-03-01T12:00:00.999999999Z",
				"set_sessions_revoked_at: sessions_revoked_at set to 2026-03-01T12:00:00.999999999Z", "notify: webhook queued"},
		},
		{
			name: "an unverified email names nobody", policy: lifecycle.Transmitter{Subjects: []string{"email"}, Actions: endSessions},
			subID: emailOf("alice@idp.example.com"), action: "record", rawSubjct: true,
			audit: []string{"record: recorded: the subject names no account of riscd's", "end_sessions: skipped: the subject names no account of riscd's",
				"set_sessions_revoked_at: skipped: the subject names no account of riscd's", "notify: webhook queued"},
		},
		{
			name: "email mapping not configured", policy: lifecycle.Transmitter{Subjects: []string{"iss_sub"}, Actions: endSessions},
			subID: emailOf("alice@idp.example.com"), verifed: true, action: "record", rawSubjct: true,
			audit: []string{"record: recorded: the subject names no account of riscd's", "end_sessions: skipped: the subject names no account of riscd's",
				"set_sessions_revoked_at: skipped: the subject names no account of riscd's", "notify: webhook queued"},
		},
		{
			name: "iss_sub subject of the transmitter's issuer", policy: lifecycle.Transmitter{Subjects: []string{"iss_sub"}, Actions: endSessions},
			subID: fmt.Sprintf(`{"format": "iss_sub", "iss": %q, "sub": %q}`, idpIss+"/", subA), matched: true, ended: true,
			action: "end_sessions,set_sessions_revoked_at",
			audit: []string{"record: recorded", "end_sessions: ended 1 sessions created before 2026-03-01T12:00:00.999999999Z",
				"set_sessions_revoked_at: sessions_revoked_at set to 2026-03-01T12:00:00.999999999Z", "notify: webhook queued"},
		},
		{
			name: "iss_sub subject of another issuer names nobody", policy: lifecycle.Transmitter{Subjects: []string{"iss_sub"}, Actions: endSessions},
			subID: fmt.Sprintf(`{"format": "iss_sub", "iss": %q, "sub": %q}`, googleIss, subA), action: "record", rawSubjct: true,
			audit: []string{"record: recorded: the subject names no account of riscd's", "end_sessions: skipped: the subject names no account of riscd's",
				"set_sessions_revoked_at: skipped: the subject names no account of riscd's", "notify: webhook queued"},
		},
		{
			name: "no mapping: forwarded with the raw subject", policy: lifecycle.Transmitter{},
			subID: `{"format": "phone_number", "phone_number": "+12065550100"}`, action: "record", rawSubjct: true,
			audit: []string{"record: recorded: the subject names no account of riscd's", "notify: webhook queued"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, func(cfg *lifecycle.Config) {
				cfg.Transmitters = map[string]lifecycle.Transmitter{"idp": c.policy}
			})
			a := w.emailGrant(subA, "alice@idp.example.com", c.verifed, refreshToken(1))
			w.emailGrant(subB, "bob@idp.example.com", true, refreshToken(2))
			w.account(riscd.Account{Sub: subA, Email: "alice@idp.example.com"})
			w.session(subA, "sess-old", t0().Add(-time.Hour))
			w.session(subA, "sess-new", t0().Add(time.Minute))
			w.session(subB, "sess-b", t0().Add(-time.Hour))

			set, claims := idpSET(t, "idp-1", c.subID)
			w.deliverFrom("idp", set, claims)
			stop := w.runOutbox()
			w.waitJobs()
			stop()

			got := eventAudit(w)
			for i := range got {
				if strings.HasPrefix(got[i], "notify: webhook queued") {
					got[i] = "notify: webhook queued"
				}
			}
			if !slices.Equal(got, c.audit) {
				t.Errorf("audit\n got %q\nwant %q", got, c.audit)
			}
			if w.hasSession("sess-old") == c.ended {
				t.Errorf("older session present = %v, want %v", !c.ended, !c.ended)
			}
			if !w.hasSession("sess-new") || !w.hasSession("sess-b") {
				t.Errorf("a newer or a bystander's session was ended")
			}
			if acct := w.getAccount(subA); acct.SessionsRevokedAt.IsZero() == c.ended {
				t.Errorf("sessions_revoked_at = %v, want set %v", acct.SessionsRevokedAt, c.ended)
			}
			if g := w.getGrant(a.ID); g.Status != riscd.GrantActive || g.RefreshToken.Reveal() != refreshToken(1) {
				t.Errorf("grant: status %s, token kept %v; want active, kept", g.Status, g.RefreshToken.Reveal() == refreshToken(1))
			}

			hooks := w.hooks.delivered()
			if len(hooks) != 1 {
				t.Fatalf("%d webhooks delivered, want 1", len(hooks))
			}
			p := hooks[0].payload
			wantSub := ""
			if c.matched {
				wantSub = subA
			}
			if p.Type != "caep:session-revoked" || p.Sub != wantSub || p.Transmitter != "idp" || p.EventJTI != "idp-1" || p.Action != c.action {
				t.Errorf("webhook %+v, want type caep:session-revoked sub %q transmitter idp jti idp-1 action %q", p, wantSub, c.action)
			}
			if c.rawSubjct {
				if !jsonEqual(t, p.Subject, []byte(c.subID)) {
					t.Errorf("webhook subject %s, want as received %s", p.Subject, c.subID)
				}
			} else if p.Subject != nil {
				t.Errorf("webhook subject %s, want none for a matched subject", p.Subject)
			}
			if err := w.db.Check(w.ctx); err != nil {
				t.Errorf("store Check: %v", err)
			}
		})
	}
}

// TestOtherTransmitterEmailTwoAccounts: a verified email held by grants of
// two subjects names both; each is acted on for its matching grants only.
func TestOtherTransmitterEmailTwoAccounts(t *testing.T) {
	w := newWorld(t, func(cfg *lifecycle.Config) {
		cfg.Transmitters = map[string]lifecycle.Transmitter{"idp": {
			Subjects: []string{"email"}, Actions: map[string][]string{"caep:session-revoked": {"hold_grants"}},
		}}
	})
	a := w.emailGrant(subA, "shared@idp.example.com", true, refreshToken(1))
	other := w.emailGrant(subA, "old@idp.example.com", true, refreshToken(2))
	b := w.emailGrant(subB, "SHARED@idp.example.com", true, refreshToken(3))
	set, claims := idpSET(t, "idp-2", `{"format": "email", "email": "shared@idp.example.com"}`)
	w.deliverFrom("idp", set, claims)
	for _, c := range []struct {
		g    riscd.Grant
		want riscd.GrantStatus
	}{{a, riscd.GrantHeld}, {other, riscd.GrantActive}, {b, riscd.GrantHeld}} {
		if got := w.getGrant(c.g.ID).Status; got != c.want {
			t.Errorf("grant %s (%s): status %s, want %s", c.g.ID, c.g.Email, got, c.want)
		}
	}
	if n := len(w.outbox()); n != 0 {
		t.Errorf("%d outbox jobs, want none: notify was not configured", n)
	}
}

func TestOtherTransmitterConfig(t *testing.T) {
	_, err := lifecycle.New(lifecycle.Config{
		Store: newWorld(t, nil).db, RevokeURL: "http://127.0.0.1:1/revoke",
		Transmitters: map[string]lifecycle.Transmitter{"idp": {
			Subjects: []string{"email", "phone"},
			Actions:  map[string][]string{"caep:session-revoked": {"explode"}, "nothing": {"notify"}},
		}},
	})
	if !errors.Is(err, lifecycle.ErrConfig) {
		t.Fatalf("New: %v, want ErrConfig", err)
	}
	for _, want := range []string{
		`transmitters[idp].subjects: unknown mapping "phone"`,
		`transmitters[idp].actions[caep:session-revoked]: unknown action "explode"`,
		`transmitters[idp].actions: "nothing" is not an event short name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func jsonEqual(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		tb.Fatalf("want %s: %v", b, err)
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// TestOtherTransmitterAccountDisabled: a RISC account-disabled event (OpenID
// RISC Profile 1.0 section 2.3) from another transmitter acts by its plain
// "account-disabled" entry, whatever the reason, and only when configured.
func TestOtherTransmitterAccountDisabled(t *testing.T) {
	for _, c := range []struct {
		name    string
		actions map[string][]string
		want    riscd.GrantStatus
	}{
		{"configured", map[string][]string{"account-disabled": {"hold_grants", "notify"}}, riscd.GrantHeld},
		{"default", nil, riscd.GrantActive},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, func(cfg *lifecycle.Config) {
				cfg.Transmitters = map[string]lifecycle.Transmitter{"idp": {Subjects: []string{"iss_sub"}, Actions: c.actions}}
			})
			g := w.emailGrant(subA, "alice@idp.example.com", true, refreshToken(1))
			payload := fmt.Sprintf(`{"iss": %q, "aud": "riscd", "iat": %d, "jti": "idp-3", "sub_id": {"format": "iss_sub", "iss": %q, "sub": %q}, "events": {%q: {"reason": "hijacking"}}}`,
				idpIss, eventTime, idpIss, subA, events.TypeAccountDisabled)
			set, err := events.NewRegistry().Parse([]byte(payload), events.FormatSSF)
			if err != nil {
				t.Fatal(err)
			}
			w.deliverFrom("idp", set, json.RawMessage(payload))
			if got := w.getGrant(g.ID).Status; got != c.want {
				t.Errorf("grant status %s, want %s", got, c.want)
			}
			jobs := w.outbox()
			if len(jobs) != 1 || jobs[0].Kind != riscd.OutboxWebhook {
				t.Errorf("outbox %+v, want one webhook", jobs)
			}
		})
	}
}
