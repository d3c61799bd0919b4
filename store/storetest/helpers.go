package storetest

import (
	"errors"
	"fmt"
	"time"

	"github.com/riscd/riscd"
)

// helperCases pin the read-modify-write helpers of riscd.DB (UpdateGrant,
// UpdateAccount, UpdateInbox, UpdateOutbox) and the Skip of ListGrants.
func helperCases() []tcase {
	return []tcase{
		{"update helpers keep the identity and return what they stored", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			x, _ := must2(e.db.PutInbox(e.ctx, newEntry("j", "s", eventDisabled)))(e.t)
			j := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k"}))(e.t)
			e.clock.Advance(time.Minute)
			ug := must(e.db.UpdateGrant(e.ctx, g.ID, func(old riscd.Grant) (riscd.Grant, error) {
				if old.ID != g.ID {
					return old, fmt.Errorf("fn got grant %q, want %q", old.ID, g.ID)
				}
				old.ID, old.Sub, old.UpdatedAt = "0123456789abcdef01234567", "t", time.Unix(1, 0)
				return old, nil
			}))(e.t)
			if ug.ID != g.ID || ug.Sub != "t" || !ug.UpdatedAt.Equal(start().Add(time.Minute)) {
				e.t.Fatalf("UpdateGrant returned id %q sub %q updated %v; want %q, t, %v", ug.ID, ug.Sub, ug.UpdatedAt, g.ID, start().Add(time.Minute))
			}
			same(e.t, "UpdateGrant result against a read", ug, must(e.db.Grant(e.ctx, g.ID))(e.t))
			_, err := e.db.Grant(e.ctx, "0123456789abcdef01234567")
			wantErr(e.t, "Grant of the ID fn set", err, riscd.ErrNotFound)
			ux := must(e.db.UpdateInbox(e.ctx, x.ID, func(old riscd.InboxEntry) (riscd.InboxEntry, error) {
				old.ID, old.Iss, old.JTI = 999, "https://other.example/", "other"
				old.Status, old.DoneAt, old.Attempts = riscd.InboxDone, start(), 2
				return old, nil
			}))(e.t)
			if ux.ID != x.ID || ux.Iss != x.Iss || ux.JTI != x.JTI || ux.Status != riscd.InboxDone || ux.Attempts != 2 {
				e.t.Fatalf("UpdateInbox returned %+v", ux)
			}
			same(e.t, "UpdateInbox result against a read", ux, must(e.db.InboxEntry(e.ctx, x.ID))(e.t))
			uj := must(e.db.UpdateOutbox(e.ctx, j.ID, func(old riscd.OutboxJob) (riscd.OutboxJob, error) {
				old.ID, old.Attempts, old.LastError = 999, 3, "webhook: 502"
				return old, nil
			}))(e.t)
			if uj.ID != j.ID || uj.Attempts != 3 || uj.LastError != "webhook: 502" {
				e.t.Fatalf("UpdateOutbox returned %+v", uj)
			}
			same(e.t, "UpdateOutbox result against a read", uj, must(e.db.OutboxJob(e.ctx, j.ID))(e.t))
			ua := must(e.db.UpdateAccount(e.ctx, "acc", func(a riscd.Account, _ bool) (riscd.Account, error) {
				a.Held, a.CreatedAt = true, time.Unix(1, 0)
				return a, nil
			}))(e.t)
			if !ua.Held || !ua.CreatedAt.Equal(start().Add(time.Minute)) {
				e.t.Fatalf("UpdateAccount returned %+v, want held and created now", ua)
			}
			same(e.t, "UpdateAccount result against a read", ua, must(e.db.Account(e.ctx, "acc"))(e.t))
			return func(e *env) {
				same(e.t, "grant", must(e.db.Grant(e.ctx, g.ID))(e.t), ug)
				same(e.t, "inbox entry", must(e.db.InboxEntry(e.ctx, x.ID))(e.t), ux)
				same(e.t, "outbox job", must(e.db.OutboxJob(e.ctx, j.ID))(e.t), uj)
				same(e.t, "account", must(e.db.Account(e.ctx, "acc"))(e.t), ua)
				_, err := e.db.InboxEntry(e.ctx, 999)
				wantErr(e.t, "InboxEntry of the ID fn set", err, riscd.ErrNotFound)
				_, err = e.db.InboxByJTI(e.ctx, "https://other.example/", "other")
				wantErr(e.t, "InboxByJTI of the JTI fn set", err, riscd.ErrNotFound)
				_, err = e.db.OutboxJob(e.ctx, 999)
				wantErr(e.t, "OutboxJob of the ID fn set", err, riscd.ErrNotFound)
			}
		}},
		{"an update helper whose fn fails writes nothing", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			x, _ := must2(e.db.PutInbox(e.ctx, newEntry("j", "s", eventDisabled)))(e.t)
			j := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k"}))(e.t)
			a := must(e.db.UpdateAccount(e.ctx, "s", func(a riscd.Account, _ bool) (riscd.Account, error) {
				a.Email = "s@example.com"
				return a, nil
			}))(e.t)
			e.clock.Advance(time.Minute)
			boom := errors.New("boom")
			_, err := e.db.UpdateGrant(e.ctx, g.ID, func(old riscd.Grant) (riscd.Grant, error) {
				old.Status, old.RefreshToken = riscd.GrantRevoked, riscd.Secret(RefreshToken(2))
				return old, boom
			})
			wantErr(e.t, "UpdateGrant", err, boom)
			_, err = e.db.UpdateInbox(e.ctx, x.ID, func(old riscd.InboxEntry) (riscd.InboxEntry, error) {
				old.Status = riscd.InboxDone
				return old, boom
			})
			wantErr(e.t, "UpdateInbox", err, boom)
			_, err = e.db.UpdateOutbox(e.ctx, j.ID, func(old riscd.OutboxJob) (riscd.OutboxJob, error) {
				old.Status = riscd.OutboxFailed
				return old, boom
			})
			wantErr(e.t, "UpdateOutbox", err, boom)
			_, err = e.db.UpdateAccount(e.ctx, "s", func(old riscd.Account, _ bool) (riscd.Account, error) {
				old.Held = true
				return old, boom
			})
			wantErr(e.t, "UpdateAccount", err, boom)
			_, err = e.db.UpdateAccount(e.ctx, "new", func(old riscd.Account, _ bool) (riscd.Account, error) {
				return old, boom
			})
			wantErr(e.t, "UpdateAccount of a new account", err, boom)
			_, err = e.db.UpdateAccount(e.ctx, "", func(old riscd.Account, _ bool) (riscd.Account, error) { return old, nil })
			wantErr(e.t, "UpdateAccount without sub", err, riscd.ErrInvalid)
			return func(e *env) {
				same(e.t, "grant", must(e.db.Grant(e.ctx, g.ID))(e.t), g)
				_, err := e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(2)))
				wantErr(e.t, "refresh token fn set", err, riscd.ErrNotFound)
				same(e.t, "inbox entry", must(e.db.InboxEntry(e.ctx, x.ID))(e.t), x)
				same(e.t, "outbox job", must(e.db.OutboxJob(e.ctx, j.ID))(e.t), j)
				same(e.t, "account", must(e.db.Account(e.ctx, "s"))(e.t), a)
				_, err = e.db.Account(e.ctx, "new")
				wantErr(e.t, "account fn failed to create", err, riscd.ErrNotFound)
				if c := must(e.db.Count(e.ctx))(e.t); c.OutboxFailed != 0 || c.InboxDone != 0 || c.Accounts != 1 {
					e.t.Fatalf("Count after failed updates: %+v", c)
				}
			}
		}},
		{"list grants with skip set lists them all", func(e *env) func(*env) {
			var all []string // newest first
			for i := range 5 {
				e.clock.Advance(time.Second)
				g := newGrant([]string{"x", "y"}[i%2], uint64(i))
				all = append([]string{must(e.db.CreateGrant(e.ctx, g))(e.t).ID}, all...)
			}
			return func(e *env) {
				var skipped []string
				skip := func(id string, err error) { skipped = append(skipped, fmt.Sprintf("%s: %v", id, err)) }
				var got []riscd.Grant
				cursor := ""
				for {
					gs, next, err := e.db.ListGrants(e.ctx, riscd.GrantQuery{Cursor: cursor, Limit: 2, Skip: skip})
					noErr(e.t, err)
					got = append(got, gs...)
					if next == "" {
						break
					}
					cursor = next
				}
				sameIDs(e, "ListGrants with Skip", got, all...)
				gs, _, err := e.db.ListGrants(e.ctx, riscd.GrantQuery{Sub: "x", Skip: skip})
				noErr(e.t, err)
				sameIDs(e, "ListGrants of x with Skip", gs, all[0], all[2], all[4])
				if len(skipped) != 0 {
					e.t.Fatalf("Skip called for decodable grants: %v", skipped)
				}
			}
		}},
	}
}
