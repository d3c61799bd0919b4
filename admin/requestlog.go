package admin

import (
	"crypto/rand"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// RequestIDHeader carries the request id in and out, on both listeners.
const RequestIDHeader = "X-Request-Id"

// requestIDKey is where the request id is kept in the echo.Context.
const requestIDKey = "riscd.request_id"

// goodRequestID is a caller's request id riscd accepts and repeats.
var goodRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// IncomingRequestID is the id to log and send back for req: the caller's
// X-Request-Id when it is well-formed (1 to 64 letters, digits, dots,
// underscores, hyphens), else a new random one.
func IncomingRequestID(req *http.Request) string {
	if id := req.Header.Get(RequestIDHeader); goodRequestID.MatchString(id) {
		return id
	}
	return rand.Text()
}

// quietRoutes are logged at debug level when they succeed: probes and
// scrapes come every few seconds.
var quietRoutes = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true}

// serve wraps every API route: it gives the request an id, turns the
// handler's error into the JSON answer (the one place: answer), and logs
// one line per request with the route template, never the query, a header
// or a body.
func (s *Server) serve(next echo.HandlerFunc) echo.HandlerFunc {
	return s.serveWith(answer, next)
}

// serveWith is serve with the function that turns a handler's error into
// an answer (JSON for the API, an HTML page for the admin page); it returns
// the answer's code and whether the error was unexpected.
func (s *Server) serveWith(answer func(echo.Context, error) (string, bool), next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := IncomingRequestID(req)
		c.Set(requestIDKey, id)
		h := c.Response().Header()
		h.Set(RequestIDHeader, id)
		commonHeaders(h)

		err := next(c)
		code, unexpected := "", false
		if err != nil {
			code, unexpected = answer(c, err)
		}
		status := c.Response().Status
		route := c.Path()
		s.metrics.httpRequests.WithLabelValues(route, req.Method, strconv.Itoa(status)).Inc()

		ctx := req.Context()
		attrs := []any{
			"request_id", id, "method", req.Method, "route", route,
			"status", status, "duration", time.Since(start), "remote", req.RemoteAddr,
		}
		if code != "" {
			attrs = append(attrs, "error", code)
		}
		switch {
		case unexpected:
			s.log.ErrorContext(ctx, "admin: request failed", append(attrs, "err", err)...)
		case quietRoutes[route] && status < 400:
			s.log.DebugContext(ctx, "admin: request", attrs...)
		default:
			s.log.InfoContext(ctx, "admin: request", attrs...)
		}
		return nil
	}
}

// requestID returns the id serve gave the request.
func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}
