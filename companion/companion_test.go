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
	e := newEnv(t, nil)
	expiry := t0.Add(50 * time.Minute)
	e.broker.answers["alice"] = brokerAnswer{tok: companion.Token{
		AccessToken: "ya29.served-access-token", Expiry: expiry, Scopes: []string{"openid", features["drive"]},
	}}
	g := e.mustGrant(grantSpec{sub: "alice"}) // its stored tokens must not leak

	for _, tok := range []string{appToken, adminToken} {
		r := e.do(http.MethodPost, "/v1/token", tok, map[string]any{"sub": "alice", "scopes": []string{features["drive"]}})
		if r.status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", r.status, r.body)
		}
		var got tokenJSON
		r.json(t, &got)
		if got.AccessToken != "ya29.served-access-token" || got.TokenType != "Bearer" || got.Expiry == nil || !got.Expiry.Equal(expiry) {
			t.Errorf("answer %+v, want the broker's token, Bearer, expiring %v", got, expiry)
		}
		if !slices.Equal(got.Scopes, []string{"openid", features["drive"]}) {
			t.Errorf("scopes %v, want the token's", got.Scopes)
		}
		if strings.Contains(string(r.body), "refresh") || strings.Contains(string(r.body), g.RefreshToken.Reveal()) {
			t.Errorf("answer mentions a refresh token: %s", r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
	}
	if got := e.broker.calls(); len(got) != 2 || got[0].sub != "alice" || !slices.Equal(got[0].scopes, []string{features["drive"]}) {
		t.Errorf("broker calls %+v, want two for alice and the drive scope", got)
	}
}

func TestTokenRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.broker.answers["scopes"] = brokerAnswer{err: &lifecycle.ScopeError{Missing: []string{"https://www.googleapis.com/auth/calendar"}}}
	e.broker.answers["foreign-scopes"] = brokerAnswer{err: fmt.Errorf("broker: %w", foreignScopeError{})}
	e.broker.answers["held"] = brokerAnswer{err: &lifecycle.StateError{State: lifecycle.StateHeld, Reason: "hijacking"}}
	e.broker.answers["revoked"] = brokerAnswer{err: fmt.Errorf("broker: %w", &lifecycle.StateError{State: lifecycle.StateRevoked, Reason: "token-revoked"})}
	e.broker.answers["reconsent"] = brokerAnswer{err: &lifecycle.StateError{State: lifecycle.StateReconsentRequired, Reason: "invalid_grant"}}
	e.broker.answers["reauth"] = brokerAnswer{err: &lifecycle.StateError{State: lifecycle.StateReauthRequired, Reason: "invalid_rapt"}}
	e.broker.answers["gone"] = brokerAnswer{err: fmt.Errorf("lifecycle: grant: %w", riscd.ErrNotFound)}
	e.broker.answers["upstream"] = brokerAnswer{err: foreignTemporary{}}
	e.broker.answers["broken"] = brokerAnswer{err: errBoom}
	e.broker.answers["empty"] = brokerAnswer{tok: companion.Token{}}

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
			r := e.do(http.MethodPost, "/v1/token", appToken, map[string]any{"sub": tc.sub, "scopes": []string{"openid"}})
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if !strings.Contains(string(r.body), tc.detail) {
				t.Errorf("answer %s does not hold %s", r.body, tc.detail)
			}
			if strings.Contains(string(r.body), "lifecycle") || strings.Contains(string(r.body), "input/output") {
				t.Errorf("answer shows an internal error text: %s", r.body)
			}
		})
	}
	if got := e.logs.String(); strings.Count(got, `"level":"ERROR"`) != 2 {
		t.Errorf("want exactly the two unexpected failures logged at error level, got:\n%s", got)
	}
}

func TestTokenTimesOut(t *testing.T) {
	e := newEnv(t, func(c *companion.Config) { c.TokenTimeout = 20 * time.Millisecond })
	e.broker.block = true
	r := e.do(http.MethodPost, "/v1/token", appToken, map[string]any{"sub": "alice", "scopes": []string{"openid"}})
	if r.status != http.StatusServiceUnavailable || r.errorCode(t) != admin.CodeUnavailable {
		t.Errorf("got %d %s, want 503 unavailable", r.status, r.body)
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
}

func TestTokenRefusesBadBodies(t *testing.T) {
	e := newEnv(t, nil)
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
			req := newRequest(t, e, http.MethodPost, "/v1/token", nil)
			req.Body = nopCloser{strings.NewReader(tc.body)}
			req.ContentLength = int64(len(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+appToken)
			if r := e.send(req); r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	if n := len(e.broker.calls()); n != 0 {
		t.Errorf("broker called %d times for refused bodies", n)
	}
	t.Run("not wired", func(t *testing.T) {
		e := newEnv(t, func(c *companion.Config) { c.Broker = nil })
		r := e.do(http.MethodPost, "/v1/token", appToken, map[string]any{"sub": "alice", "scopes": []string{"openid"}})
		if r.status != http.StatusNotImplemented {
			t.Errorf("status %d, want 501", r.status)
		}
	})
}

func TestSubject(t *testing.T) {
	e := newEnv(t, nil)
	revokedAt := t0.Add(-time.Minute)
	e.mustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com", SessionsRevokedAt: revokedAt, Held: true, ReconsentRequired: true, Review: true})
	g1 := e.mustGrant(grantSpec{sub: "alice", scopes: []string{"openid", features["drive"]}, status: riscd.GrantHeld, reason: "hijacking"})
	e.clock.Advance(time.Second)
	g2 := e.mustGrant(grantSpec{sub: "alice", status: riscd.GrantRevoked, reason: "token-revoked"})

	r := e.do(http.MethodGet, "/v1/subjects/alice", appToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got subjectJSON
	r.json(t, &got)
	if got.Sub != "alice" || !got.Held || !got.ReconsentRequired || !got.Review || got.SigninDisabled || got.Purged {
		t.Errorf("state %+v, want held, reconsent_required and review", got)
	}
	if got.SessionsRevokedAt == nil || !got.SessionsRevokedAt.Equal(revokedAt) {
		t.Errorf("sessions_revoked_at = %v, want %v", got.SessionsRevokedAt, revokedAt)
	}
	if len(got.Grants) != 2 || got.Grants[0].ID != g2.ID || got.Grants[0].Status != "revoked" || got.Grants[1].ID != g1.ID || got.Grants[1].Reason != "hijacking" {
		t.Errorf("grants %+v, want %s revoked then %s held (hijacking)", got.Grants, g2.ID, g1.ID)
	}
	if strings.Contains(string(r.body), "alice@example.com") {
		t.Errorf("the companion API shows the email: %s", r.body)
	}

	t.Run("never set sessions_revoked_at is null", func(t *testing.T) {
		e.mustAccount(accountOf("bob"))
		r := e.do(http.MethodGet, "/v1/subjects/bob", appToken, nil)
		if !strings.Contains(string(r.body), `"sessions_revoked_at":null`) {
			t.Errorf("answer %s, want sessions_revoked_at null", r.body)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v1/subjects/carol", appToken, nil)
		if r.status != http.StatusNotFound || r.errorCode(t) != admin.CodeNotFound {
			t.Errorf("got %d %s, want 404 not_found", r.status, r.body)
		}
	})
}
