package googlesim

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/riscd/riscd/internal/testkit"
)

func TestSecretsStayOutOfLogs(t *testing.T) {
	var logs testkit.SyncBuffer
	s := newSim(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	loc := mustConsent(t, browser(t), s.authURL(map[string]string{"code_challenge": s256(verifier), "code_challenge_method": "S256"}), Choice{})
	code := codeOf(t, loc)
	a := s.exchange(t, code, verifier)
	s.exchange(t, code, verifier) // replay
	s.refresh(t, a.str("refresh_token"))
	s.post(t, PathToken, url.Values{"grant_type": {"refresh_token"}, "client_id": {s.ClientID()}, "client_secret": {"GOCSPX-wrong-secret"}}, nil)
	s.post(t, PathRevoke, url.Values{"token": {a.str("access_token")}}, &[2]string{s.ClientID(), "GOCSPX-wrong-revoke-secret"})
	s.post(t, PathRevoke, url.Values{"token": {a.str("access_token")}}, s.basic())
	if logs.String() == "" {
		t.Fatal("nothing was logged: the test proves nothing")
	}
	for name, secret := range map[string]string{
		"code": code, "access token": a.str("access_token"), "refresh token": a.str("refresh_token"),
		"id token": a.str("id_token"), "client secret": s.ClientSecret(), "wrong secret": "GOCSPX-wrong-secret", "wrong revoke secret": "GOCSPX-wrong-revoke-secret", "verifier": verifier,
	} {
		if secret == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
