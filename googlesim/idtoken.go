package googlesim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// idTokenLocked signs an ID token for sub, spoiled as the pending
// IDTokenFault says. Runs with s.mu held.
func (s *Server) idTokenLocked(sub string, scopes []string, nonce, accessToken string) (string, error) {
	iss := s.cfg.Issuer
	if iss == "" {
		iss = s.baseURL
	}
	if iss == "" {
		return "", fmt.Errorf("id token: %w", ErrNoIssuer)
	}
	u, _ := s.lookupUser(sub)
	now := s.now()
	sum := sha256.Sum256([]byte(accessToken))
	claims := map[string]any{
		"iss":     iss,
		"azp":     s.cfg.ClientID,
		"aud":     s.cfg.ClientID,
		"sub":     sub,
		"at_hash": b64.EncodeToString(sum[:16]),
		"iat":     now.Unix(),
		"exp":     now.Add(s.cfg.IDTokenTTL).Unix(),
	}
	if slices.Contains(scopes, "email") || slices.Contains(scopes, "https://www.googleapis.com/auth/userinfo.email") {
		claims["email"] = u.Email
		claims["email_verified"] = !u.EmailUnverified
	}
	if slices.Contains(scopes, "profile") || slices.Contains(scopes, "https://www.googleapis.com/auth/userinfo.profile") {
		claims["name"] = u.Name
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	key := s.keys.current
	fault := s.switches.idTokenFault
	s.switches.idTokenFault = IDTokenOK
	switch fault {
	case IDTokenWrongAudience:
		claims["aud"], claims["azp"] = "000000000000-other.apps.googleusercontent.com", "000000000000-other.apps.googleusercontent.com"
	case IDTokenWrongIssuer:
		claims["iss"] = "https://issuer.invalid"
	case IDTokenWrongNonce:
		claims["nonce"] = "not-" + nonce + randomHex(4)
	case IDTokenExpired:
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	case IDTokenUnknownKey:
		key.kid = randomHex(20)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	tok, err := signRS256(key, payload)
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	if fault == IDTokenBadSignature {
		tok = corruptSignature(tok)
	}
	return tok, nil
}

// corruptSignature flips one bit in the middle of a compact JWS's signature.
func corruptSignature(tok string) string {
	i := len(tok) - 1
	for i >= 0 && tok[i] != '.' {
		i--
	}
	sig, err := b64.DecodeString(tok[i+1:])
	if err != nil || len(sig) == 0 {
		return tok + "x"
	}
	sig[len(sig)/2] ^= 0x01
	return tok[:i+1] + b64.EncodeToString(sig)
}
