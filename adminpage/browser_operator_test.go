package adminpage_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/internal/testkit"
)

// operatorBrowser is headless Chromium signed in to the admin page of e.
type operatorBrowser struct {
	t   *testing.T
	e   *admintest.Env
	ctx context.Context
}

// newOperatorBrowser starts Chromium and signs in, giving name at sign-in
// when it is not "".
func newOperatorBrowser(t *testing.T, e *admintest.Env, name string) *operatorBrowser {
	t.Helper()
	b := &operatorBrowser{t: t, e: e, ctx: testkit.Chromium(t)}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(e.URL + "/admin/ui/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), admintest.AdminToken),
	}
	if name != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.ID("operator"), name))
	}
	steps = append(steps, chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("signout")))
	b.do("sign in", steps...)
	return b
}

func (b *operatorBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *operatorBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// A webhook the app refused is actionable before its 24 hours: its row
// names the event and the subject's email and quotes the app's answer, and
// Retry now makes it due at once.
func TestBrowserOutboxRetryNow(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com"})
	job := e.WaitingJob(riscd.OutboxWebhook, "alice")
	id := strconv.FormatUint(job.ID, 10)
	b := newOperatorBrowser(t, e, "")

	b.do("open the outbox", chromedp.Navigate(e.URL+"/admin/ui/outbox"), chromedp.WaitVisible(chromedp.ID("job-"+id)))
	if got := b.text("#job-" + id + " .event-type"); got != "account-disabled" {
		t.Errorf("event column %q, want account-disabled", got)
	}
	if got := b.text("#job-" + id + " .email"); got != "alice@example.com" {
		t.Errorf("email column %q, want alice@example.com", got)
	}
	if row := b.text("#job-" + id); !strings.Contains(row, `webhook: HTTP 401: {"error":"bad signature"}`) {
		t.Errorf("row %q lacks the app's answer", row)
	}
	b.do("retry now", chromedp.Click(chromedp.ID("retry-now-job-"+id)), chromedp.WaitVisible(chromedp.ID("notice")))
	got, err := e.DB.OutboxJob(t.Context(), job.ID)
	if err != nil || got.Status != riscd.OutboxPending || got.Attempts != 2 || got.NextAttemptAt.Equal(job.NextAttemptAt) {
		t.Errorf("job after retry now: %+v (%v); want pending, its 2 attempts, a new retry time", got, err)
	}
	if actions := auditActions(t, e.DB); len(actions) != 1 || actions[0] != "retry_outbox/operator" {
		t.Errorf("audit %v, want one retry_outbox by the operator", actions)
	}
}

// An operator who gave a name at sign-in finds a user by email (the
// accounts' search and the grant filter), opens the release from the held
// grant's page, is told Google reported a hijacking, cannot release
// without ticking the box, and the audit names them.
func TestBrowserReleaseByNamedOperator(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	const sub = "110169484474386276334"
	e.MustAccount(riscd.Account{Sub: sub, Email: "alice@example.com", Held: true, SigninDisabled: true})
	held, err := e.DB.CreateGrant(t.Context(), riscd.Grant{Sub: sub, Email: "alice@example.com", EmailVerified: true,
		Scopes: []string{"openid", "email"}, RefreshToken: "1//0browser-release", Status: riscd.GrantHeld, Reason: "hijacking"})
	if err != nil {
		t.Fatal(err)
	}
	e.MustGrant(admintest.GrantSpec{Sub: "104729384756102938475"})
	b := newOperatorBrowser(t, e, "dana")
	if got := b.text("#signed-in-as"); got != "operator:dana" {
		t.Errorf("signed in as %q, want operator:dana", got)
	}

	b.do("filter the grants by email",
		chromedp.SendKeys(chromedp.ID("filter-sub"), "alice@example.com"),
		chromedp.Submit(chromedp.ID("filter-sub")),
		chromedp.WaitVisible(chromedp.CSS(`tr.grant[data-id="`+held.ID+`"]`)),
	)
	// The unfiltered page showed alice's row too: read the rows until the
	// filtered page has replaced it.
	testkit.Eventually(t, "the grants filtered by email to alice's one", func() bool {
		rows, err := chromedp.Run(b.ctx, chromedp.AttributesAll(chromedp.CSSAll("tr.grant")))
		return err == nil && len(rows) == 1 && rows[0]["data-id"] == held.ID
	})

	b.do("find the account by email",
		chromedp.Navigate(e.URL+"/admin/ui/accounts"),
		chromedp.SendKeys(chromedp.ID("find-sub"), "alice@example.com"),
		chromedp.Submit(chromedp.ID("find-sub")),
		chromedp.WaitVisible(chromedp.ID("account-sub")),
	)
	if got := b.text("#account-sub"); got != sub {
		t.Errorf("the email found account %q, want %s", got, sub)
	}

	b.do("open the held grant", chromedp.Navigate(e.URL+"/admin/ui/grants/"+held.ID), chromedp.WaitVisible(chromedp.ID("release-start")))
	b.do("start the release", chromedp.Click(chromedp.ID("release-start")), chromedp.WaitVisible(chromedp.ID("release-form")))
	if got := b.text("#hijacking"); !strings.Contains(got, "Google reported this account hijacked") {
		t.Errorf("confirmation page says %q, want the hijacking called out", got)
	}
	if got := b.text("#held-reasons"); got != "hijacking" {
		t.Errorf("held because %q, want hijacking", got)
	}
	// Unticked, the browser does not send the form.
	b.do("release unconfirmed", chromedp.Click(chromedp.ID("release-button")))
	if a := mustAccountOf(t, e.DB, sub); !a.Held {
		t.Fatal("the account was released without the confirmation box")
	}
	b.do("release",
		chromedp.Click(chromedp.ID("release-confirm")),
		chromedp.Click(chromedp.ID("release-button")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if a := mustAccountOf(t, e.DB, sub); a.Held {
		t.Error("the account is still held after the release")
	}
	if actions := auditActions(t, e.DB); len(actions) != 1 || actions[0] != "release_holds/operator:dana" {
		t.Errorf("audit %v, want the release by operator:dana", actions)
	}
}
