package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
)

type readyJSON struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, nil)
	var got map[string]string
	e.get("/healthz", http.StatusOK).json(t, &got)
	if got["status"] != "ok" {
		t.Errorf("got %v, want status ok", got)
	}
}

// unhealthyStore is the store reporting that it cannot accept writes.
type unhealthyStore struct {
	admin.Store
	err error
}

func (f unhealthyStore) Health(context.Context) error { return f.err }

func TestReadyzStoreUnhealthy(t *testing.T) {
	journalErr := errors.New("store: /var/lib/riscd/riscd.db: no space left on device")
	e := newEnv(t, func(c *admin.Config) { c.Store = unhealthyStore{Store: c.Store, err: journalErr} })
	var got readyJSON
	e.get("/readyz", http.StatusServiceUnavailable).json(t, &got)
	want := "received SETs cannot be moved into the inbox (see the log); new SETs are answered 503"
	if got.Status != "not_ready" || got.Checks["inbox"] != want || got.Checks["store"] != "ok" {
		t.Errorf("readyz = %+v, want not_ready with inbox %q", got, want)
	}
	e2 := newEnv(t, func(c *admin.Config) { c.Store = unhealthyStore{Store: c.Store} })
	e2.get("/readyz", http.StatusOK).json(t, &got)
	if got.Checks["inbox"] != "ok" {
		t.Errorf("readyz with a healthy store = %+v, want inbox ok", got)
	}
}

func TestReadyz(t *testing.T) {
	keysErr := errors.New("transmitter google: keys not loaded yet")
	tests := []struct {
		name   string
		ready  error
		setup  func(*env)
		status int
		checks map[string]string
	}{
		{
			name: "ready", setup: func(*env) {}, status: http.StatusOK,
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "keys not loaded", ready: keysErr, setup: func(*env) {}, status: http.StatusServiceUnavailable,
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": keysErr.Error()},
		},
		{
			name: "fresh pending entry", status: http.StatusOK,
			setup: func(e *env) {
				e.mustInbox(disabledEvent("j1", "alice", ""))
				e.clock.Advance(time.Minute)
			},
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "entry due for too long", status: http.StatusServiceUnavailable,
			setup: func(e *env) {
				e.mustInbox(disabledEvent("j1", "alice", ""))
				e.clock.Advance(admin.DefaultInboxStuckAfter + time.Minute)
			},
			checks: map[string]string{"store": "ok", "inbox": "event 1 has been due for 6m0s", "ready": "ok"},
		},
		{
			name: "entries waiting for a retry, and behind one", status: http.StatusOK,
			setup: func(e *env) {
				first := e.mustInbox(disabledEvent("j1", "alice", ""))
				e.mustInbox(disabledEvent("j2", "alice", ""))
				e.clock.Advance(time.Hour)
				e.setStatus(first.ID, riscd.InboxPending, 5, "x", e.clock.Now().Add(time.Minute))
			},
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "parked entries do not count", status: http.StatusOK,
			setup: func(e *env) {
				p := e.mustInbox(disabledEvent("j1", "alice", ""))
				e.setStatus(p.ID, riscd.InboxParked, 10, "x", time.Time{})
				e.clock.Advance(time.Hour)
			},
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "store closed", status: http.StatusServiceUnavailable,
			setup: func(e *env) {
				if err := e.db.Close(); err != nil {
					t.Fatal(err)
				}
			},
			checks: map[string]string{"store": "the store cannot be read", "inbox": "unknown", "ready": "ok"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *admin.Config) {
				c.Ready = func(ctx context.Context) error { return tc.ready }
			})
			tc.setup(e)
			var got readyJSON
			e.get("/readyz", tc.status).json(t, &got)
			wantStatus := "ready"
			if tc.status != http.StatusOK {
				wantStatus = "not_ready"
			}
			if got.Status != wantStatus {
				t.Errorf("status %q, want %q", got.Status, wantStatus)
			}
			for k, v := range tc.checks {
				if got.Checks[k] != v {
					t.Errorf("check %s = %q, want %q", k, got.Checks[k], v)
				}
			}
			if len(got.Checks) != len(tc.checks) {
				t.Errorf("checks %v, want %v", got.Checks, tc.checks)
			}
		})
	}
}
