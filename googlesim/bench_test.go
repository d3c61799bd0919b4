package googlesim

import (
	"net/http"
	"testing"
)

func BenchmarkTransmitterSign(b *testing.B) {
	s := newSim(b, nil)
	tr := s.Transmitter()
	ev := TokenRevoked(testRefreshToken, IdentifierHash)
	for b.Loop() {
		if _, err := tr.Sign(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefreshGrant(b *testing.B) {
	s := newSim(b, nil)
	rt := s.grantFlow(b, browser(b), nil, Choice{}).str("refresh_token")
	for b.Loop() {
		if a := s.refresh(b, rt); a.status != http.StatusOK {
			b.Fatalf("refresh: %d", a.status)
		}
	}
}

func BenchmarkConsentFlow(b *testing.B) {
	s := newSim(b, nil)
	for b.Loop() {
		s.grantFlow(b, browser(b), map[string]string{"prompt": "consent"}, Choice{})
	}
}
