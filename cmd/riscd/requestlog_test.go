package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/riscd/riscd/internal/testkit"
)

// Every request on the public listener is logged once with an id, the
// route template and the status; never the query or the path as sent.
func TestPublicRequestLog(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.SyncBuffer
	m := &Main{Config: l.cfg, Secrets: l.secrets, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	base := "http://" + m.PublicAddr()

	const code = "4/0SECRET-AUTHORIZATION-CODE"
	requests := []struct {
		method, path, requestID string
		route                   string
		status                  int
	}{
		{"GET", "/oauth2callback?state=forged&code=" + code, "trace-1", "/oauth2callback", 0},
		{"POST", "/risc", "", "/risc", http.StatusBadRequest},
		{"GET", "/no-such-page/" + code, "bad id with spaces", "(no route)", http.StatusNotFound},
	}
	for _, r := range requests {
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		if r.requestID != "" {
			req.Header.Set("X-Request-Id", r.requestID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		kept := r.requestID == "trace-1" // the only well-formed one
		if got == "" || kept != (got == r.requestID) || strings.Contains(got, " ") {
			t.Errorf("%s %s: X-Request-Id %q (sent %q)", r.method, r.path, got, r.requestID)
		}
		line := findLogLine(t, logs.String(), got)
		if line["route"] != r.route || line["method"] != r.method {
			t.Errorf("%s %s: logged route %v method %v, want %s %s", r.method, r.path, line["route"], line["method"], r.route, r.method)
		}
		if status := int(line["status"].(float64)); status != resp.StatusCode || (r.status != 0 && status != r.status) {
			t.Errorf("%s %s: logged status %d, answered %d, want %d", r.method, r.path, status, resp.StatusCode, r.status)
		}
	}
	if strings.Contains(logs.String(), "SECRET-AUTHORIZATION-CODE") || strings.Contains(logs.String(), "forged") {
		t.Errorf("the log shows a query or path as sent:\n%s", logs.String())
	}
}

// findLogLine returns the request log line carrying request id id.
func findLogLine(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no request log line with id %q in:\n%s", id, logs)
	return nil
}
