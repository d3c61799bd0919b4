package admin

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/riscd/riscd/limit"
)

// Server serves the internal listener's admin API, admin page, metrics and
// health probes (the companion package serves the rest). Build it with New
// and mount it with Register. It is safe for concurrent use.
type Server struct {
	cfg        Config
	store      Store
	log        *slog.Logger
	now        func() time.Time
	adminToken TokenDigest
	features   []string // names, sorted
	registry   *prometheus.Registry
	metrics    *Metrics
	grants     *grantCounts
	ui         *adminUI
	clientIP   func(*http.Request) string // the address sign-ins count against
}

// New checks cfg, fills its defaults and builds a Server, registering
// riscd's metrics on cfg.Registry (or a new registry). Errors wrap
// ErrInvalidConfig and list every problem of cfg at once, or report a
// metric that cannot be registered (the registry already holds riscd's
// metrics).
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		store:      cfg.Store,
		log:        cfg.Logger,
		now:        cfg.Now,
		adminToken: DigestOf(cfg.AdminToken),
		features:   slices.Sorted(maps.Keys(cfg.Features)),
		registry:   cfg.Registry,
		metrics:    newMetrics(cfg.Now),
		clientIP:   limit.ClientIP(cfg.TrustedProxies),
		grants:     &grantCounts{},
	}
	var err error
	if s.ui, err = newAdminUI(s); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		if err := s.registry.Register(collectors.NewGoCollector()); err != nil {
			return nil, fmt.Errorf("admin: metrics: %w", err)
		}
		if err := s.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, fmt.Errorf("admin: metrics: %w", err)
		}
	}
	for _, c := range append(s.metrics.collectors(), &storeCollector{s: s}) {
		if err := s.registry.Register(c); err != nil {
			return nil, fmt.Errorf("admin: metrics: %w", err)
		}
	}
	return s, nil
}

// Register mounts every route of this package on e: the API
// routes with the request log, the JSON error answers and their token
// check; the admin page's routes (below /admin/ui) with the request log,
// HTML error pages, the page's security headers and its session (pages) or
// session and CSRF checks (actions). It installs no global middleware and
// no catch-all route.
func (s *Server) Register(e *echo.Echo) {
	admin := []echo.MiddlewareFunc{s.serve, s.requireAdmin}
	open := []echo.MiddlewareFunc{s.serve}
	page := []echo.MiddlewareFunc{s.serveUI, s.uiPage}
	action := []echo.MiddlewareFunc{s.serveUI, s.uiAction}

	e.GET("/admin/grants", s.listGrants, admin...)
	e.GET("/admin/grants/:id", s.showGrant, admin...)
	e.DELETE("/admin/grants/:id", s.revokeGrant, admin...)
	e.GET("/admin/accounts/:sub", s.showAccount, admin...)
	e.POST("/admin/accounts/:sub/release", s.releaseAccount, admin...)
	e.GET("/admin/events", s.listEvents, admin...)
	e.GET("/admin/events/:id", s.showEvent, admin...)
	e.POST("/admin/events/:id/retry", s.retryEvent, admin...)
	e.GET("/admin/audit", s.listAudit, admin...)
	e.GET("/admin/outbox", s.listOutbox, admin...)
	e.POST("/admin/outbox/:id/retry", s.retryOutboxJob, admin...)
	e.GET("/admin/openapi.json", s.openAPI, admin...)

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
	e.POST(uiBase+"/accounts/:sub/release", s.uiRelease, action...)
	e.GET(uiBase+"/events", s.uiEvents, page...)
	e.GET(uiBase+"/events/:id", s.uiEvent, page...)
	e.POST(uiBase+"/events/:id/retry", s.uiRetry, action...)
	e.GET(uiBase+"/outbox", s.uiOutbox, page...)
	e.POST(uiBase+"/outbox/:id/retry", s.uiRetryOutbox, action...)
	e.GET(uiBase+"/audit", s.uiAudit, page...)
	e.GET(uiBase+"/stream", s.uiStream, page...)

	e.GET("/metrics", s.metricsHandler(), open...)
	e.GET("/healthz", s.healthz, open...)
	e.GET("/readyz", s.readyz, open...)
}

// API wraps a route of the internal listener's JSON APIs: the request id
// and log line, the handler's error turned into its JSON answer (the one
// place: Error and the errors of the store and of Echo), the request
// counter and the headers every answer carries. The companion API's routes
// are mounted with it.
func (s *Server) API() echo.MiddlewareFunc { return s.serve }

// Registry returns the Prometheus registry the metrics are registered on
// (Config.Registry or the one New made).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Metrics returns the counters and histograms other packages feed. It is
// never nil.
func (s *Server) Metrics() *Metrics { return s.metrics }

// commonHeaders are set on every answer of the internal listener: answers
// carry tokens (/v1/token) and operator data, which no cache may keep.
func commonHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
