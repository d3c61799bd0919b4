package admin

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/httplog"
)

// quietRoutes are logged at debug level when they succeed: probes and
// scrapes come every few seconds.
var quietRoutes = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true}

// serve wraps every API route: the request id and log line (httplog), the
// handler's error turned into the JSON answer (the one place: answer), the
// request counter and commonHeaders.
func (s *Server) serve(next echo.HandlerFunc) echo.HandlerFunc {
	return s.ServeWith(answer, next)
}

// ServeWith is serve with the function that turns a handler's error into
// an answer (JSON for the API, an HTML page for the admin page); it returns
// the answer's code and whether the error was unexpected.
func (s *Service) ServeWith(answer func(echo.Context, error) (string, bool), next echo.HandlerFunc) echo.HandlerFunc {
	log := httplog.Middleware(httplog.Config{
		Logger: s.log, Message: "admin: request", Failed: "admin: request failed",
		Answer: answer, Quiet: quietRoutes, Done: s.countRequest,
	})
	return log(func(c echo.Context) error {
		commonHeaders(c.Response().Header())
		return next(c)
	})
}

// countRequest counts an answered request by route, method and status.
func (s *Service) countRequest(c echo.Context, route string, status int) {
	s.metrics.httpRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
}
