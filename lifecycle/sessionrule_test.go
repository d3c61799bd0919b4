package lifecycle_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/companion"
)

// sessionFields are the members by which the webhook and
// GET /v1/subjects/{sub} tell the app which of its sessions end, raw.
type sessionFields struct {
	EndSessionsBefore json.RawMessage `json:"end_sessions_before"`
	SigninDisabled    json.RawMessage `json:"signin_disabled"`
	Held              json.RawMessage `json:"held"`
}

// For every event type and reason of the actions table, the webhook and
// GET /v1/subjects/{sub} state the same session decision, byte for byte
// (timestamps in full precision), and that decision is the table's: a
// session older than the event ends exactly when the event ends sessions,
// holds the account or disables its sign-in.
func TestWebhookAndSubjectsAgree(t *testing.T) {
	const appToken = "app-token-0123456789abcdef"
	// wantEnds: whether the session created an hour before the event, and
	// the one created a minute after it, end under the decision.
	// wantEnds, by webhook type and reason: whether the session created an
	// hour before the event, and the one created a minute after it, end.
	wantEnds := map[string][2]bool{
		"token-revoked/":                      {false, false},
		"tokens-revoked/":                     {false, false},
		"sessions-revoked/":                   {true, false},
		"caep:session-revoked/":               {true, false},
		"account-disabled/hijacking":          {true, true},
		"account-disabled/bulk-account":       {false, false},
		"account-disabled/":                   {true, true},
		"account-disabled/policy-violation":   {true, true},
		"account-enabled/":                    {false, false},
		"account-credential-change-required/": {false, false},
		"caep:credential-change/":             {false, false},
		"account-purged/":                     {true, true},
		"https://example.com/secevent/event-type/thing-happened/": {false, false},
	}
	for _, c := range eventCases() {
		if c.hook == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, nil)
			s := seed(w)
			if c.prepare != nil {
				c.prepare(w, s)
			}
			w.deliver(c.set(t, s))
			stop := w.runOutbox()
			w.waitJobs()
			stop()
			hooks := w.hooks.delivered()
			if len(hooks) != 1 {
				t.Fatalf("%d webhooks delivered, want 1", len(hooks))
			}
			var fromHook sessionFields
			if err := json.Unmarshal(hooks[0].body, &fromHook); err != nil {
				t.Fatal(err)
			}

			adm, err := admin.New(admin.Config{Store: w.db, Now: w.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := companion.New(companion.Config{Store: w.db, AppToken: appToken, Serve: adm.API(), Now: w.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			e := echo.New()
			srv.Register(e)
			hs := httptest.NewServer(e)
			t.Cleanup(hs.Close)
			req, _ := http.NewRequestWithContext(w.ctx, http.MethodGet, hs.URL+"/v1/subjects/"+subA, nil)
			req.Header.Set("Authorization", "Bearer "+appToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /v1/subjects: %d %s", resp.StatusCode, body)
			}
			var fromAPI sessionFields
			if err := json.Unmarshal(body, &fromAPI); err != nil {
				t.Fatal(err)
			}
			if string(fromHook.EndSessionsBefore) != string(fromAPI.EndSessionsBefore) ||
				string(fromHook.SigninDisabled) != string(fromAPI.SigninDisabled) || string(fromHook.Held) != string(fromAPI.Held) {
				t.Errorf("webhook says end_sessions_before=%s signin_disabled=%s held=%s\n/v1/subjects says end_sessions_before=%s signin_disabled=%s held=%s",
					fromHook.EndSessionsBefore, fromHook.SigninDisabled, fromHook.Held, fromAPI.EndSessionsBefore, fromAPI.SigninDisabled, fromAPI.Held)
			}
			if len(fromHook.SigninDisabled) == 0 || len(fromHook.Held) == 0 {
				t.Errorf("webhook %s lacks signin_disabled or held", hooks[0].body)
			}
			if want := c.account.SessionsRevokedAt; !want.IsZero() {
				if got := `"` + want.Format(time.RFC3339Nano) + `"`; string(fromHook.EndSessionsBefore) != got {
					t.Errorf("end_sessions_before %s, want %s (full precision)", fromHook.EndSessionsBefore, got)
				}
			}

			p := hooks[0].payload
			ends := func(created time.Time) bool {
				return p.SigninDisabled || p.Held || p.EndSessionsBefore != nil && !created.After(*p.EndSessionsBefore)
			}
			want, ok := wantEnds[c.hook.typ+"/"+c.hook.reason]
			if !ok {
				t.Fatalf("no expectation for %s/%s", c.hook.typ, c.hook.reason)
			}
			if got := [2]bool{ends(t0().Add(-time.Hour)), ends(t0().Add(time.Minute))}; got != want {
				t.Errorf("older, newer session end = %v, want %v", got, want)
			}
		})
	}
}
