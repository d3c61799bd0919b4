package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/events"
)

// fakeQueue is an in-memory Queue with the semantics the store adapter
// promises: Pending lists entries neither done nor parked, by ID.
type fakeQueue struct {
	mu           sync.Mutex
	entries      map[uint64]*fakeEntry
	nextID       uint64
	pendingCalls int
	pendingErrs  int // fail this many Pending calls first
	doneErrs     int // fail this many Done calls first
	doneCalls    map[uint64]int
	fails        []failCall
}

type fakeEntry struct {
	e      Entry
	status string // "pending", "done", "parked"
}

type failCall struct {
	id       uint64
	attempts int
	lastErr  string
	next     time.Time
	park     bool
}

func newFakeQueue() *fakeQueue {
	return &fakeQueue{entries: map[uint64]*fakeEntry{}, doneCalls: map[uint64]int{}}
}

// add appends an entry about subject with a valid SSF sessions-revoked
// payload and returns its ID.
func (q *fakeQueue) add(subject string) uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	id := q.nextID
	opaque := subject
	if opaque == "" {
		opaque = "none"
	}
	claims := fmt.Appendf(nil, `{"iss":"https://idp.example.com/","iat":1,"jti":"j%d","sub_id":{"format":"opaque","id":%q},"events":{%q:{}}}`,
		id, opaque, events.TypeSessionRevoked)
	q.entries[id] = &fakeEntry{e: Entry{ID: id, Subject: subject, Transmitter: "test", Format: events.FormatSSF, Claims: claims}, status: "pending"}
	return id
}

// addEntry stores e as given (its ID must be new).
func (q *fakeQueue) addEntry(e Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries[e.ID] = &fakeEntry{e: e, status: "pending"}
	q.nextID = max(q.nextID, e.ID)
}

func (q *fakeQueue) Pending(_ context.Context, after uint64, limit int) ([]Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pendingCalls++
	if q.pendingErrs > 0 {
		q.pendingErrs--
		return nil, errors.New("store unavailable")
	}
	var out []Entry
	for _, fe := range q.entries {
		if fe.status == "pending" && fe.e.ID > after {
			out = append(out, fe.e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (q *fakeQueue) Done(_ context.Context, id uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.doneErrs > 0 {
		q.doneErrs--
		return errors.New("store unavailable")
	}
	q.doneCalls[id]++
	q.entries[id].status = "done"
	return nil
}

func (q *fakeQueue) Failed(_ context.Context, id uint64, attempts int, lastErr string, next time.Time, park bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.fails = append(q.fails, failCall{id, attempts, lastErr, next, park})
	fe := q.entries[id]
	fe.e.Attempts = attempts
	fe.e.NextAttempt = next
	if park {
		fe.status = "parked"
	}
	return nil
}

func (q *fakeQueue) status(id uint64) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.entries[id].status
}

// unpark returns a parked entry to pending, as an operator's retry would.
func (q *fakeQueue) unpark(id uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	fe := q.entries[id]
	fe.status, fe.e.Attempts, fe.e.NextAttempt = "pending", 0, time.Time{}
}

// resolve marks an entry done behind the dispatcher's back, as an operator
// discarding it would.
func (q *fakeQueue) resolve(id uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries[id].status = "done"
}

func (q *fakeQueue) failsFor(id uint64) []failCall {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []failCall
	for _, f := range q.fails {
		if f.id == id {
			out = append(out, f)
		}
	}
	return out
}

func (q *fakeQueue) calls() (pending int, done map[uint64]int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	done = make(map[uint64]int, len(q.doneCalls))
	for k, v := range q.doneCalls {
		done[k] = v
	}
	return q.pendingCalls, done
}

// waitFor polls cond until it holds. The deadline only keeps a broken
// dispatcher from hanging the test run; no test depends on its length.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recorder is a Handler that records deliveries and fails as told.
type recorder struct {
	mu    sync.Mutex
	calls []Delivery
	fail  func(d Delivery, n int) error // n: earlier calls for this entry
}

func (r *recorder) Handle(_ context.Context, d Delivery) error {
	r.mu.Lock()
	n := 0
	for _, c := range r.calls {
		if c.Entry.ID == d.Entry.ID {
			n++
		}
	}
	r.calls = append(r.calls, d)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(d, n)
	}
	return nil
}

func (r *recorder) count(id uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.Entry.ID == id {
			n++
		}
	}
	return n
}

func (r *recorder) all() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.calls...)
}

func (r *recorder) ids() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]uint64, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.Entry.ID
	}
	return out
}

// startDispatcher runs a dispatcher over cfg until the test ends (or stop
// is called) and returns it with its stop function.
func startDispatcher(tb testing.TB, cfg Config) (*Dispatcher, func()) {
	tb.Helper()
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = time.Millisecond, 2*time.Millisecond
	}
	d, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				tb.Errorf("Run returned %v, want nil", err)
			}
		})
	}
	tb.Cleanup(stop)
	return d, stop
}
