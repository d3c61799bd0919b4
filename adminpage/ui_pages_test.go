package adminpage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/adminpage"
	"github.com/riscd/riscd/events"
)

func TestUIGrantsPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	drive := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}})
	held := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})
	cal := e.MustGrant(admintest.GrantSpec{Sub: "bob", Scopes: []string{"openid", admintest.Features["calendar"]}})
	revoked := e.MustGrant(admintest.GrantSpec{Sub: "bob", Status: riscd.GrantRevoked, Reason: "token-revoked"})
	b := newBrowser(t, e)
	b.signIn()

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{revoked.ID, cal.ID, held.ID, drive.ID}},
		{"sub=alice", []string{held.ID, drive.ID}},
		{"status=held", []string{held.ID}},
		{"feature=drive", []string{drive.ID}},
		{"scope=" + url.QueryEscape(admintest.Features["calendar"]), []string{cal.ID}},
		{"sub=bob&status=active&feature=", []string{cal.ID}},
		{"sub=carol", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			p := b.mustGet("/admin/ui/grants?" + tc.query)
			if got := attrs(p.body, "grant", "data-id"); !slices.Equal(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			if len(tc.want) == 0 {
				mustContain(t, p.body, `id="empty"`)
			}
		})
	}
	t.Run("a row", func(t *testing.T) {
		p := b.mustGet("/admin/ui/grants?sub=alice&status=active")
		mustContain(t, p.body,
			`href="/admin/ui/grants/`+drive.ID+`"`, `href="/admin/ui/accounts/alice"`, "alice@example.com",
			`status-active`, ">drive<", admintest.HashFingerprint(drive.RefreshToken.Reveal()),
			`<option value="active" selected>`, `<option value="drive">`,
		)
	})
	t.Run("pages", func(t *testing.T) {
		var got []string
		path := "/admin/ui/grants?limit=3"
		for range 3 {
			p := b.mustGet(path)
			got = append(got, attrs(p.body, "grant", "data-id")...)
			next := between(p.body, `id="next" href="`, `"`)
			if next == "" {
				break
			}
			path = html.UnescapeString(next)
		}
		if want := []string{revoked.ID, cal.ID, held.ID, drive.ID}; !slices.Equal(got, want) {
			t.Errorf("paged rows %v, want %v", got, want)
		}
	})
	t.Run("bad filter", func(t *testing.T) {
		p := b.get("/admin/ui/grants?status=lost")
		if p.status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", p.status)
		}
		mustContain(t, p.body, `data-code="bad_request"`, "status must be one of active, held, revoked, reauth_required")
	})
}

func TestUIGrantPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}, Status: riscd.GrantHeld, Reason: "hijacking"})
	gone := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantRevoked, Reason: "token-revoked"})
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{g.ID}, Action: "hold_grants", Outcome: "held", Actor: "event",
		EventType: events.TypeAccountDisabled, EventJTI: "jti-hold"})
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{gone.ID}, Action: "revoke_grants", Actor: "event"})
	b := newBrowser(t, e)
	b.signIn()

	p := b.mustGet("/admin/ui/grants/" + g.ID)
	mustContain(t, p.body,
		`id="grant-status">held<`, "hijacking", admintest.Features["drive"], admintest.HashFingerprint(g.RefreshToken.Reveal()),
		`data-action="hold_grants"`, "account-disabled", "jti-hold",
		`action="/admin/ui/grants/`+g.ID+`/revoke"`, `name="confirm" value="yes"`, `name="csrf" value="`+b.csrf()+`"`,
	)
	if got := attrs(p.body, "audit-entry", "data-action"); !slices.Equal(got, []string{"hold_grants"}) {
		t.Errorf("history %v, want only the entry naming this grant", got)
	}
	if p := b.mustGet("/admin/ui/grants/" + gone.ID); strings.Contains(p.body, `id="revoke"`) {
		t.Errorf("a revoked grant offers the revoke form")
	}
	if p := b.get("/admin/ui/grants/000000000000000000000000"); p.status != http.StatusNotFound {
		t.Errorf("unknown grant: status %d, want 404", p.status)
	} else {
		mustContain(t, p.body, "grant not found")
	}
}

func TestUIAccountsPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	e.MustAccount(riscd.Account{Sub: "held-account", Email: "held@example.com", Held: true, SigninDisabled: true})
	e.MustGrant(admintest.GrantSpec{Sub: "held-grant-only", Status: riscd.GrantHeld, Reason: "hijacking"})
	e.MustAccount(riscd.Account{Sub: "review", Review: true})
	e.MustAccount(riscd.Account{Sub: "flags", Flags: []string{"credential-change"}})
	e.MustAccount(riscd.Account{Sub: "plain"})
	e.MustGrant(admintest.GrantSpec{Sub: "plain"})
	// Far more audit entries since the accounts were flagged than any page
	// of the audit log holds: the list still finds them.
	err := e.DB.Update(context.Background(), func(tx riscd.Tx) error {
		for i := range 2 * riscd.MaxLimit {
			if _, err := tx.AppendAudit(context.Background(), riscd.AuditEntry{Sub: fmt.Sprint("other-", i), Action: "end_sessions", Actor: "event"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.signIn()

	p := b.mustGet("/admin/ui/accounts")
	heldPart, flaggedPart, ok := strings.Cut(p.body, "<h2>Flagged</h2>")
	if !ok {
		t.Fatalf("no Flagged section: %s", p.body)
	}
	if got := attrs(heldPart, "account", "data-sub"); !slices.Equal(sorted(got), []string{"held-account", "held-grant-only"}) {
		t.Errorf("held %v, want held-account and held-grant-only", got)
	}
	if got := attrs(flaggedPart, "account", "data-sub"); !slices.Equal(sorted(got), []string{"flags", "review"}) {
		t.Errorf("flagged %v, want flags and review", got)
	}
	mustContain(t, heldPart, "held@example.com", "sign-in disabled")
	mustContain(t, flaggedPart, "credential-change", ">review<")

	t.Run("find an account", func(t *testing.T) {
		p := b.get("/admin/ui/accounts?sub=" + url.QueryEscape("a/b c"))
		if p.status != http.StatusSeeOther || p.location() != "/admin/ui/accounts/a%2Fb%20c" {
			t.Errorf("status %d Location %q, want 303 to the escaped account path", p.status, p.location())
		}
	})
}

// TestUIAccountsPageBounded: more flagged accounts than the page lists are
// cut at its bound, with a note saying so.
func TestUIAccountsPageBounded(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	err := e.DB.Update(context.Background(), func(tx riscd.Tx) error {
		for i := range 600 {
			if err := tx.PutAccount(context.Background(), riscd.Account{Sub: fmt.Sprintf("flagged-%03d", i), Review: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.signIn()
	p := b.mustGet("/admin/ui/accounts")
	if got := attrs(p.body, "account", "data-sub"); len(got) != 500 || got[0] != "flagged-000" || got[499] != "flagged-499" {
		t.Errorf("%d accounts listed (%v ...), want the first 500", len(got), got[:min(3, len(got))])
	}
	mustContain(t, p.body, `id="truncated"`)
}

func TestUIAccountPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com", Held: true, Flags: []string{"credential-change"}})
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})
	e.Clock.Advance(time.Second)
	ev := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	e.SetStatus(ev.ID, riscd.InboxDone, 1, "", time.Time{})
	e.Clock.Advance(time.Second)
	e.MustAudit(riscd.AuditEntry{At: e.Clock.Now(), Sub: "alice", GrantIDs: []string{g.ID}, Action: "hold_grants", Outcome: "held", Actor: "event"})
	e.MustGrant(admintest.GrantSpec{Sub: "bob"})
	b := newBrowser(t, e)
	b.signIn()

	p := b.mustGet("/admin/ui/accounts/alice")
	mustContain(t, p.body,
		`id="account-sub">alice<`, "alice@example.com", `id="account-held"><span class="status status-held">held`,
		"credential-change", `href="/admin/ui/accounts/alice/release"`,
		`href="/admin/ui/events/`+strconv.FormatUint(ev.ID, 10)+`"`, "account-disabled", "hold_grants",
	)
	if got := attrs(p.body, "grant", "data-id"); !slices.Equal(got, []string{g.ID}) {
		t.Errorf("grants %v, want only alice's", got)
	}
	if !strings.Contains(p.body, `class="timeline-action"`) || !strings.Contains(p.body, `class="timeline-event"`) {
		t.Errorf("the timeline lacks the event or the action")
	}
	if i, j := strings.Index(p.body, `class="timeline-action"`), strings.Index(p.body, `class="timeline-event"`); i > j {
		t.Errorf("timeline not newest first")
	}
	if p := b.mustGet("/admin/ui/accounts/bob"); strings.Contains(p.body, `id="release"`) {
		t.Errorf("an account that is not held offers release")
	}
	if p := b.get("/admin/ui/accounts/nobody"); p.status != http.StatusNotFound {
		t.Errorf("unknown account: status %d, want 404", p.status)
	}
}

func TestUIEventsPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	a1 := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	b1 := e.MustInbox(admintest.DisabledEvent("j2", "bob", ""))
	tr := e.MustInbox(admintest.TokenRevokedEvent("j3", events.AlgPrefix, e.Secret("1//0abcdefghijklmnop")))
	e.SetStatus(a1.ID, riscd.InboxDone, 1, "", time.Time{})
	e.SetStatus(b1.ID, riscd.InboxParked, 10, "handler: store unavailable", time.Time{})
	b := newBrowser(t, e)
	b.signIn()

	tests := []struct {
		query string
		want  []uint64
	}{
		{"", []uint64{tr.ID, b1.ID, a1.ID}},
		{"status=parked", []uint64{b1.ID}},
		{"status=done&sub=alice", []uint64{a1.ID}},
		{"type=token-revoked", []uint64{tr.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			p := b.mustGet("/admin/ui/events?" + tc.query)
			var want []string
			for _, id := range tc.want {
				want = append(want, strconv.FormatUint(id, 10))
			}
			if got := attrs(p.body, "event", "data-id"); !slices.Equal(got, want) {
				t.Errorf("rows %v, want %v", got, want)
			}
		})
	}
	p := b.mustGet("/admin/ui/events?status=parked")
	mustContain(t, p.body, "Parked events", "handler: store unavailable", `href="/admin/ui/accounts/bob"`,
		idPath(`action="/admin/ui/events/%d/retry"`, b1.ID), `class="current">Parked<`)
	if strings.Count(b.mustGet("/admin/ui/events").body, `class="retry"`) != 1 {
		t.Errorf("want one retry button, on the parked event only")
	}
}

func TestUIEventPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	hashID := e.Secret(admintest.URLHashIdentifier(g.RefreshToken.Reveal()))
	ev := e.MustInbox(admintest.TokenRevokedEvent("j1", events.AlgHashSHA512SHA512, hashID))
	parked := e.MustInbox(admintest.DisabledEvent("j2", "alice", "hijacking"))
	e.SetStatus(parked.ID, riscd.InboxParked, 10, "handler: boom", time.Time{})
	b := newBrowser(t, e)
	b.signIn()

	p := b.mustGet(idPath("/admin/ui/events/%d", ev.ID))
	mustContain(t, html.UnescapeString(p.body), `id="event-status">pending<`, events.TypeTokenRevoked, "token_fingerprint",
		admintest.HashFingerprint(g.RefreshToken.Reveal()), `"token_identifier_alg": "hash_base64_sha512_sha512"`)
	if strings.Contains(p.body, `id="retry"`) {
		t.Errorf("a pending event offers retry")
	}
	p = b.mustGet(idPath("/admin/ui/events/%d", parked.ID))
	mustContain(t, p.body, `id="event-status">parked<`, "handler: boom", `href="/admin/ui/accounts/alice"`, `id="retry"`)
	claims := html.UnescapeString(between(p.body, `<pre id="claims">`, "</pre>"))
	var v map[string]any
	if err := json.Unmarshal([]byte(claims), &v); err != nil || v["jti"] != "j2" {
		t.Errorf("claims %q (%v): want the decoded claims as JSON", claims, err)
	}
	for _, path := range []string{"/admin/ui/events/999", "/admin/ui/events/x"} {
		if p := b.get(path); p.status != http.StatusNotFound && p.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 404 or 400", path, p.status)
		}
	}
}

func TestUIOutboxAndAuditPages(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	job, err := e.DB.EnqueueOutbox(context.Background(), riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "alice", Token: g.RefreshToken, GrantID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{g.ID}, Action: "revoke_upstream", Actor: "operator"})
	e.MustAudit(riscd.AuditEntry{Sub: "bob", Action: "end_sessions", Actor: "event"})
	e.Clock.Advance(90 * time.Second)
	b := newBrowser(t, e)
	b.signIn()

	p := b.mustGet("/admin/ui/outbox")
	if got := attrs(p.body, "job", "data-id"); !slices.Equal(got, []string{strconv.FormatUint(job.ID, 10)}) {
		t.Errorf("outbox rows %v, want the revoke job", got)
	}
	mustContain(t, p.body, `data-kind="revoke"`, `href="/admin/ui/grants/`+g.ID+`"`, "1m0s")
	if p := b.mustGet("/admin/ui/outbox?kind=webhook"); !strings.Contains(p.body, `id="empty"`) {
		t.Errorf("the webhook filter shows jobs")
	}

	p = b.mustGet("/admin/ui/audit")
	if got := attrs(p.body, "audit-entry", "data-action"); !slices.Equal(got, []string{"end_sessions", "revoke_upstream"}) {
		t.Errorf("audit rows %v, want newest first", got)
	}
	if got := attrs(b.mustGet("/admin/ui/audit?sub=alice").body, "audit-entry", "data-action"); !slices.Equal(got, []string{"revoke_upstream"}) {
		t.Errorf("audit rows for alice %v", got)
	}
}

func TestUIStreamPage(t *testing.T) {
	verified := admintest.T0.Add(-2 * time.Minute)
	tests := []struct {
		name   string
		stream func(context.Context) (adminpage.StreamView, error)
		record bool
		want   []string
	}{
		{"not configured", nil, false, []string{`id="stream-unconfigured"`, "not recorded since riscd started", "0 (no check has passed"}},
		{"configured", func(context.Context) (adminpage.StreamView, error) {
			return adminpage.StreamView{
				Status: "enabled", DeliveryURL: "https://riscd.example.com/risc",
				EventsRequested:  []string{events.TypeAccountDisabled, events.TypeTokensRevoked},
				LastVerification: verified, LastCheckError: "no verification came back within 60s",
			}, nil
		}, true, []string{
			`id="stream-status">enabled<`, "https://riscd.example.com/risc", events.TypeAccountDisabled, events.TypeTokensRevoked,
			formatUTC(verified), "2m0s ago", "no verification came back within 60s",
			`id="metric-status">disabled<`, "1 (the last check passed)",
		}},
		{"failing", func(context.Context) (adminpage.StreamView, error) { return adminpage.StreamView{}, errStream }, false,
			[]string{`id="stream-error"`, "caller lacks roles/riscconfigs.admin", `id="stream-status">unknown<`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newUIEnv(t, nil, func(cfg *adminpage.Config) { cfg.Stream = tc.stream })
			if tc.record {
				e.Srv.Metrics().StreamStatus("disabled")
				e.Srv.Metrics().StreamCheck(true)
			}
			b := newBrowser(t, e)
			b.signIn()
			mustContain(t, b.mustGet("/admin/ui/stream").body, tc.want...)
		})
	}
}

// TestUIEscapesEverything stores values that are markup and checks every
// page shows them as text.
func TestUIEscapesEverything(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	evil := `<script>alert("x")</script>`
	e.MustAccount(riscd.Account{Sub: evil, Email: `"><img src=x>`, Held: true, Flags: []string{"<b>flag</b>"}})
	g := e.MustGrant(admintest.GrantSpec{Sub: evil, Status: riscd.GrantHeld, Reason: "<i>why</i>"})
	ev := e.MustInbox(admintest.DisabledEvent("<jti>", evil, "<reason>"))
	e.SetStatus(ev.ID, riscd.InboxParked, 3, "<em>failed</em>", time.Time{})
	e.MustAudit(riscd.AuditEntry{Sub: evil, Action: "<u>act</u>", Detail: "<marquee>"})
	b := newBrowser(t, e)
	b.signIn()

	for _, path := range []string{
		"/admin/ui/grants", "/admin/ui/grants/" + g.ID, "/admin/ui/accounts", "/admin/ui/accounts/" + url.PathEscape(evil),
		"/admin/ui/events", idPath("/admin/ui/events/%d", ev.ID), "/admin/ui/audit", "/admin/ui/grants?sub=" + url.QueryEscape(evil),
	} {
		t.Run(path, func(t *testing.T) {
			p := b.mustGet(path)
			for _, raw := range []string{"<script", "<img", "<b>", "<i>", "<em>", "<u>", "<marquee", "<jti>"} {
				if strings.Contains(p.body, raw) {
					t.Errorf("page holds %q unescaped", raw)
				}
			}
		})
	}
	p := b.mustGet("/admin/ui/accounts/" + url.PathEscape(evil))
	mustContain(t, p.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
		`href="/admin/ui/accounts/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E/release"`)
	p = b.mustGet("/admin/ui/accounts/" + url.PathEscape(evil) + "/release")
	mustContain(t, p.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
		`action="/admin/ui/accounts/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E/release"`)
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// between returns the text of s between the first start and the next end.
func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	before, _, _ := strings.Cut(after, end)
	return before
}

// formatUTC is a time as the admin page shows it.
func formatUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
