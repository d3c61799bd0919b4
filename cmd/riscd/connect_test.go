package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/googlesim"
)

// TestConnectSessionThroughTheDaemon: the app opens a connect session with
// the Go client, the user's browser goes through riscd's public listener
// and googlesim's consent, comes back to the app with connect_id and
// status, and the app reads the result and gets a token by its own user's
// identifier.
func TestConnectSessionThroughTheDaemon(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	env := []string{"RISCD_COMPANION_RETURN_URLS=[https://app.example.com/after]"}
	m := startMain(t, cfgPath, env)
	c := client.New("http://"+m.InternalAddr(), appTokenOf(t, cfgPath, env))
	alice := sim.Users()[0]

	if _, err := c.Connect(ctx, "u-123", nil, "https://evil.example.com/after"); err == nil {
		t.Fatal("a return_to outside companion.return_urls was accepted")
	}
	s, err := c.Connect(ctx, "u-123", []string{"drive"}, "https://app.example.com/after")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL, "http://"+m.PublicAddr()+"/connect/"+s.ID+"?token=") {
		t.Fatalf("url %s, want riscd's public listener", s.URL)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := googlesim.Consent(ctx, browser, resp.Header.Get("Location"), googlesim.Choice{User: alice.Email})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(back.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://app.example.com/after?connect_id=" + s.ID + "&status=connected"
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("answer %d to %s, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	r, err := c.ConnectResult(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "connected" || r.AppUser != "u-123" || r.Sub != alice.Sub || r.Email != alice.Email || r.GrantID == "" ||
		len(r.Features) != 1 || r.Features[0] != "drive" {
		t.Errorf("result %+v, want connected to %s with drive", r, alice.Sub)
	}
	tok, err := c.Token(ctx, client.AppUser("u-123"), demoDriveScope)
	if err != nil || tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Errorf("token by app user: %v, %v; want an access token only", tok, err)
	}
}
