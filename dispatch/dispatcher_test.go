package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/events"
)

func TestDispatcherOrderPerSubject(t *testing.T) {
	q := newFakeQueue()
	subjects := []string{"opaque:a", "opaque:b", "opaque:c", "opaque:d", "opaque:e"}
	var want []uint64
	for i := 0; i < 8; i++ {
		for _, s := range subjects {
			want = append(want, q.add(s))
		}
	}
	var mu sync.Mutex
	inFlight := map[string]int{}
	last := map[string]uint64{}
	var problems []string
	h := HandlerFunc(func(_ context.Context, d Delivery) error {
		s := d.Entry.Subject
		mu.Lock()
		inFlight[s]++
		if inFlight[s] > 1 {
			problems = append(problems, fmt.Sprintf("%s: two entries at once", s))
		}
		if d.Entry.ID <= last[s] {
			problems = append(problems, fmt.Sprintf("%s: entry %d after %d", s, d.Entry.ID, last[s]))
		}
		last[s] = d.Entry.ID
		mu.Unlock()
		time.Sleep(100 * time.Microsecond) // widen the window for overlap
		mu.Lock()
		inFlight[s]--
		mu.Unlock()
		return nil
	})
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{h}, Workers: 4})
	waitFor(t, "every entry done", func() bool {
		for _, id := range want {
			if q.status(id) != "done" {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	_, done := q.calls()
	for _, id := range want {
		if done[id] != 1 {
			t.Errorf("entry %d: Done called %d times, want 1", id, done[id])
		}
	}
}

// Two subjects run at the same time: each handler waits for the other.
func TestDispatcherParallelSubjects(t *testing.T) {
	q := newFakeQueue()
	a, b := q.add("opaque:a"), q.add("opaque:b")
	arrived := map[uint64]chan struct{}{a: make(chan struct{}), b: make(chan struct{})}
	other := map[uint64]uint64{a: b, b: a}
	h := HandlerFunc(func(ctx context.Context, d Delivery) error {
		close(arrived[d.Entry.ID])
		select {
		case <-arrived[other[d.Entry.ID]]:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{h}, Workers: 2, HandlerTimeout: time.Hour})
	waitFor(t, "both subjects handled together", func() bool { return q.status(a) == "done" && q.status(b) == "done" })
}

func TestDispatcherRetryThenSuccess(t *testing.T) {
	q := newFakeQueue()
	id := q.add("opaque:a")
	rec := &recorder{fail: func(d Delivery, n int) error {
		if n < 2 {
			return fmt.Errorf("upstream down (try %d)", n+1)
		}
		return nil
	}}
	d, _ := startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}})
	waitFor(t, "entry done", func() bool { return q.status(id) == "done" })

	fails := q.failsFor(id)
	if len(fails) != 2 {
		t.Fatalf("Failed called %d times, want 2: %+v", len(fails), fails)
	}
	for i, f := range fails {
		if f.attempts != i+1 || f.park {
			t.Errorf("Failed call %d: attempts %d park %v; want %d, false", i, f.attempts, f.park, i+1)
		}
		if !strings.Contains(f.lastErr, "upstream down") {
			t.Errorf("Failed call %d: lastErr %q lacks the handler's error", i, f.lastErr)
		}
	}
	attempts := []int{}
	for _, c := range rec.all() {
		attempts = append(attempts, c.Attempt)
	}
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Errorf("delivery attempts = %v, want [1 2 3]", attempts)
	}

	// A later entry flows through; the finished one is never delivered again.
	next := q.add("opaque:a")
	d.Notify()
	waitFor(t, "later entry done", func() bool { return q.status(next) == "done" })
	if n := rec.count(id); n != 3 {
		t.Errorf("handler saw the entry %d times, want 3", n)
	}
	if _, done := q.calls(); done[id] != 1 {
		t.Errorf("Done called %d times, want 1", done[id])
	}
}

// Within one run, a retry skips handlers that already succeeded.
func TestDispatcherRetrySkipsSucceededHandlers(t *testing.T) {
	q := newFakeQueue()
	id := q.add("opaque:a")
	first := &recorder{}
	second := &recorder{fail: func(_ Delivery, n int) error {
		if n == 0 {
			return errors.New("webhook down")
		}
		return nil
	}}
	third := &recorder{}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{first, second, third}})
	waitFor(t, "entry done", func() bool { return q.status(id) == "done" })
	if got := []int{first.count(id), second.count(id), third.count(id)}; fmt.Sprint(got) != "[1 2 1]" {
		t.Errorf("handler calls = %v, want [1 2 1]", got)
	}
}

func TestDispatcherLastHandler(t *testing.T) {
	q := newFakeQueue()
	id := q.add("opaque:a")
	first := &recorder{}
	second := &recorder{fail: func(_ Delivery, n int) error {
		if n == 0 {
			return errors.New("store down")
		}
		return nil
	}}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{first, second}})
	waitFor(t, "entry done", func() bool { return q.status(id) == "done" })
	for _, d := range first.all() {
		if d.Last {
			t.Errorf("first handler's delivery %+v has Last set", d)
		}
	}
	got := second.all()
	if len(got) != 2 || !got[0].Last || !got[1].Last {
		t.Errorf("last handler's deliveries = %+v, want 2 with Last set", got)
	}
}

func TestDispatcherParksAfterMaxAttempts(t *testing.T) {
	q := newFakeQueue()
	bad, good := q.add("opaque:a"), q.add("opaque:a")
	rec := &recorder{fail: func(d Delivery, _ int) error {
		if d.Entry.ID == bad {
			return errors.New("always fails")
		}
		return nil
	}}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}, MaxAttempts: 3})
	waitFor(t, "later entry of the subject done", func() bool { return q.status(good) == "done" })
	if got := q.status(bad); got != "parked" {
		t.Errorf("failing entry status = %q, want parked", got)
	}
	fails := q.failsFor(bad)
	var got []string
	for _, f := range fails {
		got = append(got, fmt.Sprintf("%d/%v", f.attempts, f.park))
	}
	if want := "[1/false 2/false 3/true]"; fmt.Sprint(got) != want {
		t.Errorf("Failed calls = %v, want %s", got, want)
	}
	if ids := rec.ids(); fmt.Sprint(ids) != fmt.Sprint([]uint64{bad, bad, bad, good}) {
		t.Errorf("delivery order = %v, want the bad entry 3 times then the good one", ids)
	}
}

// With a single worker and a subject waiting an hour for its retry, other
// subjects still flow.
func TestDispatcherFailingSubjectDoesNotBlockOthers(t *testing.T) {
	q := newFakeQueue()
	stuck := q.add("opaque:stuck")
	stuckLater := q.add("opaque:stuck")
	var others []uint64
	for i := 0; i < 5; i++ {
		others = append(others, q.add(fmt.Sprintf("opaque:other%d", i)))
	}
	rec := &recorder{fail: func(d Delivery, _ int) error {
		if d.Entry.Subject == "opaque:stuck" {
			return errors.New("down")
		}
		return nil
	}}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}, Workers: 1,
		BackoffBase: time.Hour, BackoffMax: time.Hour})
	waitFor(t, "other subjects done", func() bool {
		for _, id := range others {
			if q.status(id) != "done" {
				return false
			}
		}
		return true
	})
	if n := rec.count(stuck); n != 1 {
		t.Errorf("stuck entry delivered %d times, want 1 (its retry is an hour away)", n)
	}
	if n := rec.count(stuckLater); n != 0 {
		t.Errorf("the stuck subject's later entry was delivered %d times, want 0", n)
	}
	if got := q.status(stuck); got != "pending" {
		t.Errorf("stuck entry status = %q, want pending", got)
	}
}

// Entries without a subject do not wait for each other.
func TestDispatcherEmptySubjectsIndependent(t *testing.T) {
	q := newFakeQueue()
	first, second := q.add(""), q.add("")
	rec := &recorder{fail: func(d Delivery, _ int) error {
		if d.Entry.ID == first {
			return errors.New("down")
		}
		return nil
	}}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}, Workers: 1,
		BackoffBase: time.Hour, BackoffMax: time.Hour})
	waitFor(t, "second entry done", func() bool { return q.status(second) == "done" })
}

func TestDispatcherResumesAfterRestart(t *testing.T) {
	q := newFakeQueue()
	e1, e2, e3, e4 := q.add("opaque:a"), q.add("opaque:b"), q.add("opaque:a"), q.add("opaque:a")
	blocked := make(chan struct{})
	rec1 := &recorder{fail: func(d Delivery, _ int) error {
		if d.Entry.ID == e3 {
			close(blocked)
			return errors.New("interrupted by shutdown")
		}
		return nil
	}}
	// The e3 handler returns only after shutdown began.
	h1 := HandlerFunc(func(ctx context.Context, d Delivery) error {
		err := rec1.Handle(ctx, d)
		if d.Entry.ID == e3 {
			<-ctx.Done()
		}
		return err
	})
	_, stop := startDispatcher(t, Config{Queue: q, Handlers: []Handler{h1}, HandlerTimeout: time.Hour})
	waitFor(t, "first run reaches e3", func() bool { return q.status(e1) == "done" && q.status(e2) == "done" })
	<-blocked
	stop()
	if got := q.status(e3); got != "pending" {
		t.Fatalf("interrupted entry status = %q, want pending", got)
	}
	if f := q.failsFor(e3); len(f) != 0 {
		t.Errorf("shutdown counted as a failed attempt: %+v", f)
	}
	if n := rec1.count(e4); n != 0 {
		t.Errorf("e4 delivered %d times in the first run, want 0 (it waits for e3)", n)
	}

	rec2 := &recorder{}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec2}})
	waitFor(t, "second run finishes", func() bool { return q.status(e3) == "done" && q.status(e4) == "done" })
	if ids := rec2.ids(); fmt.Sprint(ids) != fmt.Sprint([]uint64{e3, e4}) {
		t.Errorf("second run delivered %v, want [%d %d]", ids, e3, e4)
	}
}

// Attempts stored by an earlier run count towards MaxAttempts.
func TestDispatcherResumesAttemptCount(t *testing.T) {
	q := newFakeQueue()
	q.addEntry(Entry{ID: 7, Subject: "opaque:a", Format: events.FormatSSF, Attempts: 2,
		Claims: []byte(`{"iss":"i","iat":1,"jti":"j","sub_id":{"format":"opaque","id":"a"},"events":{"urn:x":{}}}`)})
	rec := &recorder{fail: func(Delivery, int) error { return errors.New("still down") }}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}, MaxAttempts: 3})
	waitFor(t, "entry parked", func() bool { return q.status(7) == "parked" })
	f := q.failsFor(7)
	if len(f) != 1 || f[0].attempts != 3 || !f[0].park {
		t.Errorf("Failed calls = %+v, want one with attempts 3, park", f)
	}
	if calls := rec.all(); len(calls) != 1 || calls[0].Attempt != 3 {
		t.Errorf("deliveries = %+v, want one with Attempt 3", calls)
	}
}

// After Notify an entry is delivered at once: polling and rescans are an
// hour apart, so only Notify can bring it in before the test's deadline.
func TestDispatcherNotify(t *testing.T) {
	q := newFakeQueue()
	rec := &recorder{}
	d, _ := startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec},
		PollInterval: time.Hour, RescanInterval: time.Hour})
	waitFor(t, "initial read", func() bool { p, _ := q.calls(); return p >= 1 })
	for i := 0; i < 3; i++ {
		id := q.add("opaque:a")
		d.Notify()
		waitFor(t, "notified entry done", func() bool { return q.status(id) == "done" })
	}
}

// An operator's retry of a parked entry is picked up on Rescan.
func TestDispatcherRescanPicksUpUnparked(t *testing.T) {
	q := newFakeQueue()
	id := q.add("opaque:a")
	rec := &recorder{fail: func(_ Delivery, n int) error {
		if n == 0 {
			return Permanent(errors.New("bad data"))
		}
		return nil
	}}
	d, _ := startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec},
		PollInterval: time.Hour, RescanInterval: time.Hour})
	waitFor(t, "entry parked", func() bool { return q.status(id) == "parked" })
	if f := q.failsFor(id); len(f) != 1 || !f[0].park || f[0].attempts != 1 {
		t.Errorf("Failed calls = %+v, want one parking call: a permanent error is not retried", f)
	}
	q.unpark(id)
	d.Rescan()
	waitFor(t, "unparked entry done", func() bool { return q.status(id) == "done" })
}

// An entry resolved outside the dispatcher while it waits for a retry is
// forgotten on Rescan, and the subject's next entry proceeds.
func TestDispatcherRescanForgetsResolvedEntries(t *testing.T) {
	q := newFakeQueue()
	first, second := q.add("opaque:a"), q.add("opaque:a")
	rec := &recorder{fail: func(d Delivery, _ int) error {
		if d.Entry.ID == first {
			return errors.New("down")
		}
		return nil
	}}
	d, _ := startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec},
		BackoffBase: time.Hour, BackoffMax: time.Hour, PollInterval: time.Hour, RescanInterval: time.Hour})
	waitFor(t, "first failure", func() bool { return len(q.failsFor(first)) == 1 })
	q.resolve(first)
	d.Rescan()
	waitFor(t, "second entry done", func() bool { return q.status(second) == "done" })
	if n := rec.count(first); n != 1 {
		t.Errorf("resolved entry delivered %d times, want 1", n)
	}
}

func TestDispatcherUnparseableClaimsParked(t *testing.T) {
	q := newFakeQueue()
	q.addEntry(Entry{ID: 1, Subject: "opaque:a", Format: events.FormatSSF, Claims: []byte(`{"iss":`)})
	q.addEntry(Entry{ID: 2, Subject: "opaque:a", Format: events.Format(0), Claims: []byte(`{}`)})
	rec := &recorder{}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}})
	waitFor(t, "entries parked", func() bool { return q.status(1) == "parked" && q.status(2) == "parked" })
	if len(rec.ids()) != 0 {
		t.Errorf("handler called for unparseable entries: %v", rec.ids())
	}
	if f := q.failsFor(1); len(f) != 1 || !strings.Contains(f[0].lastErr, "malformed") {
		t.Errorf("Failed calls = %+v, want one mentioning the parse error", f)
	}
}

func TestDispatcherHandlerPanic(t *testing.T) {
	q := newFakeQueue()
	id := q.add("opaque:a")
	h := HandlerFunc(func(_ context.Context, d Delivery) error {
		var m map[string]int
		m["x"] = 1 // runtime error
		return nil
	})
	h2 := HandlerFunc(func(context.Context, Delivery) error { panic("secret-value-123") })
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{h}, MaxAttempts: 1})
	waitFor(t, "entry parked", func() bool { return q.status(id) == "parked" })
	if f := q.failsFor(id); len(f) != 1 || !strings.Contains(f[0].lastErr, "panicked") {
		t.Errorf("Failed calls = %+v, want a panic report", f)
	}

	q2 := newFakeQueue()
	id2 := q2.add("opaque:a")
	startDispatcher(t, Config{Queue: q2, Handlers: []Handler{h2}, MaxAttempts: 1})
	waitFor(t, "entry parked", func() bool { return q2.status(id2) == "parked" })
	if f := q2.failsFor(id2); len(f) != 1 || strings.Contains(f[0].lastErr, "secret-value") {
		t.Errorf("Failed calls = %+v, want one that does not repeat the panic value", f)
	}
}

// When recording success fails, the handlers are not run again: only the
// record is retried.
func TestDispatcherRetriesDoneRecord(t *testing.T) {
	q := newFakeQueue()
	q.doneErrs = 2
	id := q.add("opaque:a")
	rec := &recorder{}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}})
	waitFor(t, "entry done", func() bool { return q.status(id) == "done" })
	if n := rec.count(id); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
}

func TestDispatcherSurvivesQueueErrors(t *testing.T) {
	q := newFakeQueue()
	q.pendingErrs = 3
	id := q.add("opaque:a")
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{&recorder{}}, PollInterval: time.Millisecond})
	waitFor(t, "entry done", func() bool { return q.status(id) == "done" })
}

func TestDispatcherPaging(t *testing.T) {
	q := newFakeQueue()
	var ids []uint64
	for i := 0; i < 25; i++ {
		ids = append(ids, q.add(fmt.Sprintf("opaque:%d", i%7)))
	}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{&recorder{}}, PageSize: 4})
	waitFor(t, "every entry done", func() bool {
		for _, id := range ids {
			if q.status(id) != "done" {
				return false
			}
		}
		return true
	})
}

// A pinned clock shows up in the retry time handed to the queue.
func TestDispatcherRetryTimeUsesClock(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	q := newFakeQueue()
	id := q.add("opaque:a")
	rec := &recorder{fail: func(Delivery, int) error { return errors.New("down") }}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec},
		Now: func() time.Time { return now }, BackoffBase: 10 * time.Second, BackoffMax: time.Minute})
	waitFor(t, "first failure", func() bool { return len(q.failsFor(id)) == 1 })
	f := q.failsFor(id)[0]
	if f.next.Before(now.Add(5*time.Second)) || f.next.After(now.Add(10*time.Second)) {
		t.Errorf("next attempt at %v, want within [now+5s, now+10s]", f.next)
	}
}

func TestDispatcherPassesParsedSET(t *testing.T) {
	q := newFakeQueue()
	id := q.add("opaque:x")
	rec := &recorder{}
	startDispatcher(t, Config{Queue: q, Handlers: []Handler{rec}})
	waitFor(t, "entry done", func() bool { return q.status(id) == "done" })
	d := rec.all()[0]
	if d.SET == nil || d.SET.JTI != fmt.Sprintf("j%d", id) || d.Entry.Transmitter != "test" || d.Attempt != 1 {
		t.Fatalf("delivery = %+v", d)
	}
	if _, ok := d.SET.Events[0].(events.SessionRevoked); !ok {
		t.Errorf("event is %T, want SessionRevoked", d.SET.Events[0])
	}
	if d.SET.Key() != "opaque:opaque:x" {
		t.Errorf("Key() = %q", d.SET.Key())
	}
}

func TestNewDispatcherConfig(t *testing.T) {
	q := newFakeQueue()
	h := &recorder{}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no queue", Config{Handlers: []Handler{h}}},
		{"no handlers", Config{Queue: q}},
		{"nil handler", Config{Queue: q, Handlers: []Handler{h, nil}}},
		{"negative attempts", Config{Queue: q, Handlers: []Handler{h}, MaxAttempts: -1}},
		{"negative backoff", Config{Queue: q, Handlers: []Handler{h}, BackoffBase: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("New err = %v, want ErrConfig", err)
			}
		})
	}
	d, err := New(Config{Queue: q, Handlers: []Handler{h}})
	if err != nil {
		t.Fatal(err)
	}
	c := d.cfg
	if c.MaxAttempts != 10 || c.Workers != 4 || c.BackoffBase != time.Second || c.BackoffMax != 10*time.Minute ||
		c.PollInterval != time.Second || c.Registry == nil || c.Now == nil || c.Logger == nil {
		t.Errorf("defaults not filled: %+v", c)
	}
}

func TestDispatcherRunTwice(t *testing.T) {
	d, _ := startDispatcher(t, Config{Queue: newFakeQueue(), Handlers: []Handler{&recorder{}}})
	waitFor(t, "first Run started", func() bool { return d.running.Load() })
	if err := d.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
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
