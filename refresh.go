package riscd

import "crypto/sha512"

// RefreshPrefixLen is how many leading characters of a refresh token
// Google's token-revoked events send as a "prefix" token identifier.
const RefreshPrefixLen = 16

// RefreshTokenDigest returns SHA-512(SHA-512(token)): the inner hash over
// the token's UTF-8 bytes, the outer over the raw 64-byte inner digest. This
// is the value behind Google's hash_base64_sha512_sha512 identifier (before
// base64), and the key every engine indexes refresh tokens by.
func RefreshTokenDigest(token string) []byte {
	inner := sha512.Sum512([]byte(token))
	outer := sha512.Sum512(inner[:])
	return outer[:]
}
