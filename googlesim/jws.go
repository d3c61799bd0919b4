package googlesim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// b64 is the JWS segment encoding: base64url without padding.
var b64 = base64.RawURLEncoding

// compactParts are the three segments of a compact JWS before encoding. The
// header and payload are raw bytes so hostile options can put anything there.
type compactParts struct {
	header  []byte
	payload []byte
}

// signingInput returns BASE64URL(header) "." BASE64URL(payload).
func (p compactParts) signingInput() string {
	return b64.EncodeToString(p.header) + "." + b64.EncodeToString(p.payload)
}

// signWith signs the parts with alg and key through jwx's signers and returns
// the compact serialization.
func (p compactParts) signWith(alg jwa.SignatureAlgorithm, key any) (string, error) {
	signer, err := jws.NewSigner(alg)
	if err != nil {
		return "", fmt.Errorf("signer %s: %w", alg, err)
	}
	input := p.signingInput()
	sig, err := signer.Sign([]byte(input), key)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", alg, err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// signRS256 signs payload as a JWT with the header {alg: RS256, kid, typ: JWT}.
func signRS256(k signingKey, payload []byte) (string, error) {
	hdr, err := json.Marshal(map[string]any{"alg": "RS256", "kid": k.kid, "typ": "JWT"})
	if err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	return compactParts{header: hdr, payload: payload}.signWith(jwa.RS256, k.priv)
}
