package lifecycle_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
)

// The broker is what flowweb's feature calls take their tokens from.
var _ flowweb.Grants = (*lifecycle.Lifecycle)(nil)

// companionBroker adapts the broker to companion.TokenBroker, as cmd/riscd
// does: the errors pass through unchanged.
type companionBroker struct{ l *lifecycle.Lifecycle }

func (b companionBroker) Token(ctx context.Context, sub string, scopes []string) (companion.Token, error) {
	t, err := b.l.Token(ctx, sub, scopes)
	if err != nil {
		return companion.Token{}, err
	}
	return companion.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry, Scopes: t.Scopes}, nil
}

// Through the companion API, the broker's answers become the statuses and
// codes the API documents, and no answer holds a refresh token.
func TestCompanionTokenRoute(t *testing.T) {
	const appToken = "app-token-0123456789abcdef"
	w := newSimWorld(t, 4, nil)
	valid, held, narrow, down := w.subs[0], w.subs[1], w.subs[2], w.subs[3]
	g := w.simGrant(valid, w.clock.Now().Add(time.Hour))
	gh := w.simGrant(held, w.clock.Now().Add(time.Hour))
	w.editGrant(gh.ID, func(g *riscd.Grant) { g.Status, g.Reason = riscd.GrantHeld, "account-disabled/hijacking" })
	w.simGrant(narrow, w.clock.Now().Add(time.Hour))
	w.simGrant(down, w.clock.Now().Add(-time.Minute))
	if err := w.sim.SetFault(googlesim.EndpointToken, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}

	adm, err := admin.New(admin.Config{Store: w.db, Now: w.clock.Now})
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	srv, err := companion.New(companion.Config{Store: w.db, Broker: companionBroker{w.lc}, AppToken: appToken, Serve: adm.API(), Now: w.clock.Now})
	if err != nil {
		t.Fatalf("companion.New: %v", err)
	}
	e := echo.New()
	adm.Register(e)
	srv.Register(e)
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)

	tests := []struct {
		name, sub, scopes string
		status            int
		want              string // in the body
	}{
		{"cached token", valid, `["email"]`, http.StatusOK, `"access_token":"ya29.stored-` + valid + `"`},
		{"unknown subject", "999", `["email"]`, http.StatusNotFound, `"error":"no_grant"`},
		{"missing scopes", narrow, `["email","https://www.googleapis.com/auth/drive"]`, http.StatusForbidden,
			`"missing_scopes":["https://www.googleapis.com/auth/drive"]`},
		{"held", held, `["email"]`, http.StatusConflict, `"detail":{"reason":"account-disabled/hijacking","state":"held"}`},
		{"token endpoint down", down, `["email"]`, http.StatusServiceUnavailable, `"error":"upstream_unavailable"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(w.ctx, http.MethodPost, hs.URL+"/v1/token",
				strings.NewReader(`{"sub":"`+tc.sub+`","scopes":`+tc.scopes+`}`))
			req.Header.Set("Authorization", "Bearer "+appToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("status %d body %s, want %d with %s", resp.StatusCode, body, tc.status, tc.want)
			}
			for _, rt := range w.rts {
				if strings.Contains(string(body), rt) || strings.Contains(string(body), "refresh") {
					t.Errorf("the answer mentions a refresh token: %s", body)
				}
			}
			if resp.StatusCode == http.StatusOK {
				var got map[string]any
				if err := json.Unmarshal(body, &got); err != nil || len(got) != 4 {
					t.Errorf("answer %s: want exactly access_token, token_type, expiry, scopes", body)
				}
			}
		})
	}
	if got := w.getGrant(g.ID).AccessToken; got != "ya29.stored-"+riscd.Secret(valid) {
		t.Errorf("the cached token was replaced")
	}
}
