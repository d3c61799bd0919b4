package receiver

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// minRSABits is the smallest RSA modulus a key set may offer.
const minRSABits = 2048

// algorithms maps every JWS algorithm Config.Algorithms may name to the test
// a public key must pass to verify under it. It is never modified.
var algorithms = map[string]func(key any) bool{
	"RS256": isRSA, "RS384": isRSA, "RS512": isRSA,
	"PS256": isRSA, "PS384": isRSA, "PS512": isRSA,
	"ES256": isCurve(elliptic.P256()), "ES384": isCurve(elliptic.P384()), "ES512": isCurve(elliptic.P521()),
	"EdDSA": isEd25519,
}

func isRSA(key any) bool {
	k, ok := key.(*rsa.PublicKey)
	return ok && k.N != nil && k.N.BitLen() >= minRSABits
}

func isCurve(c elliptic.Curve) func(any) bool {
	return func(key any) bool {
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == c
	}
}

func isEd25519(key any) bool {
	k, ok := key.(ed25519.PublicKey)
	return ok && len(k) == ed25519.PublicKeySize
}

// verifier checks signatures under one allow-listed algorithm, through
// jwx (which calls crypto/rsa, crypto/ecdsa or crypto/ed25519).
type verifier struct {
	alg      string
	keyFits  func(any) bool
	verifier jws.Verifier
}

// check verifies sig over signingInput with key, which keyFits accepted.
func (v *verifier) check(signingInput, sig []byte, key verifyKey) error {
	return v.verifier.Verify(signingInput, sig, key.key)
}

// newVerifiers builds a verifier per allowed algorithm. The names were
// validated by Config.validate.
func newVerifiers(algs []string) (map[string]*verifier, error) {
	out := make(map[string]*verifier, len(algs))
	for _, a := range algs {
		v, err := jws.NewVerifier(jwa.SignatureAlgorithm(a))
		if err != nil {
			return nil, fmt.Errorf("receiver: verifier %s: %w", a, err)
		}
		out[a] = &verifier{alg: a, keyFits: algorithms[a], verifier: v}
	}
	return out, nil
}

// usable reports whether key can verify under at least one algorithm of vs,
// honouring the JWK's own alg when it names one.
func usable(vs map[string]*verifier, k verifyKey) bool {
	for _, v := range vs {
		if (k.alg == "" || k.alg == v.alg) && v.keyFits(k.key) {
			return true
		}
	}
	return false
}
