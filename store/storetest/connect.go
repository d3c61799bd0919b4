package storetest

import (
	"errors"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

func connectSession(id string) riscd.ConnectSession {
	return riscd.ConnectSession{
		ID: id, AppUser: "u-123", Features: []string{"drive"}, ReturnTo: "https://app.example.com/after",
		LoginHint: "ann@example.com", StartDigest: riscd.IDDigest("start-" + riscd.Secret(id)),
		Status: riscd.ConnectPending, CreatedAt: start(), ExpiresAt: start().Add(riscd.ConnectSessionTTL),
	}
}

func connectCases() []tcase {
	return []tcase{
		{"a connect session is stored, updated and read back", func(e *env) func(*env) {
			s := connectSession("c1")
			noErr(e.t, e.db.CreateConnectSession(e.ctx, s))
			same(e.t, "ConnectSession", must(e.db.ConnectSession(e.ctx, "c1"))(e.t), s)
			wantErr(e.t, "CreateConnectSession of a taken id", e.db.CreateConnectSession(e.ctx, s), riscd.ErrExists)
			s.Status, s.StateDigest = riscd.ConnectStarted, riscd.IDDigest("state")
			noErr(e.t, e.db.PutConnectSession(e.ctx, s))
			s.Status, s.Sub, s.Email, s.GrantID, s.Scopes = riscd.ConnectConnected, "sub-1", "ann@example.com", "g1", []string{"email", "openid"}
			noErr(e.t, e.db.PutConnectSession(e.ctx, s))
			wantErr(e.t, "PutConnectSession of an unknown id", e.db.PutConnectSession(e.ctx, connectSession("c2")), riscd.ErrNotFound)
			_, err := e.db.ConnectSession(e.ctx, "c2")
			wantErr(e.t, "ConnectSession of an unknown id", err, riscd.ErrNotFound)
			return func(e *env) {
				same(e.t, "ConnectSession after updates", must(e.db.ConnectSession(e.ctx, "c1"))(e.t), s)
				if n := must(e.db.Count(e.ctx))(e.t).Connect; n != 1 {
					e.t.Errorf("Count().Connect = %d, want 1", n)
				}
			}
		}},
		{"a connect session is checked", func(e *env) func(*env) {
			for name, mod := range map[string]func(*riscd.ConnectSession){
				"no id":           func(s *riscd.ConnectSession) { s.ID = "" },
				"no app user":     func(s *riscd.ConnectSession) { s.AppUser = "" },
				"a long app user": func(s *riscd.ConnectSession) { s.AppUser = strings.Repeat("u", riscd.MaxAppUser+1) },
				"no expiry":       func(s *riscd.ConnectSession) { s.ExpiresAt = time.Time{} },
				"no status":       func(s *riscd.ConnectSession) { s.Status = "" },
			} {
				s := connectSession("c1")
				mod(&s)
				wantErr(e.t, "CreateConnectSession with "+name, e.db.CreateConnectSession(e.ctx, s), riscd.ErrInvalid)
			}
			long := connectSession("c1")
			long.AppUser = strings.Repeat("u", riscd.MaxAppUser)
			noErr(e.t, e.db.CreateConnectSession(e.ctx, long))
			return func(e *env) {
				same(e.t, "ConnectSession with the longest app user", must(e.db.ConnectSession(e.ctx, "c1"))(e.t).AppUser, long.AppUser)
			}
		}},
		{"an expired connect session is read until it is swept", func(e *env) func(*env) {
			noErr(e.t, e.db.CreateConnectSession(e.ctx, connectSession("old")))
			later := connectSession("new")
			later.ExpiresAt = start().Add(time.Hour)
			noErr(e.t, e.db.CreateConnectSession(e.ctx, later))
			e.clock.Advance(riscd.ConnectSessionTTL)
			if !must(e.db.ConnectSession(e.ctx, "old"))(e.t).Expired(e.clock.Now()) {
				e.t.Error("the session is not Expired at its expiry")
			}
			if must(e.db.ConnectSession(e.ctx, "new"))(e.t).Expired(e.clock.Now()) {
				e.t.Error("the later session is Expired before its expiry")
			}
			// An expired session may still be ended (the browser that comes
			// back late is told so).
			old := connectSession("old")
			old.Status = riscd.ConnectError
			noErr(e.t, e.db.PutConnectSession(e.ctx, old))
			if n := must(e.db.DeleteExpiredConnectSessions(e.ctx))(e.t); n != 1 {
				e.t.Fatalf("DeleteExpiredConnectSessions = %d, want 1", n)
			}
			return func(e *env) {
				if n := must(e.db.Count(e.ctx))(e.t).Connect; n != 1 {
					e.t.Errorf("Count().Connect = %d, want 1", n)
				}
				wantErr(e.t, "PutConnectSession of a swept session", e.db.PutConnectSession(e.ctx, old), riscd.ErrNotFound)
				_, err := e.db.ConnectSession(e.ctx, "old")
				wantErr(e.t, "ConnectSession of a swept session", err, riscd.ErrNotFound)
			}
		}},
		{"app users and accounts link many to many", func(e *env) func(*env) {
			l, wrote, err := e.db.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "u-1", Sub: "sub-b"})
			noErr(e.t, err)
			if !wrote {
				e.t.Fatal("first LinkAppUser reported the link taken")
			}
			same(e.t, "LinkAppUser", l, riscd.AppUserLink{AppUser: "u-1", Sub: "sub-b", CreatedAt: start()})
			e.clock.Advance(time.Minute)
			again, wrote, err := e.db.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "u-1", Sub: "sub-b"})
			noErr(e.t, err)
			if wrote {
				e.t.Fatal("second LinkAppUser of the same pair wrote")
			}
			same(e.t, "second LinkAppUser returns the stored link", again, l)
			// Sub-aa and u-10 sort between the others as strings, not by length.
			for _, p := range [][2]string{{"u-1", "sub-a"}, {"u-2", "sub-b"}, {"u-10", "sub-c"}, {"u-1", "sub-aa"}, {"u-10", "sub-b"}} {
				_, _, err := e.db.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: p[0], Sub: p[1]})
				noErr(e.t, err)
			}
			_, _, err = e.db.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "", Sub: "s"})
			wantErr(e.t, "LinkAppUser without an app user", err, riscd.ErrInvalid)
			_, _, err = e.db.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "u", Sub: ""})
			wantErr(e.t, "LinkAppUser without a sub", err, riscd.ErrInvalid)
			wantErr(e.t, "UnlinkAppUser of no link", e.db.UnlinkAppUser(e.ctx, "u-2", "sub-a"), riscd.ErrNotFound)
			noErr(e.t, e.db.UnlinkAppUser(e.ctx, "u-10", "sub-c"))
			pairs := func(ls []riscd.AppUserLink) []string {
				var out []string
				for _, l := range ls {
					out = append(out, l.AppUser+"/"+l.Sub)
				}
				return out
			}
			return func(e *env) {
				same(e.t, "LinksOfAppUser(u-1)", pairs(must(e.db.LinksOfAppUser(e.ctx, "u-1"))(e.t)), []string{"u-1/sub-a", "u-1/sub-aa", "u-1/sub-b"})
				same(e.t, "LinksOfSub(sub-b)", pairs(must(e.db.LinksOfSub(e.ctx, "sub-b"))(e.t)), []string{"u-1/sub-b", "u-10/sub-b", "u-2/sub-b"})
				same(e.t, "LinksOfSub(sub-b) keeps when each was linked", must(e.db.LinksOfSub(e.ctx, "sub-b"))(e.t)[0], l)
				same(e.t, "LinksOfAppUser(u-10) after the unlink", pairs(must(e.db.LinksOfAppUser(e.ctx, "u-10"))(e.t)), []string{"u-10/sub-b"})
				same(e.t, "LinksOfSub(sub-c) after the unlink", len(must(e.db.LinksOfSub(e.ctx, "sub-c"))(e.t)), 0)
				same(e.t, "LinksOfAppUser(u) of a prefix of u-1", len(must(e.db.LinksOfAppUser(e.ctx, "u"))(e.t)), 0)
				if n := must(e.db.Count(e.ctx))(e.t).AppUserLinks; n != 5 {
					e.t.Errorf("Count().AppUserLinks = %d, want 5", n)
				}
			}
		}},
		{"a link rolls back with its transaction", func(e *env) func(*env) {
			boom := errors.New("boom")
			err := e.db.Update(e.ctx, func(tx riscd.Tx) error {
				if _, _, err := tx.LinkAppUser(e.ctx, riscd.AppUserLink{AppUser: "u", Sub: "s"}); err != nil {
					return err
				}
				if err := tx.CreateConnectSession(e.ctx, connectSession("c")); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				e.t.Fatalf("Update = %v, want boom", err)
			}
			return func(e *env) {
				same(e.t, "LinksOfSub after a rollback", len(must(e.db.LinksOfSub(e.ctx, "s"))(e.t)), 0)
				_, err := e.db.ConnectSession(e.ctx, "c")
				wantErr(e.t, "ConnectSession after a rollback", err, riscd.ErrNotFound)
			}
		}},
	}
}
