package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// TestRetryFailedRevocationAuthenticates runs the whole daemon against
// googlesim, which refuses a revocation that does not authenticate the
// client, as RFC 7009 servers do (§2.1). A revoke job riscd once sent with
// the token alone failed there (401 invalid_client); riscd outbox
// retry-failed starts it over, and the daemon's revocation client, which
// authenticates as riscd's OAuth client, revokes the token.
func TestRetryFailedRevocationAuthenticates(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	m := MustRunMain(t, cfgPath)
	public, internal := "http://"+m.PublicAddr(), "http://"+m.InternalAddr()
	waitReady(t, internal)
	alice := sim.Users()[0]

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(public + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := googlesim.Consent(ctx, browser, resp.Header.Get("Location"), googlesim.Choice{User: alice.Email})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(back.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	grants, err := m.DB().GrantsBySub(ctx, alice.Sub)
	if err != nil || len(grants) != 1 || grants[0].RefreshToken.IsZero() {
		t.Fatalf("grants of alice: %v, %d, want one with a refresh token", err, len(grants))
	}
	g := grants[0]

	// The request riscd used to send, and the job it left.
	resp, err = http.PostForm(sim.URL()+googlesim.PathRevoke, url.Values{"token": {g.RefreshToken.Reveal()}})
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || answer.Error != "invalid_client" {
		t.Fatalf("revocation without client authentication: %d %q, want 401 invalid_client", resp.StatusCode, answer.Error)
	}
	now := time.Now()
	job, err := m.DB().EnqueueOutbox(ctx, riscd.OutboxJob{
		Kind: riscd.OutboxRevoke, Key: alice.Sub, Token: g.RefreshToken, GrantID: g.ID,
		Status: riscd.OutboxFailed, Attempts: 1, LastError: "revoke: HTTP 401", CreatedAt: now, DoneAt: now, Deadline: now.Add(7 * 24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}

	l, err := load(cfgPath, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(ctx, []string{"outbox", "retry-failed", "--kind", "revoke", "--internal-url", internal},
		[]string{envAdminToken + "=" + l.secrets.AdminToken.Reveal()}, &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), "failed jobs now pending again: 1") {
		t.Fatalf("riscd outbox retry-failed: exit %d\n%s%s", code, out.String(), errb.String())
	}
	testkit.Eventually(t, "the retried job to be done", func() bool {
		j, err := m.DB().OutboxJob(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == riscd.OutboxFailed {
			t.Fatalf("retried job %s after %d attempts: %q, want done", j.Status, j.Attempts, j.LastError)
		}
		return j.Status == riscd.OutboxDone
	})
	if !sim.IsRevoked(g.RefreshToken.Reveal()) {
		t.Error("the retried job is done but the refresh token is live at the stand-in")
	}
}
