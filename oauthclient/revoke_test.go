package oauthclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/oauthclient"
)

// startSim runs googlesim, which refuses a revocation that does not
// authenticate the client (RFC 7009 §2.1), and returns it with the refresh
// token of one consent.
func startSim(t *testing.T) (*googlesim.Server, riscd.Secret) {
	t.Helper()
	sim, err := googlesim.New(googlesim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, consent(t, sim)
}

// consent runs the consent flow for the first user and returns the refresh
// token.
func consent(t *testing.T, sim *googlesim.Server) riscd.Secret {
	t.Helper()
	const redirect = "http://127.0.0.1/oauth2callback"
	if err := sim.AddRedirectURI(redirect); err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{
		ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RedirectURL: redirect, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: sim.URL() + googlesim.PathAuthorize, TokenURL: sim.URL() + googlesim.PathToken, AuthStyle: oauthclient.AuthStyle},
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	back, err := googlesim.Consent(t.Context(), browser, conf.AuthCodeURL("state", oauth2.AccessTypeOffline), googlesim.Choice{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conf.Exchange(t.Context(), back.Query().Get("code"))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v (refresh token present: %v)", err, tok != nil && tok.RefreshToken != "")
	}
	return riscd.Secret(tok.RefreshToken)
}

func newRevoker(t *testing.T, cfg oauthclient.RevokerConfig) *oauthclient.Revoker {
	t.Helper()
	r, err := oauthclient.NewRevoker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRevokeAuthenticatesTheClient(t *testing.T) {
	for name, style := range map[string]oauth2.AuthStyle{
		"default (as at the token endpoint)": oauth2.AuthStyleAutoDetect,
		"client_secret_basic":                oauth2.AuthStyleInHeader,
		"client_secret_post":                 oauth2.AuthStyleInParams,
	} {
		t.Run(name, func(t *testing.T) {
			sim, rt := startSim(t)
			r := newRevoker(t, oauthclient.RevokerConfig{
				URL: sim.URL() + googlesim.PathRevoke, ClientID: sim.ClientID(), ClientSecret: riscd.Secret(sim.ClientSecret()), AuthStyle: style,
			})
			a, err := r.Revoke(t.Context(), rt)
			if err != nil || !a.Revoked() {
				t.Fatalf("Revoke = %+v, %v; want 200", a, err)
			}
			if !sim.IsRevoked(rt.Reveal()) {
				t.Error("the server still honours the refresh token")
			}
			// Google answers a dead token with 400 invalid_token.
			if a, err := r.Revoke(t.Context(), rt); err != nil || a.Status != http.StatusBadRequest || a.Code != "invalid_token" {
				t.Errorf("second Revoke = %+v, %v; want 400 invalid_token", a, err)
			}
		})
	}
}

func TestRevokeRefusedWithoutTheClientsCredentials(t *testing.T) {
	sim, rt := startSim(t)
	for name, cfg := range map[string]oauthclient.RevokerConfig{
		"none":         {URL: sim.URL() + googlesim.PathRevoke},
		"wrong secret": {URL: sim.URL() + googlesim.PathRevoke, ClientID: sim.ClientID(), ClientSecret: "GOCSPX-wrong"},
	} {
		t.Run(name, func(t *testing.T) {
			a, err := newRevoker(t, cfg).Revoke(t.Context(), rt)
			if err != nil || a.Revoked() || a.Status != http.StatusUnauthorized || a.Code != "invalid_client" {
				t.Errorf("Revoke = %+v, %v; want 401 invalid_client", a, err)
			}
		})
	}
	if sim.IsRevoked(rt.Reveal()) {
		t.Error("an unauthenticated request revoked the token")
	}
}

// TestRevokeEncodesBasicCredentials: RFC 6749 §2.3.1 form-urlencodes the
// client ID and secret before they become the Basic user and password.
func TestRevokeEncodesBasicCredentials(t *testing.T) {
	const id, secret = "client id:1", "s3cr+t/=:%"
	got := make(chan [3]string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		_ = r.ParseForm()
		got <- [3]string{user, pass, r.PostForm.Encode()}
	}))
	t.Cleanup(srv.Close)
	a, err := newRevoker(t, oauthclient.RevokerConfig{URL: srv.URL, ClientID: id, ClientSecret: secret}).Revoke(t.Context(), "1//tok en")
	if err != nil || !a.Revoked() {
		t.Fatalf("Revoke = %+v, %v", a, err)
	}
	g := <-got
	u, _ := url.QueryUnescape(g[0])
	p, _ := url.QueryUnescape(g[1])
	if u != id || p != secret || g[0] != "client+id%3A1" || g[2] != "token=1%2F%2Ftok+en" {
		t.Errorf("Basic user %q password %q (decoded %q %q), form %q", g[0], g[1], u, p, g[2])
	}
}

func TestRevokeErrorsHoldNoSecret(t *testing.T) {
	const secret, token = "GOCSPX-never-in-errors", "1//never-in-errors"
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); srv.Close() })
	r := newRevoker(t, oauthclient.RevokerConfig{URL: srv.URL, ClientID: "id", ClientSecret: secret})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := r.Revoke(ctx, token)
	if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) {
		t.Errorf("Revoke against a hung server: %v, want an error without secrets", err)
	}
	if _, err := r.Revoke(t.Context(), ""); err == nil {
		t.Error("Revoke of no token: no error")
	}
}

func TestNewRevokerRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]oauthclient.RevokerConfig{
		"no URL":             {ClientID: "id", ClientSecret: "GOCSPX-x"},
		"relative URL":       {URL: "/revoke", ClientID: "id", ClientSecret: "GOCSPX-x"},
		"ID without secret":  {URL: "https://oauth2.googleapis.com/revoke", ClientID: "id"},
		"secret without ID":  {URL: "https://oauth2.googleapis.com/revoke", ClientSecret: "GOCSPX-x"},
		"unknown auth style": {URL: "https://oauth2.googleapis.com/revoke", ClientID: "id", ClientSecret: "GOCSPX-x", AuthStyle: 7},
	} {
		_, err := oauthclient.NewRevoker(cfg)
		if !errors.Is(err, oauthclient.ErrConfig) || strings.Contains(err.Error(), "GOCSPX-x") {
			t.Errorf("%s: %v, want ErrConfig without the secret", name, err)
		}
	}
}
