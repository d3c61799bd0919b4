package googlesim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strconv"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// signingKey is one RSA key and the kid the JWKS gives it.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// keyring holds the current signing key, the retired keys still served, and
// the caller's spare keys for rotation. Guarded by Server.mu.
type keyring struct {
	current signingKey
	old     []signingKey
	spare   []*rsa.PrivateKey
}

func newKeyring(keys []*rsa.PrivateKey) (keyring, error) {
	var first *rsa.PrivateKey
	if len(keys) > 0 {
		first, keys = keys[0], keys[1:]
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return keyring{}, fmt.Errorf("generate key: %w", err)
		}
		first = k
	}
	return keyring{
		current: signingKey{kid: randomHex(20), priv: first},
		spare:   append([]*rsa.PrivateKey(nil), keys...),
	}, nil
}

// RotateKeys makes a new key the current signing key, with a new kid. With
// keepOld the previous keys stay in the JWKS (tokens they signed still
// verify); without it the JWKS serves the new key alone. The new key is the
// next of Config.Keys not used yet, or a freshly generated 2048-bit key. It
// returns the new kid; the error is a key generation failure.
func (s *Server) RotateKeys(keepOld bool) (string, error) {
	s.mu.Lock()
	var next *rsa.PrivateKey
	if len(s.keys.spare) > 0 {
		next, s.keys.spare = s.keys.spare[0], s.keys.spare[1:]
	}
	s.mu.Unlock()
	if next == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", fmt.Errorf("googlesim: rotate keys: %w", err)
		}
		next = k
	}
	kid := randomHex(20)
	s.mu.Lock()
	defer s.mu.Unlock()
	if keepOld {
		s.keys.old = append([]signingKey{s.keys.current}, s.keys.old...)
	} else {
		s.keys.old = nil
	}
	s.keys.current = signingKey{kid: kid, priv: next}
	s.log.Info("googlesim: keys rotated", "kid", kid, "kept", len(s.keys.old))
	return kid, nil
}

// CurrentKeyID returns the kid of the key that signs ID tokens and SETs now.
func (s *Server) CurrentKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys.current.kid
}

// currentKey returns the current signing key.
func (s *Server) currentKey() signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys.current
}

// PublicKeyPEM returns the current public key as a PEM "PUBLIC KEY" block
// (PKIX), the bytes a key-confusion attack would use as an HMAC secret.
func (s *Server) PublicKeyPEM() []byte {
	return publicKeyPEM(&s.currentKey().priv.PublicKey)
}

func publicKeyPEM(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("googlesim: marshal RSA public key: %v", err)) // cannot happen for *rsa.PublicKey
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// JWKS returns the key set the server publishes: the current key first,
// then the retired keys kept by RotateKeys.
func (s *Server) JWKS() (jwk.Set, error) {
	s.mu.Lock()
	keys := append([]signingKey{s.keys.current}, s.keys.old...)
	s.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.FromRaw(&k.priv.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("googlesim: jwks: %w", err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.kid, jwk.AlgorithmKey: jwa.RS256, jwk.KeyUsageKey: "sig"} {
			if err := pub.Set(name, v); err != nil {
				return nil, fmt.Errorf("googlesim: jwks: set %s: %w", name, err)
			}
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("googlesim: jwks: %w", err)
		}
	}
	return set, nil
}

// handleJWKS serves the key set with Google's caching headers.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	set, err := s.JWKS()
	if err != nil {
		s.log.ErrorContext(r.Context(), "googlesim: jwks", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body, err := json.Marshal(set)
	if err != nil {
		s.log.ErrorContext(r.Context(), "googlesim: jwks: marshal", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.JWKSMaxAge.Seconds()))+", must-revalidate, no-transform")
	writeJSONBytes(w, http.StatusOK, body)
}
