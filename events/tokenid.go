package events

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Token identifier algorithms of Google's token-revoked event.
const (
	// AlgPrefix: the identifier is the first 16 characters of the refresh
	// token. Google refresh tokens share the prefix "1//", so a match is a
	// candidate, not proof.
	AlgPrefix = "prefix"
	// AlgHashSHA512SHA512: the identifier is base64 of SHA-512 applied twice
	// (inner over the token's UTF-8 bytes, outer over the 64-byte inner
	// digest). A match is proof.
	AlgHashSHA512SHA512 = "hash_base64_sha512_sha512"
)

// minPrefixLen is the identifier length AlgPrefix promises. A shorter prefix
// would match far too many tokens, so Matches refuses it.
const minPrefixLen = 16

func isHashAlg(alg string) bool { return alg == AlgHashSHA512SHA512 }

// Matches reports whether refreshToken is the token t identifies. For
// AlgPrefix it compares the identifier with the token's first characters and
// needs an identifier of at least 16 characters; for AlgHashSHA512SHA512 it
// hashes the token and compares in constant time, tolerating the URL-safe
// alphabet and missing padding. Any other algorithm never matches.
func (t OAuthToken) Matches(refreshToken string) bool {
	switch t.Alg {
	case AlgPrefix:
		return len(t.Token) >= minPrefixLen && strings.HasPrefix(refreshToken, t.Token)
	case AlgHashSHA512SHA512:
		want := NormalizeTokenHash(t.Token)
		got := NormalizeTokenHash(TokenHash(refreshToken))
		return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
	default:
		return false
	}
}

// IsProof reports whether a Matches result for t is proof (a hash) rather
// than a candidate (a prefix shared by other tokens).
func (t OAuthToken) IsProof() bool { return isHashAlg(t.Alg) }

// TokenHash returns the hash_base64_sha512_sha512 identifier of a refresh
// token: standard base64, with padding, of SHA-512 over the 64-byte SHA-512
// of the token's UTF-8 bytes. A store can index tokens by
// NormalizeTokenHash(TokenHash(token)) so a token-revoked event is resolved
// with one lookup.
func TokenHash(refreshToken string) string {
	inner := sha512.Sum512([]byte(refreshToken))
	outer := sha512.Sum512(inner[:])
	return base64.StdEncoding.EncodeToString(outer[:])
}

// NormalizeTokenHash maps the spellings of one base64 value onto one: the
// URL-safe alphabet becomes the standard one and padding is removed.
func NormalizeTokenHash(id string) string {
	id = strings.TrimRight(id, "=")
	return strings.NewReplacer("-", "+", "_", "/").Replace(id)
}
