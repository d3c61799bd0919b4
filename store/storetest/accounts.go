package storetest

import (
	"errors"
	"slices"
	"time"

	"github.com/riscd/riscd"
)

func accountCases() []tcase {
	return []tcase{
		{"put, read back and upsert", func(e *env) func(*env) {
			_, err := e.db.Account(e.ctx, "s")
			wantErr(e.t, "Account before put", err, riscd.ErrNotFound)
			wantErr(e.t, "PutAccount without sub", e.db.PutAccount(e.ctx, riscd.Account{}), riscd.ErrInvalid)
			a := riscd.Account{
				Sub: "s", Email: "s@example.com", SessionsRevokedAt: start().Add(-time.Minute),
				SigninDisabled: true, Held: true, Review: true, ReconsentRequired: true,
				CredentialChangeRequired: true, Flags: []string{"credential-change"},
				CreatedAt: time.Unix(5, 0), // ignored: the store sets it
			}
			noErr(e.t, e.db.PutAccount(e.ctx, a))
			e.clock.Advance(time.Hour)
			a.Purged, a.Held = true, false
			noErr(e.t, e.db.PutAccount(e.ctx, a))
			want := a
			want.CreatedAt, want.UpdatedAt = start(), start().Add(time.Hour)
			return func(e *env) {
				same(e.t, "Account", must(e.db.Account(e.ctx, "s"))(e.t), want)
				_, err := e.db.Account(e.ctx, "t")
				wantErr(e.t, "other account", err, riscd.ErrNotFound)
			}
		}},
		{"accounts needing attention", func(e *env) func(*env) {
			for _, a := range []riscd.Account{
				{Sub: "a-held", Held: true},
				{Sub: "b-plain", Email: "b@example.com"},
				{Sub: "c-flagged", Flags: []string{"credential-change"}},
				{Sub: "d-review", Review: true},
				{Sub: "e-released", Held: true, SigninDisabled: true},
				{Sub: "f-purged", Purged: true},
			} {
				noErr(e.t, e.db.PutAccount(e.ctx, a))
			}
			must(e.db.UpdateAccount(e.ctx, "e-released", func(a riscd.Account, _ bool) (riscd.Account, error) {
				a.Held, a.SigninDisabled = false, false
				return a, nil
			}))(e.t)
			must(e.db.UpdateAccount(e.ctx, "b-plain", func(a riscd.Account, _ bool) (riscd.Account, error) {
				a.ReconsentRequired = true
				return a, nil
			}))(e.t)
			return func(e *env) {
				subs := func(after string, limit int) []string {
					var out []string
					for _, a := range must(e.db.AccountsNeedingAttention(e.ctx, after, limit))(e.t) {
						if !a.NeedsAttention() {
							e.t.Errorf("%s listed but needs no attention: %+v", a.Sub, a)
						}
						out = append(out, a.Sub)
					}
					return out
				}
				all := []string{"a-held", "b-plain", "c-flagged", "d-review", "f-purged"}
				if got := subs("", 0); !slices.Equal(got, all) {
					e.t.Errorf("AccountsNeedingAttention = %q, want %q", got, all)
				}
				if got := subs("b-plain", 2); !slices.Equal(got, all[2:4]) {
					e.t.Errorf("AccountsNeedingAttention after b-plain, 2 = %q, want %q", got, all[2:4])
				}
				if got := subs("c", 0); !slices.Equal(got, all[2:]) {
					e.t.Errorf("AccountsNeedingAttention after c = %q, want %q", got, all[2:])
				}
			}
		}},
		{"update creates then modifies", func(e *env) func(*env) {
			first := must(e.db.UpdateAccount(e.ctx, "s", func(a riscd.Account, found bool) (riscd.Account, error) {
				if found || a.Sub != "s" {
					e.t.Fatalf("fn got found=%v sub=%q, want false and \"s\"", found, a.Sub)
				}
				a.Review = true
				return a, nil
			}))(e.t)
			e.clock.Advance(time.Second)
			second := must(e.db.UpdateAccount(e.ctx, "s", func(a riscd.Account, found bool) (riscd.Account, error) {
				if !found || !a.Review {
					e.t.Fatalf("fn got found=%v review=%v, want true and true", found, a.Review)
				}
				a.Sub = "other" // ignored
				a.SessionsRevokedAt = start()
				return a, nil
			}))(e.t)
			boom := errors.New("boom")
			_, err := e.db.UpdateAccount(e.ctx, "s", func(a riscd.Account, _ bool) (riscd.Account, error) {
				a.Purged = true
				return a, boom
			})
			wantErr(e.t, "UpdateAccount with failing fn", err, boom)
			want := riscd.Account{Sub: "s", Review: true, SessionsRevokedAt: start(), CreatedAt: start(), UpdatedAt: start().Add(time.Second)}
			same(e.t, "first result", first, riscd.Account{Sub: "s", Review: true, CreatedAt: start(), UpdatedAt: start()})
			same(e.t, "second result", second, want)
			return func(e *env) {
				same(e.t, "Account", must(e.db.Account(e.ctx, "s"))(e.t), want)
				_, err := e.db.Account(e.ctx, "other")
				wantErr(e.t, "renamed account", err, riscd.ErrNotFound)
			}
		}},
	}
}
