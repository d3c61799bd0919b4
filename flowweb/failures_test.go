package flowweb_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
)

// assertRefused checks a refused callback: its status and page code, no
// session cookie, and an unchanged store.
func (e *env) assertRefused(p page, status int, code string, before snapshot) {
	e.t.Helper()
	if p.status != status || p.code() != code {
		e.t.Errorf("status %d code %q, want %d %s", p.status, p.code(), status, code)
	}
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "riscd_session" && c.MaxAge >= 0 {
			e.t.Error("a refused callback set a session cookie")
		}
	}
	e.assertUnchanged(before)
}

func TestCallbackStateChecks(t *testing.T) {
	t.Run("state mismatch", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		before := e.snapshot()
		cb := e.consent(e.startAuth(""), googlesim.Choice{})
		e.assertRefused(e.get(withQuery(cb, "state", "forged-state-value-0123456789").String()), http.StatusBadRequest, "state_mismatch", before)
		// The flow was single use: the genuine answer is refused now too.
		e.assertRefused(e.get(cb.String()), http.StatusBadRequest, "no_flow", before)
	})
	t.Run("replayed state", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		cb := e.consent(e.startAuth(""), googlesim.Choice{})
		flow := e.cookie("riscd_flow")
		if flow == nil {
			t.Fatal("no flow cookie before the callback")
		}
		if p := e.get(cb.String()); p.status != http.StatusSeeOther {
			t.Fatalf("first callback: status %d", p.status)
		}
		before := e.snapshot()
		// Replay with the flow cookie put back, as an attacker holding both would.
		req, _ := http.NewRequest(http.MethodGet, cb.String(), nil)
		req.AddCookie(flow)
		e.assertRefused(e.do(req), http.StatusBadRequest, "no_flow", before)
	})
	t.Run("expired state", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		before := e.snapshot()
		cb := e.consent(e.startAuth(""), googlesim.Choice{})
		e.clock.Advance(10*time.Minute + time.Second)
		p := e.get(cb.String())
		e.assertRefused(p, http.StatusBadRequest, "flow_expired", before)
		if e.sim.Stats().CodeExchanges != 0 {
			t.Error("the code of an expired flow was exchanged")
		}
	})
	t.Run("other browser", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		before := e.snapshot()
		cb := e.consent(e.startAuth(""), googlesim.Choice{})
		e.browser = newBrowser(t) // no flow cookie
		e.assertRefused(e.get(cb.String()), http.StatusBadRequest, "no_flow", before)
	})
	t.Run("no state", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		before := e.snapshot()
		cb := e.consent(e.startAuth(""), googlesim.Choice{})
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		e.assertRefused(e.get(cb.String()), http.StatusBadRequest, "no_flow", before)
	})
}

func TestReplayedCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.consent(e.startAuth(""), googlesim.Choice{})
	if p := e.get(first.String()); p.status != http.StatusSeeOther {
		t.Fatalf("first callback: status %d", p.status)
	}
	before := e.snapshot()
	// A fresh flow, answered with the code already used.
	second := e.consent(e.startAuth(""), googlesim.Choice{})
	replay := withQuery(second, "code", first.Query().Get("code"))
	e.assertRefused(e.get(replay.String()), http.StatusBadRequest, "invalid_grant", before)
	if got := e.sim.Stats().CodeReplays; got != 1 {
		t.Errorf("googlesim saw %d code replays, want 1", got)
	}
}

func TestWrongPKCEVerifier(t *testing.T) {
	e := newEnv(t, envOptions{})
	before := e.snapshot()
	authURL := e.startAuth("")
	// The code gets bound to another challenge than riscd's verifier's.
	sum := sha256.Sum256([]byte("a verifier riscd never made, long enough to be valid 0123456789"))
	other := withQuery(authURL, "code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	cb := e.consent(other, googlesim.Choice{})
	e.assertRefused(e.get(cb.String()), http.StatusBadRequest, "invalid_grant", before)
	if st := e.sim.Stats(); st.CodeExchanges != 0 || st.TokenRequests["authorization_code"] != 1 {
		t.Errorf("googlesim: %d exchanges of %d requests, want 0 of 1", st.CodeExchanges, st.TokenRequests["authorization_code"])
	}
}

func TestIDTokenChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault googlesim.IDTokenFault
	}{
		{"tampered", googlesim.IDTokenBadSignature},
		{"expired", googlesim.IDTokenExpired},
		{"wrong audience", googlesim.IDTokenWrongAudience},
		{"wrong nonce", googlesim.IDTokenWrongNonce},
		{"wrong issuer", googlesim.IDTokenWrongIssuer},
		{"unknown key", googlesim.IDTokenUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			before := e.snapshot()
			cb := e.consent(e.startAuth(""), googlesim.Choice{})
			e.sim.SetIDTokenFault(tc.fault)
			p := e.get(cb.String())
			e.assertRefused(p, http.StatusBadGateway, "bad_id_token", before)
			if !strings.Contains(p.body, "Try again") {
				t.Error("the page does not offer to try again")
			}
		})
	}
}

func TestRedirectURIMismatch(t *testing.T) {
	t.Run("not registered", func(t *testing.T) {
		e := newEnv(t, envOptions{unregistered: true})
		before := e.snapshot()
		_, err := googlesim.Consent(context.Background(), e.browser, e.startAuth("").String(), googlesim.Choice{})
		var pe *googlesim.PageError
		if !errors.As(err, &pe) || pe.Code != "redirect_uri_mismatch" {
			t.Fatalf("consent: %v, want Google's redirect_uri_mismatch page", err)
		}
		e.assertUnchanged(before)
	})
	t.Run("code issued for another redirect URI", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		other := e.srv.URL + "/oauth2callback/"
		if err := e.sim.AddRedirectURI(other); err != nil {
			t.Fatal(err)
		}
		before := e.snapshot()
		cb := e.consent(withQuery(e.startAuth(""), "redirect_uri", other), googlesim.Choice{})
		cb.Path = "/oauth2callback" // the browser lands on riscd's real callback
		p := e.get(cb.String())
		e.assertRefused(p, http.StatusBadGateway, "redirect_uri_mismatch", before)
		if !strings.Contains(p.body, e.srv.URL+"/oauth2callback") {
			t.Error("the page does not tell the operator which redirect URI to register")
		}
	})
}

func TestOAuthErrorPages(t *testing.T) {
	for _, tc := range []struct {
		code       string
		status     int
		shownCode  string
		mustSay    string
		noOperator bool
	}{
		{"access_denied", http.StatusForbidden, "access_denied", "Deny", true},
		{"admin_policy_enforced", http.StatusForbidden, "admin_policy_enforced", "administrator", false},
		{"disallowed_useragent", http.StatusForbidden, "disallowed_useragent", "regular browser", true},
		{"org_internal", http.StatusForbidden, "org_internal", "organization", false},
		{"invalid_client", http.StatusBadGateway, "invalid_client", "client_secrets_file", false},
		{"invalid_grant", http.StatusBadRequest, "invalid_grant", "connect once more", false},
		{"redirect_uri_mismatch", http.StatusBadGateway, "redirect_uri_mismatch", "authorized redirect URIs", false},
		{"invalid_request", http.StatusBadGateway, "invalid_request", "malformed", false},
		{"temporarily_unavailable", http.StatusBadGateway, "temporarily_unavailable", "temporarily_unavailable", false},
		{"<script>", http.StatusBadGateway, "unknown", "Google answered with the error", false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			before := e.snapshot()
			cb := e.consent(e.startAuth(""), googlesim.Choice{})
			cb = withQuery(cb, "error", tc.code)
			q := cb.Query()
			q.Del("code")
			cb.RawQuery = q.Encode()
			p := e.get(cb.String())
			e.assertRefused(p, tc.status, tc.shownCode, before)
			if !strings.Contains(p.body, tc.mustSay) {
				t.Errorf("page does not say %q:\n%s", tc.mustSay, p.body)
			}
			if got := strings.Contains(p.body, "For the operator"); got == tc.noOperator {
				t.Errorf("operator advice shown = %v, want %v", got, !tc.noOperator)
			}
			if strings.Contains(p.body, "<script>") {
				t.Error("the error code was rendered unescaped")
			}
		})
	}
	t.Run("from googlesim", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		before := e.snapshot()
		e.sim.SetAuthError("org_internal")
		cb := e.consent(e.startAuth(""), googlesim.Choice{})
		e.assertRefused(e.get(cb.String()), http.StatusForbidden, "org_internal", before)
	})
}

func TestJWKSUnavailableThenBack(t *testing.T) {
	e := newEnv(t, envOptions{beforeNew: func(s *googlesim.Server) {
		// Down when riscd starts: New must not care.
		if err := s.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
			panic(err)
		}
	}})
	before := e.snapshot()
	cb := e.consent(e.startAuth(""), googlesim.Choice{})
	p := e.get(cb.String())
	e.assertRefused(p, http.StatusServiceUnavailable, "keys_unavailable", before)
	if !strings.Contains(p.body, "try again") && !strings.Contains(p.body, "Try again") {
		t.Error("the page does not ask to try again")
	}
	e.sim.ClearFaults()
	e.connect("", googlesim.Choice{})
	e.onlyGrant()
}

func TestIDTokenKeyRotation(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{}) // caches the JWKS
	if _, err := e.sim.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	jwksBefore := e.sim.Stats().Requests[googlesim.EndpointJWKS]
	e.connect("?prompt=consent", googlesim.Choice{})
	if got := e.sim.Stats().Requests[googlesim.EndpointJWKS] - jwksBefore; got != 1 {
		t.Errorf("JWKS fetched %d times for the new key, want 1", got)
	}
}
