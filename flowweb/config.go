package flowweb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

// ErrInvalidConfig is wrapped by New's error when the Config cannot be used.
var ErrInvalidConfig = errors.New("invalid flowweb config")

// Google's endpoints and ID-token issuers, the defaults for empty fields.
const (
	GoogleAuthURL        = "https://accounts.google.com/o/oauth2/v2/auth"
	GoogleTokenURL       = "https://oauth2.googleapis.com/token"
	GoogleIDTokenJWKSURL = "https://www.googleapis.com/oauth2/v3/certs"
)

// GoogleIDTokenIssuers are the two spellings of iss in Google's ID tokens.
func GoogleIDTokenIssuers() []string {
	return []string{"https://accounts.google.com", "accounts.google.com"}
}

// Providers: Config.Provider says whose authorization server the flow talks
// to, and with it how offline access is asked, which ID-token algorithms and
// prompt values are accepted, and how the pages name the provider.
const (
	// ProviderGoogle is Google's OAuth 2.0 web-server flow: access_type=offline
	// asks for a refresh token, ID tokens are RS256, prompt is Google's
	// none/consent/select_account.
	ProviderGoogle = "google"
	// ProviderOIDC is a standard OpenID provider: the offline_access scope
	// with prompt=consent asks for a refresh token (OpenID Connect Core 1.0
	// §11), ID tokens may use any algorithm of IDTokenAlgorithms, prompt may
	// also be login (§3.1.2.1).
	ProviderOIDC = "oidc"
)

// AllowedIDTokenAlgorithms are the asymmetric JWS algorithms an ID token may
// be signed with (RFC 7518 §3.1, RFC 8037 §3.1). "none" and the HMAC family
// are never accepted: an HMAC key would be the client secret, shared with
// every party that holds it.
func AllowedIDTokenAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

// Defaults and limits of the lifetimes in Config.
const (
	DefaultSessionTTL = 8 * time.Hour
	DefaultFlowTTL    = 10 * time.Minute
	// MaxFlowTTL caps FlowTTL: an authorization answer older than this is refused.
	MaxFlowTTL = 10 * time.Minute
)

// baseScopes are requested on every consent.
var baseScopes = []string{"openid", "email"}

// offlineAccessScope asks a standard OpenID provider for a refresh token
// (OpenID Connect Core 1.0 §11).
const offlineAccessScope = "offline_access"

// Feature is an optional capability enabled by one more scope, with an API
// call (GET TestURL with the grant's bearer token) that shows it works.
type Feature struct {
	Scope   string
	TestURL string
}

// Store is what flowweb needs of riscd's store; every engine's riscd.DB
// satisfies it. Errors are the store's: riscd.ErrNotFound for a missing (or expired)
// session or flow, anything else is a storage failure.
type Store interface {
	CreateFlow(ctx context.Context, f riscd.Flow) error
	TakeFlow(ctx context.Context, id riscd.Secret) (riscd.Flow, error)
	Session(ctx context.Context, id riscd.Secret) (riscd.Session, error)
	DeleteSession(ctx context.Context, id riscd.Secret) error
	Account(ctx context.Context, sub string) (riscd.Account, error)
	GrantsBySub(ctx context.Context, sub string) ([]riscd.Grant, error)
	SweepFlows(ctx context.Context, before time.Time) (riscd.FlowSweep, error)
	DeleteExpiredSessions(ctx context.Context) (int, error)
	ConnectSession(ctx context.Context, id string) (riscd.ConnectSession, error)
	DeleteExpiredConnectSessions(ctx context.Context) (int, error)
}

// Grants is riscd's grants service (the lifecycle package's *Lifecycle
// satisfies it): it owns what the consent flow does to grants, so that one
// party writes and refreshes them whoever asks.
//
// SaveConsent stores a consent's result in one transaction: g carries Sub,
// Email, EmailVerified, Scopes (sorted), AccessToken, RefreshToken (zero
// when none came), TokenType, Expiry and IDTokenExp; the subject's current
// grant is updated (a replaced refresh token queued for upstream
// revocation) or a grant created, the account updated, sess created and
// the session oldSession (if any) deleted. It returns the grant as stored.
// An error with a method SigninDisabled() bool returning true means the
// account's sign-in is disabled by a security event; nothing is written
// on error.
//
// GrantToken returns the grant's access token, refreshed first when it is
// missing, expires within a minute, or equals stale (a token an API has
// just refused), and stored before it is returned; refreshed reports
// whether it differs from the one the grant held when the call began. Its
// errors are recognised by behaviour: a method GrantState() (state, reason
// string) when the grant can no longer be used (state "held", "revoked",
// "reconsent_required" or "reauth_required"); a method Temporary() bool
// returning true when the token endpoint failed and no valid token is
// left; riscd.ErrNotFound when the grant is gone.
//
// RevokeUserGrants sends the token of sub's newest live grant to the
// revoke endpoint, then marks every live grant of sub revoked and discards
// their tokens, with an audit entry, whatever the answer. confirmed
// reports a 200; outcome is a short phrase for the page. riscd.ErrNotFound
// (wrapped) when sub has no live grant: nothing was sent or written.
//
// No error text may hold a token.
type Grants interface {
	SaveConsent(ctx context.Context, g riscd.Grant, sess riscd.Session, oldSession riscd.Secret) (riscd.Grant, error)
	GrantToken(ctx context.Context, grantID string, stale riscd.Secret) (token riscd.Secret, refreshed bool, err error)
	RevokeUserGrants(ctx context.Context, sub string) (confirmed bool, outcome string, err error)
}

// Config is everything the consent flow needs. Zero values get the defaults
// documented on each field; New reports the fields it cannot use.
type Config struct {
	// Provider is ProviderGoogle (the default) or ProviderOIDC.
	Provider string
	// ProviderName names the provider on the pages. Default "Google" for
	// ProviderGoogle, else the host of the first ID-token issuer.
	ProviderName string
	// PublicURL is riscd's external base URL (http or https, no query or
	// fragment). The redirect URI is exactly PublicURL (without a trailing
	// slash) + "/oauth2callback"; its path prefixes every route; https makes
	// the cookies Secure. Required.
	PublicURL string
	// ClientID and ClientSecret of the OAuth web client. Required.
	ClientID     string
	ClientSecret riscd.Secret
	// AuthURL and TokenURL default to Google's endpoints.
	AuthURL, TokenURL string
	// IDTokenIssuers are the accepted iss values of ID tokens. Default
	// GoogleIDTokenIssuers().
	IDTokenIssuers []string
	// IDTokenAlgorithms are the accepted ID-token signature algorithms,
	// each one of AllowedIDTokenAlgorithms. Default RS256 for ProviderGoogle
	// (Google signs with RS256 alone); for ProviderOIDC, what discovery's
	// id_token_signing_alg_values_supported lists (Discover), else RS256,
	// the default of OpenID Connect Discovery 1.0 §3.
	IDTokenAlgorithms []string
	// IDTokenJWKSURL serves the ID-token signing keys. Default Google's. It is
	// fetched on first use, not by New, and cached.
	IDTokenJWKSURL string
	// Scopes are requested on every consent besides "openid email" (and
	// offline_access, which ProviderOIDC always asks for).
	Scopes []string
	// Features by name (a-z, 0-9, '-', '_'): each needs its Scope granted.
	Features map[string]Feature
	// Store keeps flows and sessions; flowweb reads accounts and grants
	// from it. Required.
	Store Store
	// Grants saves consents, hands out access tokens (refreshing them)
	// and revokes a user's grants. Required.
	Grants Grants
	// Connect runs connect sessions (ConnectPath). Nil: the connect links
	// answer 404.
	Connect Connector
	// HTTPClient calls the token, JWKS and feature endpoints.
	// Default: a client with a 30-second timeout.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the flow's log lines. Default: discard.
	Logger *slog.Logger
	// SessionTTL is how long riscd's browser session lasts. Default
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// FlowTTL is how long an authorization request may take. Default and
	// maximum 10 minutes.
	FlowTTL time.Duration
	// ConsentPerMinute bounds GET /authorize and /oauth2callback per client
	// address: that many at once, then one every minute/ConsentPerMinute.
	// ConsentPerMinuteTotal bounds them for all clients together. Past
	// either the answer is 429. Defaults DefaultConsentPerMinute and
	// DefaultConsentPerMinuteTotal.
	ConsentPerMinute      int
	ConsentPerMinuteTotal int
	// MaxPendingFlows bounds the flows started within one FlowTTL; past it
	// /authorize answers 503 until the oldest expires. Default
	// DefaultMaxPendingFlows.
	MaxPendingFlows int
	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// the consent limit counts against (limit.ClientIP). Default none: the
	// connection's address.
	TrustedProxies []netip.Prefix
	// Observer is told of refused requests and of records the sweep
	// skipped. Default: none.
	Observer Observer
}

// withDefaults returns cfg with its zero fields filled.
func (cfg Config) withDefaults() Config {
	if cfg.Provider == "" {
		cfg.Provider = ProviderGoogle
	}
	if len(cfg.IDTokenAlgorithms) == 0 {
		cfg.IDTokenAlgorithms = []string{"RS256"}
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = GoogleAuthURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = GoogleTokenURL
	}
	if len(cfg.IDTokenIssuers) == 0 {
		cfg.IDTokenIssuers = GoogleIDTokenIssuers()
	}
	if cfg.IDTokenJWKSURL == "" {
		cfg.IDTokenJWKSURL = GoogleIDTokenJWKSURL
	}
	if cfg.ProviderName == "" {
		cfg.ProviderName = "Google"
		if cfg.Provider != ProviderGoogle {
			cfg.ProviderName = "your identity provider"
			if u, err := url.Parse(cfg.IDTokenIssuers[0]); err == nil && u.Host != "" {
				cfg.ProviderName = u.Host
			}
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.FlowTTL == 0 {
		cfg.FlowTTL = DefaultFlowTTL
	}
	if cfg.ConsentPerMinute == 0 {
		cfg.ConsentPerMinute = DefaultConsentPerMinute
	}
	if cfg.ConsentPerMinuteTotal == 0 {
		cfg.ConsentPerMinuteTotal = max(DefaultConsentPerMinuteTotal, cfg.ConsentPerMinute)
	}
	if cfg.MaxPendingFlows == 0 {
		cfg.MaxPendingFlows = DefaultMaxPendingFlows
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return cfg
}

// validate lists every problem of a defaulted Config.
func (cfg Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(cfg.PublicURL); cfg.PublicURL == "" || err != nil || !isHTTP(u) {
		bad("PublicURL", "must be an absolute http or https URL")
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("PublicURL", "must not carry a query, fragment or user info")
	}
	if cfg.Provider != ProviderGoogle && cfg.Provider != ProviderOIDC {
		bad("Provider", "must be %q or %q", ProviderGoogle, ProviderOIDC)
	}
	for _, a := range cfg.IDTokenAlgorithms {
		if !slices.Contains(AllowedIDTokenAlgorithms(), a) {
			bad("IDTokenAlgorithms", "%q is not one of %s", a, strings.Join(AllowedIDTokenAlgorithms(), ", "))
		}
	}
	if cfg.ClientID == "" {
		bad("ClientID", "required")
	}
	if cfg.ClientSecret.IsZero() {
		bad("ClientSecret", "required")
	}
	for _, f := range []struct{ name, v string }{
		{"AuthURL", cfg.AuthURL}, {"TokenURL", cfg.TokenURL}, {"IDTokenJWKSURL", cfg.IDTokenJWKSURL},
	} {
		if u, err := url.Parse(f.v); err != nil || !isHTTP(u) {
			bad(f.name, "must be an absolute http or https URL")
		}
	}
	if slices.Contains(cfg.IDTokenIssuers, "") {
		bad("IDTokenIssuers", "must not contain an empty issuer")
	}
	for _, sc := range cfg.Scopes {
		if !validScope(sc) {
			bad("Scopes", "%q is not a scope token", sc)
		}
	}
	names := make([]string, 0, len(cfg.Features))
	for n := range cfg.Features {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f := cfg.Features[n]
		if !validFeatureName(n) {
			bad("Features", "name %q: use only a-z, 0-9, '-' and '_'", n)
		}
		if !validScope(f.Scope) {
			bad("Features."+n+".Scope", "must be one scope token")
		}
		if u, err := url.Parse(f.TestURL); err != nil || !isHTTP(u) {
			bad("Features."+n+".TestURL", "must be an absolute http or https URL")
		}
	}
	if cfg.Store == nil {
		bad("Store", "required")
	}
	if cfg.Grants == nil {
		bad("Grants", "required")
	}
	if cfg.SessionTTL < 0 {
		bad("SessionTTL", "must be positive")
	}
	if cfg.ConsentPerMinute < 0 || cfg.ConsentPerMinuteTotal < cfg.ConsentPerMinute {
		bad("ConsentPerMinute", "must be positive and at most ConsentPerMinuteTotal")
	}
	if cfg.MaxPendingFlows < 0 {
		bad("MaxPendingFlows", "must be positive")
	}
	if cfg.FlowTTL < 0 || cfg.FlowTTL > MaxFlowTTL {
		bad("FlowTTL", "must be between 0 and %s", MaxFlowTTL)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

func isHTTP(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// validScope accepts one RFC 6749 scope token: printable ASCII without
// space, '"' or '\'.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

func validFeatureName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// featureNames returns the configured feature names, sorted.
func featureNames(fs map[string]Feature) []string {
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// basePath is PublicURL's path without its trailing slash ("" at the root).
func basePath(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}
