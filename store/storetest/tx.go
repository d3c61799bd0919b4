package storetest

import (
	"context"
	"errors"

	"github.com/riscd/riscd"
)

func txCases() []tcase {
	return []tcase{
		{"update commits several writes together", func(e *env) func(*env) {
			var id string
			noErr(e.t, e.db.Update(e.ctx, func(tx riscd.Tx) error {
				g, err := tx.CreateGrant(e.ctx, newGrant("s", 1))
				if err != nil {
					return err
				}
				id = g.ID
				g.Status = riscd.GrantHeld
				if err := tx.PutGrant(e.ctx, g); err != nil {
					return err
				}
				_, err = tx.AppendAudit(e.ctx, riscd.AuditEntry{Sub: "s", Action: "hold", GrantIDs: []string{g.ID}})
				return err
			}))
			return func(e *env) {
				if g := must(e.db.Grant(e.ctx, id))(e.t); g.Status != riscd.GrantHeld {
					e.t.Fatalf("status %s, want held", g.Status)
				}
				if a, _, _ := e.db.ListAudit(e.ctx, riscd.AuditQuery{Sub: "s"}); len(a) != 1 {
					e.t.Fatalf("%d audit entries, want 1", len(a))
				}
			}
		}},
		{"a failing update writes nothing", func(e *env) func(*env) {
			boom := errors.New("boom")
			err := e.db.Update(e.ctx, func(tx riscd.Tx) error {
				if _, err := tx.CreateGrant(e.ctx, newGrant("s", 1)); err != nil {
					return err
				}
				if err := tx.PutAccount(e.ctx, riscd.Account{Sub: "s"}); err != nil {
					return err
				}
				if _, _, err := tx.PutInbox(e.ctx, newEntry("j", "s", eventDisabled)); err != nil {
					return err
				}
				return boom
			})
			wantErr(e.t, "Update", err, boom)
			return func(e *env) {
				s := must(e.db.Stats(e.ctx))(e.t)
				if s.Grants != 0 || s.Accounts != 0 || s.Inbox != 0 {
					e.t.Fatalf("Stats after a failed update: %+v", s)
				}
				_, err := e.db.InboxByJTI(e.ctx, "https://accounts.google.com/", "j")
				wantErr(e.t, "InboxByJTI", err, riscd.ErrNotFound)
			}
		}},
		{"view refuses writes and a tx dies with its function", func(e *env) func(*env) {
			var kept riscd.ReadTx
			err := e.db.View(e.ctx, func(tx riscd.ReadTx) error {
				kept = tx
				w, ok := tx.(riscd.Tx)
				if !ok {
					return errors.New("a View transaction has no write methods")
				}
				_, err := w.CreateGrant(e.ctx, newGrant("s", 1))
				return err
			})
			if err == nil {
				e.t.Fatal("CreateGrant in View succeeded")
			}
			_, err = kept.Grant(e.ctx, "0123456789abcdef01234567")
			wantErr(e.t, "Tx used after View", err, riscd.ErrClosed)
			return func(e *env) {
				if n := must(e.db.Stats(e.ctx))(e.t).Grants; n != 0 {
					e.t.Fatalf("Stats.Grants = %d, want 0", n)
				}
			}
		}},
		{"batch commits and a done context stops calls", func(e *env) func(*env) {
			noErr(e.t, e.db.Batch(e.ctx, func(tx riscd.Tx) error { return tx.PutAccount(e.ctx, riscd.Account{Sub: "b"}) }))
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			_, err := e.db.CreateGrant(ctx, newGrant("s", 1))
			wantErr(e.t, "CreateGrant with a done context", err, context.Canceled)
			wantErr(e.t, "Check with a done context", e.db.Check(ctx), context.Canceled)
			return func(e *env) {
				must(e.db.Account(e.ctx, "b"))(e.t)
				if n := must(e.db.Stats(e.ctx))(e.t).Grants; n != 0 {
					e.t.Fatalf("Stats.Grants = %d, want 0", n)
				}
			}
		}},
		{"stats count every kind", func(e *env) func(*env) {
			must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			noErr(e.t, e.db.PutAccount(e.ctx, riscd.Account{Sub: "s"}))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("x", "s", start())))
			noErr(e.t, e.db.CreateFlow(e.ctx, newFlow("f", start())))
			x, _ := must2(e.db.PutInbox(e.ctx, newEntry("j1", "s", eventDisabled)))(e.t)
			must2(e.db.PutInbox(e.ctx, newEntry("j2", "s", eventDisabled)))(e.t)
			x.Status = riscd.InboxParked
			noErr(e.t, e.db.PutInboxEntry(e.ctx, x))
			must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: "t"}))(e.t)
			must(e.db.AppendAudit(e.ctx, riscd.AuditEntry{Action: "x"}))(e.t)
			return func(e *env) {
				s := must(e.db.Stats(e.ctx))(e.t)
				got := [...]int{s.Grants, s.Accounts, s.Sessions, s.Flows, s.Inbox, s.InboxPending, s.InboxParked, s.InboxDone, s.Outbox, s.OutboxPending, s.Audit}
				if want := [...]int{1, 1, 1, 1, 2, 1, 1, 0, 1, 1, 1}; got != want {
					e.t.Fatalf("Stats counts %v, want %v", got, want)
				}
				if s.FileBytes <= 0 || s.DataBytes <= 0 || len(s.KeyIDs) != 1 {
					e.t.Fatalf("Stats sizes %d/%d, key ids %v", s.FileBytes, s.DataBytes, s.KeyIDs)
				}
			}
		}},
	}
}
