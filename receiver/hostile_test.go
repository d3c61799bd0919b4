package receiver_test

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit/hostile"
	"github.com/riscd/riscd/receiver"
)

// newHostileEnv builds hostile tokens signed as g's Google, with attacker
// as the key Google's key set lacks.
func newHostileEnv(g googleReceiver, attacker *rsa.PrivateKey) *hostile.Env {
	return &hostile.Env{
		Sign:     g.g.Transmitter().Sign,
		Issuer:   g.g.URL(),
		Audience: g.g.ClientID(),
		Subject:  googlesim.DefaultUsers()[0].Sub,
		KeyID:    g.g.CurrentKeyID,
		Now:      g.clock.Now,
		Attacker: attacker,
	}
}

func TestHostileTokensAreRefused(t *testing.T) {
	keys := mustRSAKeys(t, 2)
	// Every unknown kid may refetch Google's keys, so that each is refused
	// on its own merits: inside the usual gap between refetches a second
	// unknown kid is answered 503 (TestUnknownKidRefetchIsRateLimited).
	noLimit := func(cfg *receiver.Config) { cfg.UnknownKidRefetch = time.Nanosecond }
	g := mustGoogleReceiver(t, keys[:1], noLimit)
	h := newHostileEnv(g, keys[1])
	h.AttackerJWKS = hostile.ServeJWKS(t, "attacker", &keys[1].PublicKey)
	cases := hostile.Cases()
	if len(cases) < 40 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	// A sound SET first, so that the refusals below are the tokens' fault.
	wantAccepted(t, post(t, g.url, h.Token(t)))
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			g.clock.Advance(time.Nanosecond)
			before := inboxCount(t, g.db)
			tok := tc.Token(t, h)
			a := post(t, g.url, tok)
			if a.status != http.StatusBadRequest || a.err != tc.Want {
				t.Errorf("answer = %d %q (%s), want 400 %q", a.status, a.err, a.desc, tc.Want)
			}
			wantErrorAnswer(t, a, tok)
			if got := inboxCount(t, g.db); got != before {
				t.Errorf("inbox entries = %d after a refused token, want %d", got, before)
			}
		})
	}
}

// wantErrorAnswer checks the shape of an RFC 8935 error answer and that its
// description quotes no more than 64 characters of the token.
func wantErrorAnswer(tb testing.TB, a answer, tok string) {
	tb.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cl := a.header.Get("Content-Language"); cl != "en" {
		tb.Errorf("Content-Language = %q, want en", cl)
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil || len(m) != 2 || m["err"] == nil || m["description"] == nil {
		tb.Errorf("body = %s, want exactly err and description", a.body)
	}
	if a.desc == "" || len(a.desc) > 160 {
		tb.Errorf("description = %q, want a short text", a.desc)
	}
	for i := 0; i+65 <= len(tok); i++ {
		if strings.Contains(a.desc, tok[i:i+65]) {
			tb.Errorf("description %q quotes more than 64 characters of the token", a.desc)
			break
		}
	}
}
