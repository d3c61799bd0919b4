package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riscd/riscd/httplog"
)

// readyTimeout bounds the checks of one /readyz.
const readyTimeout = 5 * time.Second

// stuckScan is how many pending inbox entries /readyz looks at.
const stuckScan = 256

// readiness is /readyz's answer: "ready" or "not_ready", and each check's
// result ("ok" or what is wrong).
type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// healthz is GET /healthz: the process is alive and serving.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is GET /readyz: 200 when the store answers, the inbox is moving
// (entries are taken, and the store accepts writes) and Config.Ready
// passes; 503 naming what failed otherwise.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	out := readiness{Status: "ready", Checks: map[string]string{"store": "ok", "inbox": "ok"}}
	fail := func(check, what string) {
		out.Status, out.Checks[check] = "not_ready", what
	}
	stuck, err := s.inboxStuck(ctx)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "admin: readiness: store read failed", "err", err, "request_id", httplog.RequestID(c))
		fail("store", "the store cannot be read")
		fail("inbox", "unknown")
	case stuck != "":
		fail("inbox", stuck)
	}
	// A store that cannot be read is already reported; its health would
	// only say the same.
	if hc, ok := s.cfg.Store.(HealthChecker); ok && err == nil {
		if err := hc.Health(ctx); err != nil {
			s.log.ErrorContext(ctx, "admin: readiness: the store cannot accept writes", "err", err, "request_id", httplog.RequestID(c))
			fail("inbox", "received SETs cannot be moved into the inbox (see the log); new SETs are answered 503")
		}
	}
	if s.cfg.Ready != nil {
		out.Checks["ready"] = "ok"
		if err := s.cfg.Ready(ctx); err != nil {
			fail("ready", err.Error())
		}
	}
	status := http.StatusOK
	if out.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, out)
}

// inboxStuck looks at the oldest pending entries and returns a description
// when one has been due for longer than InboxStuckAfter: the dispatcher is
// not taking entries. An entry waiting behind an earlier entry of the same
// subject (which waits for its retry) is not due. "" when the inbox moves.
func (s *Server) inboxStuck(ctx context.Context) (string, error) {
	entries, err := s.store.PendingInbox(ctx, stuckScan)
	if err != nil {
		return "", err
	}
	now := s.now()
	blocked := map[string]bool{}
	for _, e := range entries {
		if e.Subject != "" && blocked[e.Subject] {
			continue
		}
		due := e.NextAttemptAt
		if due.IsZero() {
			due = e.ReceivedAt
		}
		if late := now.Sub(due); late > s.cfg.InboxStuckAfter {
			return "event " + strconv.FormatUint(e.ID, 10) + " has been due for " + late.Truncate(time.Second).String(), nil
		}
		if e.Subject != "" {
			blocked[e.Subject] = true
		}
	}
	return "", nil
}

// metricsHandler is GET /metrics: the registry's exposition. A collector's
// failure is logged and the other metrics are still served.
func (s *Server) metricsHandler() echo.HandlerFunc {
	h := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      promLogger{s},
	})
	return echo.WrapHandler(h)
}

// promLogger passes promhttp's error lines to the injected logger.
type promLogger struct{ s *Server }

func (l promLogger) Println(v ...any) { l.s.log.Error("admin: metrics exposition", "err", v) }
