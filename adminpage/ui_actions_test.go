package adminpage_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

func TestUIRetry(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	ev := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	e.SetStatus(ev.ID, riscd.InboxParked, 10, "handler: store unavailable", e.Clock.Now().Add(time.Hour))
	b := newBrowser(t, e)
	b.signIn()
	csrf := b.csrf()

	p := b.post(idPath("/admin/ui/events/%d/retry", ev.ID), url.Values{"csrf": {csrf}}, nil)
	if want := idPath("/admin/ui/events/%d?notice=retried", ev.ID); p.status != http.StatusSeeOther || p.location() != want {
		t.Fatalf("retry: status %d Location %q, want 303 to %s: %s", p.status, p.location(), want, p.body)
	}
	got := mustEntry(t, e.DB, ev.ID)
	if got.Status != riscd.InboxPending || got.Attempts != 0 || !got.NextAttemptAt.IsZero() {
		t.Errorf("after retry: status %s attempts %d next %v, want pending, 0, now", got.Status, got.Attempts, got.NextAttemptAt)
	}
	if e.Rescans.Get() != 1 {
		t.Errorf("dispatcher woken %d times, want 1", e.Rescans.Get())
	}
	entries, _, err := e.DB.ListAudit(context.Background(), riscd.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "retry_event" || entries[0].Actor != admin.ActorOperator ||
		entries[0].Sub != "alice" || entries[0].EventJTI != "j1" || !strings.HasPrefix(entries[0].Detail, "admin page, request ") {
		t.Errorf("audit %+v, want one retry_event by the operator from the admin page", entries)
	}
	mustContain(t, b.mustGet(idPath("/admin/ui/events/%d?notice=retried", ev.ID)).body,
		`id="notice"`, "pending again", `id="event-status">pending<`)

	t.Run("again", func(t *testing.T) {
		p := b.post(idPath("/admin/ui/events/%d/retry", ev.ID), url.Values{"csrf": {csrf}}, nil)
		if p.status != http.StatusConflict {
			t.Fatalf("retry of a pending event: status %d, want 409", p.status)
		}
		mustContain(t, p.body, "only a parked event can be retried")
		if got := auditActions(t, e.DB); len(got) != 1 {
			t.Errorf("audit %v, want still one entry", got)
		}
	})
	t.Run("unknown event", func(t *testing.T) {
		if p := b.post("/admin/ui/events/999/retry", url.Values{"csrf": {csrf}}, nil); p.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", p.status)
		}
	})
}

func TestUIRelease(t *testing.T) {
	e, op := newUIEnv(t, nil, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Held: true, SigninDisabled: true})
	held := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})
	revoked := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantRevoked, Reason: "token-revoked"})
	b := newBrowser(t, e)
	b.signIn()

	// The account page leads to a confirmation page that says why the
	// account was held, a hijacking called out.
	acct := b.mustGet("/admin/ui/accounts/alice")
	mustContain(t, acct.body, `href="/admin/ui/accounts/alice/release"`)
	if strings.Contains(acct.body, `action="/admin/ui/accounts/alice/release"`) {
		t.Error("the account page releases in one click")
	}
	confirm := b.mustGet("/admin/ui/accounts/alice/release")
	mustContain(t, confirm.body, `id="hijacking"`, "Google reported this account hijacked", `id="held-reasons">hijacking<`,
		held.ID, `action="/admin/ui/accounts/alice/release"`, `id="release-confirm"`)

	// Unconfirmed: refused, nothing changes.
	if p := b.post("/admin/ui/accounts/alice/release", url.Values{"csrf": {b.csrf()}}, nil); p.status != http.StatusBadRequest {
		t.Fatalf("unconfirmed release: status %d, want 400", p.status)
	}
	if a := mustAccountOf(t, e.DB, "alice"); !a.Held || op.calls() != 0 {
		t.Fatalf("an unconfirmed release released the account (held %v, %d calls)", a.Held, op.calls())
	}

	p := b.post("/admin/ui/accounts/alice/release", url.Values{"csrf": {b.csrf()}, "confirm": {"yes"}}, nil)
	if p.status != http.StatusSeeOther || p.location() != "/admin/ui/accounts/alice?notice=released" {
		t.Fatalf("release: status %d Location %q: %s", p.status, p.location(), p.body)
	}
	if a := mustAccountOf(t, e.DB, "alice"); a.Held || a.SigninDisabled {
		t.Errorf("account after release: held %v signin disabled %v, want neither", a.Held, a.SigninDisabled)
	}
	if g := mustGrantOf(t, e.DB, held.ID); g.Status != riscd.GrantActive {
		t.Errorf("held grant is %s after release, want active", g.Status)
	}
	if g := mustGrantOf(t, e.DB, revoked.ID); g.Status != riscd.GrantRevoked {
		t.Errorf("revoked grant is %s after release, want revoked", g.Status)
	}
	if got := auditActions(t, e.DB); !slices.Equal(got, []string{"release_holds/operator"}) {
		t.Errorf("audit %v, want the release by the operator", got)
	}
	page := b.mustGet("/admin/ui/accounts/alice?notice=released")
	mustContain(t, page.body, "The hold is lifted", `class="timeline-action"`, "release_holds")
	if strings.Contains(page.body, `id="release"`) {
		t.Errorf("a released account still offers release")
	}
	if op.calls() != 1 {
		t.Errorf("operator called %d times, want 1", op.calls())
	}
	if p := b.mustGet("/admin/ui/accounts/alice/release"); !strings.Contains(p.body, `id="nothing-held"`) {
		t.Error("the confirmation page of a released account offers a release")
	}
	if p := b.post("/admin/ui/accounts/nobody/release", url.Values{"csrf": {b.csrf()}, "confirm": {"yes"}}, nil); p.status != http.StatusNotFound {
		t.Errorf("release of an unknown account: status %d, want 404", p.status)
	}
}

func TestUIRevoke(t *testing.T) {
	e, op := newUIEnv(t, nil, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}})
	b := newBrowser(t, e)
	b.signIn()
	csrf := b.csrf()

	t.Run("unconfirmed", func(t *testing.T) {
		for _, form := range []url.Values{{"csrf": {csrf}}, {"csrf": {csrf}, "confirm": {"no"}}} {
			// A confirmation in the URL does not count: only the form's.
			p := b.post("/admin/ui/grants/"+g.ID+"/revoke?confirm=yes", form, nil)
			if p.status != http.StatusBadRequest {
				t.Errorf("revoke without confirmation: status %d, want 400", p.status)
			}
			mustContain(t, p.body, "tick the confirmation box")
		}
		if op.calls() != 0 || mustGrantOf(t, e.DB, g.ID).Status != riscd.GrantActive || len(auditActions(t, e.DB)) != 0 {
			t.Errorf("an unconfirmed revoke changed something")
		}
	})

	p := b.post("/admin/ui/grants/"+g.ID+"/revoke", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, nil)
	if p.status != http.StatusSeeOther || p.location() != "/admin/ui/accounts/alice?notice=revoked" {
		t.Fatalf("revoke: status %d Location %q: %s", p.status, p.location(), p.body)
	}
	after := mustGrantOf(t, e.DB, g.ID)
	if after.Status != riscd.GrantRevoked || !after.RefreshToken.IsZero() {
		t.Errorf("grant after revoke: %s, refresh token kept %v; want revoked without tokens", after.Status, !after.RefreshToken.IsZero())
	}
	jobs, err := e.DB.PendingOutbox(context.Background(), 10)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != riscd.OutboxRevoke || jobs[0].GrantID != g.ID {
		t.Errorf("outbox %+v (%v), want the upstream revocation", jobs, err)
	}
	if got := auditActions(t, e.DB); !slices.Equal(got, []string{"revoke_grants/operator"}) {
		t.Errorf("audit %v, want the revoke by the operator", got)
	}
	mustContain(t, b.mustGet("/admin/ui/accounts/alice?notice=revoked").body, "upstream revocation is queued", `data-status="revoked"`)
	mustContain(t, b.mustGet("/admin/ui/outbox").body, `data-kind="revoke"`, `href="/admin/ui/grants/`+g.ID+`"`)

	if p := b.post("/admin/ui/grants/000000000000000000000000/revoke", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, nil); p.status != http.StatusNotFound {
		t.Errorf("revoke of an unknown grant: status %d, want 404", p.status)
	}
}

func TestUIWithoutOperator(t *testing.T) {
	e, _ := newUIEnv(t, func(cfg *admin.Config) { cfg.Operator = nil }, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Held: true})
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld})
	b := newBrowser(t, e)
	b.signIn()
	csrf := b.csrf()

	for _, path := range []string{"/admin/ui/accounts/alice", "/admin/ui/grants/" + g.ID} {
		p := b.mustGet(path)
		mustContain(t, p.body, "Operator actions are not available")
		if strings.Contains(p.body, `id="release"`) || strings.Contains(p.body, `id="revoke"`) {
			t.Errorf("%s offers an action no operator can carry out", path)
		}
	}
	for _, path := range []string{"/admin/ui/accounts/alice/release", "/admin/ui/grants/" + g.ID + "/revoke"} {
		if p := b.post(path, url.Values{"csrf": {csrf}, "confirm": {"yes"}}, nil); p.status != http.StatusNotImplemented {
			t.Errorf("%s: status %d, want 501", path, p.status)
		}
	}
	if a := mustAccountOf(t, e.DB, "alice"); !a.Held {
		t.Errorf("the account was released without an operator")
	}
}

func TestUIRetryOutbox(t *testing.T) {
	e, op := newUIEnv(t, nil, nil)
	failed := e.FailJob(riscd.OutboxWebhook, "alice")
	b := newBrowser(t, e)
	b.signIn()
	csrf := b.csrf()

	p := b.mustGet("/admin/ui/outbox?status=failed")
	if got := attrs(p.body, "job", "data-id"); !slices.Equal(got, []string{idPath("%d", failed.ID)}) {
		t.Fatalf("failed jobs %v, want the failed webhook", got)
	}
	mustContain(t, p.body, `data-status="failed"`, `href="/admin/ui/accounts/alice"`, "webhook: HTTP 500",
		idPath(`action="/admin/ui/outbox/%d/retry"`, failed.ID), idPath(`id="retry-job-%d"`, failed.ID))
	if p := b.mustGet("/admin/ui/outbox"); !strings.Contains(p.body, `id="empty"`) {
		t.Errorf("the pending list shows the failed job")
	}

	p = b.post(idPath("/admin/ui/outbox/%d/retry", failed.ID), url.Values{"csrf": {csrf}}, nil)
	if want := "/admin/ui/outbox?notice=job_retried"; p.status != http.StatusSeeOther || p.location() != want {
		t.Fatalf("retry: status %d Location %q, want 303 to %s: %s", p.status, p.location(), want, p.body)
	}
	if j, err := e.DB.OutboxJob(context.Background(), failed.ID); err != nil || j.Status != riscd.OutboxPending {
		t.Errorf("job after retry: %+v %v, want pending", j, err)
	}
	entries, _, err := e.DB.ListAudit(context.Background(), riscd.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "retry_outbox" || entries[0].Actor != admin.ActorOperator || !strings.HasPrefix(entries[0].Detail, "admin page, request ") {
		t.Errorf("audit %+v, want one retry_outbox by the operator from the admin page", entries)
	}
	p = b.mustGet("/admin/ui/outbox?notice=job_retried")
	mustContain(t, p.body, `id="notice"`, idPath(`id="job-%d"`, failed.ID), `data-status="pending"`)

	mustContain(t, p.body, "due now", idPath(`id="retry-now-job-%d"`, failed.ID))
	if _, err := e.DB.UpdateOutbox(context.Background(), failed.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status = riscd.OutboxDone
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	p = b.post(idPath("/admin/ui/outbox/%d/retry", failed.ID), url.Values{"csrf": {csrf}}, nil)
	if p.status != http.StatusConflict {
		t.Fatalf("retry of a done job: status %d, want 409", p.status)
	}
	mustContain(t, p.body, "only a failed or pending job can be retried")
	if p := b.post("/admin/ui/outbox/999/retry", url.Values{"csrf": {csrf}}, nil); p.status != http.StatusNotFound {
		t.Errorf("unknown job: status %d, want 404", p.status)
	}
	if n := op.calls(); n != 3 {
		t.Errorf("operator called %d times, want 3", n)
	}
}
