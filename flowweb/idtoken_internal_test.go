package flowweb

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/riscd/riscd"
)

// TestIDTokenAlgorithms signs ID tokens with the algorithms of the
// allow-list and others: those configured pass; none, HMAC (with the client
// secret as key, the classic confusion) and an algorithm its key is not
// for (RFC 7517 §4.4) are refused.
func TestIDTokenAlgorithms(t *testing.T) {
	const (
		issuer   = "https://op.example.test"
		clientID = "riscd-client"
		secret   = "the-client-secret-0123456789abcdef"
		nonce    = "nonce-0123456789"
	)
	now := time.Now().Truncate(time.Second)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv := map[string]jwk.Key{}
	set := jwk.NewSet()
	for kid, raw := range map[string]any{"ec": ecKey, "ed": edKey, "ec-noalg": ecKey} {
		k, err := jwk.FromRaw(raw)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		switch kid {
		case "ec":
			_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
		case "ed":
			_ = k.Set(jwk.AlgorithmKey, jwa.EdDSA)
		}
		priv[kid] = k
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	jwks, _ := json.Marshal(set)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)

	claims := func() jwt.Token {
		tok := jwt.New()
		for k, v := range map[string]any{
			jwt.IssuerKey: issuer, jwt.SubjectKey: "user-1", jwt.AudienceKey: clientID,
			jwt.IssuedAtKey: now, jwt.ExpirationKey: now.Add(time.Hour), "nonce": nonce,
		} {
			_ = tok.Set(k, v)
		}
		return tok
	}
	sign := func(alg jwa.SignatureAlgorithm, kid string, key any) string {
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.KeyIDKey, kid)
		b, err := jwt.Sign(claims(), jwt.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatalf("sign %s: %v", alg, err)
		}
		return string(b)
	}
	unsigned := func() string { // RFC 7519 §6.1's unsecured JWT
		b, err := json.Marshal(claims())
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"ec"}`)) + "." +
			base64.RawURLEncoding.EncodeToString(b) + "."
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	verifier := func(algs ...string) *idTokenVerifier {
		v, err := newIDTokenVerifier(ctx, Config{
			IDTokenJWKSURL: srv.URL, IDTokenIssuers: []string{issuer}, IDTokenAlgorithms: algs,
			ClientID: clientID, HTTPClient: srv.Client(), Now: func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	all := verifier(AllowedIDTokenAlgorithms()...)
	for _, tc := range []struct {
		name string
		v    *idTokenVerifier
		raw  string
		ok   bool
	}{
		{"ES256", all, sign(jwa.ES256, "ec", priv["ec"]), true},
		{"EdDSA", all, sign(jwa.EdDSA, "ed", priv["ed"]), true},
		{"ES256 by a key without alg", all, sign(jwa.ES256, "ec-noalg", priv["ec-noalg"]), true},
		{"ES256 when only RS256 is configured", verifier("RS256"), sign(jwa.ES256, "ec", priv["ec"]), false},
		{"HS256 keyed with the client secret", all, sign(jwa.HS256, "ec", []byte(secret)), false},
		{"none", all, unsigned(), false},
		{"EdDSA header on the ES256 key", all, sign(jwa.EdDSA, "ec", edKey), false},
		{"ES384 header on the ES256 key", all, sign(jwa.ES384, "ec", ecKey), false},
	} {
		_, err := tc.v.verify(ctx, tc.raw, riscd.Secret(nonce))
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, errBadIDToken) {
			t.Errorf("%s: %v, want errBadIDToken", tc.name, err)
		}
	}
}
