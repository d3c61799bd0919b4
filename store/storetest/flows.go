package storetest

import (
	"time"

	"github.com/riscd/riscd"
)

func newFlow(id string, created time.Time) riscd.Flow {
	return riscd.Flow{
		ID: riscd.Secret(id), State: riscd.Secret("state-" + id), PKCEVerifier: riscd.Secret("verifier-" + id),
		Nonce: riscd.Secret("nonce-" + id), Features: []string{"gmail"}, Scopes: []string{"openid", "email"},
		Sub: "s", ConnectID: "c-" + id, CreatedAt: created,
	}
}

func flowCases() []tcase {
	return []tcase{
		{"create and take once", func(e *env) func(*env) {
			f := newFlow("f1", time.Time{})
			noErr(e.t, e.db.CreateFlow(e.ctx, f))
			wantErr(e.t, "CreateFlow twice", e.db.CreateFlow(e.ctx, f), riscd.ErrExists)
			wantErr(e.t, "CreateFlow without id", e.db.CreateFlow(e.ctx, riscd.Flow{}), riscd.ErrInvalid)
			noErr(e.t, e.db.CreateFlow(e.ctx, newFlow("f2", start())))
			want := f
			want.CreatedAt = start()
			same(e.t, "TakeFlow", must(e.db.TakeFlow(e.ctx, "f1"))(e.t), want)
			_, err := e.db.TakeFlow(e.ctx, "f1")
			wantErr(e.t, "second TakeFlow", err, riscd.ErrNotFound)
			return func(e *env) {
				if n := must(e.db.Count(e.ctx))(e.t).Flows; n != 1 {
					e.t.Fatalf("Count.Flows = %d, want 1", n)
				}
			}
		}},
		{"delete flows before a time", func(e *env) func(*env) {
			for i, id := range []string{"a", "b", "c"} {
				noErr(e.t, e.db.CreateFlow(e.ctx, newFlow(id, start().Add(time.Duration(i)*time.Minute))))
			}
			if n := must(e.db.DeleteFlowsBefore(e.ctx, start().Add(time.Minute)))(e.t); n != 1 {
				e.t.Fatalf("DeleteFlowsBefore removed %d, want 1", n)
			}
			return func(e *env) {
				if n := must(e.db.Count(e.ctx))(e.t).Flows; n != 2 {
					e.t.Fatalf("Count.Flows = %d, want 2", n)
				}
			}
		}},
	}
}
