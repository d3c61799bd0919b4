package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/riscd/riscd/admin/admintest"
)

func TestOneLogLinePerRequest(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustAccount(admintest.AccountOf("alice"))
	tests := []struct {
		name, method, path, token, requestID string
		keepID                               bool
		status                               float64
		level                                string
	}{
		{"admin list", http.MethodGet, "/admin/grants?sub=alice", admintest.AdminToken, "", false, 200, "INFO"},
		{"caller's id kept", http.MethodGet, "/v1/subjects/alice", admintest.AppToken, "req-abc.123", true, 200, "INFO"},
		{"malformed id replaced", http.MethodGet, "/v1/subjects/alice", admintest.AppToken, "bad id with spaces", false, 200, "INFO"},
		{"refused", http.MethodGet, "/admin/audit", "wrong-token-wrong-token", "", false, 401, "INFO"},
		{"not found", http.MethodGet, "/admin/accounts/nobody", admintest.AdminToken, "", false, 404, "INFO"},
		{"probe", http.MethodGet, "/healthz", "", "", false, 200, "DEBUG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.LogLines())
			req := admintest.NewRequest(t, e, tc.method, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.requestID != "" {
				req.Header.Set("X-Request-Id", tc.requestID)
			}
			r := e.Send(req)
			id := r.Header.Get("X-Request-Id")
			if id == "" || (tc.keepID && id != tc.requestID) || (!tc.keepID && id == tc.requestID) {
				t.Errorf("X-Request-Id = %q (sent %q, keep %v)", id, tc.requestID, tc.keepID)
			}
			lines := e.LogLines()[before:]
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
	e := admintest.New(t, nil)
	e.Broker.Answers["alice"] = admintest.BrokerAnswer{Err: admintest.ErrBoom}
	r := e.Do(http.MethodPost, "/v1/token", admintest.AppToken, map[string]any{"sub": "alice", "scopes": []string{"openid"}})
	if r.Status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", r.Status)
	}
	var found bool
	for _, l := range e.LogLines() {
		if l["level"] == "ERROR" {
			found = true
			if l["request_id"] != r.Header.Get("X-Request-Id") || !strings.Contains(l["err"].(string), "input/output error") {
				t.Errorf("error line %v, want the request id and the cause", l)
			}
		}
	}
	if !found {
		t.Errorf("no error-level line for an unexpected failure")
	}
}
