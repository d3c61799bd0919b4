package workqueue

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/locks"
)

// fakeSource is an in-memory Source whose items carry their key as Value.
// Its Handle calls work, which the test sets.
type fakeSource struct {
	mu        sync.Mutex
	items     map[uint64]*fakeItem
	nextID    uint64
	work      func(ctx context.Context, it *Item[string]) error
	failed    func(f Failure) Failure // edits what Failed records; nil keeps it
	doneErrs  int                     // fail this many Done calls first
	handles   []handleCall
	doneCalls map[uint64]int
	fails     []Failure
	hideOnce  map[uint64]bool // left out of the next Pending call that would list them
}

type fakeItem struct {
	it     Item[string]
	status string // "pending", "done", "parked"
}

type handleCall struct {
	id, attempt int
	at          time.Time
}

func newFakeSource(work func(ctx context.Context, it *Item[string]) error) *fakeSource {
	return &fakeSource{items: map[uint64]*fakeItem{}, doneCalls: map[uint64]int{}, work: work}
}

func (s *fakeSource) add(key string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.items[s.nextID] = &fakeItem{it: Item[string]{ID: s.nextID, Key: key, Value: key}, status: "pending"}
	return s.nextID
}

func (s *fakeSource) Pending(_ context.Context, after uint64, limit int) ([]Item[string], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Item[string]
	for _, fi := range s.items {
		if fi.status == "pending" && fi.it.ID > after {
			if s.hideOnce[fi.it.ID] {
				delete(s.hideOnce, fi.it.ID)
				continue
			}
			out = append(out, fi.it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:min(len(out), limit)], nil
}

func (s *fakeSource) Handle(ctx context.Context, it *Item[string]) error {
	s.mu.Lock()
	s.handles = append(s.handles, handleCall{int(it.ID), it.Attempts + 1, time.Now()})
	work := s.work
	s.mu.Unlock()
	if work == nil {
		return nil
	}
	return work(ctx, it)
}

func (s *fakeSource) Done(_ context.Context, it *Item[string]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doneCalls[it.ID]++
	if s.doneErrs > 0 {
		s.doneErrs--
		return errors.New("store unavailable")
	}
	s.items[it.ID].status = "done"
	return nil
}

func (s *fakeSource) Failed(_ context.Context, it *Item[string], f Failure) (Failure, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		f = s.failed(f)
	}
	s.fails = append(s.fails, f)
	fi := s.items[it.ID]
	fi.it.Attempts, fi.it.NextAttempt = f.Attempt, f.Next
	if f.Park {
		fi.status = "parked"
	}
	return f, nil
}

func (s *fakeSource) status(id uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[id].status
}

func (s *fakeSource) setStatus(id uint64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[id].status = status
}

// unpark returns a parked item to pending, as an operator's retry would.
func (s *fakeSource) unpark(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi := s.items[id]
	fi.status, fi.it.Attempts, fi.it.NextAttempt = "pending", 0, time.Time{}
}

// setNextAttempt moves a pending item's retry time, as an operator's
// "retry now" would.
func (s *fakeSource) setNextAttempt(id uint64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[id].it.NextAttempt = at
}

func (s *fakeSource) setWork(work func(ctx context.Context, it *Item[string]) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.work = work
}

func (s *fakeSource) failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fails)
}

// calls returns the Handle calls so far.
func (s *fakeSource) calls() []handleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]handleCall(nil), s.handles...)
}

func (s *fakeSource) ids() []int {
	var out []int
	for _, c := range s.calls() {
		out = append(out, c.id)
	}
	return out
}

// claimingSource is a fakeSource worked by several queues at once, as
// replicas work one store: Claim takes the key's lock in a Set every
// claimingSource over the same fakeSource shares, then reads the item
// again. Its own work, when set, replaces the fakeSource's for the queue
// it serves.
type claimingSource struct {
	*fakeSource
	locks *locks.Set
	work  func(ctx context.Context, it *Item[string]) error

	mu     sync.Mutex
	busy   int // claims refused because the key was busy
	behind int // claims refused because an earlier item was pending
}

func (c *claimingSource) Claim(ctx context.Context, it *Item[string]) (func(), error) {
	release, ok, err := c.locks.TryLock(ctx, "key:"+it.Key)
	if err != nil {
		return nil, err
	}
	if !ok {
		c.mu.Lock()
		c.busy++
		c.mu.Unlock()
		return nil, ErrBusy
	}
	s := c.fakeSource
	s.mu.Lock()
	defer s.mu.Unlock()
	fi := s.items[it.ID]
	if fi.status != "pending" {
		release()
		return nil, ErrGone
	}
	for _, o := range s.items {
		if o.it.Key == it.Key && o.it.ID < it.ID && o.status == "pending" {
			release()
			c.mu.Lock()
			c.behind++
			c.mu.Unlock()
			return nil, ErrBehind
		}
	}
	it.Attempts, it.NextAttempt = fi.it.Attempts, fi.it.NextAttempt
	return release, nil
}

func (c *claimingSource) Handle(ctx context.Context, it *Item[string]) error {
	if c.work == nil {
		return c.fakeSource.Handle(ctx, it)
	}
	s := c.fakeSource
	s.mu.Lock()
	s.handles = append(s.handles, handleCall{int(it.ID), it.Attempts + 1, time.Now()})
	s.mu.Unlock()
	return c.work(ctx, it)
}

func (c *claimingSource) counts() (busy, behind int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy, c.behind
}

// start runs a queue over src until the test's bubble ends the context;
// stop cancels it and waits for Run to return.
func start(t *testing.T, cfg Config[string]) (q *Queue[string], stop func()) {
	t.Helper()
	q, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- q.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return q, stop
}
