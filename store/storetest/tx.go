package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

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
				s := must(e.db.Count(e.ctx))(e.t)
				if s.Grants != 0 || s.Accounts != 0 || s.Inbox != 0 {
					e.t.Fatalf("Count after a failed update: %+v", s)
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
				if n := must(e.db.Count(e.ctx))(e.t).Grants; n != 0 {
					e.t.Fatalf("Count.Grants = %d, want 0", n)
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
				if n := must(e.db.Count(e.ctx))(e.t).Grants; n != 0 {
					e.t.Fatalf("Count.Grants = %d, want 0", n)
				}
			}
		}},
		{"count counts every kind", func(e *env) func(*env) {
			must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			noErr(e.t, e.db.PutAccount(e.ctx, riscd.Account{Sub: "s"}))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("x", "s", start())))
			noErr(e.t, e.db.CreateFlow(e.ctx, newFlow("f", start())))
			x, _ := must2(e.db.PutInbox(e.ctx, newEntry("j1", "s", eventDisabled)))(e.t)
			must2(e.db.PutInbox(e.ctx, newEntry("j2", "s", eventDisabled)))(e.t)
			x.Status = riscd.InboxParked
			noErr(e.t, e.db.PutInboxEntry(e.ctx, x))
			d, _ := must2(e.db.PutInbox(e.ctx, newEntry("j3", "s", eventDisabled)))(e.t)
			d.Status, d.DoneAt = riscd.InboxDone, start()
			noErr(e.t, e.db.PutInboxEntry(e.ctx, d))
			must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: "t"}))(e.t)
			f := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k"}))(e.t)
			f.Status = riscd.OutboxFailed
			noErr(e.t, e.db.PutOutboxJob(e.ctx, f))
			o := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k"}))(e.t)
			o.Status, o.DoneAt = riscd.OutboxDone, start()
			noErr(e.t, e.db.PutOutboxJob(e.ctx, o))
			must(e.db.AppendAudit(e.ctx, riscd.AuditEntry{Action: "x"}))(e.t)
			return func(e *env) {
				s := must(e.db.Count(e.ctx))(e.t)
				got := [...]int{s.Grants, s.Accounts, s.Sessions, s.Flows, s.Inbox, s.InboxPending, s.InboxParked, s.InboxDone, s.Outbox, s.OutboxPending, s.OutboxFailed, s.Audit}
				if want := [...]int{1, 1, 1, 1, 3, 1, 1, 1, 3, 1, 1, 1}; got != want {
					e.t.Fatalf("Count counts %v, want %v", got, want)
				}
			}
		}},
		{"count of an empty store is zero", func(e *env) func(*env) {
			return func(e *env) {
				if s := must(e.db.Count(e.ctx))(e.t); s != (riscd.Counts{}) {
					e.t.Fatalf("Count of a new store = %+v, want zeros", s)
				}
			}
		}},
		{"a failing update leaves what it changed as it was", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			d := must(e.db.CreateGrant(e.ctx, newGrant("d", 2)))(e.t)
			noErr(e.t, e.db.PutAccount(e.ctx, riscd.Account{Sub: "s", Email: "s@example.com"}))
			j := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: "t"}))(e.t)
			noErr(e.t, e.db.CreateFlow(e.ctx, newFlow("f", start())))
			e.clock.Advance(time.Minute)
			boom := errors.New("boom")
			err := e.db.Update(e.ctx, func(tx riscd.Tx) error {
				changed := g
				changed.Status, changed.RefreshToken = riscd.GrantRevoked, riscd.Secret(RefreshToken(9))
				if err := tx.PutGrant(e.ctx, changed); err != nil {
					return err
				}
				if err := tx.DeleteGrant(e.ctx, d.ID); err != nil {
					return err
				}
				if err := tx.PutAccount(e.ctx, riscd.Account{Sub: "s", Held: true}); err != nil {
					return err
				}
				jj := j
				jj.Status = riscd.OutboxDone
				if err := tx.PutOutboxJob(e.ctx, jj); err != nil {
					return err
				}
				if _, err := tx.TakeFlow(e.ctx, "f"); err != nil {
					return err
				}
				return fmt.Errorf("wrapped: %w", boom)
			})
			wantErr(e.t, "Update", err, boom)
			return func(e *env) {
				same(e.t, "changed grant", must(e.db.Grant(e.ctx, g.ID))(e.t), g)
				same(e.t, "deleted grant", must(e.db.Grant(e.ctx, d.ID))(e.t), d)
				same(e.t, "old refresh token", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(1))))(e.t).ID, g.ID)
				_, err := e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(9)))
				wantErr(e.t, "new refresh token", err, riscd.ErrNotFound)
				if a := must(e.db.Account(e.ctx, "s"))(e.t); a.Held || a.Email != "s@example.com" {
					e.t.Fatalf("account after a failed update: %+v", a)
				}
				same(e.t, "job", must(e.db.OutboxJob(e.ctx, j.ID))(e.t), j)
				if n := must(e.db.Count(e.ctx))(e.t).Flows; n != 1 {
					e.t.Fatalf("Count.Flows = %d, want 1", n)
				}
			}
		}},
		{"concurrent batches all commit", func(e *env) func(*env) {
			const n = 16
			boom := errors.New("boom")
			ready := make(chan struct{})
			errs := make(chan error, n)
			for i := range n {
				go func() {
					<-ready
					errs <- e.db.Batch(e.ctx, func(tx riscd.Tx) error {
						if err := tx.PutAccount(e.ctx, riscd.Account{Sub: fmt.Sprint("b-", i)}); err != nil {
							return err
						}
						if _, err := tx.AppendAudit(e.ctx, riscd.AuditEntry{Sub: fmt.Sprint("b-", i), Action: "batch"}); err != nil {
							return err
						}
						if i%4 == 0 {
							if err := tx.PutAccount(e.ctx, riscd.Account{Sub: fmt.Sprint("x-", i)}); err != nil {
								return err
							}
							return fmt.Errorf("batch %d: %w", i, boom)
						}
						return nil
					})
				}()
			}
			close(ready)
			failed := 0
			for range n {
				switch err := <-errs; {
				case errors.Is(err, boom):
					failed++
				case err != nil:
					e.t.Fatalf("Batch: %v", err)
				}
			}
			if failed != n/4 {
				e.t.Fatalf("%d batches failed, want %d", failed, n/4)
			}
			return func(e *env) {
				for i := range n {
					_, err := e.db.Account(e.ctx, fmt.Sprint("x-", i))
					wantErr(e.t, fmt.Sprint("account x-", i), err, riscd.ErrNotFound)
					a, err := e.db.Account(e.ctx, fmt.Sprint("b-", i))
					if i%4 == 0 {
						wantErr(e.t, fmt.Sprint("account b-", i, " of a failed batch"), err, riscd.ErrNotFound)
						continue
					}
					noErr(e.t, err)
					if a.Sub != fmt.Sprint("b-", i) {
						e.t.Fatalf("account b-%d has sub %q", i, a.Sub)
					}
					if es, _, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{Sub: a.Sub}); err != nil || len(es) != 1 {
						e.t.Fatalf("audit of %s: %d entries, %v; want 1", a.Sub, len(es), err)
					}
				}
				if s := must(e.db.Count(e.ctx))(e.t); s.Accounts != n-n/4 || s.Audit != n-n/4 {
					e.t.Fatalf("Count: %d accounts, %d audit entries; want %d each", s.Accounts, s.Audit, n-n/4)
				}
			}
		}},
	}
}
