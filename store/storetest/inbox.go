package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
)

const (
	eventDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	eventRevoked  = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"
)

func newEntry(jti, subject, typ string) riscd.InboxEntry {
	return riscd.InboxEntry{
		Transmitter: "google",
		Iss:         "https://accounts.google.com/",
		JTI:         jti,
		Subject:     subject,
		Types:       []string{typ},
		Raw:         "eyJhbGciOiJSUzI1NiJ9.e30.sig-" + jti,
		Claims:      json.RawMessage(`{"jti":"` + jti + `"}`),
	}
}

func entryIDs(es []riscd.InboxEntry) string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = strconv.FormatUint(e.ID, 10)
	}
	return fmt.Sprint(ids)
}

func inboxCases() []tcase {
	return []tcase{
		{"put, dedupe and read back", func(e *env) func(*env) {
			in := newEntry("j1", "iss|sub", eventDisabled)
			in.Claims = json.RawMessage("{ \"jti\" : \"j1\" }")
			got, created := must2(e.db.PutInbox(e.ctx, in))(e.t)
			if !created || got.ID == 0 {
				e.t.Fatalf("PutInbox: created=%v id=%d, want true and an id", created, got.ID)
			}
			want := newEntry("j1", "iss|sub", eventDisabled)
			want.ID, want.Status, want.ReceivedAt = got.ID, riscd.InboxPending, start()
			same(e.t, "PutInbox result", got, want)
			e.clock.Advance(time.Minute)
			again := newEntry("j1", "other", eventRevoked)
			dup, created := must2(e.db.PutInbox(e.ctx, again))(e.t)
			if created {
				e.t.Fatal("PutInbox of a duplicate (iss, jti) reported created")
			}
			same(e.t, "duplicate PutInbox result", dup, want)
			other := newEntry("j1", "iss|sub", eventDisabled)
			other.Iss = "https://other.example/"
			o, created := must2(e.db.PutInbox(e.ctx, other))(e.t)
			if !created {
				e.t.Fatal("same jti from another issuer was taken for a duplicate")
			}
			_, _, err := e.db.PutInbox(e.ctx, riscd.InboxEntry{Iss: "x"})
			wantErr(e.t, "PutInbox without jti", err, riscd.ErrInvalid)
			bad := newEntry("j2", "", eventDisabled)
			bad.Claims = json.RawMessage(`{"x":`)
			_, _, err = e.db.PutInbox(e.ctx, bad)
			wantErr(e.t, "PutInbox with broken claims", err, riscd.ErrInvalid)
			return func(e *env) {
				same(e.t, "InboxEntry", must(e.db.InboxEntry(e.ctx, got.ID))(e.t), want)
				same(e.t, "InboxByJTI", must(e.db.InboxByJTI(e.ctx, want.Iss, "j1"))(e.t), want)
				same(e.t, "InboxByJTI other issuer", must(e.db.InboxByJTI(e.ctx, other.Iss, "j1"))(e.t).ID, o.ID)
				_, err := e.db.InboxByJTI(e.ctx, want.Iss, "j2")
				wantErr(e.t, "InboxByJTI unknown", err, riscd.ErrNotFound)
				_, err = e.db.InboxEntry(e.ctx, 999)
				wantErr(e.t, "InboxEntry unknown", err, riscd.ErrNotFound)
				if n := must(e.db.CountInbox(e.ctx, riscd.InboxPending))(e.t); n != 2 {
					e.t.Fatalf("CountInbox(pending) = %d, want 2", n)
				}
			}
		}},
		{"status changes move entries between queues", func(e *env) func(*env) {
			var ids []uint64
			for i := range 5 {
				x, _ := must2(e.db.PutInbox(e.ctx, newEntry(fmt.Sprint("j", i), "s", eventDisabled)))(e.t)
				ids = append(ids, x.ID)
			}
			x := must(e.db.InboxEntry(e.ctx, ids[1]))(e.t)
			x.Status, x.DoneAt, x.Attempts = riscd.InboxDone, start(), 1
			noErr(e.t, e.db.PutInboxEntry(e.ctx, x))
			y := must(e.db.UpdateInbox(e.ctx, ids[3], func(y riscd.InboxEntry) (riscd.InboxEntry, error) {
				y.Status, y.Attempts, y.LastError, y.NextAttemptAt = riscd.InboxParked, 5, "lifecycle: timeout", start().Add(time.Hour)
				return y, nil
			}))(e.t)
			boom := errors.New("boom")
			_, err := e.db.UpdateInbox(e.ctx, ids[0], func(z riscd.InboxEntry) (riscd.InboxEntry, error) {
				z.Status = riscd.InboxDone
				return z, boom
			})
			wantErr(e.t, "UpdateInbox with failing fn", err, boom)
			_, err = e.db.UpdateInbox(e.ctx, 999, func(z riscd.InboxEntry) (riscd.InboxEntry, error) { return z, nil })
			wantErr(e.t, "UpdateInbox unknown", err, riscd.ErrNotFound)
			z := must(e.db.InboxEntry(e.ctx, ids[0]))(e.t)
			z.JTI = "changed"
			wantErr(e.t, "PutInboxEntry changing jti", e.db.PutInboxEntry(e.ctx, z), riscd.ErrInvalid)
			z = must(e.db.InboxEntry(e.ctx, ids[0]))(e.t)
			z.Status = ""
			wantErr(e.t, "PutInboxEntry without status", e.db.PutInboxEntry(e.ctx, z), riscd.ErrInvalid)
			missing := z
			missing.ID, missing.Status = 999, riscd.InboxDone
			wantErr(e.t, "PutInboxEntry unknown", e.db.PutInboxEntry(e.ctx, missing), riscd.ErrNotFound)
			return func(e *env) {
				same(e.t, "done entry", must(e.db.InboxEntry(e.ctx, ids[1]))(e.t), x)
				same(e.t, "parked entry", must(e.db.InboxEntry(e.ctx, ids[3]))(e.t), y)
				for st, want := range map[riscd.InboxStatus]int{riscd.InboxPending: 3, riscd.InboxDone: 1, riscd.InboxParked: 1} {
					if n := must(e.db.CountInbox(e.ctx, st))(e.t); n != want {
						e.t.Fatalf("CountInbox(%s) = %d, want %d", st, n, want)
					}
				}
				want := fmt.Sprint([]string{fmt.Sprint(ids[0]), fmt.Sprint(ids[2]), fmt.Sprint(ids[4])})
				if got := entryIDs(must(e.db.PendingInbox(e.ctx, 0))(e.t)); got != want {
					e.t.Fatalf("PendingInbox = %s, want %s", got, want)
				}
				if got := entryIDs(must(e.db.PendingInbox(e.ctx, 2))(e.t)); got != fmt.Sprint([]string{fmt.Sprint(ids[0]), fmt.Sprint(ids[2])}) {
					e.t.Fatalf("PendingInbox(2) = %s", got)
				}
				if got := entryIDs(must(e.db.PendingInboxAfter(e.ctx, ids[0], 1))(e.t)); got != fmt.Sprint([]string{fmt.Sprint(ids[2])}) {
					e.t.Fatalf("PendingInboxAfter(%d, 1) = %s, want [%d]", ids[0], got, ids[2])
				}
				if got := must(e.db.PendingInboxAfter(e.ctx, ids[4], 0))(e.t); len(got) != 0 {
					e.t.Fatalf("PendingInboxAfter(last) = %s, want none", entryIDs(got))
				}
			}
		}},
		{"list newest first with filters", func(e *env) func(*env) {
			var ids []uint64
			for i := range 8 {
				typ := []string{eventDisabled, eventRevoked}[i%2]
				x, _ := must2(e.db.PutInbox(e.ctx, newEntry(fmt.Sprint("j", i), []string{"a", "b", "ab"}[i%3], typ)))(e.t)
				ids = append(ids, x.ID)
			}
			for _, i := range []int{0, 4} {
				must(e.db.UpdateInbox(e.ctx, ids[i], func(x riscd.InboxEntry) (riscd.InboxEntry, error) {
					x.Status, x.Subject = riscd.InboxDone, "moved"
					return x, nil
				}))(e.t)
			}
			str := func(idx ...int) string {
				s := make([]string, len(idx))
				for i, n := range idx {
					s[i] = fmt.Sprint(ids[n])
				}
				return fmt.Sprint(s)
			}
			return func(e *env) {
				for _, tc := range []struct {
					name string
					q    riscd.InboxQuery
					want string
				}{
					{"all", riscd.InboxQuery{}, str(7, 6, 5, 4, 3, 2, 1, 0)},
					{"subject", riscd.InboxQuery{Subject: "a"}, str(6, 3)},
					{"moved subject", riscd.InboxQuery{Subject: "moved"}, str(4, 0)},
					{"status", riscd.InboxQuery{Status: riscd.InboxDone}, str(4, 0)},
					{"type", riscd.InboxQuery{Type: eventRevoked}, str(7, 5, 3, 1)},
					{"subject and type", riscd.InboxQuery{Subject: "b", Type: eventRevoked}, str(7, 1)},
					{"status and type", riscd.InboxQuery{Status: riscd.InboxPending, Type: eventDisabled}, str(6, 2)},
					{"nothing", riscd.InboxQuery{Subject: "zz"}, "[]"},
				} {
					var got []riscd.InboxEntry
					cursor := ""
					for {
						page, next, err := e.db.ListInbox(e.ctx, riscd.InboxQuery{
							Status: tc.q.Status, Subject: tc.q.Subject, Type: tc.q.Type, Cursor: cursor, Limit: 3,
						})
						noErr(e.t, err)
						got = append(got, page...)
						if next == "" {
							break
						}
						cursor = next
					}
					if g := entryIDs(got); g != tc.want {
						e.t.Fatalf("ListInbox %s = %s, want %s", tc.name, g, tc.want)
					}
				}
				_, _, err := e.db.ListInbox(e.ctx, riscd.InboxQuery{Cursor: "x"})
				wantErr(e.t, "bad cursor", err, riscd.ErrInvalid)
			}
		}},
		{"the inbox writer stores durably and dedupes", func(e *env) func(*env) {
			var applied atomic.Int32
			e.db.OnInboxApplied(func() { applied.Add(1) })
			w := e.db.Inbox()
			in := newEntry("w1", "s", eventDisabled)
			got, created := must2(w.PutInbox(e.ctx, in))(e.t)
			if !created {
				e.t.Fatal("Inbox().PutInbox of a new SET reported a duplicate")
			}
			want := newEntry("w1", "s", eventDisabled)
			want.Status, want.ReceivedAt = riscd.InboxPending, start()
			got.ID = 0 // an engine may give the ID only once the entry is visible
			same(e.t, "Inbox().PutInbox result", got, want)
			dup, created := must2(w.PutInbox(e.ctx, newEntry("w1", "other", eventRevoked)))(e.t)
			if created {
				e.t.Fatal("Inbox().PutInbox of a duplicate (iss, jti) reported created")
			}
			dup.ID = 0
			same(e.t, "Inbox().PutInbox of a duplicate", dup, want)
			_, _, err := w.PutInbox(e.ctx, riscd.InboxEntry{Iss: "x"})
			wantErr(e.t, "Inbox().PutInbox without jti", err, riscd.ErrInvalid)
			// Concurrent callers of one new SET: exactly one stores it.
			const n = 8
			results := make(chan bool, n)
			errs := make(chan error, n)
			ready := make(chan struct{})
			for range n {
				go func() {
					<-ready
					x, created, err := w.PutInbox(e.ctx, newEntry("w2", "s2", eventRevoked))
					if err == nil && x.Subject != "s2" {
						err = fmt.Errorf("entry of subject %q, want s2", x.Subject)
					}
					results <- created
					errs <- err
				}()
			}
			close(ready)
			createdN := 0
			for range n {
				if <-results {
					createdN++
				}
				noErr(e.t, <-errs)
			}
			if createdN != 1 {
				e.t.Fatalf("%d concurrent Inbox().PutInbox calls of one SET stored it, want 1", createdN)
			}
			// Accepted entries become visible to View, and OnInboxApplied
			// is told.
			testkit.Eventually(e.t, "OnInboxApplied to be called", func() bool { return applied.Load() > 0 })
			var stored riscd.InboxEntry
			testkit.Eventually(e.t, "the accepted entries to be visible", func() bool {
				x, err := e.db.InboxByJTI(e.ctx, want.Iss, "w1")
				_, err2 := e.db.InboxByJTI(e.ctx, want.Iss, "w2")
				if err != nil && !errors.Is(err, riscd.ErrNotFound) {
					e.t.Fatalf("InboxByJTI: %v", err)
				}
				stored = x
				return err == nil && err2 == nil
			})
			if stored.ID == 0 {
				e.t.Fatal("a visible entry has no ID")
			}
			want.ID = stored.ID
			same(e.t, "visible entry", stored, want)
			// Once visible, a duplicate returns the stored entry, ID and
			// all; so does one first stored by PutInbox.
			again, created := must2(w.PutInbox(e.ctx, newEntry("w1", "other", eventRevoked)))(e.t)
			if created {
				e.t.Fatal("Inbox().PutInbox of a visible entry's (iss, jti) reported created")
			}
			same(e.t, "duplicate of a visible entry", again, want)
			direct, _ := must2(e.db.PutInbox(e.ctx, newEntry("w3", "s3", eventDisabled)))(e.t)
			viaWriter, created := must2(w.PutInbox(e.ctx, newEntry("w3", "x", eventDisabled)))(e.t)
			if created || viaWriter.ID != direct.ID {
				e.t.Fatalf("Inbox().PutInbox of an entry PutInbox stored: created=%v id=%d, want false and %d", created, viaWriter.ID, direct.ID)
			}
			return func(e *env) {
				same(e.t, "InboxByJTI", must(e.db.InboxByJTI(e.ctx, want.Iss, "w1"))(e.t), want)
				same(e.t, "InboxEntry", must(e.db.InboxEntry(e.ctx, want.ID))(e.t), want)
				if got := must(e.db.InboxByJTI(e.ctx, want.Iss, "w2"))(e.t); got.Subject != "s2" {
					e.t.Fatalf("entry w2 has subject %q, want s2", got.Subject)
				}
				if n := must(e.db.CountInbox(e.ctx, riscd.InboxPending))(e.t); n != 3 {
					e.t.Fatalf("CountInbox(pending) = %d, want 3", n)
				}
				if c := must(e.db.Count(e.ctx))(e.t); c.Inbox != 3 || c.InboxPending != 3 {
					e.t.Fatalf("Count: %d entries, %d pending; want 3 and 3", c.Inbox, c.InboxPending)
				}
			}
		}},
		{"the inbox writer's entries survive a reopen right after", func(e *env) func(*env) {
			w := e.db.Inbox()
			for i := range 5 {
				if _, created := must2(w.PutInbox(e.ctx, newEntry(fmt.Sprint("r", i), "s", eventDisabled)))(e.t); !created {
					e.t.Fatalf("entry r%d reported a duplicate", i)
				}
			}
			// No wait for them to be visible: verify runs at once, then
			// after a reopen.
			return func(e *env) {
				for i := range 5 {
					jti := fmt.Sprint("r", i)
					testkit.Eventually(e.t, "entry "+jti+" to be visible", func() bool {
						_, err := e.db.InboxByJTI(e.ctx, "https://accounts.google.com/", jti)
						if err != nil && !errors.Is(err, riscd.ErrNotFound) {
							e.t.Fatalf("InboxByJTI: %v", err)
						}
						return err == nil
					})
				}
				if c := must(e.db.Count(e.ctx))(e.t); c.Inbox != 5 {
					e.t.Fatalf("Count.Inbox = %d, want 5", c.Inbox)
				}
			}
		}},
	}
}

// must2 is must for calls with two results and an error.
func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(tb testing.TB) (A, B) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return a, b
	}
}
