package lifecycle_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
)

const (
	subA = "110000000000000000001"
	subB = "110000000000000000002"
)

// seeded is the state every event case starts from: subject A with two
// active grants, an account and two sessions (one older than the event, one
// newer), and subject B with one grant, which no event about A may touch.
type seeded struct {
	grants map[string]riscd.Grant // "a1", "a2", "b"
	tokens map[string]string      // refresh tokens by the same names
}

func seed(w *world) seeded {
	w.t.Helper()
	s := seeded{grants: map[string]riscd.Grant{}, tokens: map[string]string{}}
	for i, name := range []string{"a1", "a2", "b"} {
		sub := subA
		if name == "b" {
			sub = subB
		}
		s.tokens[name] = refreshToken(uint64(i + 1))
		s.grants[name] = w.grant(sub, s.tokens[name])
	}
	w.account(riscd.Account{Sub: subA, Email: "a@example.com"})
	w.account(riscd.Account{Sub: subB, Email: "b@example.com"})
	w.session(subA, "sess-old", t0().Add(-time.Hour))
	w.session(subA, "sess-new", t0().Add(time.Minute))
	w.session(subB, "sess-b", t0().Add(-time.Hour))
	return s
}

// acct is the part of an account the actions change.
type acct struct {
	Email                                   string
	SessionsRevokedAt                       time.Time
	SigninDisabled, Held, Review, Reconsent bool
	CredentialChange, Purged                bool
}

func acctOf(a riscd.Account) acct {
	return acct{
		Email: a.Email, SessionsRevokedAt: a.SessionsRevokedAt, SigninDisabled: a.SigninDisabled, Held: a.Held,
		Review: a.Review, Reconsent: a.ReconsentRequired, CredentialChange: a.CredentialChangeRequired, Purged: a.Purged,
	}
}

type wantHook struct {
	typ, action, reason string
	grants              []string // names
}

type eventCase struct {
	name    string
	prepare func(w *world, s seeded)
	set     func(tb testing.TB, s seeded) *events.SET
	// after the event
	status     map[string]riscd.GrantStatus // a1, a2 (b must stay active)
	discarded  []string                     // grants whose tokens are gone
	account    acct
	oldSession bool // sess-old still there
	actions    []string
	record     string // the record entry's outcome
	hook       *wantHook
}

func hashID(token string, enc *base64.Encoding) string { return googlesim.HashIdentifier(token, enc) }

func eventCases() []eventCase {
	active := map[string]riscd.GrantStatus{"a1": riscd.GrantActive, "a2": riscd.GrantActive}
	base := acct{Email: "a@example.com"}
	with := func(f func(*acct)) acct { a := base; f(&a); return a }
	tokenRevoked := func(enc *base64.Encoding) func(testing.TB, seeded) *events.SET {
		return func(tb testing.TB, s seeded) *events.SET {
			return googleSET(tb, "jti-1", events.TypeTokenRevoked, tokenSubject(events.AlgHashSHA512SHA512, hashID(s.tokens["a1"], enc)), "")
		}
	}
	simple := func(uri, extra string) func(testing.TB, seeded) *events.SET {
		return func(tb testing.TB, _ seeded) *events.SET { return googleSET(tb, "jti-1", uri, issSub(subA), extra) }
	}
	revokedA1 := eventCase{
		status:     map[string]riscd.GrantStatus{"a1": riscd.GrantRevoked, "a2": riscd.GrantActive},
		discarded:  []string{"a1"},
		account:    with(func(a *acct) { a.Reconsent = true }),
		oldSession: true,
		actions:    []string{"revoke_grants", "mark_reconsent", "notify"},
		record:     "recorded",
		hook:       &wantHook{typ: "token-revoked", action: "revoke_grants,mark_reconsent", grants: []string{"a1"}},
	}
	named := func(c eventCase, name string, set func(testing.TB, seeded) *events.SET) eventCase {
		c.name, c.set = name, set
		return c
	}
	disabledHold := func(name, reasonJSON, reason string) eventCase {
		return eventCase{
			name: name, set: simple(events.TypeAccountDisabled, reasonJSON),
			status:     map[string]riscd.GrantStatus{"a1": riscd.GrantHeld, "a2": riscd.GrantHeld},
			account:    with(func(a *acct) { a.SigninDisabled, a.Held = true, true }),
			oldSession: true,
			actions:    []string{"hold_grants", "disable_signin", "notify"},
			record:     "recorded",
			hook:       &wantHook{typ: "account-disabled", action: "hold_grants,disable_signin", grants: []string{"a1", "a2"}, reason: reason},
		}
	}
	flagged := func(name string, set func(testing.TB, seeded) *events.SET, typ string) eventCase {
		return eventCase{
			name: name, set: set, status: active,
			account: with(func(a *acct) { a.CredentialChange = true }), oldSession: true,
			actions: []string{"flag_credential_change", "notify"}, record: "recorded",
			hook: &wantHook{typ: typ, action: "flag_credential_change"},
		}
	}
	sessionsRevoked := eventCase{
		status:  active,
		account: with(func(a *acct) { a.SessionsRevokedAt = endOfSecond(t0()) }),
		actions: []string{"end_sessions", "set_sessions_revoked_at", "notify"}, record: "recorded",
		hook: &wantHook{typ: "sessions-revoked", action: "end_sessions,set_sessions_revoked_at"},
	}
	untouched := eventCase{status: active, account: base, oldSession: true}
	return []eventCase{
		named(revokedA1, "token-revoked by hash, standard base64 with padding", tokenRevoked(base64.StdEncoding)),
		named(revokedA1, "token-revoked by hash, standard base64 without padding", tokenRevoked(base64.RawStdEncoding)),
		named(revokedA1, "token-revoked by hash, URL-safe base64 with padding", tokenRevoked(base64.URLEncoding)),
		named(revokedA1, "token-revoked by hash, URL-safe base64 without padding", tokenRevoked(base64.RawURLEncoding)),
		{
			name: "token-revoked with no matching token",
			set: func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeTokenRevoked, tokenSubject(events.AlgHashSHA512SHA512, hashID(refreshToken(99), nil)), "")
			},
			status: active, account: base, oldSession: true, record: "no matching token",
		},
		{
			name: "tokens-revoked", set: simple(events.TypeTokensRevoked, ""),
			status:    map[string]riscd.GrantStatus{"a1": riscd.GrantRevoked, "a2": riscd.GrantRevoked},
			discarded: []string{"a1", "a2"},
			account:   with(func(a *acct) { a.Reconsent = true }),
			actions:   []string{"end_sessions", "revoke_grants", "mark_reconsent", "notify"}, record: "recorded",
			hook: &wantHook{typ: "tokens-revoked", action: "end_sessions,revoke_grants,mark_reconsent", grants: []string{"a1", "a2"}},
		},
		named(sessionsRevoked, "sessions-revoked", simple(events.TypeSessionsRevoked, "")),
		func() eventCase {
			c := named(sessionsRevoked, "sessions-revoked with an id_token_claims subject", func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeSessionsRevoked,
					fmt.Sprintf(`{"subject_type": "id_token_claims", "iss": %q, "sub": %q, "email": "a@example.com"}`, googleIss, subA), "")
			})
			return c
		}(),
		func() eventCase {
			c := named(sessionsRevoked, "sessions-revoked with the issuer spelled without its slash", func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeSessionsRevoked,
					fmt.Sprintf(`{"subject_type": "iss-sub", "iss": "https://accounts.google.com", "sub": %q}`, subA), "")
			})
			return c
		}(),
		func() eventCase {
			// event_timestamp (30 s after iat) scopes the action, and the
			// session created a minute after iat survives.
			c := named(sessionsRevoked, "caep session-revoked scoped by event_timestamp", func(tb testing.TB, _ seeded) *events.SET {
				return ssfSET(tb, "jti-1", googleIss, events.TypeSessionRevoked,
					fmt.Sprintf(`{"format": "iss_sub", "iss": %q, "sub": %q}`, googleIss, subA),
					fmt.Sprintf(`{"event_timestamp": %d}`, eventTime+30))
			})
			c.account.SessionsRevokedAt = endOfSecond(t0().Add(30 * time.Second))
			c.hook = &wantHook{typ: "caep:session-revoked", action: "end_sessions,set_sessions_revoked_at"}
			return c
		}(),
		{
			name: "account-disabled hijacking", set: simple(events.TypeAccountDisabled, `"reason": "hijacking"`),
			status:  map[string]riscd.GrantStatus{"a1": riscd.GrantHeld, "a2": riscd.GrantHeld},
			account: with(func(a *acct) { a.Held, a.SessionsRevokedAt = true, endOfSecond(t0()) }),
			actions: []string{"end_sessions", "set_sessions_revoked_at", "hold_grants", "notify"}, record: "recorded",
			hook: &wantHook{typ: "account-disabled", action: "end_sessions,set_sessions_revoked_at,hold_grants", grants: []string{"a1", "a2"}, reason: "hijacking"},
		},
		{
			name: "account-disabled bulk-account", set: simple(events.TypeAccountDisabled, `"reason": "bulk-account"`),
			status: active, account: with(func(a *acct) { a.Review = true }), oldSession: true,
			actions: []string{"flag_review", "notify"}, record: "recorded",
			hook: &wantHook{typ: "account-disabled", action: "flag_review", reason: "bulk-account"},
		},
		disabledHold("account-disabled without reason", "", ""),
		disabledHold("account-disabled with another reason", `"reason": "policy-violation"`, "policy-violation"),
		{
			name: "account-enabled releases holds but not revocations",
			prepare: func(w *world, s seeded) {
				w.account(riscd.Account{Sub: subA, Email: "a@example.com", Held: true, SigninDisabled: true})
				for name, st := range map[string]riscd.GrantStatus{"a1": riscd.GrantHeld, "a2": riscd.GrantRevoked} {
					g := w.getGrant(s.grants[name].ID)
					g.Status = st
					if err := w.db.PutGrant(w.ctx, g); err != nil {
						w.t.Fatal(err)
					}
				}
			},
			set:     simple(events.TypeAccountEnabled, ""),
			status:  map[string]riscd.GrantStatus{"a1": riscd.GrantActive, "a2": riscd.GrantRevoked},
			account: base, oldSession: true,
			actions: []string{"release_holds", "enable_signin", "notify"}, record: "recorded",
			hook: &wantHook{typ: "account-enabled", action: "release_holds,enable_signin", grants: []string{"a1"}},
		},
		flagged("account-credential-change-required", simple(events.TypeAccountCredentialChangeRequired, ""), "account-credential-change-required"),
		flagged("caep credential-change", func(tb testing.TB, _ seeded) *events.SET {
			return ssfSET(tb, "jti-1", googleIss, events.TypeCredentialChange,
				fmt.Sprintf(`{"format": "iss_sub", "iss": %q, "sub": %q}`, googleIss, subA),
				`{"credential_type": "password", "change_type": "update"}`)
		}, "caep:credential-change"),
		{
			name: "account-purged", set: simple(events.TypeAccountPurged, ""),
			status:    map[string]riscd.GrantStatus{"a1": riscd.GrantRevoked, "a2": riscd.GrantRevoked},
			discarded: []string{"a1", "a2"},
			account:   acct{Purged: true},
			actions:   []string{"purge", "notify"}, record: "recorded",
			hook: &wantHook{typ: "account-purged", action: "purge", grants: []string{"a1", "a2"}},
		},
		{
			name: "verification",
			set: func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeRISCVerification, "", `"state": "check-1"`)
			},
			status: active, account: base, oldSession: true, record: "recorded",
		},
		{
			name:   "unknown event type is forwarded",
			set:    simple("https://example.com/secevent/event-type/thing-happened", `"detail": "x"`),
			status: active, account: base, oldSession: true,
			actions: []string{"notify"}, record: "recorded",
			hook: &wantHook{typ: "https://example.com/secevent/event-type/thing-happened", action: "record"},
		},
		func() eventCase {
			c := untouched
			c.name, c.record = "unknown subject", "ignored: unknown subject"
			c.set = func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeTokensRevoked, issSub("119999999999999999999"), "")
			}
			return c
		}(),
		func() eventCase {
			c := untouched
			c.name, c.record = "subject issuer not the transmitter's", "ignored: subject issuer not trusted for this transmitter"
			c.set = func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeTokensRevoked,
					fmt.Sprintf(`{"subject_type": "iss-sub", "iss": "https://idp.example.com/", "sub": %q}`, subA), "")
			}
			return c
		}(),
		func() eventCase {
			c := untouched
			c.name, c.record = "subject that names no Google account", `ignored: subject format "email" names no Google account`
			c.set = func(tb testing.TB, _ seeded) *events.SET {
				return googleSET(tb, "jti-1", events.TypeTokensRevoked, `{"subject_type": "email", "email": "a@example.com"}`, "")
			}
			return c
		}(),
	}
}

// TestEvents drives every event type and reason through the handler and
// the outbox, then delivers the same SET again.
func TestEvents(t *testing.T) {
	for _, c := range eventCases() {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, nil)
			s := seed(w)
			if c.prepare != nil {
				c.prepare(w, s)
			}
			set := c.set(t, s)
			w.deliver(set)
			stop := w.runOutbox()
			w.waitJobs()
			stop()
			checkEventCase(t, w, s, c, set)

			// Redelivered: nothing more happens.
			auditBefore, jobsBefore := len(w.audit()), len(w.outbox())
			w.deliver(set)
			w.reopen()
			w.deliver(set)
			if got := len(w.audit()); got != auditBefore {
				t.Errorf("after redelivery: %d audit entries, want %d", got, auditBefore)
			}
			if got := len(w.outbox()); got != jobsBefore {
				t.Errorf("after redelivery: %d outbox jobs, want %d", got, jobsBefore)
			}
			checkEventCase(t, w, s, c, set)
			if err := w.db.Check(w.ctx); err != nil {
				t.Errorf("store Check: %v", err)
			}
		})
	}
}

func checkEventCase(t *testing.T, w *world, s seeded, c eventCase, set *events.SET) {
	t.Helper()
	ev := set.Events[0]
	for name, want := range c.status {
		g := w.getGrant(s.grants[name].ID)
		if g.Status != want {
			t.Errorf("grant %s: status %s, want %s", name, g.Status, want)
		}
		if c.hook != nil && slices.Contains(c.hook.grants, name) && (g.ChangedBy != set.JTI || g.Reason == "") {
			t.Errorf("grant %s: changed by %q for %q, want the event's jti %q and a reason", name, g.ChangedBy, g.Reason, set.JTI)
		}
		gone := slices.Contains(c.discarded, name)
		if got := g.RefreshToken == "" && g.AccessToken == ""; got != gone {
			t.Errorf("grant %s: tokens discarded = %v, want %v", name, got, gone)
		}
	}
	if g := w.getGrant(s.grants["b"].ID); g.Status != riscd.GrantActive || g.RefreshToken.Reveal() != s.tokens["b"] {
		t.Errorf("bystander grant: status %s, token kept %v", g.Status, g.RefreshToken.Reveal() == s.tokens["b"])
	}
	if got := acctOf(w.getAccount(subA)); got != c.account {
		t.Errorf("account:\n got %+v\nwant %+v", got, c.account)
	}
	if got := w.hasSession("sess-old"); got != c.oldSession {
		t.Errorf("session older than the event present = %v, want %v", got, c.oldSession)
	}
	if !w.hasSession("sess-new") && !c.account.Purged {
		t.Errorf("session newer than the event was ended")
	}
	if !w.hasSession("sess-b") {
		t.Errorf("bystander's session was ended")
	}

	// Audit: the record entry, then one entry per action, all naming the event.
	var evEntries []riscd.AuditEntry
	for _, e := range w.audit() {
		if e.Actor == "event" {
			evEntries = append(evEntries, e)
		}
	}
	var gotActions []string
	for _, e := range evEntries {
		gotActions = append(gotActions, e.Action)
		if e.EventJTI != set.JTI || e.Transmitter != transmitter || e.EventType != ev.Type() || e.DryRun {
			t.Errorf("audit entry %+v: want jti %q, transmitter %q, type %q, not dry run", e, set.JTI, transmitter, ev.Type())
		}
	}
	wantActions := append([]string{"record"}, c.actions...)
	if !slices.Equal(gotActions, wantActions) {
		t.Errorf("audit actions %q, want %q", gotActions, wantActions)
	}
	if len(evEntries) > 0 && evEntries[0].Outcome != c.record {
		t.Errorf("record entry outcome %q, want %q", evEntries[0].Outcome, c.record)
	}

	hooks := w.hooks.delivered()
	if c.hook == nil {
		if len(hooks) != 0 {
			t.Errorf("%d webhooks delivered, want none", len(hooks))
		}
		return
	}
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks delivered, want 1", len(hooks))
	}
	p := hooks[0].payload
	var wantIDs []string
	for _, n := range c.hook.grants {
		wantIDs = append(wantIDs, s.grants[n].ID)
	}
	if p.Type != c.hook.typ || p.Sub != subA || p.EventJTI != set.JTI || p.Action != c.hook.action || p.Reason != c.hook.reason ||
		!slices.Equal(p.GrantIDs, append([]string{}, wantIDs...)) || !p.At.Equal(set.OccurredAt(ev)) {
		t.Errorf("webhook %+v\nwant type %q sub %q jti %q action %q reason %q grants %q at %v",
			p, c.hook.typ, subA, set.JTI, c.hook.action, c.hook.reason, wantIDs, set.OccurredAt(ev))
	}
	if !strings.HasPrefix(hooks[0].id, "msg_") {
		t.Errorf("webhook-id %q, want msg_...", hooks[0].id)
	}
	if !strings.Contains(string(hooks[0].body), `"grant_ids":[`) {
		t.Errorf("webhook body %s: grant_ids must be an array", hooks[0].body)
	}
	var delivered int
	for _, e := range w.audit() {
		if e.Actor == "outbox" && e.Action == "notify" && e.Outcome == "delivered" && e.EventJTI == set.JTI && e.Sub == subA {
			delivered++
		}
	}
	if delivered != 1 {
		t.Errorf("%d audit entries for the delivered webhook, want 1", delivered)
	}
}
