package companion_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/lifecycle"
)

type tokenJSON struct {
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	Expiry      *time.Time `json:"expiry"`
	Scopes      []string   `json:"scopes"`
}

// foreignScopeError is a broker error of another package: it is known by
// its MissingScopes method only.
type foreignScopeError struct{}

func (foreignScopeError) Error() string { return "lifecycle: no grant covers the scopes" }
func (foreignScopeError) MissingScopes() []string {
	return []string{"https://www.googleapis.com/auth/drive"}
}

// foreignTemporary is an upstream failure known by its Temporary method.
type foreignTemporary struct{}

func (foreignTemporary) Error() string   { return "lifecycle: token endpoint: 503" }
func (foreignTemporary) Temporary() bool { return true }

func TestTokenServesTheBrokersAccessToken(t *testing.T) {
	e := admintest.NewWith(t, nil, nil)
	expiry := admintest.T0.Add(50 * time.Minute)
	e.Broker.Answers["alice"] = admintest.BrokerAnswer{Tok: companion.Token{
		AccessToken: "ya29.served-access-token", Expiry: expiry, Scopes: []string{"openid", admintest.Features["drive"]},
	}}
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice"}) // its stored tokens must not leak

	for _, tok := range []string{admintest.AppToken, admintest.AdminToken} {
		r := e.Do(http.MethodPost, "/v1/token", tok, map[string]any{"sub": "alice", "scopes": []string{admintest.Features["drive"]}})
		if r.Status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
		}
		var got tokenJSON
		r.JSON(t, &got)
		if got.AccessToken != "ya29.served-access-token" || got.TokenType != "Bearer" || got.Expiry == nil || !got.Expiry.Equal(expiry) {
			t.Errorf("answer %+v, want the broker's token, Bearer, expiring %v", got, expiry)
		}
		if !slices.Equal(got.Scopes, []string{"openid", admintest.Features["drive"]}) {
			t.Errorf("scopes %v, want the token's", got.Scopes)
		}
		if strings.Contains(string(r.Body), "refresh") || strings.Contains(string(r.Body), g.RefreshToken.Reveal()) {
			t.Errorf("answer mentions a refresh token: %s", r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
	}
	if got := e.Broker.Calls(); len(got) != 2 || got[0].Sub != "alice" || !slices.Equal(got[0].Scopes, []string{admintest.Features["drive"]}) {
		t.Errorf("broker calls %+v, want two for alice and the drive scope", got)
	}
}

func TestTokenRefusals(t *testing.T) {
	e := admintest.NewWith(t, nil, nil)
	e.Broker.Answers["scopes"] = admintest.BrokerAnswer{Err: &lifecycle.ScopeError{Missing: []string{"https://www.googleapis.com/auth/calendar"}}}
	e.Broker.Answers["foreign-scopes"] = admintest.BrokerAnswer{Err: fmt.Errorf("broker: %w", foreignScopeError{})}
	e.Broker.Answers["held"] = admintest.BrokerAnswer{Err: &lifecycle.StateError{State: lifecycle.StateHeld, Reason: "hijacking"}}
	e.Broker.Answers["revoked"] = admintest.BrokerAnswer{Err: fmt.Errorf("broker: %w", &lifecycle.StateError{State: lifecycle.StateRevoked, Reason: "token-revoked"})}
	e.Broker.Answers["reconsent"] = admintest.BrokerAnswer{Err: &lifecycle.StateError{State: lifecycle.StateReconsentRequired, Reason: "invalid_grant"}}
	e.Broker.Answers["reauth"] = admintest.BrokerAnswer{Err: &lifecycle.StateError{State: lifecycle.StateReauthRequired, Reason: "invalid_rapt"}}
	e.Broker.Answers["gone"] = admintest.BrokerAnswer{Err: fmt.Errorf("lifecycle: grant: %w", riscd.ErrNotFound)}
	e.Broker.Answers["upstream"] = admintest.BrokerAnswer{Err: foreignTemporary{}}
	e.Broker.Answers["broken"] = admintest.BrokerAnswer{Err: admintest.ErrBoom}
	e.Broker.Answers["empty"] = admintest.BrokerAnswer{Tok: companion.Token{}}

	tests := []struct {
		sub    string
		status int
		code   string
		detail string
	}{
		{"nobody", http.StatusNotFound, companion.CodeNoGrant, "no grant"},
		{"gone", http.StatusNotFound, companion.CodeNoGrant, "no grant"},
		{"scopes", http.StatusForbidden, companion.CodeMissingScopes, `"missing_scopes":["https://www.googleapis.com/auth/calendar"]`},
		{"foreign-scopes", http.StatusForbidden, companion.CodeMissingScopes, `"missing_scopes":["https://www.googleapis.com/auth/drive"]`},
		{"held", http.StatusConflict, companion.CodeGrantUnavailable, `{"reason":"hijacking","state":"held"}`},
		{"revoked", http.StatusConflict, companion.CodeGrantUnavailable, `{"reason":"token-revoked","state":"revoked"}`},
		{"reconsent", http.StatusConflict, companion.CodeGrantUnavailable, `"state":"reconsent_required"`},
		{"reauth", http.StatusConflict, companion.CodeGrantUnavailable, `"state":"reauth_required"`},
		{"upstream", http.StatusServiceUnavailable, companion.CodeUpstreamUnavailable, "retry later"},
		{"broken", http.StatusInternalServerError, admin.CodeInternal, "the log has the cause"},
		{"empty", http.StatusInternalServerError, admin.CodeInternal, "the log has the cause"},
	}
	for _, tc := range tests {
		t.Run(tc.sub, func(t *testing.T) {
			r := e.Do(http.MethodPost, "/v1/token", admintest.AppToken, map[string]any{"sub": tc.sub, "scopes": []string{"openid"}})
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if !strings.Contains(string(r.Body), tc.detail) {
				t.Errorf("answer %s does not hold %s", r.Body, tc.detail)
			}
			if strings.Contains(string(r.Body), "lifecycle") || strings.Contains(string(r.Body), "input/output") {
				t.Errorf("answer shows an internal error text: %s", r.Body)
			}
		})
	}
	if got := e.Logs.String(); strings.Count(got, `"level":"ERROR"`) != 2 {
		t.Errorf("want exactly the two unexpected failures logged at error level, got:\n%s", got)
	}
}

func TestTokenTimesOut(t *testing.T) {
	e := admintest.NewWith(t, nil, func(c *companion.Config) { c.TokenTimeout = 20 * time.Millisecond })
	e.Broker.Block = true
	r := e.Do(http.MethodPost, "/v1/token", admintest.AppToken, map[string]any{"sub": "alice", "scopes": []string{"openid"}})
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode(t) != admin.CodeUnavailable {
		t.Errorf("got %d %s, want 503 unavailable", r.Status, r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
}

func TestTokenRefusesBadBodies(t *testing.T) {
	e := admintest.NewWith(t, nil, nil)
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"not JSON", "application/json", "sub=alice", http.StatusBadRequest},
		{"unknown member", "application/json", `{"sub":"alice","scope":["openid"]}`, http.StatusBadRequest},
		{"no scopes", "application/json", `{"sub":"alice","scopes":[]}`, http.StatusBadRequest},
		{"empty scope", "application/json", `{"sub":"alice","scopes":[""]}`, http.StatusBadRequest},
		{"no sub", "application/json", `{"scopes":["openid"]}`, http.StatusBadRequest},
		{"sub too long", "application/json", `{"sub":"` + strings.Repeat("1", 256) + `","scopes":["openid"]}`, http.StatusBadRequest},
		{"control character", "application/json", `{"sub":"a\u0000b","scopes":["openid"]}`, http.StatusBadRequest},
		{"two objects", "application/json", `{"sub":"alice","scopes":["openid"]}{}`, http.StatusBadRequest},
		{"too big", "application/json", `{"sub":"alice","scopes":["` + strings.Repeat("s", 20<<10) + `"]}`, http.StatusBadRequest},
		{"form content type", "application/x-www-form-urlencoded", `{"sub":"alice","scopes":["openid"]}`, http.StatusUnsupportedMediaType},
		{"no content type", "", `{"sub":"alice","scopes":["openid"]}`, http.StatusUnsupportedMediaType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := admintest.NewRequest(t, e, http.MethodPost, "/v1/token", nil)
			req.Body = admintest.NopCloser{Reader: strings.NewReader(tc.body)}
			req.ContentLength = int64(len(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+admintest.AppToken)
			if r := e.Send(req); r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
	if n := len(e.Broker.Calls()); n != 0 {
		t.Errorf("broker called %d times for refused bodies", n)
	}
	t.Run("not wired", func(t *testing.T) {
		e := admintest.NewWith(t, nil, func(c *companion.Config) { c.Broker = nil })
		r := e.Do(http.MethodPost, "/v1/token", admintest.AppToken, map[string]any{"sub": "alice", "scopes": []string{"openid"}})
		if r.Status != http.StatusNotImplemented {
			t.Errorf("status %d, want 501", r.Status)
		}
	})
}

func TestSubject(t *testing.T) {
	e := admintest.NewWith(t, nil, nil)
	revokedAt := admintest.T0.Add(-time.Minute)
	e.MustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com", SessionsRevokedAt: revokedAt, Held: true, ReconsentRequired: true, Review: true})
	g1 := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}, Status: riscd.GrantHeld, Reason: "hijacking"})
	e.Clock.Advance(time.Second)
	g2 := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantRevoked, Reason: "token-revoked"})

	r := e.Do(http.MethodGet, "/v1/subjects/alice", admintest.AppToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var got admintest.SubjectJSON
	r.JSON(t, &got)
	if got.Sub != "alice" || !got.Held || !got.ReconsentRequired || !got.Review || got.SigninDisabled || got.Purged {
		t.Errorf("state %+v, want held, reconsent_required and review", got)
	}
	if got.SessionsRevokedAt == nil || !got.SessionsRevokedAt.Equal(revokedAt) {
		t.Errorf("sessions_revoked_at = %v, want %v", got.SessionsRevokedAt, revokedAt)
	}
	if len(got.Grants) != 2 || got.Grants[0].ID != g2.ID || got.Grants[0].Status != "revoked" || got.Grants[1].ID != g1.ID || got.Grants[1].Reason != "hijacking" {
		t.Errorf("grants %+v, want %s revoked then %s held (hijacking)", got.Grants, g2.ID, g1.ID)
	}
	if strings.Contains(string(r.Body), "alice@example.com") {
		t.Errorf("the companion API shows the email: %s", r.Body)
	}

	t.Run("never set sessions_revoked_at is null", func(t *testing.T) {
		e.MustAccount(admintest.AccountOf("bob"))
		r := e.Do(http.MethodGet, "/v1/subjects/bob", admintest.AppToken, nil)
		if !strings.Contains(string(r.Body), `"sessions_revoked_at":null`) {
			t.Errorf("answer %s, want sessions_revoked_at null", r.Body)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := e.Do(http.MethodGet, "/v1/subjects/carol", admintest.AppToken, nil)
		if r.Status != http.StatusNotFound || r.ErrorCode(t) != admin.CodeNotFound {
			t.Errorf("got %d %s, want 404 not_found", r.Status, r.Body)
		}
	})
}

// POST /v1/token takes feature names (google.features) as well as scope
// URIs, and refuses a feature riscd does not have, naming it.
func TestTokenFeatures(t *testing.T) {
	tests := []struct {
		name       string
		body       map[string]any
		status     int
		wantScopes []string // asked of the broker
		wantBody   string
	}{
		{"a feature", map[string]any{"sub": "alice", "features": []string{"drive"}}, http.StatusOK,
			[]string{admintest.Features["drive"]}, ""},
		{"a scope URI", map[string]any{"sub": "alice", "scopes": []string{admintest.Features["drive"]}}, http.StatusOK,
			[]string{admintest.Features["drive"]}, ""},
		{"both, the feature's scope not repeated", map[string]any{"sub": "alice", "scopes": []string{"openid", admintest.Features["drive"]}, "features": []string{"drive"}},
			http.StatusOK, []string{"openid", admintest.Features["drive"]}, ""},
		{"an unknown feature", map[string]any{"sub": "alice", "features": []string{"drive", "telepathy"}}, http.StatusBadRequest,
			nil, `riscd has no feature \"telepathy\"`},
		{"neither scopes nor features", map[string]any{"sub": "alice"}, http.StatusBadRequest, nil, "scopes and features"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := admintest.NewWith(t, nil, nil)
			e.Broker.Answers["alice"] = admintest.BrokerAnswer{Tok: companion.Token{
				AccessToken: "ya29.served-access-token", Expiry: admintest.T0.Add(time.Hour), Scopes: []string{"openid", admintest.Features["drive"]},
			}}
			r := e.Do(http.MethodPost, "/v1/token", admintest.AppToken, tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.wantBody) {
				t.Fatalf("status %d %s, want %d with %s", r.Status, r.Body, tc.status, tc.wantBody)
			}
			calls := e.Broker.Calls()
			if tc.wantScopes == nil {
				if len(calls) != 0 {
					t.Errorf("broker asked %+v, want no call", calls)
				}
				return
			}
			if len(calls) != 1 || !slices.Equal(calls[0].Scopes, tc.wantScopes) {
				t.Errorf("broker calls %+v, want one for %v", calls, tc.wantScopes)
			}
		})
	}
}
