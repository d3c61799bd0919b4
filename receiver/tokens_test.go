package receiver_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

var rawURL = base64.RawURLEncoding

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// splitToken splits a compact JWS at its dots.
func splitToken(tok string) []string { return strings.Split(tok, ".") }

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := rawURL.DecodeString(s)
	if err != nil {
		tb.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

func enc(b []byte) string { return rawURL.EncodeToString(b) }

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("json: %v", err)
	}
	return b
}

// signRS256Raw signs header and payload bytes as they are with crypto/rsa,
// independently of any JOSE library.
func signRS256Raw(tb testing.TB, key *rsa.PrivateKey, header, payload []byte) string {
	tb.Helper()
	input := enc(header) + "." + enc(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return input + "." + enc(sig)
}
