package storetest

import (
	"time"

	"github.com/riscd/riscd"
)

// newSession makes a session lasting a day from created (from the suite's
// start when created is zero, which asks the store to set CreatedAt).
func newSession(id, sub string, created time.Time) riscd.Session {
	exp := created
	if exp.IsZero() {
		exp = start()
	}
	return riscd.Session{
		ID: riscd.Secret(id), Sub: sub, Email: sub + "@example.com", CSRF: riscd.Secret("csrf-" + id),
		CreatedAt: created, ExpiresAt: exp.Add(24 * time.Hour),
	}
}

func sessionCases() []tcase {
	return []tcase{
		{"create and read back", func(e *env) func(*env) {
			s := newSession("sid-1", "s", time.Time{})
			noErr(e.t, e.db.CreateSession(e.ctx, s))
			wantErr(e.t, "CreateSession twice", e.db.CreateSession(e.ctx, s), riscd.ErrExists)
			wantErr(e.t, "CreateSession without id", e.db.CreateSession(e.ctx, riscd.Session{Sub: "s"}), riscd.ErrInvalid)
			anon := riscd.Session{ID: "sid-anon", CSRF: "c"}
			noErr(e.t, e.db.CreateSession(e.ctx, anon))
			want := s
			want.CreatedAt = start()
			wantAnon := anon
			wantAnon.CreatedAt = start()
			return func(e *env) {
				same(e.t, "Session", must(e.db.Session(e.ctx, "sid-1"))(e.t), want)
				same(e.t, "anonymous Session", must(e.db.Session(e.ctx, "sid-anon"))(e.t), wantAnon)
				_, err := e.db.Session(e.ctx, "sid-2")
				wantErr(e.t, "unknown session", err, riscd.ErrNotFound)
			}
		}},
		{"expired sessions are not found and can be swept", func(e *env) func(*env) {
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("old", "s", start().Add(-24*time.Hour))))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("new", "s", start().Add(-time.Hour))))
			_, err := e.db.Session(e.ctx, "old")
			wantErr(e.t, "session expiring now", err, riscd.ErrNotFound)
			if n := must(e.db.DeleteExpiredSessions(e.ctx))(e.t); n != 1 {
				e.t.Fatalf("DeleteExpiredSessions removed %d, want 1", n)
			}
			wantErr(e.t, "DeleteSession of the swept one", e.db.DeleteSession(e.ctx, "old"), riscd.ErrNotFound)
			return func(e *env) {
				must(e.db.Session(e.ctx, "new"))(e.t)
				if n := must(e.db.Count(e.ctx))(e.t).Sessions; n != 1 {
					e.t.Fatalf("Count.Sessions = %d, want 1", n)
				}
			}
		}},
		{"delete one", func(e *env) func(*env) {
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("a", "s", start())))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("b", "s", start())))
			noErr(e.t, e.db.DeleteSession(e.ctx, "a"))
			wantErr(e.t, "DeleteSession twice", e.db.DeleteSession(e.ctx, "a"), riscd.ErrNotFound)
			return func(e *env) {
				_, err := e.db.Session(e.ctx, "a")
				wantErr(e.t, "deleted session", err, riscd.ErrNotFound)
				must(e.db.Session(e.ctx, "b"))(e.t)
			}
		}},
		{"delete a subject's sessions created before a time", func(e *env) func(*env) {
			for i, id := range []string{"s1", "s2", "s3"} {
				noErr(e.t, e.db.CreateSession(e.ctx, newSession(id, "sub", start().Add(time.Duration(i-3)*time.Hour))))
			}
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("other", "sub2", start().Add(-5*time.Hour))))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("prefix", "su", start().Add(-5*time.Hour))))
			n := must(e.db.DeleteSessionsOf(e.ctx, "sub", start().Add(-time.Hour)))(e.t)
			if n != 2 {
				e.t.Fatalf("DeleteSessionsOf removed %d, want 2", n)
			}
			if n := must(e.db.DeleteSessionsOf(e.ctx, "nobody", time.Time{}))(e.t); n != 0 {
				e.t.Fatalf("DeleteSessionsOf(nobody) removed %d, want 0", n)
			}
			return func(e *env) {
				for id, live := range map[string]bool{"s1": false, "s2": false, "s3": true, "other": true, "prefix": true} {
					_, err := e.db.Session(e.ctx, riscd.Secret(id))
					if got := err == nil; got != live {
						e.t.Fatalf("session %s: live=%v (err %v), want %v", id, got, err, live)
					}
				}
			}
		}},
		{"delete all of a subject's sessions", func(e *env) func(*env) {
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("a", "sub", start())))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("b", "sub", start().Add(time.Hour))))
			noErr(e.t, e.db.CreateSession(e.ctx, newSession("c", "sub2", start())))
			if n := must(e.db.DeleteSessionsOf(e.ctx, "sub", time.Time{}))(e.t); n != 2 {
				e.t.Fatalf("DeleteSessionsOf(zero time) removed %d, want 2", n)
			}
			return func(e *env) {
				if n := must(e.db.Count(e.ctx))(e.t).Sessions; n != 1 {
					e.t.Fatalf("Count.Sessions = %d, want 1", n)
				}
			}
		}},
	}
}
