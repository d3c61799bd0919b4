package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riscd/riscd"
)

func outboxCases() []tcase {
	return []tcase{
		{"enqueue, read back, finish", func(e *env) func(*env) {
			rv := riscd.OutboxJob{
				Kind: riscd.OutboxRevoke, Key: "sub-1", Token: riscd.Secret(RefreshToken(3)), GrantID: "g1",
				Deadline: start().Add(24 * time.Hour),
			}
			a := must(e.db.EnqueueOutbox(e.ctx, rv))(e.t)
			wantA := rv
			wantA.ID, wantA.Status, wantA.CreatedAt = a.ID, riscd.OutboxPending, start()
			same(e.t, "EnqueueOutbox result", a, wantA)
			wh := riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "sub-1", Payload: json.RawMessage(`{"event":"x"}`)}
			b := must(e.db.EnqueueOutbox(e.ctx, wh))(e.t)
			c := must(e.db.EnqueueOutbox(e.ctx, wh))(e.t)
			if !(a.ID < b.ID && b.ID < c.ID) {
				e.t.Fatalf("ids %d, %d, %d: want increasing", a.ID, b.ID, c.ID)
			}
			_, err := e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{})
			wantErr(e.t, "EnqueueOutbox without kind", err, riscd.ErrInvalid)
			_, err = e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Payload: json.RawMessage("{")})
			wantErr(e.t, "EnqueueOutbox with broken payload", err, riscd.ErrInvalid)

			a.Status, a.DoneAt, a.Attempts, a.Token = riscd.OutboxDone, start(), 1, ""
			noErr(e.t, e.db.PutOutboxJob(e.ctx, a))
			bb := must(e.db.UpdateOutbox(e.ctx, b.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
				j.Attempts, j.LastError, j.NextAttemptAt = 1, "webhook: 503", start().Add(time.Minute)
				return j, nil
			}))(e.t)
			boom := errors.New("boom")
			_, err = e.db.UpdateOutbox(e.ctx, c.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
				j.Status = riscd.OutboxFailed
				return j, boom
			})
			wantErr(e.t, "UpdateOutbox with failing fn", err, boom)
			_, err = e.db.UpdateOutbox(e.ctx, 999, func(j riscd.OutboxJob) (riscd.OutboxJob, error) { return j, nil })
			wantErr(e.t, "UpdateOutbox unknown", err, riscd.ErrNotFound)
			missing := c
			missing.ID = 999
			wantErr(e.t, "PutOutboxJob unknown", e.db.PutOutboxJob(e.ctx, missing), riscd.ErrNotFound)
			return func(e *env) {
				same(e.t, "done job", must(e.db.OutboxJob(e.ctx, a.ID))(e.t), a)
				same(e.t, "retried job", must(e.db.OutboxJob(e.ctx, b.ID))(e.t), bb)
				_, err := e.db.OutboxJob(e.ctx, 999)
				wantErr(e.t, "OutboxJob unknown", err, riscd.ErrNotFound)
				pending := must(e.db.PendingOutbox(e.ctx, 0))(e.t)
				if got, want := fmt.Sprint(len(pending), pending[0].ID, pending[1].ID), fmt.Sprint(2, b.ID, c.ID); got != want {
					e.t.Fatalf("PendingOutbox = %s, want %s", got, want)
				}
				if n := len(must(e.db.PendingOutbox(e.ctx, 1))(e.t)); n != 1 {
					e.t.Fatalf("PendingOutbox(1) returned %d jobs", n)
				}
			}
		}},
		{"a failed job can be retried", func(e *env) func(*env) {
			j := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: "t"}))(e.t)
			j.Status = riscd.OutboxFailed
			noErr(e.t, e.db.PutOutboxJob(e.ctx, j))
			if n := len(must(e.db.PendingOutbox(e.ctx, 0))(e.t)); n != 0 {
				e.t.Fatalf("PendingOutbox after failure returned %d jobs", n)
			}
			if got := must(e.db.FailedOutbox(e.ctx, 0))(e.t); len(got) != 1 || got[0].ID != j.ID || got[0].Token != "t" {
				e.t.Fatalf("FailedOutbox after failure = %v, want job %d with its token", outboxIDs(got), j.ID)
			}
			j.Status = riscd.OutboxPending
			noErr(e.t, e.db.PutOutboxJob(e.ctx, j))
			return func(e *env) {
				if got := must(e.db.PendingOutbox(e.ctx, 0))(e.t); len(got) != 1 || got[0].Token != "t" {
					e.t.Fatalf("PendingOutbox after retry: %d jobs", len(got))
				}
				if got := must(e.db.FailedOutbox(e.ctx, 0))(e.t); len(got) != 0 {
					e.t.Fatalf("FailedOutbox after retry = %v, want none", outboxIDs(got))
				}
			}
		}},
		{"failed jobs are listed newest first", func(e *env) func(*env) {
			var ids []uint64
			for i, st := range []riscd.OutboxStatus{riscd.OutboxFailed, riscd.OutboxDone, riscd.OutboxFailed, riscd.OutboxPending, riscd.OutboxFailed} {
				j := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: fmt.Sprint("k", i)}))(e.t)
				if st != riscd.OutboxPending {
					j.Status, j.LastError = st, "webhook: 500"
					noErr(e.t, e.db.PutOutboxJob(e.ctx, j))
				}
				ids = append(ids, j.ID)
			}
			// A failed job that fails again stays listed once; a job put
			// straight from pending to done never is.
			again := must(e.db.UpdateOutbox(e.ctx, ids[2], func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
				j.Attempts++
				return j, nil
			}))(e.t)
			if again.Status != riscd.OutboxFailed {
				e.t.Fatalf("status %s after an update that kept it", again.Status)
			}
			return func(e *env) {
				want := fmt.Sprint([]uint64{ids[4], ids[2], ids[0]})
				if got := fmt.Sprint(outboxIDs(must(e.db.FailedOutbox(e.ctx, 0))(e.t))); got != want {
					e.t.Errorf("FailedOutbox = %s, want %s", got, want)
				}
				if got, want := fmt.Sprint(outboxIDs(must(e.db.FailedOutbox(e.ctx, 2))(e.t))), fmt.Sprint([]uint64{ids[4], ids[2]}); got != want {
					e.t.Errorf("FailedOutbox(2) = %s, want %s", got, want)
				}
			}
		}},
	}
}

// outboxIDs lists the jobs' IDs, in order.
func outboxIDs(jobs []riscd.OutboxJob) []uint64 {
	ids := make([]uint64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}
