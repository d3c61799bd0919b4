package storetest

import (
	"errors"
	"slices"
	"time"

	"github.com/riscd/riscd"
)

// newAdminSession makes an admin session created at now, lasting ttl.
func newAdminSession(id string, now time.Time, ttl time.Duration) riscd.AdminSession {
	return riscd.AdminSession{ID: riscd.Secret(id), CSRF: riscd.Secret("csrf-" + id), Operator: "operator", Created: now, Expires: now.Add(ttl)}
}

// liveAdminSessions returns those of ids whose admin session is found.
func liveAdminSessions(e *env, ids ...string) []string {
	e.t.Helper()
	var out []string
	for _, id := range ids {
		_, err := e.db.AdminSession(e.ctx, riscd.Secret(id))
		switch {
		case err == nil:
			out = append(out, id)
		case !errors.Is(err, riscd.ErrNotFound):
			e.t.Fatalf("AdminSession(%s): %v", id, err)
		}
	}
	return out
}

// adminSessionCases pin CreateAdminSession, AdminSession and
// DeleteAdminSession.
func adminSessionCases() []tcase {
	return []tcase{
		{"create and read back", func(e *env) func(*env) {
			want := riscd.AdminSession{ID: "sid-1", CSRF: "csrf-1", Operator: "ops-team",
				Created: start().Add(-time.Minute), Expires: start().Add(time.Hour)}
			noErr(e.t, e.db.CreateAdminSession(e.ctx, want, 10))
			// A zero Created becomes the store's now.
			noErr(e.t, e.db.CreateAdminSession(e.ctx, riscd.AdminSession{ID: "sid-3", CSRF: "c", Expires: start().Add(time.Hour)}, 10))
			want3 := riscd.AdminSession{ID: "sid-3", CSRF: "c", Created: start(), Expires: start().Add(time.Hour)}
			return func(e *env) {
				same(e.t, "AdminSession", must(e.db.AdminSession(e.ctx, "sid-1"))(e.t), want)
				same(e.t, "AdminSession created without a time", must(e.db.AdminSession(e.ctx, "sid-3"))(e.t), want3)
				_, err := e.db.AdminSession(e.ctx, "sid-2")
				wantErr(e.t, "unknown admin session", err, riscd.ErrNotFound)
			}
		}},
		{"an admin session ends at its expiry and can still be deleted once", func(e *env) func(*env) {
			noErr(e.t, e.db.CreateAdminSession(e.ctx, newAdminSession("sid", e.clock.Now(), time.Hour), 10))
			e.clock.Advance(time.Hour - time.Nanosecond)
			must(e.db.AdminSession(e.ctx, "sid"))(e.t)
			e.clock.Advance(time.Nanosecond)
			_, err := e.db.AdminSession(e.ctx, "sid")
			wantErr(e.t, "AdminSession at Expires", err, riscd.ErrNotFound)
			noErr(e.t, e.db.DeleteAdminSession(e.ctx, "sid"))
			wantErr(e.t, "DeleteAdminSession twice", e.db.DeleteAdminSession(e.ctx, "sid"), riscd.ErrNotFound)
			noErr(e.t, e.db.CreateAdminSession(e.ctx, newAdminSession("kept", e.clock.Now(), time.Hour), 10))
			return func(e *env) {
				if got := liveAdminSessions(e, "sid", "kept"); !slices.Equal(got, []string{"kept"}) {
					e.t.Fatalf("live admin sessions %v, want [kept]", got)
				}
			}
		}},
		{"create refuses a taken id, an empty id and a max below one", func(e *env) func(*env) {
			first := newAdminSession("sid", e.clock.Now(), time.Hour)
			noErr(e.t, e.db.CreateAdminSession(e.ctx, first, 10))
			dup := newAdminSession("sid", e.clock.Now(), 2*time.Hour)
			dup.CSRF = "other"
			wantErr(e.t, "CreateAdminSession of a taken id", e.db.CreateAdminSession(e.ctx, dup, 10), riscd.ErrExists)
			wantErr(e.t, "CreateAdminSession without id",
				e.db.CreateAdminSession(e.ctx, riscd.AdminSession{CSRF: "c"}, 10), riscd.ErrInvalid)
			wantErr(e.t, "CreateAdminSession with max 0",
				e.db.CreateAdminSession(e.ctx, newAdminSession("sid-0", e.clock.Now(), time.Hour), 0), riscd.ErrInvalid)
			return func(e *env) {
				same(e.t, "the first admin session", must(e.db.AdminSession(e.ctx, "sid"))(e.t), first)
				if got := liveAdminSessions(e, "sid-0"); len(got) != 0 {
					e.t.Fatalf("a refused admin session was kept")
				}
			}
		}},
		// A new session deletes the expired ones, then the oldest live ones
		// beyond max-1.
		{"create deletes the expired sessions, then the oldest beyond max", func(e *env) func(*env) {
			create := func(id string, ttl time.Duration, max int) {
				e.t.Helper()
				noErr(e.t, e.db.CreateAdminSession(e.ctx, newAdminSession(id, e.clock.Now(), ttl), max))
			}
			for _, id := range []string{"a", "b", "c"} {
				create(id, time.Hour, 3)
				e.clock.Advance(time.Minute)
			}
			create("d", time.Hour, 3)
			if got := liveAdminSessions(e, "a", "b", "c", "d"); !slices.Equal(got, []string{"b", "c", "d"}) {
				e.t.Fatalf("after d: live %v, want [b c d]", got)
			}
			// e expires soon; once it has, the next session takes its place
			// and no live one ends.
			e.clock.Advance(time.Minute)
			create("e", time.Minute, 4)
			e.clock.Advance(time.Minute)
			create("f", time.Hour, 4)
			if got := liveAdminSessions(e, "b", "c", "d", "e", "f"); !slices.Equal(got, []string{"b", "c", "d", "f"}) {
				e.t.Fatalf("after f: live %v, want [b c d f]", got)
			}
			wantErr(e.t, "DeleteAdminSession of the expired e", e.db.DeleteAdminSession(e.ctx, "e"), riscd.ErrNotFound)
			// max 1: the new session alone remains.
			create("g", time.Hour, 1)
			return func(e *env) {
				if got := liveAdminSessions(e, "a", "b", "c", "d", "e", "f", "g"); !slices.Equal(got, []string{"g"}) {
					e.t.Fatalf("after g with max 1: live %v, want [g]", got)
				}
			}
		}},
	}
}
