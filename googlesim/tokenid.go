package googlesim

import (
	"crypto/sha512"
	"encoding/base64"
)

// TokenIdentifierAlg names how a token-revoked event identifies the token.
type TokenIdentifierAlg string

// The identifier algorithms Google uses.
const (
	// IdentifierPrefix: the first 16 characters of the refresh token.
	IdentifierPrefix TokenIdentifierAlg = "prefix"
	// IdentifierHash: base64 of SHA-512 applied twice.
	IdentifierHash TokenIdentifierAlg = "hash_base64_sha512_sha512"
)

// PrefixIdentifier returns the first 16 bytes of token (all of a shorter
// token). Google refresh tokens are ASCII, so bytes are characters.
func PrefixIdentifier(token string) string {
	if len(token) <= 16 {
		return token
	}
	return token[:16]
}

// HashIdentifier returns base64(SHA-512(SHA-512(token))): the inner digest
// over the token's UTF-8 bytes, the outer over the raw 64-byte inner digest,
// encoded with enc (nil means base64.StdEncoding, standard alphabet with
// padding, as receivers see in production).
func HashIdentifier(token string, enc *base64.Encoding) string {
	if enc == nil {
		enc = base64.StdEncoding
	}
	inner := sha512.Sum512([]byte(token))
	outer := sha512.Sum512(inner[:])
	return enc.EncodeToString(outer[:])
}

// TokenIdentifier computes token's identifier for alg with the default
// encodings; an alg other than IdentifierPrefix and IdentifierHash gives "".
func TokenIdentifier(token string, alg TokenIdentifierAlg) string {
	switch alg {
	case IdentifierPrefix:
		return PrefixIdentifier(token)
	case IdentifierHash:
		return HashIdentifier(token, nil)
	}
	return ""
}
