package workqueue

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/riscd/riscd/internal/locks"
)

// Two queues over one store whose items they claim (as two replicas do):
// every item is handled exactly once, and each key's items in ID order,
// although both queues list every item.
func TestClaimTwoQueuesShareTheWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight := map[string]int{}
		var problems []string
		src := newFakeSource(func(_ context.Context, it *Item[string]) error {
			mu.Lock()
			inFlight[it.Key]++
			if inFlight[it.Key] > 1 {
				problems = append(problems, it.Key+": two items at once")
			}
			mu.Unlock()
			time.Sleep(time.Second)
			mu.Lock()
			inFlight[it.Key]--
			mu.Unlock()
			return nil
		})
		var ids []uint64
		for range 4 {
			for _, k := range []string{"a", "b", "c"} {
				ids = append(ids, src.add(k))
			}
		}
		shared := &locks.Set{}
		a := &claimingSource{fakeSource: src, locks: shared}
		b := &claimingSource{fakeSource: src, locks: shared}
		start(t, Config[string]{Source: a, Workers: 3, PollInterval: 100 * time.Millisecond})
		start(t, Config[string]{Source: b, Workers: 3, PollInterval: 100 * time.Millisecond})
		time.Sleep(time.Minute)
		synctest.Wait()

		for _, id := range ids {
			if got := src.status(id); got != "done" {
				t.Errorf("item %d is %s, want done", id, got)
			}
		}
		got := src.ids()
		seen := map[int]bool{}
		last := map[string]int{}
		for _, id := range got {
			if seen[id] {
				t.Errorf("item %d handled twice (calls %v)", id, got)
			}
			seen[id] = true
			key := src.items[uint64(id)].it.Key
			if id < last[key] {
				t.Errorf("key %s: item %d after %d", key, id, last[key])
			}
			last[key] = id
		}
		if len(got) != len(ids) {
			t.Errorf("%d handle calls, want %d", len(got), len(ids))
		}
		if busyA, _ := a.counts(); busyA == 0 {
			if busyB, _ := b.counts(); busyB == 0 {
				t.Error("no claim was ever refused: the queues did not contend")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Error(problems)
		}
		if n := len(src.failures()); n != 0 {
			t.Errorf("%d failures recorded, want none", n)
		}
	})
}

// A queue stopped in the middle of an item releases its claim, counting no
// attempt; another queue, refused while it held it, then does the work.
func TestClaimTakenOverWhenAQueueStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(nil)
		id := src.add("a")
		shared := &locks.Set{}
		started := make(chan struct{})
		a := &claimingSource{fakeSource: src, locks: shared, work: func(ctx context.Context, _ *Item[string]) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}}
		b := &claimingSource{fakeSource: src, locks: shared}
		_, stopA := start(t, Config[string]{Source: a})
		<-started
		start(t, Config[string]{Source: b, PollInterval: time.Second})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if busy, _ := b.counts(); busy == 0 {
			t.Fatal("the second queue never tried the item held by the first")
		}
		if got := src.status(id); got != "pending" || len(src.calls()) != 1 {
			t.Fatalf("while the first queue holds it: item %s after %d calls, want pending after 1", got, len(src.calls()))
		}
		stopA()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		calls := src.calls()
		if got := src.status(id); got != "done" || len(calls) != 2 || calls[1].attempt != 1 {
			t.Errorf("item %s after calls %+v, want done by the second queue at attempt 1", got, calls)
		}
		if n := len(src.failures()); n != 0 {
			t.Errorf("%d failures recorded, want none (shutdown and busy claims count no attempt)", n)
		}
	})
}

// An item whose key has an earlier pending item the queue did not list
// (committed after the queue read past it) waits for it: the queue reads
// everything again and runs the earlier item first.
func TestClaimBehindReadsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(nil)
		first := src.add("a")
		second := src.add("a")
		src.hideOnce = map[uint64]bool{first: true}
		c := &claimingSource{fakeSource: src, locks: &locks.Set{}}
		start(t, Config[string]{Source: c, PollInterval: time.Second, RescanInterval: time.Hour})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := src.ids(); !slices.Equal(got, []int{int(first), int(second)}) {
			t.Errorf("handled %v, want [%d %d]", got, first, second)
		}
		if _, behind := c.counts(); behind == 0 {
			t.Error("the later item was never refused: the test did not hide the earlier one")
		}
	})
}

// A claim finding the item's retry not yet due (another process failed
// it meanwhile) waits for it, with the store's attempt count, and keeps no
// claim.
func TestClaimSeesAnotherProcessFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(nil)
		id := src.add("a")
		c := &claimingSource{fakeSource: src, locks: &locks.Set{}}
		q, err := New(Config[string]{Source: c})
		if err != nil {
			t.Fatal(err)
		}
		// As listed before another process's failed attempt: none, due now.
		stale := Item[string]{ID: id, Key: "a", Value: "a"}
		next := time.Now().Add(time.Minute)
		src.mu.Lock()
		src.items[id].it.Attempts, src.items[id].it.NextAttempt = 3, next
		src.mu.Unlock()

		r := newScheduler(q).work(t.Context(), job[string]{key: "a", it: stale})
		if r.outcome != outcomeDeferred || r.it.Attempts != 3 || !r.it.NextAttempt.Equal(next) {
			t.Errorf("outcome %d, attempts %d, next %v; want deferred to the store's retry %v with attempts 3",
				r.outcome, r.it.Attempts, r.it.NextAttempt, next)
		}
		if n := len(src.calls()); n != 0 {
			t.Errorf("%d handle calls before the retry is due, want 0", n)
		}
		release, ok, _ := c.locks.TryLock(t.Context(), "key:a")
		if !ok {
			t.Fatal("the claim was kept after deferring")
		}
		release()
	})
}
