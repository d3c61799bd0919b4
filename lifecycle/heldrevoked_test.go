package lifecycle_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// A grant held by account-disabled and then revoked by tokens-revoked is
// answered 409 with the state that decides what the app does (the user
// must consent again), not the hold that came first.
func TestTokenAfterHoldThenRevocation(t *testing.T) {
	const appToken = "app-token-0123456789abcdef"
	tests := []struct {
		name    string
		actions map[string][]string // risc.actions
		want    string              // in the 409's detail
	}{
		{"default actions", nil, `"detail":{"reason":"tokens-revoked","state":"reconsent_required"}`},
		{"revoke_grants without mark_reconsent", map[string][]string{"tokens-revoked": {lifecycle.ActionRevokeGrants, lifecycle.ActionNotify}},
			`"detail":{"reason":"tokens-revoked","state":"revoked"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, func(c *lifecycle.Config) { c.Actions = tc.actions })
			seed(w)
			w.deliver(googleSET(t, "jti-1", events.TypeAccountDisabled, issSub(subA), `"reason": "hijacking"`))
			w.deliver(googleSET(t, "jti-2", events.TypeTokensRevoked, issSub(subA), ""))
			if a := w.getAccount(subA); !a.Held {
				t.Fatalf("account %+v: want it still held", a)
			}

			adm, err := admin.New(admin.Config{Store: w.db, Now: w.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := companion.New(companion.Config{Store: w.db, Broker: companionBroker{w.lc}, AppToken: appToken, Serve: adm.API(), Now: w.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			e := echo.New()
			srv.Register(e)
			hs := httptest.NewServer(e)
			t.Cleanup(hs.Close)
			req, _ := http.NewRequestWithContext(w.ctx, http.MethodPost, hs.URL+"/v1/token", strings.NewReader(`{"sub":"`+subA+`","scopes":["email"]}`))
			req.Header.Set("Authorization", "Bearer "+appToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), tc.want) {
				t.Errorf("POST /v1/token: %d %s, want 409 with %s", resp.StatusCode, body, tc.want)
			}
		})
	}
}
