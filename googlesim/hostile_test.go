package googlesim

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestHostileSETs(t *testing.T) {
	s := newSim(t, nil)
	pub := &testKey(t, 0).PublicKey
	foreign := testKey(t, 4)
	when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	verifyWith := func(alg jwa.SignatureAlgorithm, key any) func(string) bool {
		return func(tok string) bool { _, err := jws.Verify([]byte(tok), jws.WithKey(alg, key)); return err == nil }
	}
	cases := []struct {
		name  string
		opts  []SETOption
		sound bool // the signature is a sound RS256 one by the current key
		check func(t *testing.T, h, c map[string]any, sig, tok string)
	}{
		{"alg none", []SETOption{WithAlgNone()}, false, func(t *testing.T, h, _ map[string]any, sig, tok string) {
			if h["alg"] != "none" || sig != "" || !strings.HasSuffix(tok, ".") {
				t.Errorf("alg = %v, signature %q, want none and empty", h["alg"], sig)
			}
		}},
		{"HS256 keyed with the public key", []SETOption{WithHS256PublicKey()}, false, func(t *testing.T, h, _ map[string]any, _, tok string) {
			if h["alg"] != "HS256" || h["kid"] != s.CurrentKeyID() {
				t.Errorf("header = %v, want HS256 with the current kid", h)
			}
			if !verifyWith(jwa.HS256, s.PublicKeyPEM())(tok) {
				t.Error("HMAC over the public key PEM does not verify")
			}
		}},
		{"HS256 with a secret", []SETOption{WithHS256([]byte("shared"))}, false, func(t *testing.T, _, _ map[string]any, _, tok string) {
			if !verifyWith(jwa.HS256, []byte("shared"))(tok) {
				t.Error("HMAC with the given secret does not verify")
			}
		}},
		{"unknown kid", []SETOption{WithKeyID("no-such-kid")}, true, func(t *testing.T, h, _ map[string]any, _, tok string) {
			if h["kid"] != "no-such-kid" || verifiesWithJWKS(t, s, tok) {
				t.Errorf("kid = %v, want no-such-kid, not found in the JWKS", h["kid"])
			}
		}},
		{"no kid", []SETOption{WithoutKeyID()}, true, func(t *testing.T, h, _ map[string]any, _, tok string) {
			if _, ok := h["kid"]; ok || verifiesWithJWKS(t, s, tok) {
				t.Errorf("header = %v, want no kid, so no key of the JWKS is picked", h)
			}
		}},
		{"extra header members", []SETOption{
			WithHeader("jku", "http://127.0.0.1:1/evil-jwks"),
			WithHeader("jwk", map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
			WithHeader("x5u", "http://127.0.0.1:1/cert.pem"),
			WithHeader("x5c", []string{"MIIBfake"}),
			WithHeader("crit", []string{"exp"}),
			WithType("JWT"),
		}, true, func(t *testing.T, h, _ map[string]any, _, tok string) {
			for _, name := range []string{"jku", "jwk", "x5u", "x5c", "crit"} {
				if _, ok := h[name]; !ok {
					t.Errorf("header lacks %s", name)
				}
			}
			if h["typ"] != "JWT" {
				t.Errorf("typ = %v, want JWT", h["typ"])
			}
		}},
		{"typ secevent+jwt", []SETOption{WithType("secevent+jwt")}, true, func(t *testing.T, h, _ map[string]any, _, _ string) {
			if h["typ"] != "secevent+jwt" {
				t.Errorf("typ = %v", h["typ"])
			}
		}},
		{"alg header lies", []SETOption{WithHeader("alg", "RS512")}, true, func(t *testing.T, h, _ map[string]any, _, _ string) {
			if h["alg"] != "RS512" {
				t.Errorf("alg = %v, want RS512", h["alg"])
			}
		}},
		{"foreign key", []SETOption{WithSigningKey(foreign)}, false, func(t *testing.T, h, _ map[string]any, _, tok string) {
			if h["kid"] != s.CurrentKeyID() || !verifyWith(jwa.RS256, &foreign.PublicKey)(tok) {
				t.Error("want the current kid over a signature by the foreign key")
			}
		}},
		{"corrupt signature", []SETOption{WithCorruptSignature()}, false, func(t *testing.T, h, c map[string]any, _, _ string) {
			if h["alg"] != "RS256" || c["events"] == nil {
				t.Error("a corrupt signature also changed the header or payload")
			}
		}},
		{"claims set, deleted, wrong types", []SETOption{
			WithClaim("iat", "yesterday"), WithClaim("events", []any{"not", "an", "object"}), WithoutClaim("jti"), WithClaim("exp", 1),
		}, true, func(t *testing.T, _, c map[string]any, _, _ string) {
			if c["iat"] != "yesterday" || !reflect.DeepEqual(c["events"], []any{"not", "an", "object"}) || c["exp"] != float64(1) {
				t.Errorf("claims = %v", c)
			}
			if _, ok := c["jti"]; ok {
				t.Error("jti not deleted")
			}
		}},
		{"iat jti aud iss", []SETOption{
			WithIssuedAt(when), WithJTI("replayed-jti"), WithAudience([]string{"a", s.ClientID()}), WithIssuer("https://accounts.google.com/"),
		}, true, func(t *testing.T, _, c map[string]any, _, _ string) {
			if c["iat"] != float64(when.Unix()) || c["jti"] != "replayed-jti" || c["iss"] != "https://accounts.google.com/" ||
				!reflect.DeepEqual(c["aud"], []any{"a", s.ClientID()}) {
				t.Errorf("claims = %v", c)
			}
		}},
		{"two events", []SETOption{WithEvent(AccountEnabled("42"))}, true, func(t *testing.T, _, c map[string]any, _, _ string) {
			if ev, _ := c["events"].(map[string]any); len(ev) != 2 || ev[EventAccountEnabled] == nil || ev[EventSessionsRevoked] == nil {
				t.Errorf("events = %v, want two", c["events"])
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.Transmitter().Sign(SessionsRevoked("42"), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := verifyWith(jwa.RS256, pub)(tok); got != tc.sound {
				t.Errorf("sound RS256 signature by the current key = %v, want %v", got, tc.sound)
			}
			h, c, sig := decodeSET(t, tok)
			tc.check(t, h, c, sig, tok)
		})
	}
}

func TestRawSETSegments(t *testing.T) {
	s := newSim(t, nil)
	pub := &testKey(t, 0).PublicKey
	for _, tc := range []struct {
		name    string
		opt     SETOption
		segment int
		want    string
	}{
		{"raw payload", WithRawPayload([]byte(`{"iss":1,"events":`)), 1, `{"iss":1,"events":`},
		{"raw payload not JSON", WithRawPayload([]byte("\x00\xffbinary")), 1, "\x00\xffbinary"},
		{"raw header", WithRawHeader([]byte(`{"alg":"RS256","alg":"none"}`)), 0, `{"alg":"RS256","alg":"none"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.Transmitter().Sign(SessionsRevoked("42"), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := b64.DecodeString(strings.Split(tok, ".")[tc.segment])
			if err != nil || string(raw) != tc.want {
				t.Errorf("segment %d = %q (%v), want %q", tc.segment, raw, err, tc.want)
			}
			if tc.segment == 1 {
				payload, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, pub))
				if err != nil || string(payload) != tc.want {
					t.Errorf("signature over the raw payload: %q, %v", payload, err)
				}
			}
		})
	}
}
