package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// TestConsentThenEvent runs the whole daemon against googlesim: a user
// consents through riscd's pages, then Google pushes a security event for
// that user; the grant is stored encrypted and the event is received,
// acknowledged and handed to the handlers.
func TestConsentThenEvent(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	m := MustRunMain(t, cfgPath)
	public := "http://" + m.PublicAddr()
	waitReady(t, "http://"+m.InternalAddr())
	alice := sim.Users()[0]

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(public + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /authorize = %d, want 302", resp.StatusCode)
	}
	back, err := googlesim.Consent(ctx, browser, resp.Header.Get("Location"), googlesim.Choice{User: alice.Email})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = browser.Get(back.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" || strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("callback = %d to %q, want 303 to a URL without the code", resp.StatusCode, resp.Header.Get("Location"))
	}
	grants, err := m.DB().GrantsBySub(ctx, alice.Sub)
	if err != nil || len(grants) != 1 || grants[0].Status != riscd.GrantActive || grants[0].RefreshToken.IsZero() {
		t.Fatalf("grants of %s: %v %+v, want one active grant with a refresh token", alice.Sub, err, grants)
	}

	// The app gets a fresh access token for the user, never a refresh token.
	l, err := load(cfgPath, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.InternalAddr()+"/v1/token",
		strings.NewReader(`{"sub": "`+alice.Sub+`", "scopes": ["openid", "email"]}`))
	req.Header.Set("Authorization", "Bearer "+l.secrets.AppToken.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), grants[0].AccessToken.Reveal()) ||
		strings.Contains(string(body), grants[0].RefreshToken.Reveal()) || strings.Contains(string(body), "refresh_token") {
		t.Fatalf("POST /v1/token = %d %s, want 200 with the access token and no refresh token", resp.StatusCode, body)
	}

	tr := sim.Transmitter()
	token, err := tr.Sign(googlesim.SessionsRevoked(alice.Sub))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a redelivery is answered the same and queued once
		code, body, err := tr.Send(ctx, public+"/risc", token)
		if err != nil || code != http.StatusAccepted || len(body) != 0 {
			t.Fatalf("push = %d %q %v, want 202 with an empty body", code, body, err)
		}
	}
	// The event is handled once: the account records when sessions were
	// revoked, riscd's session is gone, and each action is audited once.
	testkit.Eventually(t, "sessions_revoked_at to be set", func() bool {
		a, err := m.DB().Account(ctx, alice.Sub)
		return err == nil && !a.SessionsRevokedAt.IsZero()
	})
	waitInboxDone(t, m, 1)
	entries, _, err := m.DB().ListAudit(ctx, riscd.AuditQuery{Sub: alice.Sub})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		if strings.HasSuffix(e.EventType, "/sessions-revoked") {
			actions[e.Action]++
		}
	}
	if actions["end_sessions"] != 1 {
		t.Errorf("audit actions for the event: %v, want end_sessions exactly once", actions)
	}
	for a, n := range actions {
		if n != 1 {
			t.Errorf("action %s audited %d times, want once", a, n)
		}
	}
	if st, _ := m.DB().Count(ctx); st.Sessions != 0 {
		t.Errorf("riscd sessions after sessions-revoked: %d, want 0", st.Sessions)
	}
}

// waitInboxDone waits until n inbox entries are done.
func waitInboxDone(t *testing.T, m *Main, n int) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("%d done inbox entries", n), func() bool {
		got, err := m.DB().CountInbox(context.Background(), riscd.InboxDone)
		if err != nil {
			t.Fatal(err)
		}
		if got > n {
			t.Fatalf("done inbox entries = %d, want %d", got, n)
		}
		return got == n
	})
}
