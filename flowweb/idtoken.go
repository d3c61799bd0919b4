package flowweb

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/riscd/riscd"
)

// ID-token verification failures. errKeysUnavailable is temporary (the JWKS
// could not be fetched); errBadIDToken is final for this token.
var (
	errKeysUnavailable = errors.New("id token keys unavailable")
	errBadIDToken      = errors.New("id token rejected")
)

// Clock skew tolerated on exp and iat; and how often an unknown kid may
// force a JWKS refetch (Google rotates keys; a flood of bad kids must not
// turn into a flood of fetches).
const (
	idTokenSkew       = time.Minute
	forcedJWKSRefresh = time.Minute
	jwksMinRefresh    = 15 * time.Minute
)

// idClaims is what riscd takes from a verified ID token.
type idClaims struct {
	Sub           string
	Email         string
	EmailVerified bool // email_verified (OpenID Connect Core 1.0 section 5.1)
	Exp           time.Time
}

// idTokenVerifier checks ID tokens against a cached JWKS.
type idTokenVerifier struct {
	cache    *jwk.Cache
	url      string
	issuers  []string
	algs     []jwa.SignatureAlgorithm // Config.IDTokenAlgorithms
	clientID string
	now      func() time.Time

	loaded atomic.Bool // a fetch has succeeded

	mu         sync.Mutex
	lastForced time.Time
}

// newIDTokenVerifier registers the JWKS in a cache living as long as ctx.
// Nothing is fetched yet.
func newIDTokenVerifier(ctx context.Context, cfg Config) (*idTokenVerifier, error) {
	cache := jwk.NewCache(ctx)
	if err := cache.Register(cfg.IDTokenJWKSURL,
		jwk.WithHTTPClient(cfg.HTTPClient),
		jwk.WithMinRefreshInterval(jwksMinRefresh),
	); err != nil {
		return nil, fmt.Errorf("register id token jwks: %w", err)
	}
	algs := make([]jwa.SignatureAlgorithm, len(cfg.IDTokenAlgorithms))
	for i, a := range cfg.IDTokenAlgorithms {
		algs[i] = jwa.SignatureAlgorithm(a)
	}
	return &idTokenVerifier{
		cache: cache, url: cfg.IDTokenJWKSURL, issuers: slices.Clone(cfg.IDTokenIssuers), algs: algs,
		clientID: cfg.ClientID, now: cfg.Now,
	}, nil
}

// verify checks raw: one signature, with an algorithm of Config's
// IDTokenAlgorithms (the token's alg header is checked against that list,
// never trusted alone), by a key of the JWKS named by kid (refetching the
// JWKS once when the kid is unknown) whose own alg, when it has one, is the
// header's (RFC 7517 §4.4), iss among the issuers,
// aud holding the client ID (and azp naming it when there are several
// audiences), exp and iat against the clock with a minute of skew, nonce
// equal to the flow's, and a sub of 1 to 255 printable ASCII characters.
// Errors wrap errKeysUnavailable or errBadIDToken and never quote the token.
func (v *idTokenVerifier) verify(ctx context.Context, raw string, nonce riscd.Secret) (idClaims, error) {
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return idClaims{}, fmt.Errorf("%w: not a compact JWS", errBadIDToken)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg := hdr.Algorithm()
	if !slices.Contains(v.algs, alg) {
		return idClaims{}, fmt.Errorf("%w: algorithm %q is not among the accepted %v", errBadIDToken, safeCode(strings.ToLower(alg.String())), v.algs)
	}
	key, err := v.key(ctx, hdr.KeyID())
	if err != nil {
		return idClaims{}, err
	}
	if ka := key.Algorithm().String(); ka != "" && ka != alg.String() {
		return idClaims{}, fmt.Errorf("%w: the key named by kid is for %s, not %s", errBadIDToken, safeCode(strings.ToLower(ka)), alg)
	}
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKey(alg, key),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(v.now)),
		jwt.WithAcceptableSkew(idTokenSkew),
		jwt.WithAudience(v.clientID),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
	)
	if err != nil {
		return idClaims{}, fmt.Errorf("%w: %w", errBadIDToken, err)
	}
	if !slices.Contains(v.issuers, tok.Issuer()) {
		return idClaims{}, fmt.Errorf("%w: issuer not accepted", errBadIDToken)
	}
	if aud := tok.Audience(); len(aud) > 1 {
		if azp, _ := stringClaim(tok, "azp"); azp != v.clientID {
			return idClaims{}, fmt.Errorf("%w: several audiences and azp is not the client", errBadIDToken)
		}
	}
	got, _ := stringClaim(tok, "nonce")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(nonce.Reveal())) != 1 {
		return idClaims{}, fmt.Errorf("%w: nonce does not match the request's", errBadIDToken)
	}
	if !validSub(tok.Subject()) {
		return idClaims{}, fmt.Errorf("%w: sub is not 1 to 255 printable ASCII characters", errBadIDToken)
	}
	email, _ := stringClaim(tok, "email")
	return idClaims{Sub: tok.Subject(), Email: email, EmailVerified: email != "" && trueClaim(tok, "email_verified"),
		Exp: tok.Expiration()}, nil
}

// key finds the verification key for kid, refetching the JWKS once (at most
// every forcedJWKSRefresh) when kid is unknown.
func (v *idTokenVerifier) key(ctx context.Context, kid string) (jwk.Key, error) {
	if kid == "" {
		return nil, fmt.Errorf("%w: no kid", errBadIDToken)
	}
	get := v.cache.Get
	if !v.loaded.Load() {
		// httprc counts a failed first fetch as done and would serve
		// nothing until its next scheduled refresh: fetch until one works.
		get = v.cache.Refresh
	}
	set, err := get(ctx, v.url)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	v.loaded.Store(true)
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	if !v.mayForceRefresh() {
		return nil, fmt.Errorf("%w: unknown kid", errBadIDToken)
	}
	if set, err = v.cache.Refresh(ctx, v.url); err != nil {
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown kid", errBadIDToken)
}

func (v *idTokenVerifier) mayForceRefresh() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if since := now.Sub(v.lastForced); !v.lastForced.IsZero() && since >= 0 && since < forcedJWKSRefresh {
		return false
	}
	v.lastForced = now
	return true
}

func stringClaim(tok jwt.Token, name string) (string, bool) {
	v, ok := tok.Get(name)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// trueClaim reports whether a claim is the boolean true (OpenID Connect
// Core 1.0 section 5.1) or the string "true", which some Google ID tokens
// carried.
func trueClaim(tok jwt.Token, name string) bool {
	switch v, _ := tok.Get(name); v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// validSub: Google's sub is at most 255 ASCII characters.
func validSub(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
