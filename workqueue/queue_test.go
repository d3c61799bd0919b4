package workqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

// Items of one key run one at a time in ID order; keys run in parallel,
// never more than Workers at once.
func TestFIFOPerKeyParallelKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight := map[string]int{}
		total, peak := 0, 0
		last := map[string]uint64{}
		var problems []string
		src := newFakeSource(func(_ context.Context, it *Item[string]) error {
			mu.Lock()
			inFlight[it.Key]++
			total++
			peak = max(peak, total)
			if inFlight[it.Key] > 1 {
				problems = append(problems, it.Key+": two items at once")
			}
			if it.ID <= last[it.Key] {
				problems = append(problems, fmt.Sprintf("%s: item %d after %d", it.Key, it.ID, last[it.Key]))
			}
			last[it.Key] = it.ID
			mu.Unlock()
			time.Sleep(time.Second)
			mu.Lock()
			inFlight[it.Key]--
			total--
			mu.Unlock()
			return nil
		})
		var ids []uint64
		for range 3 {
			for _, k := range []string{"a", "b", "c"} {
				ids = append(ids, src.add(k))
			}
		}
		start(t, Config[string]{Source: src, Workers: 2})
		time.Sleep(time.Minute)
		synctest.Wait()
		for _, id := range ids {
			if got := src.status(id); got != "done" {
				t.Errorf("item %d is %s, want done", id, got)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Error(p)
		}
		if peak != 2 {
			t.Errorf("at most %d items ran at once, want 2 (Workers)", peak)
		}
	})
}

// A failure is retried after the backoff, which doubles per attempt; the
// source records each failed attempt with its retry time.
func TestRetryAfterBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(func(_ context.Context, it *Item[string]) error {
			if it.Attempts < 2 {
				return errors.New("upstream down")
			}
			return nil
		})
		id := src.add("a")
		t0 := time.Now()
		start(t, Config[string]{Source: src, BackoffBase: 10 * time.Second, BackoffMax: time.Hour})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := src.status(id); got != "done" {
			t.Fatalf("item is %s, want done", got)
		}
		calls := src.calls()
		if len(calls) != 3 {
			t.Fatalf("Handle called %d times, want 3: %+v", len(calls), calls)
		}
		for i, c := range calls {
			if c.attempt != i+1 {
				t.Errorf("call %d: attempt %d, want %d", i, c.attempt, i+1)
			}
		}
		if d := calls[0].at.Sub(t0); d != 0 {
			t.Errorf("first attempt after %v, want at once", d)
		}
		for i, want := range []time.Duration{10 * time.Second, 20 * time.Second} {
			if d := calls[i+1].at.Sub(calls[i].at); d < want/2 || d > want {
				t.Errorf("retry %d came %v after the failure, want within [%v, %v]", i+1, d, want/2, want)
			}
		}
		for i, f := range src.failures() {
			if f.Attempt != i+1 || f.Park || f.Msg != "upstream down" || !f.Next.Equal(calls[i+1].at) {
				t.Errorf("Failed call %d: %+v, want attempt %d, retried at its Next", i, f, i+1)
			}
		}
	})
}

// After MaxAttempts failures the item is parked and the key's next item
// runs; a Permanent error parks at once.
func TestParking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var src *fakeSource
		src = newFakeSource(func(_ context.Context, it *Item[string]) error {
			switch it.ID {
			case 1:
				return errors.New("always fails")
			case 3:
				return Permanent(errors.New("bad data"))
			}
			return nil
		})
		bad, good, perm, after := src.add("a"), src.add("a"), src.add("b"), src.add("b")
		start(t, Config[string]{Source: src, MaxAttempts: 3, BackoffBase: time.Second})
		time.Sleep(time.Minute)
		synctest.Wait()
		for id, want := range map[uint64]string{bad: "parked", good: "done", perm: "parked", after: "done"} {
			if got := src.status(id); got != want {
				t.Errorf("item %d is %s, want %s", id, got, want)
			}
		}
		var got []string
		for _, f := range src.failures() {
			got = append(got, fmt.Sprintf("%d/%v", f.Attempt, f.Park))
		}
		if want := []string{"1/false", "1/true", "2/false", "3/true"}; !slices.Equal(sortedCopy(got), want) {
			t.Errorf("Failed calls %v, want %v", got, want)
		}
		var order []int
		for _, id := range src.ids() {
			if id == int(bad) || id == int(good) {
				order = append(order, id)
			}
		}
		if want := []int{int(bad), int(bad), int(bad), int(good)}; !slices.Equal(order, want) {
			t.Errorf("key a ran %v, want the bad item 3 times then the good one", order)
		}
	})
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// The source's Failed may give up sooner (as at a deadline) and may move
// the retry time (as to the deadline); the queue follows what it returns.
func TestFailedDecides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(func(context.Context, *Item[string]) error { return errors.New("down") })
		src.failed = func(f Failure) Failure {
			if f.Attempt == 2 {
				f.Park = true
				return f
			}
			f.Next = time.Now().Add(3 * time.Second)
			return f
		}
		id, next := src.add("a"), src.add("a")
		src.setWork(func(_ context.Context, it *Item[string]) error {
			if it.ID == next {
				return nil
			}
			return errors.New("down")
		})
		start(t, Config[string]{Source: src, BackoffBase: time.Hour, BackoffMax: time.Hour})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := src.status(id); got != "parked" {
			t.Errorf("item is %s, want parked after the source gave up", got)
		}
		if got := src.status(next); got != "done" {
			t.Errorf("the key's next item is %s, want done", got)
		}
		calls := src.calls()
		if len(calls) != 3 || calls[1].at.Sub(calls[0].at) != 3*time.Second {
			t.Errorf("calls %+v, want the retry 3s after the first attempt (the source's Next), not an hour", calls)
		}
	})
}

// When recording success fails, only the record is retried: the work is
// not done again.
func TestDoneRetriedWithoutHandle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(nil)
		src.doneErrs = 2
		id := src.add("a")
		start(t, Config[string]{Source: src})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := src.status(id); got != "done" {
			t.Fatalf("item is %s, want done", got)
		}
		fails := src.failures()
		src.mu.Lock()
		defer src.mu.Unlock()
		if len(src.handles) != 1 || src.doneCalls[id] != 3 || len(fails) != 0 {
			t.Errorf("Handle %d times, Done %d times, Failed %d times; want 1, 3, 0", len(src.handles), src.doneCalls[id], len(fails))
		}
	})
}

// Notify reads new items at once; only Rescan brings back an item that was
// returned to pending, and forgets one resolved behind the queue's back.
func TestNotifyAndRescan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(func(context.Context, *Item[string]) error {
			return Permanent(errors.New("bad data"))
		})
		q, _ := start(t, Config[string]{Source: src, PollInterval: time.Hour, RescanInterval: time.Hour,
			BackoffBase: time.Hour, BackoffMax: time.Hour})
		synctest.Wait()

		parked := src.add("a")
		synctest.Wait()
		if n := len(src.calls()); n != 0 {
			t.Fatalf("%d calls before Notify, want 0", n)
		}
		q.Notify()
		synctest.Wait()
		if got := src.status(parked); got != "parked" {
			t.Fatalf("notified item is %s, want parked", got)
		}

		src.setWork(nil)
		src.unpark(parked)
		q.Notify()
		synctest.Wait()
		if got := src.status(parked); got != "pending" {
			t.Fatalf("item returned to pending is %s after Notify, want pending (Notify reads only new items)", got)
		}
		q.Rescan()
		synctest.Wait()
		if got := src.status(parked); got != "done" {
			t.Fatalf("item returned to pending is %s after Rescan, want done", got)
		}

		stuck := src.add("stuck")
		later := src.add("stuck")
		src.setWork(func(_ context.Context, it *Item[string]) error {
			if it.ID == stuck {
				return errors.New("down")
			}
			return nil
		})
		q.Notify()
		synctest.Wait()
		if got := src.status(later); got != "pending" {
			t.Fatalf("the stuck key's later item is %s, want pending behind the first", got)
		}
		src.setStatus(stuck, "done") // resolved by an operator
		q.Rescan()
		synctest.Wait()
		if got := src.status(later); got != "done" {
			t.Errorf("later item is %s after Rescan, want done", got)
		}
		n := 0
		for _, id := range src.ids() {
			if id == int(stuck) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the resolved item ran %d times, want 1", n)
		}
	})
}

// An attempt cut short by shutdown is not counted; the next run does it
// again, as attempt 1.
func TestShutdownNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(func(ctx context.Context, _ *Item[string]) error {
			<-ctx.Done()
			return ctx.Err()
		})
		id := src.add("a")
		_, stop := start(t, Config[string]{Source: src})
		synctest.Wait()
		stop()
		if got := src.status(id); got != "pending" || len(src.failures()) != 0 {
			t.Fatalf("item is %s with %d failures recorded, want pending and none", got, len(src.failures()))
		}
		src.setWork(nil)
		start(t, Config[string]{Source: src})
		synctest.Wait()
		calls := src.calls()
		if got := src.status(id); got != "done" || len(calls) != 2 || calls[1].attempt != 1 {
			t.Errorf("item %s after calls %+v, want done at a second attempt 1", got, calls)
		}
	})
}

// A panic in Handle is a failed attempt; its value, which may hold a
// secret, is not repeated unless it is a runtime error.
func TestHandlePanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(func(_ context.Context, it *Item[string]) error {
			if it.ID == 1 {
				panic("secret-value-123")
			}
			var m map[string]int
			m["x"] = 1
			return nil
		})
		src.add("a")
		src.add("b")
		start(t, Config[string]{Source: src, MaxAttempts: 1})
		synctest.Wait()
		if len(src.failures()) != 2 {
			t.Fatalf("Failed calls %+v, want 2", src.failures())
		}
		for _, f := range src.failures() {
			if !strings.Contains(f.Msg, "panicked") || strings.Contains(f.Msg, "secret-value") || !f.Park {
				t.Errorf("failure %q park %v: want a parked panic report without the panic value", f.Msg, f.Park)
			}
		}
		if msgs := src.failures()[0].Msg + src.failures()[1].Msg; !strings.Contains(msgs, "nil map") {
			t.Errorf("failures %q: want the runtime error reported", msgs)
		}
	})
}

// A long error is cut to MaxErrLen bytes without splitting a character.
func TestFailureMsgCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := strings.Repeat("é", MaxErrLen) // two bytes each
		src := newFakeSource(func(context.Context, *Item[string]) error { return errors.New("x" + long) })
		src.add("a")
		start(t, Config[string]{Source: src, MaxAttempts: 1})
		synctest.Wait()
		if len(src.failures()) != 1 {
			t.Fatalf("Failed calls %+v, want 1", src.failures())
		}
		msg := src.failures()[0].Msg
		if len(msg) > MaxErrLen || len(msg) < MaxErrLen-1 || !utf8.ValidString(msg) {
			t.Errorf("message of %d bytes (valid UTF-8: %v), want at most %d, cut at a rune boundary", len(msg), utf8.ValidString(msg), MaxErrLen)
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, _ := start(t, Config[string]{Source: newFakeSource(nil)})
		synctest.Wait()
		if err := q.Run(t.Context()); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
	})
}

func TestNewConfig(t *testing.T) {
	src := newFakeSource(nil)
	for name, cfg := range map[string]Config[string]{
		"no source":        {},
		"negative workers": {Source: src, Workers: -1},
		"negative backoff": {Source: src, BackoffBase: -time.Second},
		"negative poll":    {Source: src, PollInterval: -time.Second},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
	q, err := New(Config[string]{Source: src, BackoffBase: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := q.cfg
	if c.Workers != 4 || c.PageSize != 256 || c.BackoffMax != time.Hour || c.PollInterval != time.Second ||
		c.RescanInterval != time.Minute || c.MaxAttempts != 0 || c.Name != "workqueue" || c.Now == nil || c.Logger == nil {
		t.Errorf("defaults not filled: %+v", c)
	}
}

func TestPermanent(t *testing.T) {
	inner := errors.New("x")
	err := Permanent(inner)
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, inner) || err.Error() != "x" {
		t.Errorf("Permanent(x) = %v; Is(ErrPermanent)=%v Is(inner)=%v", err, errors.Is(err, ErrPermanent), errors.Is(err, inner))
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}

// An item waiting out its backoff runs at once when the source moves its
// retry time earlier (an operator's "retry now") and the queue rescans; a
// rescan that finds the same or a later time changes nothing.
func TestRescanTakesUpAnEarlierRetryTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(func(_ context.Context, it *Item[string]) error {
			if it.Attempts < 1 {
				return errors.New("app down")
			}
			return nil
		})
		id := src.add("a")
		q, _ := start(t, Config[string]{Source: src, PollInterval: time.Hour, RescanInterval: 24 * time.Hour,
			BackoffBase: time.Hour, BackoffMax: time.Hour})
		synctest.Wait()
		if got := len(src.calls()); got != 1 || src.status(id) != "pending" {
			t.Fatalf("%d calls, item %s; want 1 failed attempt, pending", got, src.status(id))
		}
		q.Rescan() // the store's retry time is the queue's: still waiting
		synctest.Wait()
		if got := len(src.calls()); got != 1 {
			t.Fatalf("%d calls after a rescan with the same retry time, want 1", got)
		}

		t0 := time.Now()
		src.setNextAttempt(id, t0)
		q.Rescan()
		synctest.Wait()
		calls := src.calls()
		if len(calls) != 2 || src.status(id) != "done" || !calls[1].at.Equal(t0) {
			t.Fatalf("calls %+v, item %s; want the second attempt at once (%v), done", calls, src.status(id), t0)
		}
	})
}

// An operator's "retry now" that reaches the queue while the item's attempt
// is in flight is not lost: when that attempt fails, the item is retried at
// the earlier time, not after its backoff.
func TestRetryNowDuringAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inAttempt := make(chan struct{})
		release := make(chan struct{})
		src := newFakeSource(func(_ context.Context, it *Item[string]) error {
			if it.Attempts < 1 {
				close(inAttempt)
				<-release
				return errors.New("app down")
			}
			return nil
		})
		id := src.add("a")
		q, _ := start(t, Config[string]{Source: src, PollInterval: time.Hour, RescanInterval: 24 * time.Hour,
			BackoffBase: time.Hour, BackoffMax: time.Hour})
		<-inAttempt
		t0 := time.Now()
		src.setNextAttempt(id, t0)
		q.Rescan()
		synctest.Wait()
		close(release)
		synctest.Wait()
		calls := src.calls()
		if len(calls) != 2 || src.status(id) != "done" || calls[1].at.After(t0.Add(time.Minute)) {
			t.Fatalf("calls %+v, item %s; want the second attempt at the retry time asked during the first, done", calls, src.status(id))
		}
	})
}
