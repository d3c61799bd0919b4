package receiver_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
)

// keySetServer serves a key set built by the test and counts requests.
type keySetServer struct {
	url      string
	requests atomic.Int32
}

func serveKeySet(t *testing.T, keys ...jwk.Key) *keySetServer {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	body := mustJSON(t, set)
	s := &keySetServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// mustJWK makes a JWK of raw with the given members.
func mustJWK(t *testing.T, raw any, members map[string]any) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		if err := k.Set(name, v); err != nil {
			t.Fatalf("set %s: %v", name, err)
		}
	}
	return k
}

func TestKeySetQuirks(t *testing.T) {
	keys := mustRSAKeys(t, 6)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ks := serveKeySet(t,
		mustJWK(t, &keys[0].PublicKey, map[string]any{jwk.KeyIDKey: "good", jwk.KeyUsageKey: "sig", jwk.AlgorithmKey: jwa.RS256}),
		mustJWK(t, &keys[1].PublicKey, map[string]any{jwk.KeyIDKey: "no-alg"}),
		mustJWK(t, &small.PublicKey, map[string]any{jwk.KeyIDKey: "small"}),
		mustJWK(t, &keys[2].PublicKey, map[string]any{jwk.KeyIDKey: "enc", jwk.KeyUsageKey: "enc"}),
		mustJWK(t, &keys[3].PublicKey, map[string]any{jwk.KeyIDKey: "rs512", jwk.AlgorithmKey: jwa.RS512}),
		mustJWK(t, &keys[4].PublicKey, map[string]any{jwk.KeyIDKey: "dup"}),
		mustJWK(t, &keys[5].PublicKey, map[string]any{jwk.KeyIDKey: "dup"}),
		mustJWK(t, &keys[2].PublicKey, map[string]any{jwk.KeyIDKey: "ops", jwk.KeyOpsKey: jwk.KeyOperationList{jwk.KeyOpEncrypt}}),
		mustJWK(t, []byte("a shared secret of sufficient length"), map[string]any{jwk.KeyIDKey: "oct"}),
		mustJWK(t, keys[1], map[string]any{jwk.KeyIDKey: "private"}), // a private key: its public half is not offered
	)
	c := newClock()
	db := mustStore(t)
	cfg := baseConfig(t, c)
	cfg.Inbox = db.InboxWriter()
	cfg.Transmitters = []receiver.Transmitter{{Name: "t", Issuer: "https://t.example", JWKSURL: ks.url, Audiences: []string{"aud"}}}
	ep := mustReceiver(t, cfg)
	waitReady(t, ep.r)

	claims := func(jti string) []byte {
		return mustJSON(t, map[string]any{"iss": "https://t.example", "aud": "aud", "iat": t0.Unix(), "jti": jti,
			"events": map[string]any{"https://example.com/e": map[string]any{}}})
	}
	for _, tc := range []struct {
		name string
		kid  string
		key  *rsa.PrivateKey
		want int
	}{
		{"sound key", "good", keys[0], http.StatusAccepted},
		{"key without alg", "no-alg", keys[1], http.StatusAccepted},
		{"1024-bit key", "small", small, http.StatusBadRequest},
		{"encryption key", "enc", keys[2], http.StatusBadRequest},
		{"key restricted to RS512", "rs512", keys[3], http.StatusBadRequest},
		{"first of two keys under one kid", "dup", keys[4], http.StatusBadRequest},
		{"second of two keys under one kid", "dup", keys[5], http.StatusBadRequest},
		{"key_ops without verify", "ops", keys[2], http.StatusBadRequest},
		{"private key in the set", "private", keys[1], http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := mustJSON(t, map[string]string{"alg": "RS256", "kid": tc.kid})
			a := post(t, ep.url, signRS256Raw(t, tc.key, hdr, claims(tc.name)))
			if a.status != tc.want || (tc.want == http.StatusBadRequest && a.err != receiver.CodeInvalidKey) {
				t.Errorf("answer = %d %q (%s), want %d", a.status, a.err, a.desc, tc.want)
			}
		})
	}
}

func TestKeySetWithoutUsableKeyIsNotLoaded(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ks := serveKeySet(t,
		mustJWK(t, &small.PublicKey, map[string]any{jwk.KeyIDKey: "small"}),
		mustJWK(t, []byte("a shared secret of sufficient length"), map[string]any{jwk.KeyIDKey: "oct"}),
	)
	c := newClock()
	cfg := baseConfig(t, c)
	cfg.Inbox = newFakeInbox()
	cfg.Transmitters = []receiver.Transmitter{{Name: "t", Issuer: "https://t.example", JWKSURL: ks.url, Audiences: []string{"aud"}}}
	ep := mustReceiver(t, cfg)
	testkit.Eventually(t, "the key set to be fetched three times", func() bool { return ks.requests.Load() >= 3 })
	if err := ep.r.Ready(); !errors.Is(err, receiver.ErrNotReady) {
		t.Errorf("Ready() = %v, want ErrNotReady for a key set without usable keys", err)
	}
	hdr := mustJSON(t, map[string]string{"alg": "RS256", "kid": "small"})
	wantUnavailable(t, post(t, ep.url, signRS256Raw(t, small, hdr, []byte(`{"iss":"https://t.example"}`))))
}
