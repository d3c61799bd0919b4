package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riscd/riscd"
)

// maintenanceCases pin the Store operations that are no transaction's:
// SweepFlows, Prune, Health and Close.
func maintenanceCases() []tcase {
	return []tcase{
		{"sweep flows removes those created before a time", func(e *env) func(*env) {
			for i, id := range []string{"a", "b", "c", "d"} {
				noErr(e.t, e.db.CreateFlow(e.ctx, newFlow(id, start().Add(time.Duration(i)*time.Minute))))
			}
			sw := must(e.db.SweepFlows(e.ctx, start().Add(2*time.Minute)))(e.t)
			if sw != (riscd.FlowSweep{Deleted: 2}) {
				e.t.Fatalf("SweepFlows = %+v, want 2 deleted, none undecodable", sw)
			}
			if sw := must(e.db.SweepFlows(e.ctx, start().Add(2*time.Minute)))(e.t); sw != (riscd.FlowSweep{}) {
				e.t.Fatalf("second SweepFlows = %+v, want nothing", sw)
			}
			for _, id := range []riscd.Secret{"a", "b"} {
				_, err := e.db.TakeFlow(e.ctx, id)
				wantErr(e.t, "TakeFlow of a swept flow", err, riscd.ErrNotFound)
			}
			want := newFlow("c", start().Add(2*time.Minute))
			same(e.t, "TakeFlow of a kept flow", must(e.db.TakeFlow(e.ctx, "c"))(e.t), want)
			return func(e *env) {
				if n := must(e.db.Count(e.ctx))(e.t).Flows; n != 1 {
					e.t.Fatalf("Count.Flows = %d, want 1", n)
				}
			}
		}},
		{"prune removes only done entries and jobs finished before the cutoff", func(e *env) func(*env) {
			cutoff := start().Add(2 * time.Hour)
			type entry struct {
				jti    string
				status riscd.InboxStatus
				done   time.Time
				pruned bool
			}
			entries := []entry{
				{"done-early", riscd.InboxDone, start().Add(time.Hour), true},
				{"done-late", riscd.InboxDone, cutoff.Add(time.Hour), false},
				{"done-at-cutoff", riscd.InboxDone, cutoff, false},
				{"pending", riscd.InboxPending, time.Time{}, false},
				{"parked", riscd.InboxParked, start().Add(time.Hour), false},
				{"done-early-2", riscd.InboxDone, start().Add(time.Minute), true},
			}
			ids := map[string]uint64{}
			for _, x := range entries {
				got, _ := must2(e.db.PutInbox(e.ctx, newEntry(x.jti, "s", eventDisabled)))(e.t)
				ids[x.jti] = got.ID
				if x.status != riscd.InboxPending {
					got.Status, got.DoneAt = x.status, x.done
					noErr(e.t, e.db.PutInboxEntry(e.ctx, got))
				}
			}
			type job struct {
				status riscd.OutboxStatus
				done   time.Time
				pruned bool
			}
			jobs := []job{
				{riscd.OutboxDone, start().Add(time.Hour), true},
				{riscd.OutboxDone, cutoff.Add(time.Hour), false},
				{riscd.OutboxFailed, start().Add(time.Hour), false},
				{riscd.OutboxPending, time.Time{}, false},
			}
			jobIDs := make([]uint64, len(jobs))
			for i, j := range jobs {
				got := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: fmt.Sprint("k", i)}))(e.t)
				jobIDs[i] = got.ID
				if j.status != riscd.OutboxPending {
					got.Status, got.DoneAt = j.status, j.done
					noErr(e.t, e.db.PutOutboxJob(e.ctx, got))
				}
			}
			mark := riscd.Mark{Key: "event|done-early"}
			must2(e.db.PutMark(e.ctx, mark))(e.t)
			audit := must(e.db.AppendAudit(e.ctx, riscd.AuditEntry{Action: "x"}))(e.t)
			e.clock.Set(cutoff.Add(24 * time.Hour))
			if p := must(e.db.Prune(e.ctx, cutoff))(e.t); p != (riscd.Pruned{Events: 2, Jobs: 1}) {
				e.t.Fatalf("Prune = %+v, want 2 events and 1 job", p)
			}
			if p := must(e.db.Prune(e.ctx, cutoff))(e.t); p != (riscd.Pruned{}) {
				e.t.Fatalf("second Prune = %+v, want nothing", p)
			}
			return func(e *env) {
				for _, x := range entries {
					_, err := e.db.InboxEntry(e.ctx, ids[x.jti])
					_, jerr := e.db.InboxByJTI(e.ctx, "https://accounts.google.com/", x.jti)
					if x.pruned {
						wantErr(e.t, "InboxEntry of pruned "+x.jti, err, riscd.ErrNotFound)
						wantErr(e.t, "InboxByJTI of pruned "+x.jti, jerr, riscd.ErrNotFound)
					} else if err != nil || jerr != nil {
						e.t.Fatalf("kept entry %s: %v, %v", x.jti, err, jerr)
					}
				}
				for i, j := range jobs {
					_, err := e.db.OutboxJob(e.ctx, jobIDs[i])
					if j.pruned {
						wantErr(e.t, fmt.Sprint("OutboxJob of pruned job ", i), err, riscd.ErrNotFound)
					} else {
						noErr(e.t, err)
					}
				}
				must(e.db.Mark(e.ctx, mark.Key))(e.t)
				if es, _, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{}); err != nil || len(es) != 1 || es[0].ID != audit.ID {
					e.t.Fatalf("audit after Prune: %d entries, %v; want the one", len(es), err)
				}
				c := must(e.db.Count(e.ctx))(e.t)
				if c.Inbox != 4 || c.InboxDone != 2 || c.Outbox != 3 || c.OutboxFailed != 1 || c.OutboxPending != 1 {
					e.t.Fatalf("Count after Prune: %+v", c)
				}
			}
		}},
		{"a pruned SET can be stored again", func(e *env) func(*env) {
			x, _ := must2(e.db.PutInbox(e.ctx, newEntry("j", "s", eventDisabled)))(e.t)
			x.Status, x.DoneAt = riscd.InboxDone, start()
			noErr(e.t, e.db.PutInboxEntry(e.ctx, x))
			e.clock.Advance(time.Hour)
			if p := must(e.db.Prune(e.ctx, start().Add(time.Minute)))(e.t); p.Events != 1 {
				e.t.Fatalf("Prune = %+v, want 1 event", p)
			}
			again, created := must2(e.db.PutInbox(e.ctx, newEntry("j", "s", eventDisabled)))(e.t)
			if !created || again.ID == x.ID {
				e.t.Fatalf("PutInbox after Prune: created=%v id=%d (pruned id %d), want a new entry", created, again.ID, x.ID)
			}
			return func(e *env) {
				same(e.t, "entry stored again", must(e.db.InboxByJTI(e.ctx, x.Iss, "j"))(e.t).ID, again.ID)
			}
		}},
		{"health is nil on an open store", func(e *env) func(*env) {
			noErr(e.t, e.db.Health(e.ctx))
			must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			return func(e *env) { noErr(e.t, e.db.Health(e.ctx)) }
		}},
		{"calls after close fail with ErrClosed", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			noErr(e.t, e.db.Close())
			for _, c := range []struct {
				name string
				err  error
			}{
				{"Grant", second(e.db.Grant(e.ctx, g.ID))},
				{"CreateGrant", second(e.db.CreateGrant(e.ctx, newGrant("s", 2)))},
				{"View", e.db.View(e.ctx, func(riscd.ReadTx) error { return nil })},
				{"Update", e.db.Update(e.ctx, func(riscd.Tx) error { return nil })},
				{"Batch", e.db.Batch(e.ctx, func(riscd.Tx) error { return nil })},
				{"Inbox().PutInbox", third(e.db.Inbox().PutInbox(e.ctx, newEntry("j", "s", eventDisabled)))},
				{"UpdateGrant", second(e.db.UpdateGrant(e.ctx, g.ID, func(g riscd.Grant) (riscd.Grant, error) { return g, nil }))},
				{"SweepFlows", second(e.db.SweepFlows(e.ctx, start()))},
				{"Prune", second(e.db.Prune(e.ctx, start()))},
				{"Count", second(e.db.Count(e.ctx))},
				{"Check", e.db.Check(e.ctx)},
				{"Health", e.db.Health(e.ctx)},
			} {
				wantErr(e.t, c.name+" after Close", c.err, riscd.ErrClosed)
			}
			if err := e.db.Close(); err != nil && !errors.Is(err, riscd.ErrClosed) {
				e.t.Fatalf("second Close: %v, want nil or ErrClosed", err)
			}
			e.reopen()
			return func(e *env) {
				same(e.t, "grant written before Close", must(e.db.Grant(e.ctx, g.ID))(e.t), g)
				if n := must(e.db.Count(e.ctx))(e.t).Grants; n != 1 {
					e.t.Fatalf("Count.Grants = %d, want 1", n)
				}
				noErr(e.t, e.db.Health(e.ctx))
			}
		}},
		{"a done context stops the store's own operations", func(e *env) func(*env) {
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			for _, c := range []struct {
				name string
				err  error
			}{
				{"View", e.db.View(ctx, func(riscd.ReadTx) error { return nil })},
				{"Update", e.db.Update(ctx, func(riscd.Tx) error { return nil })},
				{"Batch", e.db.Batch(ctx, func(riscd.Tx) error { return nil })},
				{"Count", second(e.db.Count(ctx))},
				{"Health", e.db.Health(ctx)},
			} {
				wantErr(e.t, c.name+" with a done context", c.err, context.Canceled)
			}
			return nil
		}},
	}
}

// second is the error of a call with two results.
func second[T any](_ T, err error) error { return err }

// third is the error of a call with three results.
func third[A, B any](_ A, _ B, err error) error { return err }
