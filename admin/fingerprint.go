package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
)

// fingerprintLen is how many hex characters a fingerprint shows: enough to
// tell grants apart on a page, far too few to stand for the token.
const fingerprintLen = 12

// refreshFingerprint is the fingerprint of a refresh token: the first hex
// characters of SHA-512(SHA-512(token)), the digest behind Google's
// hash_base64_sha512_sha512 identifier, so a token-revoked event's
// token_fingerprint equals the fingerprint of the grant it names. "" for no
// token.
func refreshFingerprint(token riscd.Secret) string {
	if token.IsZero() {
		return ""
	}
	return hex.EncodeToString(riscd.RefreshTokenDigest(token.Reveal()))[:fingerprintLen]
}

// prefixFingerprint is the fingerprint of a refresh token's first
// store.RefreshPrefixLen characters (SHA-256), equal to the fingerprint a
// prefix identifier of Google's token-revoked event shows. "" when the token
// is shorter.
func prefixFingerprint(token riscd.Secret) string {
	t := token.Reveal()
	if len(t) < riscd.RefreshPrefixLen {
		return ""
	}
	return sha256Hex(t[:riscd.RefreshPrefixLen])
}

// identifierFingerprint is the fingerprint shown for a token identifier of
// algorithm alg: for a hash, the first hex characters of the digest it
// encodes (as refreshFingerprint); for a prefix, as prefixFingerprint; for
// anything else (or an undecodable hash), of the identifier's SHA-256.
func identifierFingerprint(alg, identifier string) string {
	switch alg {
	case events.AlgHashSHA512SHA512:
		raw, err := base64.RawStdEncoding.DecodeString(events.NormalizeTokenHash(identifier))
		if err == nil && len(raw) == 64 {
			return hex.EncodeToString(raw)[:fingerprintLen]
		}
	case events.AlgPrefix:
		if len(identifier) >= riscd.RefreshPrefixLen {
			return sha256Hex(identifier[:riscd.RefreshPrefixLen])
		}
	}
	return sha256Hex(identifier)
}

func sha256Hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])[:fingerprintLen]
}

// secretMembers are claim members that hold a token outright; they are
// replaced wherever they appear.
var secretMembers = map[string]bool{
	"refresh_token": true, "access_token": true, "id_token": true, "code": true,
	"client_secret": true, "authorization_header": true,
}

// redactClaims returns v (a decoded JSON value) with every token identifier
// ("token" members: Google's oauth_token subject) replaced by
// "token_fingerprint", and every member that would hold a token outright
// replaced by "[redacted]". v is modified in place.
func redactClaims(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, m := range x {
			switch {
			case k == "token":
				s, _ := m.(string)
				alg, _ := x["token_identifier_alg"].(string)
				if alg == "" {
					alg, _ = x["alg"].(string)
				}
				delete(x, k)
				x["token_fingerprint"] = identifierFingerprint(alg, s)
			case secretMembers[strings.ToLower(k)]:
				x[k] = "[redacted]"
			default:
				x[k] = redactClaims(m)
			}
		}
	case []any:
		for i := range x {
			x[i] = redactClaims(x[i])
		}
	}
	return v
}
