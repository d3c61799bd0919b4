package googlesim

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// saKeyID reads the private_key_id of the sim's service account.
func saKeyID(tb testing.TB, s sim) string {
	tb.Helper()
	var f struct {
		ID string `json:"private_key_id"`
	}
	if err := json.Unmarshal(s.ServiceAccountJSON(), &f); err != nil {
		tb.Fatal(err)
	}
	return f.ID
}

// signJWT signs claims with key under header hdr (RS256 unless hdr says
// otherwise).
func signJWT(tb testing.TB, key *rsa.PrivateKey, hdr, claims map[string]any) string {
	tb.Helper()
	h, err := json.Marshal(hdr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := compactParts{header: h, payload: c}.signWith("RS256", key)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestStreamAuthentication(t *testing.T) {
	s := newStreamSim(t, nil)
	kid, email, key := saKeyID(t, s), s.ServiceAccountEmail(), testKey(t, 3)
	now := time.Now().Unix()
	good := func() (map[string]any, map[string]any) {
		return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"},
			map[string]any{"iss": email, "sub": email, "aud": RISCManagementAudience, "iat": now, "exp": now + 3600}
	}
	mk := func(edit func(h, c map[string]any)) string {
		h, c := good()
		if edit != nil {
			edit(h, c)
		}
		return signJWT(t, key, h, c)
	}
	s.ConfigureStream("https://riscd.example.com/risc", []string{EventVerification})
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"good", mk(nil), http.StatusOK},
		{"aud array", mk(func(_, c map[string]any) { c["aud"] = []string{"x", RISCManagementAudience} }), http.StatusOK},
		{"none", "", http.StatusUnauthorized},
		{"garbage", "not.a.jwt", http.StatusUnauthorized},
		{"two segments", "a.b", http.StatusUnauthorized},
		{"unknown kid", mk(func(h, _ map[string]any) { h["kid"] = "0123" }), http.StatusUnauthorized},
		{"no kid", mk(func(h, _ map[string]any) { delete(h, "kid") }), http.StatusUnauthorized},
		{"alg lies", mk(func(h, _ map[string]any) { h["alg"] = "RS512" }), http.StatusUnauthorized},
		{"other key", signJWT(t, testKey(t, 4), func() map[string]any { h, _ := good(); return h }(), func() map[string]any { _, c := good(); return c }()), http.StatusUnauthorized},
		{"wrong aud", mk(func(_, c map[string]any) { c["aud"] = "https://risc.googleapis.com/" }), http.StatusUnauthorized},
		{"wrong iss", mk(func(_, c map[string]any) { c["iss"] = "someone@example.com" }), http.StatusUnauthorized},
		{"wrong sub", mk(func(_, c map[string]any) { c["sub"] = "someone@example.com" }), http.StatusUnauthorized},
		{"expired", mk(func(_, c map[string]any) { c["iat"], c["exp"] = now-7200, now-3600 }), http.StatusUnauthorized},
		{"too long", mk(func(_, c map[string]any) { c["exp"] = now + 3601 }), http.StatusUnauthorized},
		{"no exp", mk(func(_, c map[string]any) { delete(c, "exp") }), http.StatusUnauthorized},
		{"future iat", mk(func(_, c map[string]any) { c["iat"], c["exp"] = now+3600, now+7200 }), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.call(t, http.MethodGet, PathStreamStatus, tc.token, nil)
			if tc.status == http.StatusOK {
				if a.status != http.StatusOK {
					t.Fatalf("got %d %v, want 200", a.status, a.body)
				}
				return
			}
			wantGoogleError(t, a, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid authentication credentials")
			if !strings.Contains(a.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("WWW-Authenticate = %q", a.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("alg none", func(t *testing.T) {
		h, c := good()
		h["alg"] = "none"
		hb, _ := json.Marshal(h)
		cb, _ := json.Marshal(c)
		a := s.call(t, http.MethodGet, PathStreamStatus, compactParts{header: hb, payload: cb}.signingInput()+".", nil)
		wantGoogleError(t, a, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid authentication credentials")
	})
}

func TestStreamRefusesUserToken(t *testing.T) {
	s := newStreamSim(t, nil)
	a := s.grantFlow(t, browser(t), nil, Choice{User: "alice@example.com"})
	got := s.call(t, http.MethodGet, PathStream, a.str("access_token"), nil)
	wantGoogleError(t, got, http.StatusForbidden, "PERMISSION_DENIED", "should only be called by a service account")
}
