package lifecycle_test

import (
	"time"

	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// With InboxDone, the last handler's delivery marks the inbox entry done
// with the event's effects; an earlier handler's leaves it pending, and a
// redelivery whose effects are already committed still marks it.
func TestInboxDoneInEventTransaction(t *testing.T) {
	w := newWorld(t, func(c *lifecycle.Config) { c.InboxDone = true })
	seed(w)
	set := googleSET(t, "j1", events.TypeAccountDisabled, issSub(subA), `"reason": "hijacking"`)
	e, _, err := w.db.PutInbox(w.ctx, riscd.InboxEntry{
		Transmitter: transmitter, Iss: set.Iss, JTI: set.JTI, Subject: set.Key(), Types: set.Types(),
		Raw: "header.payload.signature", Claims: []byte(`{}`), ReceivedAt: w.clock.Now(),
		Attempts: 2,
	})
	if err != nil {
		t.Fatalf("PutInbox: %v", err)
	}
	handle := func(last bool) {
		t.Helper()
		d := dispatch.Delivery{Entry: dispatch.Entry{ID: e.ID, Transmitter: transmitter, Attempts: 2}, SET: set, Attempt: 3, Last: last}
		if err := w.lc.Handler().Handle(w.ctx, d); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	handle(false)
	if got, err := w.db.InboxEntry(w.ctx, e.ID); err != nil || got.Status != riscd.InboxPending {
		t.Fatalf("after a handler that is not the last: entry %+v, %v; want pending", got, err)
	}
	audited := len(w.audit())
	w.clock.Advance(time.Second)
	handle(true)
	got, err := w.db.InboxEntry(w.ctx, e.ID)
	if err != nil {
		t.Fatalf("InboxEntry: %v", err)
	}
	if got.Status != riscd.InboxDone || !got.DoneAt.Equal(w.clock.Now()) || got.Attempts != 3 {
		t.Errorf("entry = status %s, done at %v, attempts %d; want done at %v, attempts 3", got.Status, got.DoneAt, got.Attempts, w.clock.Now())
	}
	if n := len(w.audit()); n != audited {
		t.Errorf("redelivery audited again: %d entries, want %d", n, audited)
	}
	handle(true) // done already: left as it is
	if again, err := w.db.InboxEntry(w.ctx, e.ID); err != nil || again.Attempts != 3 || !again.DoneAt.Equal(got.DoneAt) {
		t.Errorf("a done entry was written again: %+v, %v", again, err)
	}
}

// Without InboxDone the handler leaves the entry to the Queue's Done.
func TestInboxDoneOff(t *testing.T) {
	w := newWorld(t, nil)
	seed(w)
	set := googleSET(t, "j1", events.TypeAccountDisabled, issSub(subA), `"reason": "hijacking"`)
	e, _, err := w.db.PutInbox(w.ctx, riscd.InboxEntry{
		Transmitter: transmitter, Iss: set.Iss, JTI: set.JTI, Subject: set.Key(), Types: set.Types(),
		Raw: "header.payload.signature", Claims: []byte(`{}`), ReceivedAt: w.clock.Now(),
	})
	if err != nil {
		t.Fatalf("PutInbox: %v", err)
	}
	d := dispatch.Delivery{Entry: dispatch.Entry{ID: e.ID, Transmitter: transmitter}, SET: set, Attempt: 1, Last: true}
	if err := w.lc.Handler().Handle(w.ctx, d); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, err := w.db.InboxEntry(w.ctx, e.ID); err != nil || got.Status != riscd.InboxPending {
		t.Errorf("entry %+v, %v; want pending", got, err)
	}
}
