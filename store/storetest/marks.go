package storetest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

func markCases() []tcase {
	return []tcase{
		{"a mark is written once", func(e *env) func(*env) {
			a := must(e.db.AppendAudit(e.ctx, riscd.AuditEntry{Sub: "s", Action: "record"}))(e.t)
			first, wrote, err := e.db.PutMark(e.ctx, riscd.Mark{Key: "event|iss|jti|0", AuditID: a.ID})
			noErr(e.t, err)
			want := riscd.Mark{Key: "event|iss|jti|0", At: start(), AuditID: a.ID}
			if !wrote {
				e.t.Fatalf("first PutMark reported the key taken")
			}
			same(e.t, "first PutMark", first, want)
			e.clock.Advance(time.Minute)
			again, wrote, err := e.db.PutMark(e.ctx, riscd.Mark{Key: "event|iss|jti|0", AuditID: 999})
			noErr(e.t, err)
			if wrote {
				e.t.Fatalf("second PutMark with the same key wrote")
			}
			same(e.t, "second PutMark returns the stored mark", again, want)
			other := must(e.db.Mark(e.ctx, "event|iss|jti|0"))(e.t)
			same(e.t, "Mark", other, want)
			return func(e *env) {
				same(e.t, "Mark after reopen", must(e.db.Mark(e.ctx, "event|iss|jti|0"))(e.t), want)
				_, err := e.db.Mark(e.ctx, "event|iss|jti|1")
				wantErr(e.t, "Mark of another key", err, riscd.ErrNotFound)
			}
		}},
		{"mark keys are checked", func(e *env) func(*env) {
			for _, key := range []string{"", strings.Repeat("k", riscd.MaxMarkKey+1)} {
				_, _, err := e.db.PutMark(e.ctx, riscd.Mark{Key: key})
				wantErr(e.t, fmt.Sprintf("PutMark with a %d-byte key", len(key)), err, riscd.ErrInvalid)
				_, err = e.db.Mark(e.ctx, key)
				wantErr(e.t, fmt.Sprintf("Mark with a %d-byte key", len(key)), err, riscd.ErrInvalid)
			}
			long := strings.Repeat("k", riscd.MaxMarkKey)
			_, wrote, err := e.db.PutMark(e.ctx, riscd.Mark{Key: long})
			noErr(e.t, err)
			if !wrote {
				e.t.Fatalf("PutMark with a %d-byte key did not write", len(long))
			}
			return func(e *env) {
				if m := must(e.db.Mark(e.ctx, long))(e.t); m.Key != long {
					e.t.Fatalf("Mark returned a key of %d bytes, want %d", len(m.Key), len(long))
				}
			}
		}},
		{"a mark rolls back with its transaction", func(e *env) func(*env) {
			boom := errors.New("boom")
			err := e.db.Update(e.ctx, func(tx riscd.Tx) error {
				if _, _, err := tx.PutMark(e.ctx, riscd.Mark{Key: "k"}); err != nil {
					return err
				}
				if _, _, err := tx.PutMark(e.ctx, riscd.Mark{Key: "k"}); err != nil {
					return err
				}
				return boom
			})
			wantErr(e.t, "Update", err, boom)
			return func(e *env) {
				_, err := e.db.Mark(e.ctx, "k")
				wantErr(e.t, "Mark after rollback", err, riscd.ErrNotFound)
			}
		}},
		{"pending outbox pages after an id", func(e *env) func(*env) {
			var ids []uint64
			for i := range 5 {
				j := must(e.db.EnqueueOutbox(e.ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: fmt.Sprint("k", i%2)}))(e.t)
				ids = append(ids, j.ID)
			}
			done := must(e.db.OutboxJob(e.ctx, ids[2]))(e.t)
			done.Status = riscd.OutboxDone
			noErr(e.t, e.db.PutOutboxJob(e.ctx, done))
			return func(e *env) {
				page := func(after uint64, limit int) string {
					jobs := must(e.db.PendingOutboxAfter(e.ctx, after, limit))(e.t)
					s := make([]string, len(jobs))
					for i, j := range jobs {
						s[i] = fmt.Sprint(j.ID)
					}
					return strings.Join(s, ",")
				}
				id := func(is ...int) string {
					s := make([]string, len(is))
					for i, n := range is {
						s[i] = fmt.Sprint(ids[n])
					}
					return strings.Join(s, ",")
				}
				for _, c := range []struct {
					after uint64
					limit int
					want  string
				}{
					{0, 0, id(0, 1, 3, 4)},
					{0, 2, id(0, 1)},
					{ids[1], 2, id(3, 4)},
					{ids[2], 0, id(3, 4)},
					{ids[4], 0, ""},
					{^uint64(0), 0, ""},
				} {
					if got := page(c.after, c.limit); got != c.want {
						e.t.Errorf("PendingOutboxAfter(%d, %d) = [%s], want [%s]", c.after, c.limit, got, c.want)
					}
				}
			}
		}},
	}
}
