package httplog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/httplog"
)

// logged is one request's answer and the log lines it left.
type logged struct {
	rec   *httptest.ResponseRecorder
	lines []map[string]any
	seen  string // the id the handler saw
}

// serve answers req on an Echo with the routes of these tests behind
// Middleware(cfg), logging JSON at debug level to a buffer.
func serve(t *testing.T, cfg httplog.Config, req *http.Request) logged {
	t.Helper()
	var buf bytes.Buffer
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "test")
	var got logged
	e := echo.New()
	e.Use(httplog.Middleware(cfg))
	e.GET("/things/:id", func(c echo.Context) error {
		got.seen = httplog.RequestID(c)
		return c.String(http.StatusOK, "hello")
	})
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/missing", func(c echo.Context) error { return echo.NewHTTPError(http.StatusNotFound, "no such thing") })
	e.GET("/broken", func(c echo.Context) error { return errors.New("disk on fire") })
	got.rec = httptest.NewRecorder()
	e.ServeHTTP(got.rec, req)
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		got.lines = append(got.lines, m)
	}
	if len(got.lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(got.lines), buf.String())
	}
	return got
}

func get(path, id string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	return req
}

// A caller's X-Request-Id is repeated and logged only when it is 1 to 64
// letters, digits, dots, underscores or hyphens; anything else is
// replaced by a fresh id, so a caller cannot write into the log.
func TestRequestID(t *testing.T) {
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"well-formed", "req-abc.123_X", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"none", "", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"spaces", "bad id with spaces", false},
		{"log content", `x" level=ERROR msg="forged`, false},
		{"non-ASCII", "idé", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(t, httplog.Config{}, get("/things/1", tc.sent))
			id := got.rec.Header().Get("X-Request-Id")
			if tc.kept != (id == tc.sent) || id == "" || len(id) > 64 || strings.ContainsAny(id, ` "=é`) {
				t.Errorf("X-Request-Id %q, sent %q, want it kept: %v", id, tc.sent, tc.kept)
			}
			if got.lines[0]["request_id"] != id || got.seen != id {
				t.Errorf("logged %v, handler saw %q, want the answer's %q", got.lines[0]["request_id"], got.seen, id)
			}
			if tc.sent != "" && !tc.kept && strings.Contains(got.rec.Header().Get("X-Request-Id")+jsonOf(got.lines[0]), tc.sent) {
				t.Errorf("the sent id reached the answer or the log: %v", got.lines[0])
			}
		})
	}
}

// jsonOf is m as one JSON line.
func jsonOf(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// The line names the route template, never the path as sent or the query.
func TestLineFields(t *testing.T) {
	done := map[string]int{}
	cfg := httplog.Config{Done: func(c echo.Context, route string, status int) { done[route] = status }}
	req := get("/things/SECRET-PATH?code=SECRET-CODE&state=s", "")
	req.RemoteAddr = "192.0.2.7:4321"
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	l := serve(t, cfg, req).lines[0]
	want := map[string]any{
		"msg": "request", "level": "INFO", "component": "test", "method": "GET", "route": "/things/:id",
		"status": 200.0, "bytes": 5.0, "remote": "192.0.2.7:4321",
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %v, want %v", k, l[k], v)
		}
	}
	if _, ok := l["duration"].(float64); !ok {
		t.Errorf("duration %v, want a number", l["duration"])
	}
	if s := jsonOf(l); strings.Contains(s, "SECRET") || strings.Contains(s, "198.51.100.1") {
		t.Errorf("the line shows the path, query or a header as sent: %s", s)
	}
	if done["/things/:id"] != 200 {
		t.Errorf("Done saw %v, want /things/:id 200", done)
	}
}

// Only an error Answer calls unexpected is logged at error level; a
// refusal is info, a quiet route's success debug.
func TestLevels(t *testing.T) {
	answer := func(c echo.Context, err error) (string, bool) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			_ = c.JSON(he.Code, map[string]string{"error": "not_found"})
			return "not_found", false
		}
		_ = c.JSON(http.StatusInternalServerError, map[string]string{"error": "internal"})
		return "internal", true
	}
	quiet := map[string]bool{"/healthz": true, "/missing": true}
	tests := []struct {
		name, path  string
		answer      func(echo.Context, error) (string, bool)
		status      float64
		level, msg  string
		code, cause any
	}{
		{"success", "/things/1", answer, 200, "INFO", "request", nil, nil},
		{"quiet success", "/healthz", answer, 200, "DEBUG", "request", nil, nil},
		{"refusal on a quiet route", "/missing", answer, 404, "INFO", "request", "not_found", nil},
		{"unexpected", "/broken", answer, 500, "ERROR", "request failed", "internal", "disk on fire"},
		{"no route", "/nowhere?code=x", answer, 404, "INFO", "request", "not_found", nil},
		{"echo answers", "/broken", nil, 500, "INFO", "request", nil, nil},
		{"echo answers a refusal", "/missing", nil, 404, "INFO", "request", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := httplog.Config{Failed: "request failed", Answer: tc.answer, Quiet: quiet}
			got := serve(t, cfg, get(tc.path, ""))
			l := got.lines[0]
			if float64(got.rec.Code) != tc.status || l["status"] != tc.status || l["level"] != tc.level || l["msg"] != tc.msg ||
				l["error"] != tc.code || l["err"] != tc.cause {
				t.Errorf("answered %d, logged %v; want status %v level %s msg %q error %v err %v",
					got.rec.Code, l, tc.status, tc.level, tc.msg, tc.code, tc.cause)
			}
			if tc.name == "no route" && l["route"] != "(no route)" {
				t.Errorf("route %v, want (no route)", l["route"])
			}
		})
	}
}
