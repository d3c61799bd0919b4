package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/riscd/riscd"
)

// ledger records every SET riscd acknowledged (answered 202).
type ledger struct {
	mu      sync.Mutex
	acked   []plannedSET
	retried int // 5xx answers and connection failures retried
}

func (l *ledger) add(p plannedSET, retried int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked = append(l.acked, p)
	l.retried += retried
}

func (l *ledger) list() []plannedSET {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked)
}

// allInbox reads every inbox entry of a store.
func allInbox(tb testing.TB, ctx context.Context, db riscd.DB) []riscd.InboxEntry {
	tb.Helper()
	var all []riscd.InboxEntry
	q := riscd.InboxQuery{Limit: riscd.MaxLimit}
	for {
		page, next, err := db.ListInbox(ctx, q)
		if err != nil {
			tb.Fatalf("list inbox: %v", err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		q.Cursor = next
	}
}

// allAudit reads the whole audit log of a store.
func allAudit(tb testing.TB, ctx context.Context, db riscd.DB) []riscd.AuditEntry {
	tb.Helper()
	var all []riscd.AuditEntry
	q := riscd.AuditQuery{Limit: riscd.MaxLimit}
	for {
		page, next, err := db.ListAudit(ctx, q)
		if err != nil {
			tb.Fatalf("list audit: %v", err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		q.Cursor = next
	}
}

// allGrants reads every grant of a store.
func allGrants(tb testing.TB, ctx context.Context, db riscd.DB) []riscd.Grant {
	tb.Helper()
	var all []riscd.Grant
	q := riscd.GrantQuery{Limit: riscd.MaxLimit}
	for {
		page, next, err := db.ListGrants(ctx, q)
		if err != nil {
			tb.Fatalf("list grants: %v", err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		q.Cursor = next
	}
}

// queuedWebhook finds the webhook-id in an event's notify outcome.
var queuedWebhook = regexp.MustCompile(`^webhook queued \((\S+)\)$`)

// verifyAcked checks a stopped riscd's store and the webhooks the app got
// against the SETs riscd acknowledged: each is in the inbox, done; the
// inbox holds nothing else; each was acted on exactly once (one audit entry
// per actor, action, subject and grants); its expected action is audited;
// every webhook riscd queued reached the app, the same webhook-id on every
// copy; and every SET that must notify did.
func verifyAcked(t *testing.T, ctx context.Context, db riscd.DB, hooks *webhookSink, acked []plannedSET) {
	t.Helper()
	inbox := map[string]riscd.InboxEntry{}
	for _, e := range allInbox(t, ctx, db) {
		if _, dup := inbox[e.JTI]; dup {
			t.Errorf("inbox holds jti %s twice", e.JTI)
		}
		inbox[e.JTI] = e
	}
	ackedJTI := make(map[string]plannedSET, len(acked))
	for _, p := range acked {
		ackedJTI[p.jti] = p
		e, ok := inbox[p.jti]
		switch {
		case !ok:
			t.Errorf("acknowledged %s (%s) is not in the inbox", p.jti, p.name)
		case e.Status != riscd.InboxDone:
			t.Errorf("inbox entry of %s (%s) is %s (attempts %d, %q), want done", p.jti, p.name, e.Status, e.Attempts, e.LastError)
		}
	}
	for jti := range inbox {
		if _, ok := ackedJTI[jti]; !ok {
			t.Errorf("inbox holds %s, which was never acknowledged", jti)
		}
	}

	byJTI := map[string][]riscd.AuditEntry{}
	for _, e := range allAudit(t, ctx, db) {
		if e.EventJTI != "" {
			byJTI[e.EventJTI] = append(byJTI[e.EventJTI], e)
		}
	}
	var snapshot map[string][]webhook
	if hooks != nil {
		snapshot = hooks.snapshot()
	}
	errs := 0
	fail := func(format string, args ...any) {
		if errs++; errs <= 30 {
			t.Errorf(format, args...)
		}
	}
	for _, p := range acked {
		entries := byJTI[p.jti]
		seen := map[string]int{}
		records, hasAction := 0, false
		for _, e := range entries {
			key := fmt.Sprintf("%s|%s|%s|%s", e.Actor, e.Action, e.Sub, strings.Join(e.GrantIDs, ","))
			if seen[key]++; seen[key] == 2 {
				fail("%s (%s): audited twice: %s", p.jti, p.name, key)
			}
			if e.Actor == "event" && e.Action == "record" {
				records++
			}
			if e.Actor == "event" && e.Action == p.action && e.Sub == p.sub {
				hasAction = true
			}
			if hooks == nil || e.Action != "notify" {
				continue
			}
			if m := queuedWebhook.FindStringSubmatch(e.Outcome); e.Actor == "event" && m != nil {
				if hs := snapshot[m[1]]; len(hs) == 0 {
					fail("%s (%s): webhook %s was queued and never delivered", p.jti, p.name, m[1])
				}
			}
			if e.Actor == "outbox" && e.Outcome != "delivered" {
				fail("%s (%s): webhook job ended %q, want delivered", p.jti, p.name, e.Outcome)
			}
		}
		if records == 0 {
			fail("%s (%s): no record entry in the audit log", p.jti, p.name)
		}
		if p.sub != "" && p.action != "" && !hasAction {
			fail("%s (%s): no %s entry for %s in the audit log", p.jti, p.name, p.action, p.sub)
		}
	}

	if hooks == nil {
		return
	}
	idsOf := map[string][]string{} // jti|sub -> webhook-ids
	for id, hs := range snapshot {
		for _, h := range hs[1:] {
			if h != hs[0] {
				fail("webhook %s delivered with different bodies: %+v and %+v", id, hs[0], h)
			}
		}
		k := hs[0].EventJTI + "|" + hs[0].Sub
		idsOf[k] = append(idsOf[k], id)
	}
	for k, ids := range idsOf {
		if len(ids) > 1 {
			fail("event|subject %s got %d webhook-ids %v, want one", k, len(ids), ids)
		}
	}
	for _, p := range acked {
		if p.notify && len(idsOf[p.jti+"|"+p.sub]) == 0 {
			fail("%s (%s) about %s: no webhook reached the app", p.jti, p.name, p.sub)
		}
	}
	if bad := hooks.refused(); len(bad) > 0 {
		fail("%d webhooks failed the signature check, first: %s", len(bad), bad[0])
	}
	if errs > 30 {
		t.Errorf("... and %d more problems", errs-30)
	}
}
