package main

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
)

// publicRequestLog logs one line per request of the public listener: its
// id (the caller's X-Request-Id when well-formed, else a random one, sent
// back either way), method, route template, status, size and duration.
// Never the path as sent, the query (the consent callback carries the
// authorization code there), a header or a body.
func publicRequestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			id := admin.IncomingRequestID(req) // as on the internal listener
			c.Response().Header().Set(admin.RequestIDHeader, id)
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" || route == "/*" {
				route = "(no route)"
			}
			log.LogAttrs(req.Context(), slog.LevelInfo, "request",
				slog.String("request_id", id), slog.String("method", req.Method), slog.String("route", route),
				slog.Int("status", c.Response().Status), slog.Int64("bytes", c.Response().Size),
				slog.Duration("duration", time.Since(start)), slog.String("remote", req.RemoteAddr))
			return nil
		}
	}
}
