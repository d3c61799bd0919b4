package receiver

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Key lookup outcomes, mapped to answers by answerFor.
var (
	// errUnknownKid: the key set, refetched for this token, has no key
	// with its kid. The token is refused (invalid_key).
	errUnknownKid = errors.New("receiver: unknown kid")
	// errUnusableKey: the key set lists the token's kid, but under a key
	// riscd does not verify with (see install). The token is refused
	// (invalid_key) without a refetch.
	errUnusableKey = errors.New("receiver: key not usable")
	// errKeysUnavailable: no key set could be loaded, or a refetch for an
	// unknown kid failed or is not allowed yet. riscd cannot judge the
	// token yet (503).
	errKeysUnavailable = errors.New("receiver: keys unavailable")
)

// verifyKey is one usable public key of a key set.
type verifyKey struct {
	alg string  // the JWK's alg, "" when it names none
	key any     // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	rsa *rsaKey // key prepared for RS*; nil when key is not RSA or crypto/rsa would refuse it
	// unusable: the set lists this kid, but its key is skipped (see
	// install); alg and key are unset.
	unusable bool
}

// keyMap is an immutable snapshot of a key set, by kid.
type keyMap map[string]verifyKey

// keySource is one JWKS URL: its registration in the jwk.Cache and the
// snapshot the request path reads. Transmitters with the same JWKS URL share
// one.
type keySource struct {
	url   string
	cache *jwk.Cache
	now   func() time.Time
	every time.Duration // least time between unknown-kid refetches
	log   *slog.Logger

	keys atomic.Pointer[keyMap] // nil until the first successful fetch

	// names are the transmitters using this key set, replaced (never
	// modified) when one is installed.
	names atomic.Pointer[[]string]
	// report, when set, is told the outcome of every fetch of the set.
	report func(err error)

	mu          sync.Mutex // serialises unknown-kid refetches
	lastRefetch time.Time  // guarded by mu
	lastErr     error      // outcome of the last refetch; guarded by mu
}

// owners returns the names of the transmitters using s.
func (s *keySource) owners() []string {
	if p := s.names.Load(); p != nil {
		return *p
	}
	return nil
}

// addOwner records that the transmitter name uses s.
func (s *keySource) addOwner(name string) {
	names := append([]string(nil), s.owners()...)
	if !slices.Contains(names, name) {
		s.names.Store(new(append(names, name)))
	}
}

// fetched reports the outcome of one fetch of the set.
func (s *keySource) fetched(err error) {
	if s.report != nil {
		s.report(err)
	}
}

// loaded reports whether a key set has been fetched.
func (s *keySource) loaded() bool { return s.keys.Load() != nil }

// lookup returns the key named kid. When the snapshot lacks it, lookup
// refetches the key set once (unless another refetch for an unknown kid
// happened less than s.every ago) and looks again. Errors: errUnknownKid
// when the set, refetched for this very lookup, lacks kid;
// errKeysUnavailable when no set is loaded, the refetch failed, or a refetch
// is not allowed yet (the kid may be a key published since the last one).
func (s *keySource) lookup(ctx context.Context, kid string) (verifyKey, error) {
	m := s.keys.Load()
	if m == nil {
		return verifyKey{}, fmt.Errorf("%w: key set not loaded yet", errKeysUnavailable)
	}
	if k, ok := (*m)[kid]; ok {
		return k.found()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := (*s.keys.Load())[kid]; ok { // another request refetched meanwhile
		return k.found()
	}
	now := s.now()
	if !s.lastRefetch.IsZero() && now.Before(s.lastRefetch.Add(s.every)) {
		// The set may have changed since the last refetch (a rotation at
		// the transmitter a moment after it): refusing the token would make
		// the transmitter drop the event, so it is asked to retry once a
		// refetch is allowed again.
		if s.lastErr != nil {
			return verifyKey{}, fmt.Errorf("%w: last refetch failed", errKeysUnavailable)
		}
		return verifyKey{}, fmt.Errorf("%w: unknown kid, key set refetched %s ago", errKeysUnavailable, now.Sub(s.lastRefetch).Round(time.Second))
	}
	s.lastRefetch = now
	_, err := s.cache.Refresh(ctx, s.url)
	s.lastErr = err
	if err != nil {
		s.fetched(err) // a success was reported by install
		s.log.WarnContext(ctx, "key set refetch failed", "jwks_url", s.url, "err", err)
		return verifyKey{}, fmt.Errorf("%w: refetch: %w", errKeysUnavailable, err)
	}
	if k, ok := (*s.keys.Load())[kid]; ok {
		return k.found()
	}
	return verifyKey{}, errUnknownKid
}

// found is lookup's answer for a kid the set lists.
func (k verifyKey) found() (verifyKey, error) {
	if k.unusable {
		return verifyKey{}, errUnusableKey
	}
	return k, nil
}

// install is the jwk.Cache PostFetcher: it turns a freshly fetched set into
// the snapshot the request path reads. A set with no usable key is refused,
// so the cache and the snapshot keep the previous keys.
func (s *keySource) install(vs map[string]*verifier) jwk.PostFetchFunc {
	return func(u string, set jwk.Set) (jwk.Set, error) {
		m := keyMap{}
		skipped, usableKeys := 0, 0
		for i := range set.Len() {
			k, _ := set.Key(i)
			kid := k.KeyID()
			vk, ok := convertKey(k)
			if !ok || !usable(vs, vk) {
				skipped++
				if _, listed := m[kid]; !listed && kid != "" {
					m[kid] = verifyKey{unusable: true}
				}
				continue
			}
			if prev, dup := m[kid]; dup {
				// Two keys under one kid: the kid cannot say which signed.
				if !prev.unusable {
					usableKeys--
				}
				m[kid] = verifyKey{unusable: true}
				skipped++
				continue
			}
			m[kid] = vk
			usableKeys++
		}
		if usableKeys == 0 {
			return nil, fmt.Errorf("key set at %s has no usable key (%d skipped)", u, skipped)
		}
		s.keys.Store(&m)
		s.fetched(nil)
		s.log.Info("key set loaded", "jwks_url", u, "keys", usableKeys, "skipped", skipped)
		return set, nil
	}
}

// convertKey returns the raw public key of a JWK that may verify
// signatures: a public (never symmetric) key with a kid, meant for
// signatures when its use says anything.
func convertKey(k jwk.Key) (verifyKey, bool) {
	if k.KeyID() == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
		return verifyKey{}, false
	}
	if ops := k.KeyOps(); len(ops) > 0 && !hasVerifyOp(ops) {
		return verifyKey{}, false
	}
	var raw any
	if err := k.Raw(&raw); err != nil {
		return verifyKey{}, false
	}
	vk := verifyKey{alg: k.Algorithm().String(), key: raw}
	if pub, ok := raw.(*rsa.PublicKey); ok {
		vk.rsa, _ = newRSAKey(pub) // nil: jwx and crypto/rsa refuse its signatures
	}
	return vk, true
}

func hasVerifyOp(ops jwk.KeyOperationList) bool {
	for _, op := range ops {
		if op == jwk.KeyOpVerify {
			return true
		}
	}
	return false
}
