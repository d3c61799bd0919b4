package lifecycle_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
)

// simKey is generated once per test binary: RSA key generation is slow.
var simKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

const simRedirect = "http://127.0.0.1:9/oauth2/callback"

// startSim starts a googlesim with n users on 127.0.0.1 and has each of
// them consent, returning the server and each user's refresh token by sub.
// useSim points c at sim as riscd's OAuth client: revocations (which sim
// authenticates, as RFC 7009 §2.1 has it) and refreshes.
func useSim(c *lifecycle.Config, sim *googlesim.Server) {
	c.RevokeURL = sim.URL() + googlesim.PathRevoke
	c.ClientID, c.ClientSecret, c.TokenURL = sim.ClientID(), riscd.Secret(sim.ClientSecret()), sim.URL()+googlesim.PathToken
}

func startSim(t *testing.T, n int) (*googlesim.Server, map[string]string) {
	t.Helper()
	var users []googlesim.User
	for i := range n {
		sub := fmt.Sprintf("1200000000000000000%02d", i)
		users = append(users, googlesim.User{Sub: sub, Email: fmt.Sprintf("user%d@example.com", i), Name: fmt.Sprint("User ", i)})
	}
	sim, err := googlesim.New(googlesim.Config{Users: users, RedirectURIs: []string{simRedirect}, Keys: []*rsa.PrivateKey{simKey()}})
	if err != nil {
		t.Fatalf("googlesim.New: %v", err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("googlesim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	conf := &oauth2.Config{
		ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RedirectURL: simRedirect,
		Scopes:   []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: sim.URL() + googlesim.PathAuthorize, TokenURL: sim.URL() + googlesim.PathToken},
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	tokens := map[string]string{}
	for _, u := range users {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		verifier := oauth2.GenerateVerifier()
		loc, err := googlesim.Consent(ctx, browser, conf.AuthCodeURL("st", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier)), googlesim.Choice{User: u.Sub})
		if err != nil {
			t.Fatalf("Consent for %s: %v", u.Sub, err)
		}
		tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil || tok.RefreshToken == "" {
			t.Fatalf("Exchange for %s: %v (refresh token %v)", u.Sub, err, tok != nil && tok.RefreshToken != "")
		}
		tokens[u.Sub] = tok.RefreshToken
	}
	return sim, tokens
}
