// Package adminpage serves the operator's admin page: plain HTML below
// /admin/ui on riscd's internal listener, a browser's view of what the
// admin API (package admin) serves as JSON, with the same operator
// actions. It renders what admin.Service reads and does; it keeps its
// sign-ins in the store (riscd.AdminSession), so a sign-in holds on every
// riscd sharing one store.
//
// Routes (every page needs a signed-in session, every action also its
// CSRF token and a same-origin request):
//
//	GET  /admin/ui/login                   sign-in form; POST it with the admin token
//	POST /admin/ui/logout                  sign out
//	GET  /admin/ui/grants[/:id]            grants, one grant
//	POST /admin/ui/grants/:id/revoke       revoke (confirm=yes required)
//	GET  /admin/ui/accounts[/:sub]         held and flagged accounts, one account
//	POST /admin/ui/accounts/:sub/release   lift a hold
//	GET  /admin/ui/events[/:id]            events (?status=parked), one event
//	POST /admin/ui/events/:id/retry        retry a parked event
//	GET  /admin/ui/outbox                  pending jobs (?status=failed: failed ones)
//	POST /admin/ui/outbox/:id/retry        retry a failed job
//	GET  /admin/ui/audit, /admin/ui/stream
//
// The page is html/template, one embedded stylesheet, no script, nothing
// fetched from elsewhere: grants with filters and a grant page with a
// revoke button; held and flagged accounts and an account page with its
// timeline and a Release button; events, parked ones with a retry button,
// and an event page with its redacted claims; the outbox, failed jobs with
// a retry button; the audit log; the Google stream (Config.Stream and the
// stream metrics' last values). Its routes are not part of the JSON API and
// not in the OpenAPI document.
//
// Signing in compares the admin token in constant time and starts a
// server-side session (Config.SessionTTL) named by a random id in an
// HttpOnly, SameSite=Strict cookie scoped to /admin/ui, Secure over TLS or
// with Config.SecureCookies. The store keeps the session
// (riscd.AdminSession; the bbolt engine only the id's SHA-256, the CSRF
// token sealed), at most 256 of them, the oldest ended first. Sign-ins are
// limited per client address (5 at once, then one every 12 seconds; a
// success forgets the address), the attempt taken when it is judged, after
// the body is read; behind Config.TrustedProxies the client is the one
// X-Forwarded-For names. The limit is per process.
//
// Without a session every page redirects to the sign-in form and every
// action answers 403; each action also needs the session's CSRF token
// (compared in constant time) and is refused when Origin or Sec-Fetch-Site
// name another site (net/http.CrossOriginProtection: Sec-Fetch-Site
// decides, else Origin against Host; "Origin: null" is another site). Pages
// carry a strict Content-Security-Policy, X-Frame-Options: DENY and
// Cache-Control: no-store, show tokens only as fingerprints, and pass every
// value through html/template's escaping. Actions go through admin.Service,
// the code of the API's, and are audited the same way.
package adminpage

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/limit"
)

// DefaultSessionTTL is how long an admin page sign-in lasts.
const DefaultSessionTTL = 8 * time.Hour

// ErrInvalidConfig is wrapped by New's error when the Config cannot be used.
var ErrInvalidConfig = errors.New("invalid admin page config")

// Store is what the admin page reads and writes in riscd's store beside
// what admin.Service does: the held and flagged list, and its sign-ins.
// Every engine's riscd.DB satisfies it.
type Store interface {
	ListGrants(ctx context.Context, q riscd.GrantQuery) ([]riscd.Grant, string, error)
	Grant(ctx context.Context, id string) (riscd.Grant, error)
	Account(ctx context.Context, sub string) (riscd.Account, error)
	AccountsNeedingAttention(ctx context.Context, after string, limit int) ([]riscd.Account, error)
	AdminSession(ctx context.Context, id riscd.Secret) (riscd.AdminSession, error)
	CreateAdminSession(ctx context.Context, s riscd.AdminSession, max int) error
	DeleteAdminSession(ctx context.Context, id riscd.Secret) error
}

var _ Store = riscd.DB(nil)

// Config is what the admin page needs.
type Config struct {
	// Service is the admin API's logic (admin.Server's Service). Required.
	Service *admin.Service
	// Store is riscd's store, the one the Service reads. Required.
	Store Store
	// AdminToken signs in. Empty: the sign-in page answers 503.
	AdminToken riscd.Secret
	// Stream reads the Google RISC stream's state for the stream page
	// (cmd/riscd wires the stream management client and the health loop's
	// last results) at each view of that page, with a 10-second deadline.
	// Its error text is shown on the page: keep it free of secrets. Nil: the
	// page says stream management is not configured.
	Stream func(ctx context.Context) (StreamView, error)
	// SessionTTL is how long a sign-in lasts. Default DefaultSessionTTL.
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests: set it when a TLS-terminating proxy sits in front of the
	// internal listener. Requests that arrive over TLS always get a Secure
	// cookie.
	SecureCookies bool
	// TrustedProxies are the proxies in front of the internal listener whose
	// X-Forwarded-For names the client sign-ins count against
	// (limit.ClientIP). Default none: the connection's address.
	TrustedProxies []netip.Prefix
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives unexpected failures and sign-ins (the request log is
	// the Service's). Default: discard.
	Logger *slog.Logger
}

// Page serves the admin page. Build it with New and mount it with
// Register. It is safe for concurrent use.
type Page struct {
	cfg        Config
	svc        *admin.Service
	store      Store
	log        *slog.Logger
	now        func() time.Time
	adminToken admin.TokenDigest
	clientIP   func(*http.Request) string // the address sign-ins count against
	limiter    *limit.Keyed
	pages      map[string]*template.Template
	css        []byte
}

// New checks cfg, fills its defaults and parses the page's templates.
// Errors wrap ErrInvalidConfig and list every problem of cfg at once.
func New(cfg Config) (*Page, error) {
	var problems []string
	if cfg.Service == nil {
		problems = append(problems, "Service is required")
	}
	if cfg.Store == nil {
		problems = append(problems, "Store is required")
	}
	if cfg.SessionTTL < 0 {
		problems = append(problems, "SessionTTL must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("adminpage: %w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Page{
		cfg: cfg, svc: cfg.Service, store: cfg.Store, log: cfg.Logger, now: cfg.Now,
		adminToken: admin.DigestOf(cfg.AdminToken),
		clientIP:   limit.ClientIP(cfg.TrustedProxies),
		limiter:    newSigninLimiter(),
	}
	if err := s.parse(); err != nil {
		return nil, fmt.Errorf("adminpage: %w", err)
	}
	return s, nil
}

// Register mounts the admin page's routes (below /admin/ui) on e, each
// with the Service's request log, HTML error pages and the page's security
// headers, and its session (pages) or session and CSRF checks (actions).
// It installs no global middleware and no catch-all route.
func (s *Page) Register(e *echo.Echo) {
	page := []echo.MiddlewareFunc{s.serveUI, s.uiPage}
	action := []echo.MiddlewareFunc{s.serveUI, s.uiAction}

	e.GET(uiBase, s.uiHome, s.serveUI)
	e.GET(uiBase+"/", s.uiHome, s.serveUI)
	e.GET(uiBase+"/static/ui.css", s.uiStylesheet, s.serveUI)
	e.GET(uiBase+"/login", s.uiLogin, s.serveUI)
	e.POST(uiBase+"/login", s.uiSignin, s.serveUI)
	e.POST(uiBase+"/logout", s.uiSignout, action...)
	e.GET(uiBase+"/grants", s.uiGrants, page...)
	e.GET(uiBase+"/grants/:id", s.uiGrant, page...)
	e.POST(uiBase+"/grants/:id/revoke", s.uiRevoke, action...)
	e.GET(uiBase+"/accounts", s.uiAccounts, page...)
	e.GET(uiBase+"/accounts/:sub", s.uiAccount, page...)
	e.GET(uiBase+"/accounts/:sub/release", s.uiReleaseConfirm, page...)
	e.POST(uiBase+"/accounts/:sub/release", s.uiRelease, action...)
	e.GET(uiBase+"/events", s.uiEvents, page...)
	e.GET(uiBase+"/events/:id", s.uiEvent, page...)
	e.POST(uiBase+"/events/:id/retry", s.uiRetry, action...)
	e.GET(uiBase+"/outbox", s.uiOutbox, page...)
	e.POST(uiBase+"/outbox/:id/retry", s.uiRetryOutbox, action...)
	e.GET(uiBase+"/audit", s.uiAudit, page...)
	e.GET(uiBase+"/stream", s.uiStream, page...)
}
