package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

type outboxJobJSON struct {
	ID         uint64     `json:"id"`
	Kind       string     `json:"kind"`
	Key        string     `json:"key"`
	Sub        string     `json:"sub"`
	GrantID    string     `json:"grant_id"`
	Status     string     `json:"status"`
	AgeSeconds float64    `json:"age_seconds"`
	Deadline   *time.Time `json:"deadline"`
	Attempts   int        `json:"attempts"`
	LastError  string     `json:"last_error"`
	FailedAt   *time.Time `json:"failed_at"`
}

type outboxJSON struct {
	Jobs      []outboxJobJSON `json:"jobs"`
	Truncated bool            `json:"truncated"`
}

func TestListOutbox(t *testing.T) {
	e := admintest.New(t, nil)
	enqueue := func(kind riscd.OutboxKind, token string) riscd.OutboxJob {
		t.Helper()
		j, err := e.DB.EnqueueOutbox(t.Context(), riscd.OutboxJob{
			Kind: kind, Key: "alice", Token: riscd.Secret(token), GrantID: "g1",
			Payload: json.RawMessage(`{"type":"hold","sub":"alice"}`), Deadline: e.Clock.Now().Add(24 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	revoke := enqueue(riscd.OutboxRevoke, e.Secret("1//0outbox-refresh-token-secret"))
	e.Clock.Advance(30 * time.Second)
	hook := enqueue(riscd.OutboxWebhook, "")
	e.Clock.Advance(30 * time.Second)
	finished := enqueue(riscd.OutboxWebhook, "")
	if _, err := e.DB.UpdateOutbox(t.Context(), finished.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status = riscd.OutboxDone
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.UpdateOutbox(t.Context(), hook.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Attempts, j.LastError = 3, "webhook: 502"
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		query     string
		wantIDs   []uint64
		wantAges  []float64
		truncated bool
	}{
		{"", []uint64{revoke.ID, hook.ID}, []float64{60, 30}, false},
		{"kind=webhook", []uint64{hook.ID}, []float64{30}, false},
		{"kind=revoke", []uint64{revoke.ID}, []float64{60}, false},
		{"limit=1", []uint64{revoke.ID}, []float64{60}, true},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var got outboxJSON
			e.Get("/admin/outbox?"+tc.query, http.StatusOK).JSON(t, &got)
			if len(got.Jobs) != len(tc.wantIDs) || got.Truncated != tc.truncated {
				t.Fatalf("got %+v, want ids %v truncated %v", got, tc.wantIDs, tc.truncated)
			}
			for i, j := range got.Jobs {
				if j.ID != tc.wantIDs[i] || j.AgeSeconds != tc.wantAges[i] {
					t.Errorf("job %d: id %d age %v, want id %d age %v", i, j.ID, j.AgeSeconds, tc.wantIDs[i], tc.wantAges[i])
				}
			}
		})
	}
	t.Run("attempts shown", func(t *testing.T) {
		var got outboxJSON
		e.Get("/admin/outbox?kind=webhook", http.StatusOK).JSON(t, &got)
		if j := got.Jobs[0]; j.Attempts != 3 || j.LastError != "webhook: 502" || j.Key != "alice" {
			t.Errorf("job %+v, want 3 attempts, its last error and key", j)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, q := range []string{"kind=email", "limit=0", "limit=5000", "status=done", "status=FAILED"} {
			e.Get("/admin/outbox?"+q, http.StatusBadRequest)
		}
	})
}

func TestListFailedOutbox(t *testing.T) {
	e := admintest.New(t, nil)
	first := e.FailJob(riscd.OutboxWebhook, "alice")
	failedAt := e.Clock.Now()
	e.Clock.Advance(time.Minute)
	revoke := e.FailJob(riscd.OutboxRevoke, "bob")
	e.Clock.Advance(time.Minute)
	last := e.FailJob(riscd.OutboxWebhook, "carol")
	if _, err := e.DB.EnqueueOutbox(t.Context(), riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "webhook:dave"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		query     string
		want      []uint64
		truncated bool
	}{
		{"status=failed", []uint64{last.ID, revoke.ID, first.ID}, false},
		{"status=failed&kind=webhook", []uint64{last.ID, first.ID}, false},
		{"status=failed&limit=2", []uint64{last.ID, revoke.ID}, true},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var got outboxJSON
			e.Get("/admin/outbox?"+tc.query, http.StatusOK).JSON(t, &got)
			var ids []uint64
			for _, j := range got.Jobs {
				ids = append(ids, j.ID)
				if j.Status != "failed" {
					t.Errorf("job %d is %s in the failed list", j.ID, j.Status)
				}
			}
			if !slices.Equal(ids, tc.want) || got.Truncated != tc.truncated {
				t.Errorf("ids %v truncated %v, want %v %v", ids, got.Truncated, tc.want, tc.truncated)
			}
		})
	}
	var got outboxJSON
	e.Get("/admin/outbox?status=failed", http.StatusOK).JSON(t, &got)
	j := got.Jobs[2]
	if j.Sub != "alice" || j.Key != "webhook:alice" || j.Attempts != 7 || j.LastError != "webhook: HTTP 500" ||
		j.FailedAt == nil || !j.FailedAt.Equal(failedAt) || j.AgeSeconds != 120 {
		t.Errorf("failed job %+v: want its subject, key, attempts, last error, failure time and age", j)
	}
	var pending outboxJSON
	e.Get("/admin/outbox", http.StatusOK).JSON(t, &pending)
	if len(pending.Jobs) != 1 || pending.Jobs[0].FailedAt != nil || pending.Jobs[0].Status != "pending" {
		t.Errorf("pending list %+v, want the one pending job", pending.Jobs)
	}
}

func TestRetryOutbox(t *testing.T) {
	e := admintest.New(t, nil)
	failed := e.FailJob(riscd.OutboxWebhook, "alice")
	pending, err := e.DB.EnqueueOutbox(t.Context(), riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "webhook:bob"})
	if err != nil {
		t.Fatal(err)
	}
	done := e.FailJob(riscd.OutboxRevoke, "carol")
	if _, err := e.DB.UpdateOutbox(t.Context(), done.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status = riscd.OutboxDone
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}

	r := e.Do(http.MethodPost, fmt.Sprintf("/admin/outbox/%d/retry", failed.ID), admintest.AdminToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	var got outboxJobJSON
	r.JSON(t, &got)
	if got.ID != failed.ID || got.Status != "pending" || got.Attempts != 0 || got.LastError != "" || got.FailedAt != nil || got.Sub != "alice" {
		t.Errorf("answer %+v, want the job pending with no attempts", got)
	}
	if calls := e.Op.Calls(); len(calls) != 1 || calls[0] != (admintest.OpCall{Method: "RetryOutboxJob", Arg: fmt.Sprint(failed.ID), Actor: admin.ActorOperator}) {
		t.Errorf("operator calls %+v, want one RetryOutboxJob by the operator", calls)
	}
	audit, _, err := e.DB.ListAudit(t.Context(), riscd.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	if len(audit) != 1 || audit[0].Action != "retry_outbox" || audit[0].Detail != "request "+r.Header.Get("X-Request-Id") {
		t.Errorf("audit %+v, want one retry_outbox naming the request %q", audit, r.Header.Get("X-Request-Id"))
	}

	// A pending job (the one just retried, another never failed) is made
	// due now: "retry now".
	for _, id := range []uint64{failed.ID, pending.ID} {
		r := e.Do(http.MethodPost, fmt.Sprintf("/admin/outbox/%d/retry", id), admintest.AdminToken, nil)
		var got outboxJobJSON
		if r.Status != http.StatusOK {
			t.Fatalf("retry now of pending job %d: status %d, want 200: %s", id, r.Status, r.Body)
		}
		r.JSON(t, &got)
		if got.ID != id || got.Status != "pending" {
			t.Errorf("retry now of pending job %d: %+v", id, got)
		}
		if j, err := e.DB.OutboxJob(t.Context(), id); err != nil || j.NextAttemptAt.IsZero() || j.NextAttemptAt.After(time.Now()) {
			t.Errorf("pending job %d after retry now: %+v %v, want due now", id, j, err)
		}
	}

	tests := []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"done", fmt.Sprintf("/admin/outbox/%d/retry", done.ID), http.StatusConflict, admin.CodeNotFailed},
		{"unknown", "/admin/outbox/999/retry", http.StatusNotFound, admin.CodeNotFound},
		{"not a number", "/admin/outbox/x/retry", http.StatusBadRequest, admin.CodeBadRequest},
		{"zero", "/admin/outbox/0/retry", http.StatusBadRequest, admin.CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, tc.path, admintest.AdminToken, nil)
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	t.Run("without the admin token", func(t *testing.T) {
		if r := e.Do(http.MethodPost, fmt.Sprintf("/admin/outbox/%d/retry", done.ID), "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
	})
	if j, err := e.DB.OutboxJob(t.Context(), done.ID); err != nil || j.Status != riscd.OutboxDone {
		t.Errorf("done job after refusals: %+v %v", j, err)
	}
}

func TestRetryOutboxWithoutOperator(t *testing.T) {
	e := admintest.New(t, func(cfg *admin.Config) { cfg.Operator = nil })
	failed := e.FailJob(riscd.OutboxWebhook, "alice")
	r := e.Do(http.MethodPost, fmt.Sprintf("/admin/outbox/%d/retry", failed.ID), admintest.AdminToken, nil)
	if r.Status != http.StatusNotImplemented || r.ErrorCode(t) != admin.CodeNotImplemented {
		t.Errorf("got %d %s, want 501 not_implemented", r.Status, r.Body)
	}
	if j, err := e.DB.OutboxJob(t.Context(), failed.ID); err != nil || j.Status != riscd.OutboxFailed {
		t.Errorf("job %+v %v, want still failed", j, err)
	}
}
