package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/riscd/riscd"
)

// prefetchCases pin riscd.BatchPrefetch: the hint changes no answer, before
// or after the transaction's own writes, whether the engine takes it (a
// Prefetcher reads the rows at the start of the transaction) or not.
func prefetchCases() []tcase {
	return []tcase{
		{"a prefetched batch reads what a view does, and its own writes", func(e *env) func(*env) {
			// Stored: two grants, an account, three sessions and two
			// app-user links of "a"; a grant of "b"; mark m1; an entry.
			ga1 := must(e.db.CreateGrant(e.ctx, newGrant("a", 1)))(e.t)
			ga2 := must(e.db.CreateGrant(e.ctx, newGrant("a", 2)))(e.t)
			gb := must(e.db.CreateGrant(e.ctx, newGrant("b", 3)))(e.t)
			noErr(e.t, e.db.PutAccount(e.ctx, riscd.Account{Sub: "a", Email: "a@example.com"}))
			for i := range 3 {
				noErr(e.t, e.db.CreateSession(e.ctx, newSession(fmt.Sprint("sid-", i), "a", start().Add(time.Duration(i)*time.Minute))))
			}
			for _, u := range []string{"u-2", "u-1"} {
				must2(e.db.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: u, Sub: "a"}))(e.t)
			}
			must2(e.db.PutMark(e.ctx, riscd.Mark{Key: "m1"}))(e.t)
			x, _ := must2(e.db.PutInbox(e.ctx, newEntry("j", "a", eventDisabled)))(e.t)

			type reads struct {
				grantsA, grantsB, grantsC []riscd.Grant
				account                   riscd.Account
				accountErr                error
				linksA, linksC            []riscd.AppUserLink
				m1                        riscd.Mark
				m2Err                     error
				entry                     riscd.InboxEntry
			}
			read := func(tx riscd.ReadTx) (r reads, err error) {
				if r.grantsA, err = tx.GrantsBySub(e.ctx, "a"); err != nil {
					return r, err
				}
				if r.grantsB, err = tx.GrantsBySub(e.ctx, "b"); err != nil {
					return r, err
				}
				if r.grantsC, err = tx.GrantsBySub(e.ctx, "c"); err != nil {
					return r, err
				}
				r.account, err = tx.Account(e.ctx, "a")
				if err != nil {
					return r, err
				}
				_, r.accountErr = tx.Account(e.ctx, "c")
				if r.linksA, err = tx.LinksOfSub(e.ctx, "a"); err != nil {
					return r, err
				}
				if r.linksC, err = tx.LinksOfSub(e.ctx, "c"); err != nil {
					return r, err
				}
				if r.m1, err = tx.Mark(e.ctx, "m1"); err != nil {
					return r, err
				}
				_, r.m2Err = tx.Mark(e.ctx, "m2")
				r.entry, err = tx.InboxEntry(e.ctx, x.ID)
				return r, err
			}
			var want reads
			noErr(e.t, e.db.View(e.ctx, func(tx riscd.ReadTx) (err error) {
				want, err = read(tx)
				return err
			}))
			if len(want.grantsA) != 2 || len(want.linksA) != 2 || !errors.Is(want.accountErr, riscd.ErrNotFound) || !errors.Is(want.m2Err, riscd.ErrNotFound) {
				e.t.Fatalf("setup reads back %+v", want)
			}

			hint := riscd.Prefetch{Marks: []string{"m1", "m2"}, Subs: []string{"a", "b", "c", "a"}, Inbox: []uint64{x.ID, x.ID + 100}, Audit: 3}
			var gc riscd.Grant
			var auditIDs []uint64
			e.clock.Advance(time.Hour)
			// The function runs on the engine's goroutine: it reports
			// what it finds wrong as its error, never with t.Fatal, and
			// wrong keeps it, since an engine may run a failed function
			// again (alone, without the hint) and it then succeeds.
			var wrong []error
			check := func(err error) error {
				if err != nil {
					wrong = append(wrong, err)
				}
				return err
			}
			body := func(tx riscd.Tx) error {
				got, err := read(tx)
				if err != nil {
					return err
				}
				if d := diff(reflect.ValueOf(got), reflect.ValueOf(want), ""); len(d) > 0 {
					return fmt.Errorf("reads of a prefetched batch differ from a view's: %v", d)
				}

				// Own writes: each read after them sees them, whether or
				// not the rows it reads were prefetched.
				if gc, err = tx.CreateGrant(e.ctx, newGrant("a", 4)); err != nil {
					return err
				}
				if err := wantGrants(tx, e, "a", ga1.ID, ga2.ID, gc.ID); err != nil {
					return err
				}
				g := gb
				g.Sub = "c" // moves from b to c
				if err := tx.PutGrant(e.ctx, g); err != nil {
					return err
				}
				if err := wantGrants(tx, e, "b"); err != nil {
					return err
				}
				if err := wantGrants(tx, e, "c", gb.ID); err != nil {
					return err
				}
				if err := tx.DeleteGrant(e.ctx, ga1.ID); err != nil {
					return err
				}
				if err := wantGrants(tx, e, "a", ga2.ID, gc.ID); err != nil {
					return err
				}
				g = ga2
				g.Status = riscd.GrantHeld
				if err := tx.PutGrant(e.ctx, g); err != nil {
					return err
				}
				if g, err := tx.Grant(e.ctx, ga2.ID); err != nil || g.Status != riscd.GrantHeld {
					return fmt.Errorf("grant after PutGrant: %+v %v", g, err)
				}

				for _, d := range []struct {
					sub    string
					before time.Time
					want   int
				}{
					{"a", start().Add(2 * time.Minute), 2}, // the first two
					{"a", start().Add(2 * time.Minute), 0},
					{"c", time.Time{}, 0},
				} {
					if n, err := tx.DeleteSessionsOf(e.ctx, d.sub, d.before); err != nil || n != d.want {
						return fmt.Errorf("DeleteSessionsOf(%s, %v) = %d, %v; want %d", d.sub, d.before, n, err, d.want)
					}
				}
				if err := tx.CreateSession(e.ctx, newSession("sid-3", "a", start().Add(3*time.Minute))); err != nil {
					return err
				}
				if n, err := tx.DeleteSessionsOf(e.ctx, "a", time.Time{}); err != nil || n != 2 {
					return fmt.Errorf("DeleteSessionsOf(a, all) = %d, %v; want 2, the third and the new one", n, err)
				}

				if err := tx.UnlinkAppUser(e.ctx, "u-2", "a"); err != nil {
					return err
				}
				if err := wantLinks(tx, e, "a", "u-1"); err != nil {
					return err
				}
				if _, _, err := tx.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "u-0", Sub: "a"}); err != nil {
					return err
				}
				if err := wantLinks(tx, e, "a", "u-0", "u-1"); err != nil {
					return err
				}
				if _, _, err := tx.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "u-9", Sub: "c"}); err != nil {
					return err
				}
				if err := wantLinks(tx, e, "c", "u-9"); err != nil {
					return err
				}

				if _, wrote, err := tx.PutMark(e.ctx, riscd.Mark{Key: "m2"}); err != nil || !wrote {
					return fmt.Errorf("PutMark(m2): wrote %v, %v; want a write", wrote, err)
				}
				if _, wrote, err := tx.PutMark(e.ctx, riscd.Mark{Key: "m1"}); err != nil || wrote {
					return fmt.Errorf("PutMark(m1): wrote %v, %v; want none over the stored mark", wrote, err)
				}
				if _, err := tx.Mark(e.ctx, "m2"); err != nil {
					return fmt.Errorf("Mark(m2) after PutMark: %w", err)
				}

				if err := tx.PutAccount(e.ctx, riscd.Account{Sub: "c", Email: "c@example.com"}); err != nil {
					return err
				}
				if a, err := tx.Account(e.ctx, "c"); err != nil || a.Email != "c@example.com" {
					return fmt.Errorf("account c after PutAccount: %+v %v", a, err)
				}

				x2 := want.entry
				x2.Status, x2.DoneAt, x2.Attempts = riscd.InboxDone, e.clock.Now(), 1
				if err := tx.PutInboxEntry(e.ctx, x2); err != nil {
					return err
				}
				if got, err := tx.InboxEntry(e.ctx, x.ID); err != nil || got.Status != riscd.InboxDone || got.Attempts != 1 {
					return fmt.Errorf("entry after PutInboxEntry: %+v %v", got, err)
				}

				auditIDs = auditIDs[:0]
				for i := range 5 { // more than the hint's 3
					a, err := tx.AppendAudit(e.ctx, riscd.AuditEntry{Sub: "a", Action: fmt.Sprint("act-", i)})
					if err != nil {
						return err
					}
					auditIDs = append(auditIDs, a.ID)
				}
				return nil
			}
			noErr(e.t, riscd.BatchPrefetch(e.ctx, e.db, hint, func(tx riscd.Tx) error { return check(body(tx)) }))
			if len(wrong) > 0 {
				e.t.Fatalf("a run of the prefetched batch read wrong: %v", wrong)
			}
			for i := 1; i < len(auditIDs); i++ {
				if auditIDs[i] <= auditIDs[i-1] {
					e.t.Fatalf("audit ids %v: want increasing", auditIDs)
				}
			}
			return func(e *env) {
				sameIDs(e, "grants of a", must(e.db.GrantsBySub(e.ctx, "a"))(e.t), ga2.ID, gc.ID)
				sameIDs(e, "grants of c", must(e.db.GrantsBySub(e.ctx, "c"))(e.t), gb.ID)
				if g := must(e.db.Grant(e.ctx, ga2.ID))(e.t); g.Status != riscd.GrantHeld {
					e.t.Fatalf("grant %s: %s, want held", ga2.ID, g.Status)
				}
				if n := must(e.db.DeleteSessionsOf(e.ctx, "a", time.Time{}))(e.t); n != 0 {
					e.t.Fatalf("%d sessions of a left, want 0", n)
				}
				if l := must(e.db.LinksOfSub(e.ctx, "a"))(e.t); len(l) != 2 {
					e.t.Fatalf("links of a: %+v", l)
				}
				must(e.db.Mark(e.ctx, "m2"))(e.t)
				must(e.db.Account(e.ctx, "c"))(e.t)
				if got := must(e.db.InboxEntry(e.ctx, x.ID))(e.t); got.Status != riscd.InboxDone {
					e.t.Fatalf("entry: %s, want done", got.Status)
				}
				audit, _, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{Sub: "a"})
				noErr(e.t, err)
				if len(audit) != 5 {
					e.t.Fatalf("%d audit entries of a, want 5", len(audit))
				}
				for i, a := range audit { // newest first
					if a.ID != auditIDs[len(auditIDs)-1-i] || a.Action != fmt.Sprint("act-", len(audit)-1-i) {
						e.t.Fatalf("audit entry %d: id %d action %q; appended %v", i, a.ID, a.Action, auditIDs)
					}
				}
			}
		}},
	}
}

// wantGrants checks, inside a transaction function, the IDs of the grants
// of sub.
func wantGrants(tx riscd.ReadTx, e *env, sub string, ids ...string) error {
	gs, err := tx.GrantsBySub(e.ctx, sub)
	if err != nil {
		return err
	}
	if got := grantIDs(gs); fmt.Sprint(got) != fmt.Sprint(ids) {
		return fmt.Errorf("grants of %s: %v, want %v", sub, got, ids)
	}
	return nil
}

// wantLinks checks, inside a transaction function, the app users linked
// to sub.
func wantLinks(tx riscd.ReadTx, e *env, sub string, appUsers ...string) error {
	ls, err := tx.LinksOfSub(e.ctx, sub)
	if err != nil {
		return err
	}
	got := make([]string, len(ls))
	for i, l := range ls {
		got[i] = l.AppUser
	}
	if fmt.Sprint(got) != fmt.Sprint(appUsers) {
		return fmt.Errorf("links of %s: %v, want %v", sub, got, appUsers)
	}
	return nil
}
