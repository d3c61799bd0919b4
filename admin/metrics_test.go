package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// scrape fetches /metrics without a token.
func scrape(e *admintest.Env) string {
	e.T.Helper()
	r := e.Do(http.MethodGet, "/metrics", "", nil)
	if r.Status != http.StatusOK {
		e.T.Fatalf("/metrics: status %d: %s", r.Status, r.Body)
	}
	return string(r.Body)
}

// wantLines fails unless every line is in the exposition.
func wantLines(t *testing.T, exposition string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(exposition, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("exposition lacks %q", l)
		}
	}
}

func TestMetricsFedByOtherPackages(t *testing.T) {
	e := admintest.New(t, nil)
	m := e.Srv.Metrics()
	m.SETReceived("google", admin.OutcomeAccepted, "")
	m.SETReceived("google", admin.OutcomeAccepted, "")
	m.SETReceived("google", admin.OutcomeRejected, "invalid_key")
	m.SETReceived("okta", "exploded", "made-up-code")
	m.SETVerified("google", 3*time.Millisecond)
	m.TokenRefreshed(admin.RefreshInvalidGrant)
	m.TokenRefreshed("weird")
	m.OutboxAttempt("webhook", admin.OutboxRetry)
	m.JWKSRefreshed("google", nil)
	m.JWKSRefreshed("google", errors.New("fetch failed"))
	m.StreamStatus("enabled")
	m.StreamCheck(false)
	e.Get("/healthz", http.StatusOK)

	out := scrape(e)
	wantLines(t, out,
		`riscd_sets_received_total{err="",outcome="accepted",transmitter="google"} 2`,
		`riscd_sets_received_total{err="invalid_key",outcome="rejected",transmitter="google"} 1`,
		`riscd_sets_received_total{err="other",outcome="other",transmitter="okta"} 1`,
		`riscd_set_verification_duration_seconds_count{transmitter="google"} 1`,
		`riscd_token_refreshes_total{outcome="invalid_grant"} 1`,
		`riscd_token_refreshes_total{outcome="other"} 1`,
		`riscd_outbox_attempts_total{kind="webhook",outcome="retry"} 1`,
		`riscd_jwks_refreshes_total{outcome="ok",transmitter="google"} 1`,
		`riscd_jwks_refreshes_total{outcome="error",transmitter="google"} 1`,
		`riscd_stream_status{status="enabled"} 1`,
		`riscd_stream_status{status="disabled"} 0`,
		`riscd_stream_healthy 0`,
		`riscd_internal_http_requests_total{code="200",method="GET",route="/healthz"} 1`,
	)
	for _, family := range []string{"go_goroutines", "process_cpu_seconds_total", "riscd_internal_http_requests_total"} {
		if !strings.Contains(out, "\n"+family) {
			t.Errorf("exposition lacks the %s family", family)
		}
	}
	problems, err := promlint.New(strings.NewReader(out)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "riscd_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

// listingStore hides the store's optional methods (GrantCounter), as a
// store that keeps no count of grants by status would.
type listingStore struct{ admin.Store }

func TestMetricsReadFromTheStore(t *testing.T) {
	e := admintest.New(t, func(c *admin.Config) { c.Store = listingStore{c.Store} })
	first := e.MustInbox(admintest.DisabledEvent("j1", "alice", ""))
	e.Clock.Advance(30 * time.Second)
	e.MustInbox(admintest.DisabledEvent("j2", "bob", ""))
	parked := e.MustInbox(admintest.DisabledEvent("j3", "carol", ""))
	e.SetStatus(parked.ID, riscd.InboxParked, 10, "x", time.Time{})
	for _, kind := range []riscd.OutboxKind{riscd.OutboxRevoke, riscd.OutboxWebhook, riscd.OutboxWebhook} {
		if _, err := e.DB.EnqueueOutbox(t.Context(), riscd.OutboxJob{Kind: kind, Key: "alice", Payload: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(10 * time.Second)
	}
	e.FailJob(riscd.OutboxWebhook, "bob")
	e.FailJob(riscd.OutboxWebhook, "carol")
	e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	e.MustGrant(admintest.GrantSpec{Sub: "bob"})
	e.MustGrant(admintest.GrantSpec{Sub: "carol", Status: riscd.GrantHeld})

	t.Run("before grants are counted", func(t *testing.T) {
		out := scrape(e)
		if want := "riscd_inbox_oldest_pending_age_seconds 60"; !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q (received %v, now %v)", want, first.ReceivedAt, e.Clock.Now())
		}
		if strings.Contains(out, "riscd_grants{") {
			t.Errorf("grants shown before they were counted")
		}
	})
	if err := e.Srv.CountGrants(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := scrape(e)
	wantLines(t, out,
		"riscd_store_up 1",
		"riscd_inbox_pending 2",
		"riscd_inbox_parked 1",
		"riscd_inbox_oldest_pending_age_seconds 60",
		`riscd_outbox_pending{kind="revoke"} 1`,
		`riscd_outbox_pending{kind="webhook"} 2`,
		`riscd_outbox_oldest_pending_age_seconds{kind="revoke"} 30`,
		`riscd_outbox_oldest_pending_age_seconds{kind="webhook"} 20`,
		`riscd_outbox_failed{kind="revoke"} 0`,
		`riscd_outbox_failed{kind="webhook"} 2`,
		`riscd_grants{status="active"} 2`,
		`riscd_grants{status="held"} 1`,
		`riscd_grants{status="revoked"} 0`,
	)

	t.Run("store closed", func(t *testing.T) {
		if err := e.DB.Close(); err != nil {
			t.Fatal(err)
		}
		wantLines(t, scrape(e), "riscd_store_up 0")
		if !strings.Contains(e.Logs.String(), "admin: metrics: store read failed") {
			t.Errorf("the failed store read was not logged")
		}
	})
}

// countingStore is a store that counts grants by status itself.
type countingStore struct {
	*boltdb.DB
	calls atomic.Int32
}

func (c *countingStore) CountGrants(context.Context) (map[riscd.GrantStatus]int, error) {
	c.calls.Add(1)
	return map[riscd.GrantStatus]int{riscd.GrantActive: 7, riscd.GrantRevoked: 3}, nil
}

// TestMetricsCountGrantsFromTheStore: boltdb.DB counts grants by status
// from its index, at every scrape, without Run.
func TestMetricsCountGrantsFromTheStore(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	e.MustGrant(admintest.GrantSpec{Sub: "bob", Status: riscd.GrantHeld})
	wantLines(t, scrape(e), `riscd_grants{status="active"} 1`, `riscd_grants{status="held"} 1`, `riscd_grants{status="revoked"} 0`)
	e.MustGrant(admintest.GrantSpec{Sub: "carol", Status: riscd.GrantHeld})
	wantLines(t, scrape(e), `riscd_grants{status="held"} 2`)
}

func TestMetricsUseTheStoresGrantCounter(t *testing.T) {
	var cs *countingStore
	e := admintest.New(t, func(c *admin.Config) {
		cs = &countingStore{DB: c.Store.(*boltdb.DB)}
		c.Store = cs
	})
	wantLines(t, scrape(e), `riscd_grants{status="active"} 7`, `riscd_grants{status="revoked"} 3`, `riscd_grants{status="held"} 0`)
	if n := cs.calls.Load(); n != 1 {
		t.Errorf("CountGrants called %d times, want once per scrape", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.Srv.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestRunCountsGrantsUntilCancelled(t *testing.T) {
	e := admintest.New(t, func(c *admin.Config) { c.GrantCountInterval = time.Hour })
	e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Srv.Run(ctx) }()
	testkit.Eventually(t, "Run to count the grants", func() bool {
		return strings.Contains(scrape(e), `riscd_grants{status="active"} 1`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestInstrumentHandler(t *testing.T) {
	e := admintest.New(t, nil)
	payload := `{"iss":"https://accounts.google.com/","jti":"j1","iat":1767268800,"events":{"` + events.TypeAccountDisabled +
		`":{"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com/","sub":"alice"}}}}`
	set, err := events.NewRegistry().Parse([]byte(payload), events.FormatGoogle)
	if err != nil {
		t.Fatal(err)
	}
	d := dispatch.Delivery{Entry: dispatch.Entry{ID: 1, ReceivedAt: admintest.T0.Add(-2 * time.Second)}, SET: set, Attempt: 1}
	fail := errors.New("handler failed")
	calls := 0
	h := e.Srv.Metrics().InstrumentHandler(dispatch.HandlerFunc(func(context.Context, dispatch.Delivery) error {
		calls++
		if calls == 1 {
			return fail
		}
		return nil
	}))
	if err := h.Handle(t.Context(), d); !errors.Is(err, fail) {
		t.Errorf("first Handle = %v, want the handler's error", err)
	}
	if err := h.Handle(t.Context(), d); err != nil {
		t.Errorf("second Handle = %v, want nil", err)
	}
	wantLines(t, scrape(e),
		`riscd_event_handler_failures_total{type="account-disabled"} 1`,
		`riscd_event_processing_duration_seconds_count{type="account-disabled"} 1`,
		`riscd_event_processing_duration_seconds_sum{type="account-disabled"} 2`,
	)
}

func TestNilMetricsAreSafe(t *testing.T) {
	var m *admin.Metrics
	m.SETReceived("google", admin.OutcomeAccepted, "")
	m.SETVerified("google", time.Second)
	m.EventProcessed(events.TypeAccountDisabled, time.Second)
	m.HandlerFailed(events.TypeAccountDisabled)
	m.TokenRefreshed(admin.RefreshOK)
	m.OutboxAttempt("revoke", admin.OutboxDone)
	m.JWKSRefreshed("google", nil)
	m.StreamStatus("enabled")
	m.StreamCheck(true)
	want := errors.New("x")
	h := m.InstrumentHandler(dispatch.HandlerFunc(func(context.Context, dispatch.Delivery) error { return want }))
	if err := h.Handle(t.Context(), dispatch.Delivery{}); !errors.Is(err, want) {
		t.Errorf("Handle = %v, want the handler's error", err)
	}
}

func TestMetricsOnAGivenRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := admintest.New(t, func(c *admin.Config) { c.Registry = reg })
	if e.Srv.Registry() != reg {
		t.Errorf("Registry() is not the given registry")
	}
	out := scrape(e)
	if strings.Contains(out, "go_goroutines") {
		t.Errorf("a given registry got the Go collector")
	}
	if !strings.Contains(out, "riscd_store_up 1") {
		t.Errorf("riscd's metrics missing from the given registry")
	}
	_, err := admin.New(admin.Config{Store: e.DB, Registry: reg})
	if err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("a second Server on the same registry: err %v, want a registration error", err)
	}
}

// With stream checks off no check ever runs: riscd_stream_healthy is absent
// from a scrape, not 0 (an "== 0" alert would fire on a healthy install),
// and reading it back does not create it. The first check exports it.
func TestStreamHealthyAbsentUntilAStreamCheck(t *testing.T) {
	e := admintest.New(t, nil)
	m := e.Srv.Metrics()
	if _, healthy := m.StreamRecorded(); healthy {
		t.Error("StreamRecorded: healthy before any check")
	}
	if out := scrape(e); strings.Contains(out, "riscd_stream_healthy") {
		t.Errorf("exposition before any stream check holds riscd_stream_healthy:\n%s", out)
	}
	m.StreamCheck(true)
	wantLines(t, scrape(e), `riscd_stream_healthy 1`)
	if _, healthy := m.StreamRecorded(); !healthy {
		t.Error("StreamRecorded: not healthy after a healthy check")
	}
}
