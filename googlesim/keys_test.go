package googlesim

import (
	"net/http"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// kids returns the key IDs of the served JWKS, in order.
func kids(tb testing.TB, s sim) []string {
	tb.Helper()
	set := fetchJWKS(tb, s)
	var out []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.Algorithm() != jwa.RS256 || k.KeyUsage() != "sig" {
			tb.Errorf("key %s: alg %v use %q, want RS256 and sig", k.KeyID(), k.Algorithm(), k.KeyUsage())
		}
		out = append(out, k.KeyID())
	}
	return out
}

func TestJWKSRotation(t *testing.T) {
	s := newSim(t, nil)
	first := s.CurrentKeyID()
	if got := kids(t, s); len(got) != 1 || got[0] != first {
		t.Fatalf("kids = %v, want [%s]", got, first)
	}
	a := s.get(t, PathJWKS, "")
	if cc := a.header.Get("Cache-Control"); cc != "public, max-age=3600, must-revalidate, no-transform" {
		t.Errorf("Cache-Control = %q", cc)
	}

	second, err := s.RotateKeys(true)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || s.CurrentKeyID() != second {
		t.Fatalf("RotateKeys gave kid %q (current %q), want a new current kid", second, s.CurrentKeyID())
	}
	if got := kids(t, s); len(got) != 2 || got[0] != second || got[1] != first {
		t.Errorf("after rotation keeping the old key: kids = %v, want [%s %s]", got, second, first)
	}
	tok, err := s.Transmitter().Sign(SessionsRevoked("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify([]byte(tok), jws.WithKeySet(fetchJWKS(t, s))); err != nil {
		t.Errorf("a SET signed after rotation does not verify: %v", err)
	}
	msg, _ := jws.Parse([]byte(tok))
	if got := msg.Signatures()[0].ProtectedHeaders().KeyID(); got != second {
		t.Errorf("SET kid = %q, want the new kid %q", got, second)
	}

	third, err := s.RotateKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(t, s); len(got) != 1 || got[0] != third {
		t.Errorf("after rotation dropping old keys: kids = %v, want [%s]", got, third)
	}
	if _, err := jws.Verify([]byte(tok), jws.WithKeySet(fetchJWKS(t, s))); err == nil {
		t.Error("a SET signed with a dropped key still verifies")
	}
}

func TestDiscoveryDocuments(t *testing.T) {
	s := newSim(t, func(c *Config) { c.RISCIssuer = "https://accounts.google.com" })
	oidc := s.get(t, PathOpenIDConfiguration, "")
	for name, want := range map[string]string{
		"issuer":                 s.URL(),
		"authorization_endpoint": s.URL() + PathAuthorize,
		"token_endpoint":         s.URL() + PathToken,
		"revocation_endpoint":    s.URL() + PathRevoke,
		"jwks_uri":               s.URL() + PathJWKS,
	} {
		if got := oidc.str(name); got != want {
			t.Errorf("openid-configuration %s = %q, want %q", name, got, want)
		}
	}
	risc := s.get(t, PathRISCConfiguration, "")
	if risc.status != http.StatusOK || risc.str("issuer") != "https://accounts.google.com" || risc.str("jwks_uri") != s.URL()+PathJWKS {
		t.Errorf("risc-configuration = %d %v", risc.status, risc.body)
	}
	if _, ok := risc.body["delivery_methods_supported"]; !ok {
		t.Error("risc-configuration lacks Google's non-standard members")
	}
}
