package googlesim

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRevokeAnyTokenKillsGrant(t *testing.T) {
	cases := []struct {
		name  string
		pick  func(first, second answer) string // the token to revoke
		query bool
	}{
		{"access token", func(f, _ answer) string { return f.str("access_token") }, false},
		{"refresh token", func(f, _ answer) string { return f.str("refresh_token") }, false},
		{"refresh token in query", func(f, _ answer) string { return f.str("refresh_token") }, true},
		{"later consent's access token", func(_, s answer) string { return s.str("access_token") }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			b := browser(t)
			first := s.grantFlow(t, b, nil, Choice{})
			second := s.grantFlow(t, b, map[string]string{"prompt": "consent"}, Choice{})
			bob := s.grantFlow(t, browser(t), map[string]string{"login_hint": "bob@example.com"}, Choice{})
			tok := tc.pick(first, second)
			var a answer
			if tc.query {
				a = s.post(t, PathRevoke+"?token="+url.QueryEscape(tok), url.Values{}, s.basic())
			} else {
				a = s.post(t, PathRevoke, url.Values{"token": {tok}}, s.basic())
			}
			if a.status != http.StatusOK {
				t.Fatalf("revoke: %d %v, want 200", a.status, a.body)
			}
			for _, tok := range []string{first.str("access_token"), first.str("refresh_token"), second.str("access_token"), second.str("refresh_token")} {
				if !s.IsRevoked(tok) {
					t.Error("a token of the revoked grant is still live")
				}
			}
			if _, ok := s.Grant("alice@example.com"); ok {
				t.Error("the grant survived revocation")
			}
			wantError(t, s.refresh(t, second.str("refresh_token")), 400, "invalid_grant", "Token has been expired or revoked.")
			if d := s.get(t, PathDriveFiles, second.str("access_token")); d.status != http.StatusUnauthorized {
				t.Errorf("drive with a revoked access token: %d, want 401", d.status)
			}
			if s.IsRevoked(bob.str("refresh_token")) {
				t.Error("revoking alice's grant killed bob's")
			}
			if st := s.Stats(); st.Revocations != 1 || st.GrantsRevoked != 1 {
				t.Errorf("Revocations = %d, GrantsRevoked = %d, want 1 and 1", st.Revocations, st.GrantsRevoked)
			}
		})
	}
}

func TestRevokeRefused(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), nil, Choice{})
	s.ExpireAccessTokens()
	cases := []struct {
		name  string
		form  url.Values
		code  string
		desc  string
		after func()
	}{
		{"unknown token", url.Values{"token": {"ya29.unknown"}}, "invalid_token", "Token expired or revoked", nil},
		{"expired access token", url.Values{"token": {a.str("access_token")}}, "invalid_token", "Token expired or revoked", nil},
		{"no token", url.Values{}, "invalid_request", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.post(t, PathRevoke, tc.form, s.basic())
			wantError(t, got, http.StatusBadRequest, tc.code, tc.desc)
		})
	}
	if _, ok := s.Grant("alice@example.com"); !ok {
		t.Fatal("refused revocations ended the grant")
	}
	if got := s.post(t, PathRevoke, url.Values{"token": {a.str("refresh_token")}}, s.basic()); got.status != http.StatusOK {
		t.Fatalf("revoke refresh token: %d", got.status)
	}
	wantError(t, s.post(t, PathRevoke, url.Values{"token": {a.str("refresh_token")}}, s.basic()), 400, "invalid_token", "Token expired or revoked")
}

func TestRevokeGrantAPI(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), nil, Choice{})
	if err := s.RevokeGrant("nobody@example.com"); err == nil {
		t.Error("RevokeGrant of an unknown user: no error")
	}
	if err := s.RevokeGrant(DefaultUsers()[0].Sub); err != nil {
		t.Fatal(err)
	}
	if !s.IsRevoked(a.str("refresh_token")) {
		t.Error("RevokeGrant left the refresh token live")
	}
}

func TestMaxRefreshTokens(t *testing.T) {
	s := newSim(t, func(c *Config) { c.MaxRefreshTokens = 2 })
	b := browser(t)
	var rts []string
	for range 3 {
		rts = append(rts, s.grantFlow(t, b, map[string]string{"prompt": "consent"}, Choice{}).str("refresh_token"))
	}
	for i, want := range []bool{true, false, false} {
		if got := s.IsRevoked(rts[i]); got != want {
			t.Errorf("refresh token %d revoked = %v, want %v", i, got, want)
		}
	}
	if g, _ := s.Grant("alice@example.com"); len(g.RefreshTokens) != 2 {
		t.Errorf("live refresh tokens = %d, want 2", len(g.RefreshTokens))
	}
}

// TestRevokeAuthenticatesClient: like an RFC 7009 server (§2.1, §2.2.1),
// the revocation endpoint authenticates the confidential client as the
// token endpoint does, and a refused request leaves the grant alone.
func TestRevokeAuthenticatesClient(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), nil, Choice{})
	rt := a.str("refresh_token")
	refused := []struct {
		name   string
		form   url.Values
		basic  *[2]string
		status int
		code   string
	}{
		{"no client authentication", url.Values{"token": {rt}}, nil, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret in Basic", url.Values{"token": {rt}}, &[2]string{s.ClientID(), "GOCSPX-wrong"}, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret in the form", url.Values{"token": {rt}, "client_id": {s.ClientID()}, "client_secret": {"GOCSPX-wrong"}}, nil, http.StatusUnauthorized, "invalid_client"},
		{"another client", url.Values{"token": {rt}}, &[2]string{"other.apps.googleusercontent.com", s.ClientSecret()}, http.StatusUnauthorized, "invalid_client"},
		{"client ID without its secret", url.Values{"token": {rt}, "client_id": {s.ClientID()}}, nil, http.StatusUnauthorized, "invalid_client"},
		{"two methods at once", url.Values{"token": {rt}, "client_secret": {s.ClientSecret()}}, s.basic(), http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.post(t, PathRevoke, tc.form, tc.basic), tc.status, tc.code, "")
		})
	}
	if s.IsRevoked(rt) || s.Stats().Revocations != 0 {
		t.Fatal("a refused revocation revoked the token")
	}
	post := url.Values{"token": {rt}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}
	if got := s.post(t, PathRevoke, post, nil); got.status != http.StatusOK {
		t.Fatalf("revoke with client_secret_post: %d %v, want 200", got.status, got.body)
	}
	if !s.IsRevoked(rt) {
		t.Error("the refresh token is still live")
	}
}
