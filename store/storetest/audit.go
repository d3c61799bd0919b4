package storetest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/riscd/riscd"
)

func auditIDs(es []riscd.AuditEntry) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = strconv.FormatUint(e.ID, 10)
	}
	return fmt.Sprint(s)
}

func auditCases() []tcase {
	return []tcase{
		{"append and list newest first", func(e *env) func(*env) {
			first := riscd.AuditEntry{
				Transmitter: "google", EventJTI: "j1", EventType: eventDisabled, Sub: "a",
				GrantIDs: []string{"g1", "g2"}, Action: "revoke", Outcome: "ok", Detail: "2 grants",
				Actor: "event", DryRun: true,
			}
			got := must(e.db.AppendAudit(e.ctx, first))(e.t)
			want := first
			want.ID, want.At = got.ID, start()
			same(e.t, "AppendAudit result", got, want)
			ids := []string{strconv.FormatUint(got.ID, 10)}
			for i := range 6 {
				e.clock.Advance(time.Second)
				x := must(e.db.AppendAudit(e.ctx, riscd.AuditEntry{Sub: []string{"b", "a", ""}[i%3], Action: "hold", At: start().Add(-time.Hour)}))(e.t)
				ids = append(ids, strconv.FormatUint(x.ID, 10))
			}
			rev := func(idx ...int) string {
				s := make([]string, len(idx))
				for i, n := range idx {
					s[i] = ids[n]
				}
				return fmt.Sprint(s)
			}
			return func(e *env) {
				page, next, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{Limit: 4})
				noErr(e.t, err)
				rest, last, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{Limit: 4, Cursor: next})
				noErr(e.t, err)
				if got := auditIDs(append(page, rest...)); got != rev(6, 5, 4, 3, 2, 1, 0) || last != "" {
					e.t.Fatalf("ListAudit pages = %s (last cursor %q), want %s", got, last, rev(6, 5, 4, 3, 2, 1, 0))
				}
				same(e.t, "oldest entry", rest[len(rest)-1], want)
				if !page[0].At.Equal(start().Add(-time.Hour)) {
					e.t.Fatalf("At = %v, want the given time", page[0].At)
				}
				sub, _, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{Sub: "a"})
				noErr(e.t, err)
				if got := auditIDs(sub); got != rev(5, 2, 0) {
					e.t.Fatalf("ListAudit(sub a) = %s, want %s", got, rev(5, 2, 0))
				}
				sub, next, err = e.db.ListAudit(e.ctx, riscd.AuditQuery{Sub: "a", Limit: 2})
				noErr(e.t, err)
				sub2, _, err := e.db.ListAudit(e.ctx, riscd.AuditQuery{Sub: "a", Limit: 2, Cursor: next})
				noErr(e.t, err)
				if got := auditIDs(append(sub, sub2...)); got != rev(5, 2, 0) {
					e.t.Fatalf("paged ListAudit(sub a) = %s, want %s", got, rev(5, 2, 0))
				}
				_, _, err = e.db.ListAudit(e.ctx, riscd.AuditQuery{Cursor: "-1"})
				wantErr(e.t, "bad cursor", err, riscd.ErrInvalid)
			}
		}},
	}
}
