package googlesim

import (
	"crypto/rsa"
	"time"
)

// SETOption changes how Transmitter.Sign builds a token, mostly to make
// malformed or hostile tokens for a receiver's tests. Options apply in
// order; claim and header edits run after the normal members are built, so
// they can replace or delete any of them.
type SETOption func(*setBuild)

type signMode int

const (
	modeRS256 signMode = iota
	modeNone
	modeHS256
)

type setBuild struct {
	rfc9493           bool
	ssf               bool
	extra             []Event
	claimEdits        []func(map[string]any)
	headerEdits       []func(map[string]any)
	rawPayload        []byte
	rawHeader         []byte
	mode              signMode
	secret            []byte
	secretIsPublicKey bool
	key               *rsa.PrivateKey
	corrupt           bool
}

// WithClaim sets a payload member to v (any JSON value, of any type: a
// wrong type is the point).
func WithClaim(name string, v any) SETOption {
	return func(b *setBuild) {
		b.claimEdits = append(b.claimEdits, func(m map[string]any) { m[name] = v })
	}
}

// WithoutClaim deletes a payload member.
func WithoutClaim(name string) SETOption {
	return func(b *setBuild) {
		b.claimEdits = append(b.claimEdits, func(m map[string]any) { delete(m, name) })
	}
}

// WithIssuer sets iss (e.g. "https://accounts.google.com/" with a slash).
func WithIssuer(iss string) SETOption { return WithClaim("iss", iss) }

// WithAudience sets aud: a string or a []string.
func WithAudience(aud any) SETOption { return WithClaim("aud", aud) }

// WithIssuedAt sets iat.
func WithIssuedAt(t time.Time) SETOption { return WithClaim("iat", t.Unix()) }

// WithJTI sets jti (to replay an earlier SET's, for instance).
func WithJTI(jti string) SETOption { return WithClaim("jti", jti) }

// WithRawPayload signs payload as is, instead of the JSON claims.
func WithRawPayload(payload []byte) SETOption {
	return func(b *setBuild) { b.rawPayload = append([]byte(nil), payload...) }
}

// WithHeader sets a JOSE header member: jku, jwk, x5u, x5c, crit, typ, or
// alg to lie about the algorithm while signing with RS256.
func WithHeader(name string, v any) SETOption {
	return func(b *setBuild) {
		b.headerEdits = append(b.headerEdits, func(m map[string]any) { m[name] = v })
	}
}

// WithoutHeader deletes a JOSE header member.
func WithoutHeader(name string) SETOption {
	return func(b *setBuild) {
		b.headerEdits = append(b.headerEdits, func(m map[string]any) { delete(m, name) })
	}
}

// WithType sets the typ header ("secevent+jwt", "JWT", ...).
func WithType(typ string) SETOption { return WithHeader("typ", typ) }

// WithKeyID sets the kid header (a kid the JWKS lacks, an old key's kid).
func WithKeyID(kid string) SETOption { return WithHeader("kid", kid) }

// WithoutKeyID leaves the kid header out.
func WithoutKeyID() SETOption { return WithoutHeader("kid") }

// WithRawHeader uses header as the JOSE header bytes, as is.
func WithRawHeader(header []byte) SETOption {
	return func(b *setBuild) { b.rawHeader = append([]byte(nil), header...) }
}

// WithAlgNone makes an unsecured JWS: alg "none" and an empty signature.
func WithAlgNone() SETOption { return func(b *setBuild) { b.mode = modeNone } }

// WithHS256 signs with HMAC-SHA256 keyed with secret; the header says HS256.
func WithHS256(secret []byte) SETOption {
	return func(b *setBuild) {
		b.mode, b.secret, b.secretIsPublicKey = modeHS256, append([]byte(nil), secret...), false
	}
}

// WithHS256PublicKey is the key-confusion attack: HS256 keyed with the
// current public key's PEM bytes (Server.PublicKeyPEM), kid unchanged.
func WithHS256PublicKey() SETOption {
	return func(b *setBuild) { b.mode, b.secretIsPublicKey = modeHS256, true }
}

// WithSigningKey signs with RS256 under key, a key the JWKS does not hold;
// the kid stays the current one unless WithKeyID changes it.
func WithSigningKey(key *rsa.PrivateKey) SETOption {
	return func(b *setBuild) { b.mode, b.key = modeRS256, key }
}

// WithCorruptSignature flips one bit of the signature.
func WithCorruptSignature() SETOption { return func(b *setBuild) { b.corrupt = true } }

// WithRFC9493Subject spells subjects the RFC 9493 way: "format" instead of
// "subject_type", and "iss_sub" for iss-sub. Google may move to it.
func WithRFC9493Subject() SETOption { return func(b *setBuild) { b.rfc9493 = true } }

// WithSSFFormat builds the token the Shared Signals Framework 1.0 way
// instead of Google's: the subject moves to a top-level sub_id in RFC 9493
// spelling, and the header gets typ "secevent+jwt".
func WithSSFFormat() SETOption { return func(b *setBuild) { b.ssf = true } }

// WithEvent adds another event to the same SET (a SET should carry one).
func WithEvent(ev Event) SETOption {
	return func(b *setBuild) { b.extra = append(b.extra, ev) }
}
