package flowweb

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/riscd/riscd/limit"
	"github.com/riscd/riscd/oauthclient"
)

// Handler serves the consent flow. Build it with New and mount it with
// Register. It is safe for concurrent use.
type Handler struct {
	cfg         Config
	store       Store
	log         *slog.Logger
	now         func() time.Time
	base        string // path prefix of every route, "" at the root
	redirectURI string
	secure      bool // cookies get the Secure attribute
	publicOrig  string
	csp         string
	features    []string // names, sorted
	idTokens    *idTokenVerifier
	pages       *pages
	grants      Grants
	consent     *limit.Keyed               // rate of /authorize and /oauth2callback
	flows       *flowWindow                // cap of pending flows
	clientIP    func(*http.Request) string // the address the limits count against
	obs         Observer
}

// New checks cfg and builds a Handler. ctx must live as long as the daemon:
// the ID-token key cache refreshes in its background until ctx ends. New
// does not fetch the keys (an unreachable JWKS at start-up is not an error;
// a callback that cannot get them shows a "try again" page). Errors wrap
// ErrInvalidConfig and list every problem of cfg at once.
func New(ctx context.Context, cfg Config) (*Handler, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("flowweb: %w", err)
	}
	pub, _ := url.Parse(cfg.PublicURL) // validated above
	auth, _ := url.Parse(cfg.AuthURL)
	h := &Handler{
		cfg:         cfg,
		store:       cfg.Store,
		grants:      cfg.Grants,
		log:         cfg.Logger,
		now:         cfg.Now,
		base:        basePath(cfg.PublicURL),
		redirectURI: strings.TrimSuffix(cfg.PublicURL, "/") + callbackPath,
		secure:      pub.Scheme == "https",
		publicOrig:  pub.Scheme + "://" + pub.Host,
		features:    featureNames(cfg.Features),
		consent:     newConsentLimiter(cfg),
		flows:       newFlowWindow(cfg.MaxPendingFlows, cfg.FlowTTL),
		clientIP:    limit.ClientIP(cfg.TrustedProxies),
		obs:         cfg.Observer,
	}
	h.csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' " +
		auth.Scheme + "://" + auth.Host + "; frame-ancestors 'none'; base-uri 'none'"
	var err error
	if h.idTokens, err = newIDTokenVerifier(ctx, cfg); err != nil {
		return nil, fmt.Errorf("flowweb: %w", err)
	}
	if h.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("flowweb: %w", err)
	}
	return h, nil
}

// Route paths below the base path.
const (
	callbackPath   = "/oauth2callback"
	stylesheetPath = "/static/riscd.css"
)

// Register mounts every route of the consent flow on e, each with the
// security headers. It installs no global middleware and no catch-all
// route, so other routes of e (the RISC receiver) are unaffected.
func (h *Handler) Register(e *echo.Echo) {
	b, mw := h.base, h.securityHeaders
	e.GET(b+"/", h.index, mw)
	e.GET(b+"/authorize", h.authorize, mw, h.limitConsent("authorize"))
	e.GET(b+callbackPath, h.callback, mw, h.limitConsent("callback"))
	e.GET(b+ConnectPath+"/:id", h.connect, mw, h.limitConsent("authorize"))
	e.GET(b+"/features/:name", h.feature, mw)
	e.POST(b+"/revoke", h.revoke, mw)
	e.POST(b+"/clear", h.clear, mw)
	e.GET(b+stylesheetPath, h.stylesheet, mw)
}

// RedirectURI returns the redirect URI the flow sends: PublicURL +
// "/oauth2callback". It must be registered on the OAuth client.
func (h *Handler) RedirectURI() string { return h.redirectURI }

// securityHeaders sets the headers every flowweb answer carries.
func (h *Handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// oauthConfig is the OAuth client asking for scopes.
func (h *Handler) oauthConfig(scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     h.cfg.ClientID,
		ClientSecret: h.cfg.ClientSecret.Reveal(),
		Endpoint: oauth2.Endpoint{
			AuthURL:  h.cfg.AuthURL,
			TokenURL: h.cfg.TokenURL,
			// As at the revocation endpoint (RFC 7009 §2.1).
			AuthStyle: oauthclient.AuthStyle,
		},
		RedirectURL: h.redirectURI,
		Scopes:      scopes,
	}
}

// oauthContext carries the HTTP client to x/oauth2.
func (h *Handler) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, h.cfg.HTTPClient)
}

// Sweep deletes abandoned authorization flows (older than FlowTTL),
// expired sessions and expired connect sessions, and returns how many of each it removed. Call it now and
// then (every few minutes); nothing else removes them. Flow records that
// cannot be decoded are logged, counted (Observer.RecordsSkipped) and
// skipped. Errors are the store's, wrapped.
func (h *Handler) Sweep(ctx context.Context) (flows, sessions int, err error) {
	sw, err := h.store.SweepFlows(ctx, h.now().Add(-h.cfg.FlowTTL))
	if sw.Undecodable > 0 {
		h.obs.RecordsSkipped("flow_sweep", sw.Undecodable)
		h.log.WarnContext(ctx, "flowweb: sweep skipped undecodable flow records; riscd store check names them", "records", sw.Undecodable)
	}
	if err != nil {
		return sw.Deleted, 0, fmt.Errorf("flowweb: sweep flows: %w", err)
	}
	if sessions, err = h.store.DeleteExpiredSessions(ctx); err != nil {
		return sw.Deleted, 0, fmt.Errorf("flowweb: sweep sessions: %w", err)
	}
	if _, err := h.store.DeleteExpiredConnectSessions(ctx); err != nil {
		return sw.Deleted, sessions, fmt.Errorf("flowweb: sweep connect sessions: %w", err)
	}
	return sw.Deleted, sessions, nil
}
