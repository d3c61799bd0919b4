package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store"
	"github.com/riscd/riscd/store/boltdb"
)

// openReplicaStore opens a bbolt store for tests of several replicas: the
// dispatchers over it contend on its one Locker, as replicas over one
// database do.
func openReplicaStore(t *testing.T) *boltdb.DB {
	t.Helper()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// putEvent stores a received SET of subject with jti.
func putEvent(t *testing.T, db riscd.DB, subject, jti string) riscd.InboxEntry {
	t.Helper()
	e, _, err := db.PutInbox(context.Background(), riscd.InboxEntry{
		Transmitter: "google", Iss: "https://accounts.google.com/", JTI: jti, Subject: subject,
		Raw: "x.y.z", Claims: []byte(strings.Replace(testClaims, "crash-1", jti, 1)), ReceivedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// startReplica runs a dispatcher over db's inbox with h, handling one
// entry at a time (so that, with more subjects pending than one replica
// handles, the other replica has work whatever the scheduling); stop
// cancels it and waits for it to return.
func startReplica(t *testing.T, db riscd.DB, h dispatch.HandlerFunc) (stop func()) {
	t.Helper()
	d, err := dispatch.New(dispatch.Config{
		Queue:        &inboxQueue{db: db, formats: map[string]events.Format{"google": events.FormatGoogle}, now: time.Now},
		Handlers:     []dispatch.Handler{h},
		PollInterval: 100 * time.Millisecond,
		Workers:      1,
		BackoffBase:  time.Hour,
		BackoffMax:   time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Two dispatchers over one store (two replicas) with a slow handler: every
// event is handled exactly once, one at a time per subject and in arrival
// order, whichever replica stored it and whether it came before or after
// they started; none is told of the later ones (Notify), they poll.
func TestReplicasHandleEachEventOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openReplicaStore(t)
		var mu sync.Mutex
		handled := map[string][]string{} // jti -> replicas
		order := map[string][]uint64{}   // subject -> entry IDs in handling order
		inFlight := map[string]int{}
		var problems []string
		handler := func(name string) dispatch.HandlerFunc {
			return func(ctx context.Context, d dispatch.Delivery) error {
				s := d.Entry.Subject
				mu.Lock()
				handled[d.SET.JTI] = append(handled[d.SET.JTI], name)
				order[s] = append(order[s], d.Entry.ID)
				if inFlight[s]++; inFlight[s] > 1 {
					problems = append(problems, "two events of "+s+" at once")
				}
				mu.Unlock()
				time.Sleep(time.Second)
				mu.Lock()
				inFlight[s]--
				mu.Unlock()
				return nil
			}
		}
		var want []riscd.InboxEntry
		add := func(round int) {
			for i := range 3 {
				for _, s := range []string{"s1", "s2", "s3"} {
					want = append(want, putEvent(t, db, s, fmt.Sprintf("%s-%d-%d", s, round, i)))
				}
			}
		}
		add(0)
		startReplica(t, db, handler("a"))
		startReplica(t, db, handler("b"))
		time.Sleep(1500 * time.Millisecond)
		add(1) // while the first are being handled
		time.Sleep(time.Minute)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		replicas := map[string]bool{}
		for _, e := range want {
			got := handled[e.JTI]
			if len(got) != 1 {
				t.Errorf("event %s handled by %v, want exactly one replica", e.JTI, got)
			}
			for _, r := range got {
				replicas[r] = true
			}
			if cur, err := db.InboxEntry(context.Background(), e.ID); err != nil || cur.Status != riscd.InboxDone {
				t.Errorf("entry %d: %v %v, want done", e.ID, cur.Status, err)
			}
		}
		if len(replicas) != 2 {
			t.Errorf("events handled by replicas %v, want both to take part", replicas)
		}
		for s, ids := range order {
			for i := 1; i < len(ids); i++ {
				if ids[i] < ids[i-1] {
					t.Errorf("subject %s handled in order %v, want arrival order", s, ids)
					break
				}
			}
		}
		if len(problems) > 0 {
			t.Error(problems)
		}
	})
}

// A replica stopped while it handles an event releases the subject's lock
// without recording anything; the other replica, kept out until then,
// handles the event, as the first attempt, and the subject's next event
// after it.
func TestReplicaTakesOverAStoppedOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openReplicaStore(t)
		first := putEvent(t, db, "s", "first")
		second := putEvent(t, db, "s", "second")
		started := make(chan struct{})
		stopA := startReplica(t, db, func(ctx context.Context, d dispatch.Delivery) error {
			close(started)
			<-ctx.Done() // the replica dies mid-event
			return ctx.Err()
		})
		<-started
		var mu sync.Mutex
		var got []dispatch.Delivery
		startReplica(t, db, func(_ context.Context, d dispatch.Delivery) error {
			mu.Lock()
			got = append(got, d)
			mu.Unlock()
			return nil
		})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		mu.Lock()
		if len(got) != 0 {
			t.Fatalf("the second replica handled %d events while the first held the subject", len(got))
		}
		mu.Unlock()

		stopA()
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || got[0].Entry.ID != first.ID || got[1].Entry.ID != second.ID || got[0].Attempt != 1 {
			t.Fatalf("the second replica handled %+v, want entries %d (attempt 1) then %d", got, first.ID, second.ID)
		}
		for _, id := range []uint64{first.ID, second.ID} {
			if e, err := db.InboxEntry(context.Background(), id); err != nil || e.Status != riscd.InboxDone || e.Attempts != 1 {
				t.Errorf("entry %d: %s after %d attempts (%v), want done after one (no failed one)", id, e.Status, e.Attempts, err)
			}
		}
	})
}

// inboxQueue.Claim holds the subject among replicas, sees what another
// replica did, and makes a later entry wait for an earlier pending one of
// its subject.
func TestInboxClaim(t *testing.T) {
	ctx := context.Background()
	db := openReplicaStore(t)
	q := &inboxQueue{db: db, formats: map[string]events.Format{}, now: time.Now}
	first, second := putEvent(t, db, "s", "one"), putEvent(t, db, "s", "two")
	loose := putEvent(t, db, "", "loose")

	if _, _, err := q.Claim(ctx, q.entry(second)); !errors.Is(err, dispatch.ErrBehind) {
		t.Errorf("claim of the later entry = %v, want ErrBehind", err)
	}
	cur, release, err := q.Claim(ctx, q.entry(first))
	if err != nil || cur.ID != first.ID {
		t.Fatalf("claim of the first entry = %d, %v", cur.ID, err)
	}
	if _, _, err := q.Claim(ctx, q.entry(first)); !errors.Is(err, dispatch.ErrBusy) {
		t.Errorf("second claim while held = %v, want ErrBusy", err)
	}
	_, releaseLoose, err := q.Claim(ctx, q.entry(loose))
	if err != nil {
		t.Errorf("an entry without subject waits for none: %v", err)
	} else {
		releaseLoose()
	}
	if err := q.Done(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	release()
	if _, _, err := q.Claim(ctx, q.entry(first)); !errors.Is(err, dispatch.ErrGone) {
		t.Errorf("claim of a done entry = %v, want ErrGone", err)
	}
	// Another replica failed the second entry: the claim returns its state.
	next := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := q.Failed(ctx, second.ID, 2, "down", next, false); err != nil {
		t.Fatal(err)
	}
	cur, release, err = q.Claim(ctx, q.entry(second))
	if err != nil {
		t.Fatal(err)
	}
	release()
	if cur.Attempts != 2 || !cur.NextAttempt.Equal(next) {
		t.Errorf("claimed entry has %d attempts, next %v; want the store's 2 and %v", cur.Attempts, cur.NextAttempt, next)
	}
}

// On a store shared by replicas, inboxQueue.Claim on a replica that does
// not lead the dispatch leaves every entry, its own receipts among them,
// to the leader for the grace period, without a lock or a read; after the
// grace it takes up an entry still pending, and one the leader finished is
// gone without taking the lock. The leader claims every entry at once.
func TestInboxClaimGrace(t *testing.T) {
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL's: its InboxWriter returns the entry's ID.
	db, err := store.Open(ctx, store.Options{Engine: store.EnginePostgres, URL: testkit.PostgresDatabase(t, ""), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var skew atomic.Int64 // how far this replica's clock is ahead
	q := &inboxQueue{db: db, formats: map[string]events.Format{}, grace: claimGrace,
		now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }}
	pending := putEvent(t, db, "a", "pending")
	finished := putEvent(t, db, "b", "finished")
	mine, created, err := db.Inbox().PutInbox(ctx, riscd.InboxEntry{
		Transmitter: "google", Iss: "https://accounts.google.com/", JTI: "mine", Subject: "c",
		Raw: "x.y.z", Claims: []byte(strings.Replace(testClaims, "crash-1", "mine", 1)), ReceivedAt: time.Now(),
	})
	if err != nil || !created {
		t.Fatal(created, err)
	}

	for _, e := range []riscd.InboxEntry{pending, mine} {
		if _, _, err := q.Claim(ctx, q.entry(e)); !errors.Is(err, dispatch.ErrBusy) {
			t.Errorf("claim of new entry %d by a replica not leading = %v, want ErrBusy", e.ID, err)
		}
	}
	q.leading.Store(true)
	_, release, err := q.Claim(ctx, q.entry(pending))
	if err != nil {
		t.Fatalf("claim of a new entry by the leading replica = %v", err)
	}
	release()
	q.leading.Store(false)

	skew.Store(int64(claimGrace + time.Second))
	_, release, err = q.Claim(ctx, q.entry(mine))
	if err != nil {
		t.Fatalf("claim of an entry after the grace = %v", err)
	}
	release()
	// The leader holds the subject of an entry it has finished: the claim
	// finds the entry done before asking for the lock.
	unlock, ok, err := db.TryLock(ctx, inboxLock(q.entry(finished)))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	defer unlock()
	if _, err := db.UpdateInbox(ctx, finished.ID, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.DoneAt = riscd.InboxDone, time.Now()
		return e, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Claim(ctx, q.entry(finished)); !errors.Is(err, dispatch.ErrGone) {
		t.Errorf("claim of an entry another replica finished = %v, want ErrGone", err)
	}
}

// Of two replicas over one store, one leads the dispatch: the first to
// try, which rescans once on taking the lead; its dispatcher hears of new
// entries, the other's does not. When the leader resigns, the other takes
// the lead at its next round and rescans.
func TestDispatchLead(t *testing.T) {
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.PostgresDatabase(t, "")
	type replica struct {
		q        *inboxQueue
		lead     *leader
		rescans  int
		notifies int
		notify   func()
	}
	var rs [2]*replica
	for i := range rs {
		db, err := store.Open(ctx, store.Options{Engine: store.EnginePostgres, URL: url, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r := &replica{q: &inboxQueue{db: db, grace: claimGrace, now: time.Now}, lead: newLeader(db, "dispatch", slog.New(slog.DiscardHandler))}
		r.notify = r.q.notified(func() { r.notifies++ })
		rs[i] = r
	}
	a, b := rs[0], rs[1]
	round := func(r *replica) { r.q.leadRound(ctx, r.lead, func() { r.rescans++ }) }
	round(a)
	round(b)
	round(a)
	round(b)
	a.notify()
	b.notify()
	if !a.q.leading.Load() || b.q.leading.Load() || a.rescans != 1 || b.rescans != 0 || a.notifies != 1 || b.notifies != 0 {
		t.Fatalf("leading %v/%v, rescans %d/%d, notifications heard %d/%d; want the first replica alone leading, rescanned once and notified",
			a.q.leading.Load(), b.q.leading.Load(), a.rescans, b.rescans, a.notifies, b.notifies)
	}
	a.lead.resign()
	round(b)
	round(a)
	b.notify()
	if !b.q.leading.Load() || a.q.leading.Load() || b.rescans != 1 || b.notifies != 1 {
		t.Fatalf("after the leader resigned: leading %v/%v, the second's rescans %d, notifications %d; want the second alone leading, rescanned once and notified",
			a.q.leading.Load(), b.q.leading.Load(), b.rescans, b.notifies)
	}
}

// viewCounter counts a DB's View and Batch calls.
type viewCounter struct {
	riscd.DB
	views, batches atomic.Int32
}

func (c *viewCounter) View(ctx context.Context, fn func(riscd.ReadTx) error) error {
	c.views.Add(1)
	return c.DB.View(ctx, fn)
}

func (c *viewCounter) Batch(ctx context.Context, fn func(riscd.Tx) error) error {
	c.batches.Add(1)
	return c.DB.Batch(ctx, fn)
}

// inboxQueue.Done finds an entry the handler marked done with one read and
// no transaction, and writes one it did not mark (a dry run).
func TestInboxDoneReadsInOneStatement(t *testing.T) {
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.Open(ctx, store.Options{Engine: store.EnginePostgres, URL: testkit.PostgresDatabase(t, ""), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	db := &viewCounter{DB: pg}
	q := &inboxQueue{db: db, formats: map[string]events.Format{}, grace: claimGrace, now: time.Now}
	marked := putEvent(t, pg, "a", "marked")
	if _, err := pg.UpdateInbox(ctx, marked.ID, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.DoneAt, e.Attempts = riscd.InboxDone, time.Now(), 1
		return e, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := q.Done(ctx, marked.ID); err != nil {
		t.Fatal(err)
	}
	if v, b := db.views.Load(), db.batches.Load(); v != 0 || b != 0 {
		t.Errorf("Done of an entry marked done ran %d View and %d Batch transactions, want none", v, b)
	}
	if e, err := pg.InboxEntry(ctx, marked.ID); err != nil || e.Status != riscd.InboxDone || e.Attempts != 1 {
		t.Errorf("marked entry after Done: %+v, %v; want it done with 1 attempt, unchanged", e, err)
	}

	unmarked := putEvent(t, pg, "b", "unmarked")
	if err := q.Done(ctx, unmarked.ID); err != nil {
		t.Fatal(err)
	}
	if e, err := pg.InboxEntry(ctx, unmarked.ID); err != nil || e.Status != riscd.InboxDone || e.Attempts != 1 {
		t.Errorf("unmarked entry after Done: status %s, %d attempts, %v; want it done with 1 attempt", e.Status, e.Attempts, err)
	}
}
