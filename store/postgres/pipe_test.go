package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/riscd/riscd"
)

// Writes of one kind queued together are sent as one statement, the last
// write of a row winning, and the transaction reads them back as written.
func TestDeferredWritesMerge(t *testing.T) {
	db := openTest(t, newDatabase(t), testKey(t), nil)
	ctx := context.Background()
	var grants []riscd.Grant
	for i := range 3 {
		grants = append(grants, must(db.CreateGrant(ctx, riscd.Grant{Sub: fmt.Sprint("s", i), Scopes: []string{"openid"}}))(t))
	}
	entry, _, err := db.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: "j", Subject: "s0"})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(rt riscd.Tx) error {
		tx := rt.(*Tx)
		// Each job's id is read from the sequence: they go first. Then
		// every row is read once (the reads the writes make come from
		// the cache), and the audit ids are taken in one go.
		for i := range 3 {
			if _, err := tx.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: fmt.Sprint("k", i)}); err != nil {
				return err
			}
		}
		for i, g := range grants {
			if _, err := tx.Grant(ctx, g.ID); err != nil {
				return err
			}
			if _, err := tx.Account(ctx, g.Sub); err == nil {
				return fmt.Errorf("account %s exists before it is written", g.Sub)
			}
			if _, err := tx.Mark(ctx, fmt.Sprint("m", i)); err == nil {
				return fmt.Errorf("mark %d exists before it is written", i)
			}
		}
		if _, err := tx.InboxEntry(ctx, entry.ID); err != nil {
			return err
		}
		tx.auditTake = 8
		if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{Action: "first"}); err != nil {
			return err
		}
		for round := range 2 { // each row written twice: the second wins
			for i, g := range grants {
				g.Reason = fmt.Sprint("round ", round)
				if err := tx.PutGrant(ctx, g); err != nil {
					return err
				}
				if err := tx.PutAccount(ctx, riscd.Account{Sub: g.Sub, Email: fmt.Sprintf("%d-%d@example.com", i, round)}); err != nil {
					return err
				}
			}
			e := entry
			e.Attempts = round + 1
			if err := tx.PutInboxEntry(ctx, e); err != nil {
				return err
			}
		}
		for i := range 3 {
			if _, _, err := tx.PutMark(ctx, riscd.Mark{Key: fmt.Sprint("m", i)}); err != nil {
				return err
			}
			if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{Action: fmt.Sprint("a", i)}); err != nil {
				return err
			}
		}
		// Every write since the audit ids were taken waits in the
		// queue: 21 writes of five kinds, one statement each.
		if n := len(tx.pipe.queue); n != 21 {
			return fmt.Errorf("%d writes queued, want 21", n)
		}
		if m := merged(tx.pipe.queue); len(m) != 5 {
			return fmt.Errorf("the queue merges into %d statements, want 5", len(m))
		}
		gs, err := tx.GrantsBySub(ctx, "s1")
		if err != nil || len(gs) != 1 || gs[0].Reason != "round 1" {
			return fmt.Errorf("grant read back in the transaction: %+v %v", gs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range grants {
		got := must(db.Grant(ctx, g.ID))(t)
		a := must(db.Account(ctx, g.Sub))(t)
		if got.Reason != "round 1" || a.Email != fmt.Sprintf("%d-1@example.com", i) {
			t.Errorf("grant %d: reason %q, account email %q; want round 1's", i, got.Reason, a.Email)
		}
	}
	if e := must(db.InboxEntry(ctx, entry.ID))(t); e.Attempts != 2 {
		t.Errorf("entry attempts %d, want 2", e.Attempts)
	}
	c := must(db.Count(ctx))(t)
	if c.Marks != 3 || c.Audit != 4 || c.Outbox != 3 {
		t.Errorf("counts %+v: want 3 marks, 4 audit entries, 3 jobs", c)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// A write deferred by one Batch caller that fails when it is sent (with
// another caller's statement) fails its own caller, not the one whose
// statement carried it: the others commit.
func TestDeferredWriteFailureFailsItsCaller(t *testing.T) {
	db := openTest(t, newDatabase(t), testKey(t), nil)
	ctx := context.Background()
	release := holdBatcher(t, db, nil) // the three callers then share a batch
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Batch(ctx, func(rt riscd.Tx) error {
				tx := rt.(*Tx)
				if i == 0 {
					// A NOT NULL column left null: fails when sent.
					return tx.later(ctx, "bad mark", `INSERT INTO riscd_marks (key_hash, key, doc) VALUES ($1, $2, NULL)`,
						sha("bad"), []byte("bad"))
				}
				// A read, which carries what the callers before queued,
				// then a deferred write of its own.
				if _, err := tx.GrantsBySub(ctx, fmt.Sprint("s", i)); err != nil {
					return err
				}
				_, _, err := tx.PutMark(ctx, riscd.Mark{Key: fmt.Sprint("m", i)})
				return err
			})
		}()
	}
	release(3)
	wg.Wait()
	if errs[0] == nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("callers' errors %v: want the first's only", errs)
	}
	for i := 1; i < 3; i++ {
		if _, err := db.Mark(ctx, fmt.Sprint("m", i)); err != nil {
			t.Errorf("mark of caller %d: %v", i, err)
		}
	}
}

// must returns v, failing tb on err.
func must[T any](v T, err error) func(tb testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}
