package receiver_test

import (
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/receiver"
)

// joseSign signs payload with go-jose, an implementation independent of the
// jwx library riscd and googlesim use.
func joseSign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, typ string, payload []byte) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("go-jose signer: %v", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("go-jose sign: %v", err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatalf("go-jose serialize: %v", err)
	}
	return tok
}

func TestInteropGoJoseSignsLikeJWX(t *testing.T) {
	keys := mustRSAKeys(t, 1)
	g := mustGoogleReceiver(t, keys, nil)
	h := newHostileEnv(g, nil)
	ssf := newSSFTransmitter(t)
	// The receiver must also serve the SSF transmitter for the ES256 rows.
	h2 := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Algorithms = []string{"RS256", "ES256"}
		cfg.Transmitters = append(cfg.Transmitters, ssf.config())
	})

	type row struct {
		name       string
		claims     func(jti string) []byte
		typ        string
		wantStatus int
		wantCode   string
	}
	claims := func(edit func(map[string]any)) func(string) []byte {
		return func(jti string) []byte {
			c := h.Claims()
			c["jti"] = jti
			if edit != nil {
				edit(c)
			}
			return mustJSON(t, c)
		}
	}
	rows := []row{
		{"sound", claims(nil), "", http.StatusAccepted, ""},
		{"sound with typ", claims(nil), "secevent+jwt", http.StatusAccepted, ""},
		{"issuer with slash", claims(func(c map[string]any) { c["iss"] = g.g.URL() + "/" }), "", http.StatusAccepted, ""},
		{"audience array", claims(func(c map[string]any) { c["aud"] = []string{"x", g.g.ClientID()} }), "", http.StatusAccepted, ""},
		{"wrong audience", claims(func(c map[string]any) { c["aud"] = "x" }), "", http.StatusBadRequest, receiver.CodeInvalidAudience},
		{"wrong issuer", claims(func(c map[string]any) { c["iss"] = "https://evil.example" }), "", http.StatusBadRequest, receiver.CodeInvalidIssuer},
		{"no events", claims(func(c map[string]any) { delete(c, "events") }), "", http.StatusBadRequest, receiver.CodeInvalidRequest},
		{"typ JWT", claims(nil), "JWT", http.StatusBadRequest, receiver.CodeInvalidRequest},
	}
	key := keys[0]
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var opts []googlesim.SETOption
			if r.typ != "" {
				opts = append(opts, googlesim.WithType(r.typ))
			}
			byJWX := post(t, g.url, h.SignedPayload(t, string(r.claims("jwx-"+r.name)), opts...))
			byJose := post(t, g.url, joseSign(t, jose.RS256, key, g.g.CurrentKeyID(), r.typ, r.claims("jose-"+r.name)))
			for who, a := range map[string]answer{"jwx": byJWX, "go-jose": byJose} {
				if a.status != r.wantStatus || a.err != r.wantCode {
					t.Errorf("%s-signed: answer = %d %q, want %d %q", who, a.status, a.err, r.wantStatus, r.wantCode)
				}
			}
		})
	}

	t.Run("go-jose token with a tampered payload", func(t *testing.T) {
		tok := splitToken(joseSign(t, jose.RS256, key, g.g.CurrentKeyID(), "", claims(nil)("jose-tampered")))
		other := splitToken(joseSign(t, jose.RS256, key, g.g.CurrentKeyID(), "", claims(nil)("jose-other")))
		a := post(t, g.url, tok[0]+"."+other[1]+"."+tok[2])
		if a.status != http.StatusBadRequest || a.err != receiver.CodeInvalidKey {
			t.Errorf("answer = %d %q, want 400 invalid_key", a.status, a.err)
		}
	})
	t.Run("go-jose PS256 outside the allow-list", func(t *testing.T) {
		a := post(t, g.url, joseSign(t, jose.PS256, key, g.g.CurrentKeyID(), "", claims(nil)("jose-ps256")))
		if a.status != http.StatusBadRequest || a.err != receiver.CodeInvalidKey {
			t.Errorf("answer = %d %q, want 400 invalid_key", a.status, a.err)
		}
	})
	t.Run("go-jose ES256 for an SSF transmitter", func(t *testing.T) {
		byJose := post(t, h2.url, joseSign(t, jose.ES256, ssf.key, ssf.kid, "secevent+jwt", mustJSON(t, ssf.claims("jose-ssf"))))
		byJWX := post(t, h2.url, ssf.sign(t, mustJSON(t, ssf.claims("jwx-ssf")), ""))
		wantAccepted(t, byJose)
		wantAccepted(t, byJWX)
	})
	t.Run("crypto/rsa alone", func(t *testing.T) {
		hdr := mustJSON(t, map[string]string{"alg": "RS256", "kid": g.g.CurrentKeyID()})
		wantAccepted(t, post(t, g.url, signRS256Raw(t, key, hdr, claims(nil)("raw-rsa"))))
	})
	if got := inboxCount(t, g.db); got != 2*4+1 {
		t.Errorf("inbox entries = %d, want %d", got, 2*4+1)
	}
}
