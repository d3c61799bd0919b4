package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

type readyJSON struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func TestHealthz(t *testing.T) {
	e := admintest.New(t, nil)
	var got map[string]string
	e.Get("/healthz", http.StatusOK).JSON(t, &got)
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
	e := admintest.New(t, func(c *admin.Config) { c.Store = unhealthyStore{Store: c.Store, err: journalErr} })
	var got readyJSON
	e.Get("/readyz", http.StatusServiceUnavailable).JSON(t, &got)
	want := "received SETs cannot be moved into the inbox (see the log); new SETs are answered 503"
	if got.Status != "not_ready" || got.Checks["inbox"] != want || got.Checks["store"] != "ok" {
		t.Errorf("readyz = %+v, want not_ready with inbox %q", got, want)
	}
	e2 := admintest.New(t, func(c *admin.Config) { c.Store = unhealthyStore{Store: c.Store} })
	e2.Get("/readyz", http.StatusOK).JSON(t, &got)
	if got.Checks["inbox"] != "ok" {
		t.Errorf("readyz with a healthy store = %+v, want inbox ok", got)
	}
}

func TestReadyz(t *testing.T) {
	keysErr := errors.New("transmitter google: keys not loaded yet")
	tests := []struct {
		name   string
		ready  error
		setup  func(*admintest.Env)
		status int
		checks map[string]string
	}{
		{
			name: "ready", setup: func(*admintest.Env) {}, status: http.StatusOK,
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "keys not loaded", ready: keysErr, setup: func(*admintest.Env) {}, status: http.StatusServiceUnavailable,
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": keysErr.Error()},
		},
		{
			name: "fresh pending entry", status: http.StatusOK,
			setup: func(e *admintest.Env) {
				e.MustInbox(admintest.DisabledEvent("j1", "alice", ""))
				e.Clock.Advance(time.Minute)
			},
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "entry due for too long", status: http.StatusServiceUnavailable,
			setup: func(e *admintest.Env) {
				e.MustInbox(admintest.DisabledEvent("j1", "alice", ""))
				e.Clock.Advance(admin.DefaultInboxStuckAfter + time.Minute)
			},
			checks: map[string]string{"store": "ok", "inbox": "event 1 has been due for 6m0s", "ready": "ok"},
		},
		{
			name: "entries waiting for a retry, and behind one", status: http.StatusOK,
			setup: func(e *admintest.Env) {
				first := e.MustInbox(admintest.DisabledEvent("j1", "alice", ""))
				e.MustInbox(admintest.DisabledEvent("j2", "alice", ""))
				e.Clock.Advance(time.Hour)
				e.SetStatus(first.ID, riscd.InboxPending, 5, "x", e.Clock.Now().Add(time.Minute))
			},
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "parked entries do not count", status: http.StatusOK,
			setup: func(e *admintest.Env) {
				p := e.MustInbox(admintest.DisabledEvent("j1", "alice", ""))
				e.SetStatus(p.ID, riscd.InboxParked, 10, "x", time.Time{})
				e.Clock.Advance(time.Hour)
			},
			checks: map[string]string{"store": "ok", "inbox": "ok", "ready": "ok"},
		},
		{
			name: "store closed", status: http.StatusServiceUnavailable,
			setup: func(e *admintest.Env) {
				if err := e.DB.Close(); err != nil {
					t.Fatal(err)
				}
			},
			checks: map[string]string{"store": "the store cannot be read", "inbox": "unknown", "ready": "ok"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := admintest.New(t, func(c *admin.Config) {
				c.Ready = func(ctx context.Context) error { return tc.ready }
			})
			tc.setup(e)
			var got readyJSON
			e.Get("/readyz", tc.status).JSON(t, &got)
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
