package admin_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestOneLogLinePerRequest(t *testing.T) {
	e := newEnv(t, nil)
	e.mustAccount(accountOf("alice"))
	tests := []struct {
		name, method, path, token, requestID string
		keepID                               bool
		status                               float64
		level                                string
	}{
		{"admin list", http.MethodGet, "/admin/grants?sub=alice", adminToken, "", false, 200, "INFO"},
		{"caller's id kept", http.MethodGet, "/v1/subjects/alice", appToken, "req-abc.123", true, 200, "INFO"},
		{"malformed id replaced", http.MethodGet, "/v1/subjects/alice", appToken, "bad id with spaces", false, 200, "INFO"},
		{"refused", http.MethodGet, "/admin/audit", "wrong-token-wrong-token", "", false, 401, "INFO"},
		{"not found", http.MethodGet, "/admin/accounts/nobody", adminToken, "", false, 404, "INFO"},
		{"probe", http.MethodGet, "/healthz", "", "", false, 200, "DEBUG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.logLines())
			req := newRequest(t, e, tc.method, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.requestID != "" {
				req.Header.Set("X-Request-Id", tc.requestID)
			}
			r := e.send(req)
			id := r.header.Get("X-Request-Id")
			if id == "" || (tc.keepID && id != tc.requestID) || (!tc.keepID && id == tc.requestID) {
				t.Errorf("X-Request-Id = %q (sent %q, keep %v)", id, tc.requestID, tc.keepID)
			}
			lines := e.logLines()[before:]
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1: %v", len(lines), lines)
			}
			l := lines[0]
			if l["request_id"] != id || l["status"] != tc.status || l["level"] != tc.level || l["method"] != tc.method {
				t.Errorf("log line %v, want request_id %s, status %v, level %s", l, id, tc.status, tc.level)
			}
			if route, _ := l["route"].(string); strings.Contains(route, "?") || strings.Contains(route, "alice") {
				t.Errorf("route %q, want the template without query or values", route)
			}
		})
	}
}

func TestUnexpectedFailureLoggedAsErrorWithItsRequestID(t *testing.T) {
	e := newEnv(t, nil)
	e.broker.answers["alice"] = brokerAnswer{err: errBoom}
	r := e.do(http.MethodPost, "/v1/token", appToken, map[string]any{"sub": "alice", "scopes": []string{"openid"}})
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", r.status)
	}
	var found bool
	for _, l := range e.logLines() {
		if l["level"] == "ERROR" {
			found = true
			if l["request_id"] != r.header.Get("X-Request-Id") || !strings.Contains(l["err"].(string), "input/output error") {
				t.Errorf("error line %v, want the request id and the cause", l)
			}
		}
	}
	if !found {
		t.Errorf("no error-level line for an unexpected failure")
	}
}
