package googlesim

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestStandardClient drives the flow with golang.org/x/oauth2, as riscd
// does: AuthCodeURL with PKCE S256, Exchange with the verifier, refresh
// through a TokenSource, with both client authentication styles.
func TestStandardClient(t *testing.T) {
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"basic", oauth2.AuthStyleInHeader},
		{"post", oauth2.AuthStyleInParams},
		{"autodetect", oauth2.AuthStyleAutoDetect},
	} {
		t.Run(style.name, func(t *testing.T) {
			s := newSim(t, nil)
			conf := &oauth2.Config{
				ClientID:     s.ClientID(),
				ClientSecret: s.ClientSecret(),
				RedirectURL:  testRedirect,
				Scopes:       []string{"openid", "email", scopeDrive},
				Endpoint: oauth2.Endpoint{
					AuthURL:   s.URL() + PathAuthorize,
					TokenURL:  s.URL() + PathToken,
					AuthStyle: style.style,
				},
			}
			verifier := oauth2.GenerateVerifier()
			authURL := conf.AuthCodeURL("xyz", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier),
				oauth2.SetAuthURLParam("nonce", "n-42"))
			loc := mustConsent(t, browser(t), authURL, Choice{})
			if got := loc.Query().Get("state"); got != "xyz" {
				t.Fatalf("state = %q, want xyz", got)
			}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
			tok, err := conf.Exchange(ctx, codeOf(t, loc), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Fatalf("token lacks parts: access %v refresh %v type %q expiry %v",
					tok.AccessToken != "", tok.RefreshToken != "", tok.TokenType, tok.Expiry)
			}
			idt, _ := tok.Extra("id_token").(string)
			if _, err := parseIDToken(t, s, idt); err != nil {
				t.Errorf("id_token: %v", err)
			}
			if got, _ := tok.Extra("scope").(string); got != "openid email "+scopeDrive {
				t.Errorf("scope = %q", got)
			}

			// A wrong verifier is refused as the library reports it.
			if _, err := conf.Exchange(ctx, codeOf(t, mustConsent(t, browser(t), conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), Choice{})),
				oauth2.VerifierOption(oauth2.GenerateVerifier())); !isRetrieveError(err, "invalid_grant") {
				t.Errorf("Exchange with a wrong verifier: %v, want invalid_grant", err)
			}

			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh through TokenSource: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
				t.Error("refresh did not give a new access token while keeping the refresh token")
			}
			if s.RefreshCount(tok.RefreshToken) != 1 {
				t.Errorf("RefreshCount = %d, want 1", s.RefreshCount(tok.RefreshToken))
			}
			drive := conf.Client(ctx, fresh)
			resp, err := drive.Get(s.URL() + PathDriveFiles)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("Drive through the oauth2 client: %d", resp.StatusCode)
			}
		})
	}
}

func isRetrieveError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
