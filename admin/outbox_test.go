package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/riscd/riscd/store"
)

type outboxJSON struct {
	Jobs []struct {
		ID         uint64  `json:"id"`
		Kind       string  `json:"kind"`
		Key        string  `json:"key"`
		GrantID    string  `json:"grant_id"`
		AgeSeconds float64 `json:"age_seconds"`
		Attempts   int     `json:"attempts"`
		LastError  string  `json:"last_error"`
	} `json:"jobs"`
	Truncated bool `json:"truncated"`
}

func TestListOutbox(t *testing.T) {
	e := newEnv(t, nil)
	enqueue := func(kind store.OutboxKind, token string) store.OutboxJob {
		t.Helper()
		j, err := e.db.EnqueueOutbox(t.Context(), store.OutboxJob{
			Kind: kind, Key: "alice", Token: store.Secret(token), GrantID: "g1",
			Payload: json.RawMessage(`{"type":"hold","sub":"alice"}`), Deadline: e.clock.Now().Add(24 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	revoke := enqueue(store.OutboxRevoke, e.secret("1//0outbox-refresh-token-secret"))
	e.clock.Advance(30 * time.Second)
	hook := enqueue(store.OutboxWebhook, "")
	e.clock.Advance(30 * time.Second)
	finished := enqueue(store.OutboxWebhook, "")
	if _, err := e.db.UpdateOutbox(t.Context(), finished.ID, func(j store.OutboxJob) (store.OutboxJob, error) {
		j.Status = store.OutboxDone
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateOutbox(t.Context(), hook.ID, func(j store.OutboxJob) (store.OutboxJob, error) {
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
			e.get("/admin/outbox?"+tc.query, http.StatusOK).json(t, &got)
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
		e.get("/admin/outbox?kind=webhook", http.StatusOK).json(t, &got)
		if j := got.Jobs[0]; j.Attempts != 3 || j.LastError != "webhook: 502" || j.Key != "alice" {
			t.Errorf("job %+v, want 3 attempts, its last error and key", j)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, q := range []string{"kind=email", "limit=0", "limit=5000"} {
			e.get("/admin/outbox?"+q, http.StatusBadRequest)
		}
	})
}
