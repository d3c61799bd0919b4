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

	"github.com/riscd/riscd"
)

// Server serves the internal listener's admin API, metrics and health
// probes (the companion package serves the companion API, the adminpage
// package the admin page). Build it with New and mount it with Register.
// It is safe for concurrent use.
type Server struct {
	// Service is the API's logic, for the admin page to share.
	*Service
	adminToken TokenDigest
	registry   *prometheus.Registry
	grants     *grantCounts
}

// Service is the logic behind the admin API's routes: reading the query
// of a list, a page of grants, events, outbox jobs or audit entries as
// views, one grant, account or event, and the operator actions (revoke,
// release, retry). The API's handlers answer JSON with it; the admin page
// (package adminpage) renders HTML with it. Errors are as the API's: an
// *Error for what the caller did wrong, the store's errors else; Classify
// turns them into an answer. It is safe for concurrent use.
type Service struct {
	cfg      Config
	store    Store
	log      *slog.Logger
	now      func() time.Time
	features []string // names, sorted
	metrics  *Metrics
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
		Service: &Service{
			cfg:      cfg,
			store:    cfg.Store,
			log:      cfg.Logger,
			now:      cfg.Now,
			features: slices.Sorted(maps.Keys(cfg.Features)),
			metrics:  newMetrics(cfg.Now),
		},
		adminToken: DigestOf(cfg.AdminToken),
		registry:   cfg.Registry,
		grants:     &grantCounts{},
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
// check. It installs no global middleware and
// no catch-all route.
func (s *Server) Register(e *echo.Echo) {
	admin := []echo.MiddlewareFunc{s.serve, s.requireAdmin}
	action := append(admin[:len(admin):len(admin)], withActorParam) // an operator action: ?actor=NAME
	open := []echo.MiddlewareFunc{s.serve}

	e.GET("/admin/grants", s.listGrants, admin...)
	e.GET("/admin/grants/:id", s.showGrant, admin...)
	e.DELETE("/admin/grants/:id", s.revokeGrant, action...)
	e.GET("/admin/accounts/:sub", s.showAccount, admin...)
	e.POST("/admin/accounts/:sub/release", s.releaseAccount, action...)
	e.GET("/admin/events", s.listEvents, admin...)
	e.GET("/admin/events/:id", s.showEvent, admin...)
	e.POST("/admin/events/:id/retry", s.retryEvent, action...)
	e.GET("/admin/audit", s.listAudit, admin...)
	e.GET("/admin/outbox", s.listOutbox, admin...)
	e.POST("/admin/outbox/:id/retry", s.retryOutboxJob, action...)
	e.POST("/admin/store/backup", s.backupStore, admin...)
	e.GET("/admin/openapi.json", s.openAPI, admin...)

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
func (s *Service) Metrics() *Metrics { return s.metrics }

// Features returns the names of the configured features, sorted.
func (s *Service) Features() []string { return slices.Clone(s.features) }

// HasOperator reports whether an Operator is wired: without one the
// operator actions fail with a 501 Error.
func (s *Service) HasOperator() bool { return s.cfg.Operator != nil }

// Now returns the time on the Service's clock (Config.Now).
func (s *Service) Now() time.Time { return s.now() }

// GrantStatuses are the values a grant list's status filter takes.
func GrantStatuses() []riscd.GrantStatus { return slices.Clone(grantStatuses) }

// InboxStatuses are the values an event list's status filter takes.
func InboxStatuses() []riscd.InboxStatus { return slices.Clone(inboxStatuses) }

// commonHeaders are set on every answer of the internal listener: answers
// carry tokens (/v1/token) and operator data, which no cache may keep.
func commonHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
