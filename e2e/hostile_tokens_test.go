package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/testkit/hostile"
)

// newHostileEnv builds hostile tokens signed by r's googlesim transmitter,
// with an attacker's key served under kid "attacker".
func newHostileEnv(t testing.TB, r *rig) *hostile.Env {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &hostile.Env{
		Sign:         r.tr.Sign,
		Issuer:       r.sim.URL(),
		Audience:     r.sim.ClientID(),
		Subject:      r.sim.Users()[0].Sub,
		KeyID:        r.sim.CurrentKeyID,
		Now:          time.Now,
		Attacker:     k,
		AttackerJWKS: hostile.ServeJWKS(t, "attacker", &k.PublicKey),
	}
}

// hostileTokens are the hostile cases riscd answers alike over real HTTP.
// Its clock runs, so the cases that need a pinned one are left to the
// receiver's tests; it refetches Google's keys for an unknown kid at most
// once in its gap between refetches, answering the next 503, so only the
// first unknown-kid case is sent.
func hostileTokens() []hostile.Case {
	var cases []hostile.Case
	unknownKid := false
	for _, tc := range hostile.Cases() {
		if tc.PinnedClock || tc.UnknownKid && unknownKid {
			continue
		}
		unknownKid = unknownKid || tc.UnknownKid
		cases = append(cases, tc)
	}
	return cases
}
