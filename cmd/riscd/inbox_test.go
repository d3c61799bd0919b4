package main

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

const testClaims = `{"iss":"https://accounts.google.com/","aud":"x","iat":1508184845,"jti":"crash-1",
 "events":{"https://schemas.openid.net/secevent/risc/event-type/sessions-revoked":
  {"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com/","sub":"7375626A656374"}}}}`

// runDispatcher runs a dispatcher over the store's inbox with one handler
// until cond holds, lets it run for linger more, then stops it. It runs in a
// testing/synctest bubble: the linger passes on the bubble's clock and ends
// only once every goroutine waits, so whatever the dispatcher would do in
// that time it has done, however slow the machine.
func runDispatcher(t *testing.T, db *boltdb.DB, h dispatch.HandlerFunc, cond func() bool, linger time.Duration) {
	t.Helper()
	d, err := dispatch.New(dispatch.Config{
		Queue:       &inboxQueue{db: db, formats: map[string]events.Format{"google": events.FormatGoogle}, now: time.Now},
		Handlers:    []dispatch.Handler{h},
		BackoffBase: time.Hour, // no retry within this run
		BackoffMax:  time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	testkit.Eventually(t, "the dispatcher's condition", cond)
	time.Sleep(linger)
	synctest.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFailedEventIsHandledOnceAfterRestart: an event whose handler fails is
// kept pending with its attempt recorded; after the process restarts (the
// store is closed and reopened, a new dispatcher runs) it is handled exactly
// once and marked done.
func TestFailedEventIsHandledOnceAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		key, _, err := boltdb.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "riscd.db")
		open := func() *boltdb.DB {
			db, err := boltdb.Open(ctx, boltdb.Options{Path: path, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
		db := open()
		e, _, err := db.PutInbox(ctx, riscd.InboxEntry{
			Transmitter: "google", Iss: "https://accounts.google.com/", JTI: "crash-1",
			Subject: "s", Raw: "x.y.z", Claims: []byte(testClaims), ReceivedAt: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		attempted := func() bool {
			got, err := db.InboxEntry(ctx, e.ID)
			return err == nil && got.Attempts == 1
		}
		runDispatcher(t, db, func(context.Context, dispatch.Delivery) error { return errors.New("upstream down") }, attempted, 0)
		got, _ := db.InboxEntry(ctx, e.ID)
		if got.Status != riscd.InboxPending || got.LastError == "" {
			t.Fatalf("after a failed attempt: status %s, last error %q; want pending with the error", got.Status, got.LastError)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db = open() // the restart
		defer db.Close()
		var calls atomic.Int32
		isDone := func() bool {
			got, err := db.InboxEntry(ctx, e.ID)
			return err == nil && got.Status == riscd.InboxDone
		}
		// The retry is due in an hour: a restart resumes it at once only when
		// due, so make it due, as the clock would.
		if _, err := db.UpdateInbox(ctx, e.ID, func(x riscd.InboxEntry) (riscd.InboxEntry, error) {
			x.NextAttemptAt = time.Time{}
			return x, nil
		}); err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, db, func(_ context.Context, d dispatch.Delivery) error {
			if d.SET.JTI != "crash-1" {
				t.Errorf("delivered jti %q", d.SET.JTI)
			}
			calls.Add(1)
			return nil
		}, isDone, 200*time.Millisecond) // a second delivery would land in the lingering time
		if n := calls.Load(); n != 1 {
			t.Errorf("handler ran %d times after the restart, want exactly 1", n)
		}
		if err := db.Check(ctx); err != nil {
			t.Errorf("store check: %v", err)
		}
	})
}

// A finished entry shows the attempts made: the failed ones and the one that
// succeeded (events list showed ATTEMPTS 0 for every done event).
func TestDoneEntryCountsItsAttempts(t *testing.T) {
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := &inboxQueue{db: db, now: time.Now}
	for _, tc := range []struct {
		jti    string
		failed int
	}{{"first-time", 0}, {"third-time", 2}} {
		e, _, err := db.PutInbox(context.Background(), riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: tc.jti, Raw: "h.p.s", Claims: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.failed {
			if err := q.Failed(context.Background(), e.ID, i+1, "boom", time.Now(), false); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // Done is idempotent: a second call counts nothing more
			if err := q.Done(context.Background(), e.ID); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.InboxEntry(context.Background(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != riscd.InboxDone || got.Attempts != tc.failed+1 {
			t.Errorf("%s: status %s, attempts %d; want done after %d attempts", tc.jti, got.Status, got.Attempts, tc.failed+1)
		}
	}
}
