package adminpage_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/adminpage"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
)

// TestBrowserAdminPage drives headless Chromium through the admin page:
// sign in with the admin token, walk every page, release a held account
// (through its confirmation page),
// retry a parked event, revoke a grant, sign out; a screenshot of each
// page is kept.
func TestBrowserAdminPage(t *testing.T) {
	e, _ := newUIEnv(t, nil, func(cfg *adminpage.Config) {
		cfg.Stream = func(context.Context) (adminpage.StreamView, error) {
			return adminpage.StreamView{
				Status: "enabled", DeliveryURL: "https://riscd.example.com/risc",
				EventsRequested:  []string{events.TypeAccountDisabled, events.TypeSessionsRevoked, events.TypeTokensRevoked, events.TypeRISCVerification},
				LastVerification: admintest.T0.Add(-3 * time.Minute), LastCheckAt: admintest.T0.Add(-time.Minute),
			}, nil
		}
	})
	dir := testkit.ArtifactDir(t)

	// Alice's account was disabled for hijacking: held, with a held grant.
	e.MustAccount(riscd.Account{Sub: "110169484474386276334", Email: "alice@example.com", Held: true, SigninDisabled: true})
	aliceGrant := e.MustGrant(admintest.GrantSpec{Sub: "110169484474386276334", Scopes: []string{"openid", admintest.Features["drive"]}, Status: riscd.GrantHeld, Reason: "hijacking"})
	done := e.MustInbox(admintest.DisabledEvent("jti-alice-1", "110169484474386276334", "hijacking"))
	e.SetStatus(done.ID, riscd.InboxDone, 1, "", time.Time{})
	e.MustAudit(riscd.AuditEntry{At: admintest.T0, Sub: "110169484474386276334", GrantIDs: []string{aliceGrant.ID}, Action: "hold_grants", Outcome: "held",
		Actor: "event", EventType: events.TypeAccountDisabled, EventJTI: "jti-alice-1"})
	// Bob has an active grant and an event riscd gave up on.
	e.Clock.Advance(time.Minute)
	bobGrant := e.MustGrant(admintest.GrantSpec{Sub: "104729384756102938475", Scopes: []string{"openid", admintest.Features["calendar"]}})
	parked := e.MustInbox(admintest.DisabledEvent("jti-bob-1", "104729384756102938475", "bulk-account"))
	e.SetStatus(parked.ID, riscd.InboxParked, 10, "handler: store unavailable", time.Time{})
	e.MustAccount(riscd.Account{Sub: "104729384756102938475", Email: "bob@example.com", Review: true})
	e.MustAudit(riscd.AuditEntry{At: e.Clock.Now(), Sub: "104729384756102938475", Action: "mark_review", Outcome: "flagged", Actor: "event"})
	e.Clock.Advance(time.Minute)

	tctx := testkit.Chromium(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(tctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return loc
	}
	shots := 0
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(dir, "admin-"+name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("write screenshot: %v", err)
		}
		shots++
		t.Logf("screenshot of the admin page %s: %s", name, path)
		// What the browser shows joins the answers admintest.New's check reads
		// for tokens and secrets when the test ends.
		dom, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		e.Record(dom)
	}
	visit := func(name, path, sel string) {
		t.Helper()
		do("open "+name, chromedp.Navigate(e.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
		screenshot(name)
	}

	do("open the admin page", chromedp.Navigate(e.URL+"/admin/ui/"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := location(); loc != e.URL+"/admin/ui/login" {
		t.Errorf("without a session the browser is at %s, want the sign-in page", loc)
	}
	screenshot("login")
	do("sign in with a wrong token",
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	do("sign in",
		chromedp.SendKeys(chromedp.ID("token"), admintest.AdminToken),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("grant-list")),
	)
	rows, err := chromedp.Run(tctx, chromedp.AttributesAll(chromedp.CSSAll("tr.grant")))
	if err != nil || len(rows) != 2 || rows[0]["data-id"] != bobGrant.ID || rows[1]["data-id"] != aliceGrant.ID {
		t.Errorf("grant rows %v (%v), want Bob's then Alice's", rows, err)
	}
	// The stylesheet loaded under the Content-Security-Policy: wait for it
	// to apply (a loaded machine may paint before it arrives), bounded by
	// the poll's own timeout.
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](
		`getComputedStyle(document.querySelector(".bar")).backgroundColor === "rgb(43, 47, 54)"`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		bg, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".bar")).backgroundColor`))
		t.Errorf("header background %q (%v): the stylesheet did not apply", bg, err)
	}
	screenshot("grants")

	visit("grants-filtered", "/admin/ui/grants?status=held&feature=drive", "#grant-list")
	visit("grant", "/admin/ui/grants/"+aliceGrant.ID, "#revoke")
	visit("accounts", "/admin/ui/accounts", "table.accounts")
	visit("events", "/admin/ui/events", "#event-list")
	visit("event", "/admin/ui/events/"+strconv.FormatUint(done.ID, 10), "#claims")
	visit("audit", "/admin/ui/audit", "#audit-list")
	visit("stream", "/admin/ui/stream", "#stream-config")
	if got := text("#stream-status"); got != "enabled" {
		t.Errorf("stream status %q, want enabled", got)
	}

	// Release Alice's account.
	visit("account", "/admin/ui/accounts/110169484474386276334", "#release")
	do("open the release", chromedp.Click(chromedp.ID("release-start")), chromedp.WaitVisible(chromedp.ID("release-form")))
	screenshot("release-confirm")
	do("release",
		chromedp.Click(chromedp.ID("release-confirm")),
		chromedp.Click(chromedp.ID("release-button")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if got := text("#account-held"); got != "no" {
		t.Errorf("after release the page shows held = %q, want no", got)
	}
	if a := mustAccountOf(t, e.DB, "110169484474386276334"); a.Held {
		t.Errorf("the account is still held after release")
	}
	if g := mustGrantOf(t, e.DB, aliceGrant.ID); g.Status != riscd.GrantActive {
		t.Errorf("Alice's grant is %s after release, want active", g.Status)
	}
	screenshot("account-released")

	// Retry Bob's parked event from the parked list.
	visit("parked", "/admin/ui/events?status=parked", "#event-list")
	do("retry", chromedp.Click(chromedp.ID("retry-"+strconv.FormatUint(parked.ID, 10))), chromedp.WaitVisible(chromedp.ID("notice")))
	if got := text("#event-status"); got != "pending" {
		t.Errorf("after retry the event shows %q, want pending", got)
	}
	if got := mustEntry(t, e.DB, parked.ID); got.Status != riscd.InboxPending {
		t.Errorf("the event is %s after retry, want pending", got.Status)
	}
	screenshot("event-retried")

	// Revoke Bob's grant: the box must be ticked first.
	do("open Bob's grant", chromedp.Navigate(e.URL+"/admin/ui/grants/"+bobGrant.ID), chromedp.WaitVisible(chromedp.ID("revoke")))
	do("revoke unconfirmed", chromedp.Click(chromedp.ID("revoke-button")))
	if g := mustGrantOf(t, e.DB, bobGrant.ID); g.Status != riscd.GrantActive {
		t.Fatalf("the grant was revoked without the confirmation box")
	}
	do("revoke",
		chromedp.Click(chromedp.ID("revoke-confirm")),
		chromedp.Click(chromedp.ID("revoke-button")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if g := mustGrantOf(t, e.DB, bobGrant.ID); g.Status != riscd.GrantRevoked {
		t.Errorf("Bob's grant is %s after revoke, want revoked", g.Status)
	}
	screenshot("account-revoked")
	visit("outbox", "/admin/ui/outbox", "#outbox-list")

	// Retry Bob's failed webhook from the failed list.
	failed := e.FailJob(riscd.OutboxWebhook, "bob")
	visit("outbox-failed", "/admin/ui/outbox?status=failed", "#outbox-list")
	do("retry job", chromedp.Click(chromedp.ID("retry-job-"+strconv.FormatUint(failed.ID, 10))), chromedp.WaitVisible(chromedp.ID("notice")))
	if j, err := e.DB.OutboxJob(t.Context(), failed.ID); err != nil || j.Status != riscd.OutboxPending {
		t.Errorf("the failed job is %+v (%v) after retry, want pending", j, err)
	}
	screenshot("outbox-retried")

	actions := auditActions(t, e.DB)
	for _, want := range []string{"release_holds/operator", "retry_event/operator", "revoke_grants/operator", "retry_outbox/operator"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit %v lacks %s", actions, want)
		}
	}

	do("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
	do("the pages are closed again", chromedp.Navigate(e.URL+"/admin/ui/grants"), chromedp.WaitVisible(chromedp.ID("token")))
	if shots < 14 {
		t.Errorf("%d screenshots, want one per page", shots)
	}
}
