package httplog

import (
	"crypto/rand"
	"log/slog"
	"regexp"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Header carries the request id in and out.
const Header = echo.HeaderXRequestID

// idKey is where the request id is kept in the echo.Context.
const idKey = "riscd.request_id"

// outcomeKey is where the answer to a handler's error is kept in the
// echo.Context, for the log line.
const outcomeKey = "riscd.request_outcome"

// goodID is a caller's request id riscd accepts and repeats.
var goodID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Config says how a listener's requests are answered on error and logged.
type Config struct {
	// Logger receives the lines, with its attributes (component).
	Logger *slog.Logger
	// Message is the message of a line; "request" when empty.
	Message string
	// Failed is the message of an unexpected failure's line; Message when
	// empty.
	Failed string
	// Answer turns a handler's error into the answer and returns the
	// answer's code (logged as "error") and whether the error was
	// unexpected (logged at error level, its cause as "err"). When nil,
	// Echo's HTTPErrorHandler answers and no error is unexpected.
	Answer func(c echo.Context, err error) (code string, unexpected bool)
	// Quiet are the route templates logged at debug level when they
	// succeed (status below 400).
	Quiet map[string]bool
	// Done, when set, is called once a request is answered, with its route
	// as logged and its status.
	Done func(c echo.Context, route string, status int)
}

// outcome is how a handler's error was answered.
type outcome struct {
	code       string
	unexpected bool
	err        error
}

// Middleware gives each request an id and logs one line for it once it
// is answered; errors the handlers return are answered by cfg.Answer
// inside it, so the line has the status sent. It returns nil to Echo.
func Middleware(cfg Config) echo.MiddlewareFunc {
	if cfg.Message == "" {
		cfg.Message = "request"
	}
	if cfg.Failed == "" {
		cfg.Failed = cfg.Message
	}
	ids := middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		TargetHeader: Header,
		Generator:    rand.Text,
		RequestIDHandler: func(c echo.Context, id string) {
			// RequestID repeats whatever non-empty id the caller sent.
			if !goodID.MatchString(id) {
				id = rand.Text()
				c.Response().Header().Set(Header, id)
			}
			c.Set(idKey, id)
		},
	})
	logs := middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		// Not LogURI (the query), LogRequestID (the caller's header as
		// sent) or LogRemoteIP (X-Forwarded-For from anyone).
		LogLatency: true, LogMethod: true, LogRoutePath: true, LogStatus: true, LogResponseSize: true,
		LogValuesFunc: cfg.log,
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return ids(logs(cfg.answer(next)))
	}
}

// RequestID returns the id Middleware gave the request ("" outside it).
func RequestID(c echo.Context) string {
	id, _ := c.Get(idKey).(string)
	return id
}

// answer wraps next: its error is answered there and then, and how is
// kept for the log line.
func (cfg Config) answer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil {
			return nil
		}
		o := outcome{err: err}
		if cfg.Answer != nil {
			o.code, o.unexpected = cfg.Answer(c, err)
		} else {
			c.Error(err)
		}
		c.Set(outcomeKey, o)
		return nil
	}
}

// log writes the request's line.
func (cfg Config) log(c echo.Context, v middleware.RequestLoggerValues) error {
	route := v.RoutePath
	if route == "" || route == "/*" {
		route = "(no route)"
	}
	if cfg.Done != nil {
		cfg.Done(c, route, v.Status)
	}
	attrs := []slog.Attr{
		slog.String("request_id", RequestID(c)), slog.String("method", v.Method), slog.String("route", route),
		slog.Int("status", v.Status), slog.Int64("bytes", v.ResponseSize),
		slog.Duration("duration", v.Latency), slog.String("remote", c.Request().RemoteAddr),
	}
	o, _ := c.Get(outcomeKey).(outcome)
	if o.code != "" {
		attrs = append(attrs, slog.String("error", o.code))
	}
	level, msg := slog.LevelInfo, cfg.Message
	switch {
	case o.unexpected:
		level, msg = slog.LevelError, cfg.Failed
		attrs = append(attrs, slog.Any("err", o.err))
	case cfg.Quiet[route] && v.Status < 400:
		level = slog.LevelDebug
	}
	cfg.Logger.LogAttrs(c.Request().Context(), level, msg, attrs...)
	return nil
}
