package receiver_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/receiver"
)

// fakeInbox is an in-memory Inbox that can be made to fail.
type fakeInbox struct {
	mu      sync.Mutex
	entries map[[2]string]riscd.InboxEntry
	fail    error
	calls   int
}

func newFakeInbox() *fakeInbox { return &fakeInbox{entries: map[[2]string]riscd.InboxEntry{}} }

func (f *fakeInbox) PutInbox(_ context.Context, e riscd.InboxEntry) (riscd.InboxEntry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return riscd.InboxEntry{}, false, f.fail
	}
	k := [2]string{e.Iss, e.JTI}
	if old, ok := f.entries[k]; ok {
		return old, false, nil
	}
	e.ID = uint64(len(f.entries) + 1)
	f.entries[k] = e
	return e, true, nil
}

func (f *fakeInbox) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeInbox) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries)
}

func TestStoreFailureIsUnavailable(t *testing.T) {
	c := newClock()
	g := mustGoogle(t, c, mustRSAKeys(t, 1))
	inbox := newFakeInbox()
	var notified atomic.Int32
	cfg := baseConfig(t, c)
	cfg.Transmitters = []receiver.Transmitter{googleTransmitter(g)}
	cfg.Inbox = inbox
	cfg.Notify = func() { notified.Add(1) }
	ep := mustReceiver(t, cfg)
	waitReady(t, ep.r)

	tok := mustSign(t, g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
	inbox.setFail(errors.New("disk full"))
	a := post(t, ep.url, tok)
	wantUnavailable(t, a)
	if a.err == "" || a.desc == "" {
		t.Errorf("503 body = %q, want a JSON error", a.body)
	}
	if notified.Load() != 0 || inbox.len() != 0 {
		t.Fatalf("after a failed commit: notified %d, entries %d; want 0, 0", notified.Load(), inbox.len())
	}

	inbox.setFail(nil)
	wantAccepted(t, post(t, ep.url, tok))
	if notified.Load() != 1 || inbox.len() != 1 {
		t.Errorf("after recovery: notified %d, entries %d; want 1, 1", notified.Load(), inbox.len())
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	a := post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1")))
	wantUnavailable(t, a)
	if a.status == http.StatusAccepted {
		t.Fatal("202 without a durable commit")
	}
}
