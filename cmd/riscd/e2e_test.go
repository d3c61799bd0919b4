package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/store"
)

// TestConsentThenEvent runs the whole daemon against googlesim: a user
// consents through riscd's pages, then Google pushes a security event for
// that user; the grant is stored encrypted and the event is received,
// acknowledged and handed to the handlers.
func TestConsentThenEvent(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	m := MustRunMain(t, simConfig(t, sim))
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
	if err != nil || len(grants) != 1 || grants[0].Status != store.GrantActive || grants[0].RefreshToken.IsZero() {
		t.Fatalf("grants of %s: %v %+v, want one active grant with a refresh token", alice.Sub, err, grants)
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, _, err := m.DB().ListAudit(ctx, store.AuditQuery{Sub: alice.Sub})
		if err != nil {
			t.Fatal(err)
		}
		var handled int
		for _, e := range entries {
			if e.Actor == "event" && strings.HasSuffix(e.EventType, "/sessions-revoked") {
				handled++
			}
		}
		if handled == 1 {
			break
		}
		if handled > 1 || time.Now().After(deadline) {
			t.Fatalf("audit entries for the event: %d, want exactly 1", handled)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := m.DB().CountInbox(ctx, store.InboxDone); n != 1 {
		t.Errorf("done inbox entries = %d, want 1", n)
	}
}
