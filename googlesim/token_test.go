package googlesim

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func TestTokenClientAuthentication(t *testing.T) {
	s := newSim(t, nil)
	b := browser(t)
	cases := []struct {
		name   string
		form   url.Values
		basic  *[2]string
		status int
		code   string
		desc   string
	}{
		{"client_secret_basic", url.Values{}, &[2]string{s.ClientID(), s.ClientSecret()}, 200, "", ""},
		{"client_secret_post", url.Values{"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, nil, 200, "", ""},
		{"basic with client_id in body", url.Values{"client_id": {s.ClientID()}}, &[2]string{s.ClientID(), s.ClientSecret()}, 200, "", ""},
		{"wrong secret basic", url.Values{}, &[2]string{s.ClientID(), "GOCSPX-wrong"}, 401, "invalid_client", "Unauthorized"},
		{"wrong secret post", url.Values{"client_id": {s.ClientID()}, "client_secret": {"GOCSPX-wrong"}}, nil, 401, "invalid_client", "Unauthorized"},
		{"no secret", url.Values{"client_id": {s.ClientID()}}, nil, 401, "invalid_client", "Unauthorized"},
		{"unknown client", url.Values{"client_id": {"999-x.apps.googleusercontent.com"}, "client_secret": {s.ClientSecret()}}, nil, 401, "invalid_client", "The OAuth client was not found."},
		{"no client", url.Values{}, nil, 400, "invalid_request", "Could not determine client ID from request."},
		{"both methods", url.Values{"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, &[2]string{s.ClientID(), s.ClientSecret()}, 400, "invalid_request", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code := codeOf(t, mustConsent(t, b, s.authURL(map[string]string{"prompt": "consent"}), Choice{}))
			f := tc.form
			f.Set("grant_type", "authorization_code")
			f.Set("code", code)
			f.Set("redirect_uri", testRedirect)
			a := s.post(t, PathToken, f, tc.basic)
			if tc.status == 200 {
				if a.status != 200 || a.str("access_token") == "" {
					t.Errorf("got %d %v, want 200 with an access token", a.status, a.body)
				}
				return
			}
			wantError(t, a, tc.status, tc.code, tc.desc)
			if strings.Contains(a.str("error_description"), s.ClientSecret()) {
				t.Error("error description contains the client secret")
			}
		})
	}
}

func TestTokenResponseShape(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), nil, Choice{})
	var keys []string
	for k := range a.body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}; !slices.Equal(keys, want) {
		t.Errorf("members = %v, want %v", keys, want)
	}
	if a.body["expires_in"] != float64(3599) || a.str("token_type") != "Bearer" {
		t.Errorf("expires_in = %v, token_type = %v, want 3599 and Bearer", a.body["expires_in"], a.body["token_type"])
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	noOpenID := s.grantFlow(t, browser(t), map[string]string{"scope": scopeDrive, "login_hint": "bob@example.com"}, Choice{})
	if _, ok := noOpenID.body["id_token"]; ok {
		t.Error("id_token issued without the openid scope")
	}
}

func TestCodeExchangeErrors(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	cases := []struct {
		name   string
		pkce   bool
		before func(s sim)
		edit   func(f url.Values)
		status int
		code   string
		desc   string
	}{
		{"wrong verifier", true, nil, func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 43)) }, 400, "invalid_grant", "Invalid code verifier."},
		{"missing verifier", true, nil, func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_grant", "Missing code verifier."},
		{"redirect_uri differs", false, nil, func(f url.Values) { f.Set("redirect_uri", testRedirect+"/") }, 400, "redirect_uri_mismatch", ""},
		{"malformed code", false, nil, func(f url.Values) { f.Set("code", "not-a-code") }, 400, "invalid_grant", "Malformed auth code."},
		{"unknown code", false, nil, func(f url.Values) { f.Set("code", "4/0Aunknown") }, 400, "invalid_grant", "Bad Request"},
		{"expired code", false, func(s sim) { s.clock.Advance(10*time.Minute + time.Second) }, nil, 400, "invalid_grant", "Bad Request"},
		{"unsupported grant type", false, nil, func(f url.Values) { f.Set("grant_type", "password") }, 400, "unsupported_grant_type", ""},
		{"missing grant type", false, nil, func(f url.Values) { f.Del("grant_type") }, 400, "invalid_request", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			edit := map[string]string{}
			if tc.pkce {
				edit["code_challenge"], edit["code_challenge_method"] = s256(verifier), "S256"
			}
			code := codeOf(t, mustConsent(t, browser(t), s.authURL(edit), Choice{}))
			if tc.before != nil {
				tc.before(s)
			}
			f := url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
				"code_verifier": {verifier}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()},
			}
			if tc.edit != nil {
				tc.edit(f)
			}
			wantError(t, s.post(t, PathToken, f, nil), tc.status, tc.code, tc.desc)
		})
	}
}

func TestPKCEAccepted(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	for _, method := range []string{"S256", "plain"} {
		t.Run(method, func(t *testing.T) {
			s := newSim(t, nil)
			challenge := verifier
			if method == "S256" {
				challenge = s256(verifier)
			}
			loc := mustConsent(t, browser(t), s.authURL(map[string]string{"code_challenge": challenge, "code_challenge_method": method}), Choice{})
			if a := s.exchange(t, codeOf(t, loc), verifier); a.status != http.StatusOK {
				t.Errorf("exchange with the right verifier: %d %v", a.status, a.body)
			}
		})
	}
}

func TestCodeReplayRevokesItsTokens(t *testing.T) {
	s := newSim(t, nil)
	code := codeOf(t, mustConsent(t, browser(t), s.authURL(nil), Choice{}))
	first := s.exchange(t, code, "")
	if first.status != http.StatusOK {
		t.Fatalf("first exchange: %d %v", first.status, first.body)
	}
	wantError(t, s.exchange(t, code, ""), 400, "invalid_grant", "Bad Request")
	for _, name := range []string{"access_token", "refresh_token"} {
		if !s.IsRevoked(first.str(name)) {
			t.Errorf("%s from a replayed code is not revoked", name)
		}
	}
	wantError(t, s.refresh(t, first.str("refresh_token")), 400, "invalid_grant", "Token has been expired or revoked.")
	if got := s.Stats().CodeReplays; got != 1 {
		t.Errorf("CodeReplays = %d, want 1", got)
	}
}

func TestRefresh(t *testing.T) {
	s := newSim(t, nil)
	first := s.grantFlow(t, browser(t), nil, Choice{})
	rt := first.str("refresh_token")
	a := s.refresh(t, rt)
	if a.status != http.StatusOK {
		t.Fatalf("refresh: %d %v", a.status, a.body)
	}
	if _, ok := a.body["refresh_token"]; ok {
		t.Error("refresh answered a new refresh token")
	}
	if a.str("access_token") == "" || a.str("access_token") == first.str("access_token") {
		t.Error("refresh gave no new access token")
	}
	if got, want := a.str("scope"), first.str("scope"); got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
	if a.str("id_token") == "" {
		t.Error("refresh with openid gave no id_token")
	}
	narrowed := s.post(t, PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {scopeDrive},
		"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, nil)
	if got := narrowed.str("scope"); got != scopeDrive {
		t.Errorf("narrowed scope = %q, want %q", got, scopeDrive)
	}
	st := s.Stats()
	if s.RefreshCount(rt) != 2 || st.Refreshes != 2 || st.TokenRequests["refresh_token"] != 2 || st.TokenRequests["authorization_code"] != 1 {
		t.Errorf("RefreshCount = %d, stats = %+v, want 2 refreshes and 1 code exchange", s.RefreshCount(rt), st)
	}
	wantError(t, s.refresh(t, "1//0unknown"), 400, "invalid_grant", "Bad Request")
	wantError(t, s.refresh(t, first.str("access_token")), 400, "invalid_grant", "Bad Request")
}

func TestInjectedTokenErrors(t *testing.T) {
	s := newSim(t, nil)
	rt := s.grantFlow(t, browser(t), nil, Choice{}).str("refresh_token")
	s.SetTokenError("refresh_token", InvalidRAPT(), 1)
	a := s.refresh(t, rt)
	want := map[string]any{"error": "invalid_grant", "error_description": "reauth related error (invalid_rapt)", "error_subtype": "invalid_rapt"}
	if a.status != 400 || len(a.body) != len(want) {
		t.Errorf("got %d %v, want 400 %v", a.status, a.body, want)
	}
	for k, v := range want {
		if a.body[k] != v {
			t.Errorf("%s = %v, want %v", k, a.body[k], v)
		}
	}
	if a := s.refresh(t, rt); a.status != http.StatusOK {
		t.Errorf("refresh after the one injected error: %d %v", a.status, a.body)
	}
	if s.IsRevoked(rt) {
		t.Error("invalid_rapt revoked the refresh token")
	}
	s.SetTokenError("", TokenError{Status: 503, Code: "temporarily_unavailable"}, 0)
	for range 2 {
		wantError(t, s.refresh(t, rt), 503, "temporarily_unavailable", "")
	}
	s.SetTokenError("", TokenError{}, 0)
	if a := s.refresh(t, rt); a.status != http.StatusOK {
		t.Errorf("refresh after clearing: %d %v", a.status, a.body)
	}
}

// fetchJWKS reads the served key set.
func fetchJWKS(tb testing.TB, s sim) jwk.Set {
	tb.Helper()
	set, err := jwk.Fetch(context.Background(), s.URL()+PathJWKS)
	if err != nil {
		tb.Fatalf("fetch JWKS: %v", err)
	}
	return set
}

// parseIDToken verifies an ID token against the served JWKS and validates
// it at the simulator's clock.
func parseIDToken(tb testing.TB, s sim, tok string, opts ...jwt.ParseOption) (jwt.Token, error) {
	tb.Helper()
	opts = append([]jwt.ParseOption{
		jwt.WithKeySet(fetchJWKS(tb, s)),
		jwt.WithClock(jwt.ClockFunc(s.clock.Now)),
		jwt.WithValidate(true),
		jwt.WithIssuer(s.URL()),
		jwt.WithAudience(s.ClientID()),
	}, opts...)
	return jwt.ParseString(tok, opts...)
}

func TestIDToken(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), map[string]string{"nonce": "n-0S6_WzA2Mj", "scope": "openid email profile"}, Choice{})
	tok, err := parseIDToken(t, s, a.str("id_token"), jwt.WithClaimValue("nonce", "n-0S6_WzA2Mj"))
	if err != nil {
		t.Fatalf("id_token does not verify: %v", err)
	}
	msg, err := jws.ParseString(a.str("id_token"))
	if err != nil {
		t.Fatal(err)
	}
	if h := msg.Signatures()[0].ProtectedHeaders(); h.Algorithm() != jwa.RS256 || h.KeyID() != s.CurrentKeyID() {
		t.Errorf("header alg = %v kid = %q, want RS256 and the current kid %q", h.Algorithm(), h.KeyID(), s.CurrentKeyID())
	}
	alice := DefaultUsers()[0]
	if tok.Subject() != alice.Sub {
		t.Errorf("sub = %q, want %q", tok.Subject(), alice.Sub)
	}
	if got, _ := tok.Get("email"); got != alice.Email {
		t.Errorf("email = %v, want %s", got, alice.Email)
	}
	if got, _ := tok.Get("name"); got != alice.Name {
		t.Errorf("name = %v, want %s", got, alice.Name)
	}
	if !tok.IssuedAt().Equal(s.clock.Now()) || !tok.Expiration().Equal(s.clock.Now().Add(time.Hour)) {
		t.Errorf("iat = %v, exp = %v, want now and now+1h", tok.IssuedAt(), tok.Expiration())
	}
	sum := sha256.Sum256([]byte(a.str("access_token")))
	if got, _ := tok.Get("at_hash"); got != b64.EncodeToString(sum[:16]) {
		t.Errorf("at_hash = %v does not match the access token", got)
	}
}

func TestIDTokenFaults(t *testing.T) {
	cases := []struct {
		fault IDTokenFault
		name  string
	}{
		{IDTokenBadSignature, "bad signature"},
		{IDTokenWrongAudience, "wrong audience"},
		{IDTokenWrongIssuer, "wrong issuer"},
		{IDTokenWrongNonce, "wrong nonce"},
		{IDTokenExpired, "expired"},
		{IDTokenUnknownKey, "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			b := browser(t)
			edit := map[string]string{"nonce": "n-1", "prompt": "consent"}
			s.SetIDTokenFault(tc.fault)
			spoiled := s.grantFlow(t, b, edit, Choice{}).str("id_token")
			if _, err := parseIDToken(t, s, spoiled, jwt.WithClaimValue("nonce", "n-1")); err == nil {
				t.Errorf("spoiled id_token verified")
			}
			sound := s.grantFlow(t, b, edit, Choice{}).str("id_token")
			if _, err := parseIDToken(t, s, sound, jwt.WithClaimValue("nonce", "n-1")); err != nil {
				t.Errorf("the id_token after the spoiled one does not verify: %v", err)
			}
		})
	}
}
