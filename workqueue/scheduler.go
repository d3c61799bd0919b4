package workqueue

import (
	"container/heap"
	"context"
	"log/slog"
	"sort"
	"strconv"
	"time"
)

// laneState says where a lane is: queued to run, waiting for its head's
// retry time, or running its head. A lane with no items is deleted.
type laneState int

const (
	laneIdle laneState = iota
	laneReady
	laneWaiting
	laneRunning
)

// held is one item the scheduler holds in memory.
type held[T any] struct {
	it      Item[T]
	handled bool // Handle succeeded; recording that failed
	// soonerAt is a retry time the source moved earlier while the item was
	// in flight (an operator's "retry now" during an attempt): the attempt's
	// failure, when it comes, is retried then rather than after its backoff.
	soonerAt time.Time
}

// lane holds the pending items of one key, in ID order. Only its head ever
// runs.
type lane[T any] struct {
	key    string
	items  []*held[T]
	state  laneState
	queued bool      // in scheduler.ready (possibly stale: check state)
	due    time.Time // when waiting: the head's NextAttempt
	index  int       // position in scheduler.waiting, -1 when absent
}

// scheduler is the state of one Run. Only the goroutine running run touches
// it; attempts run in their own goroutines and report through results.
type scheduler[T any] struct {
	cfg     Config[T]
	notify  <-chan struct{}
	rescan  <-chan struct{}
	log     *slog.Logger
	lanes   map[string]*lane[T]
	known   map[uint64]*lane[T] // every item held, by ID
	ready   []*lane[T]          // FIFO of lanes whose head may run now
	waiting laneHeap[T]         // lanes whose head waits for a retry time
	cursor  uint64              // highest item ID read so far
	active  int                 // attempts in progress
	results chan result[T]

	wantNew, wantAll bool      // a read of new items / of every item is due
	fetchAfter       time.Time // after a Source error, do not read before this
}

func newScheduler[T any](q *Queue[T]) *scheduler[T] {
	return &scheduler[T]{
		cfg:     q.cfg,
		notify:  q.notify,
		rescan:  q.rescan,
		log:     q.cfg.Logger,
		lanes:   make(map[string]*lane[T]),
		known:   make(map[uint64]*lane[T]),
		results: make(chan result[T], q.cfg.Workers),
		wantAll: true,
	}
}

// run is the queue's loop; it returns when ctx is done and every attempt in
// progress has finished.
func (s *scheduler[T]) run(ctx context.Context) {
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	rescan := time.NewTicker(s.cfg.RescanInterval)
	defer rescan.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.fetch(ctx)
		now := s.cfg.Now()
		s.promote(now)
		s.start(ctx)
		s.arm(timer, now)
		select {
		case <-ctx.Done():
			for ; s.active > 0; s.active-- {
				<-s.results
			}
			return
		case <-s.notify:
			s.wantNew = true
		case <-s.rescan:
			s.wantAll = true
		case r := <-s.results:
			s.finish(r)
		case <-timer.C:
		case <-poll.C:
			s.wantNew = true
		case <-rescan.C:
			s.wantAll = true
		}
	}
}

// fetch reads pending items from the source when a read is due: all of them
// (wantAll: at start, on Rescan, every RescanInterval), or those after the
// highest ID read so far (wantNew: on Notify, every PollInterval). A full
// read also forgets items the source no longer lists as pending.
func (s *scheduler[T]) fetch(ctx context.Context) {
	if !s.wantNew && !s.wantAll || s.cfg.Now().Before(s.fetchAfter) || ctx.Err() != nil {
		return
	}
	full := s.wantAll
	after := s.cursor
	var seen map[uint64]bool
	if full {
		after = 0
		seen = make(map[uint64]bool)
	}
	for {
		items, err := s.cfg.Source.Pending(ctx, after, s.cfg.PageSize)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, s.cfg.Name+": reading pending items failed; will retry", "err", err)
				s.fetchAfter = s.cfg.Now().Add(s.cfg.PollInterval)
			}
			return
		}
		progress := false
		for _, it := range items {
			if seen != nil {
				seen[it.ID] = true
			}
			s.add(it)
			if it.ID > after {
				after, progress = it.ID, true
			}
		}
		if len(items) < s.cfg.PageSize {
			break
		}
		if !progress {
			s.log.ErrorContext(ctx, s.cfg.Name+": source returned a full page without progress", "after", after)
			break
		}
	}
	s.cursor = max(s.cursor, after)
	if full {
		s.prune(seen)
	}
	s.wantNew = false
	s.wantAll = false
}

// laneKey is the lane an item belongs to: its key, or a lane of its own
// when it has none.
func laneKey[T any](it Item[T]) string {
	if it.Key == "" {
		return "\x00item:" + strconv.FormatUint(it.ID, 10)
	}
	return it.Key
}

// add takes an item into memory. An item already held keeps what the
// queue knows of it, except a retry time the source moved earlier (an
// operator's "retry now"), which it takes up unless the item is in flight.
func (s *scheduler[T]) add(it Item[T]) {
	if l, ok := s.known[it.ID]; ok {
		s.sooner(l, it)
		return
	}
	key := laneKey(it)
	l := s.lanes[key]
	if l == nil {
		l = &lane[T]{key: key, index: -1}
		s.lanes[key] = l
	}
	pos := sort.Search(len(l.items), func(i int) bool { return l.items[i].it.ID > it.ID })
	l.items = append(l.items, nil)
	copy(l.items[pos+1:], l.items[pos:])
	l.items[pos] = &held[T]{it: it}
	s.known[it.ID] = l
	if l.state != laneRunning && pos == 0 {
		s.evaluate(l)
	}
}

// sooner moves a held item's retry time to it.NextAttempt when that is
// earlier, and re-files its lane when the item is the lane's waiting head.
func (s *scheduler[T]) sooner(l *lane[T], it Item[T]) {
	i := sort.Search(len(l.items), func(i int) bool { return l.items[i].it.ID >= it.ID })
	if i == len(l.items) || l.items[i].it.ID != it.ID {
		return
	}
	h := l.items[i]
	if i == 0 && l.state == laneRunning {
		if h.soonerAt.IsZero() || it.NextAttempt.Before(h.soonerAt) {
			h.soonerAt = it.NextAttempt
		}
		return
	}
	if !it.NextAttempt.Before(h.it.NextAttempt) {
		return
	}
	h.it.NextAttempt = it.NextAttempt
	if i == 0 && l.state == laneWaiting {
		s.evaluate(l)
	}
}

// prune forgets items not in seen, except a head in flight.
func (s *scheduler[T]) prune(seen map[uint64]bool) {
	for id, l := range s.known {
		if seen[id] {
			continue
		}
		i := sort.Search(len(l.items), func(i int) bool { return l.items[i].it.ID >= id })
		if i == len(l.items) || l.items[i].it.ID != id {
			delete(s.known, id) // cannot happen; keep the maps consistent
			continue
		}
		if i == 0 && l.state == laneRunning {
			continue
		}
		l.items = append(l.items[:i], l.items[i+1:]...)
		delete(s.known, id)
		if i == 0 {
			s.evaluate(l)
		}
	}
}

// evaluate files a lane that is not running by its head: ready when due,
// waiting when its retry time lies ahead, deleted when empty.
func (s *scheduler[T]) evaluate(l *lane[T]) {
	if l.index >= 0 {
		heap.Remove(&s.waiting, l.index)
	}
	if len(l.items) == 0 {
		l.state = laneIdle
		delete(s.lanes, l.key)
		return
	}
	head := l.items[0].it
	if head.NextAttempt.After(s.cfg.Now()) {
		l.state = laneWaiting
		l.due = head.NextAttempt
		heap.Push(&s.waiting, l)
		return
	}
	s.makeReady(l)
}

func (s *scheduler[T]) makeReady(l *lane[T]) {
	l.state = laneReady
	if !l.queued {
		l.queued = true
		s.ready = append(s.ready, l)
	}
}

// promote moves lanes whose retry time has come to the ready queue.
func (s *scheduler[T]) promote(now time.Time) {
	for s.waiting.Len() > 0 && !s.waiting[0].due.After(now) {
		s.makeReady(heap.Pop(&s.waiting).(*lane[T]))
	}
}

// start hands ready heads to new attempts while workers are free.
func (s *scheduler[T]) start(ctx context.Context) {
	for s.active < s.cfg.Workers && len(s.ready) > 0 && ctx.Err() == nil {
		l := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		l.queued = false
		if s.lanes[l.key] != l || l.state != laneReady || len(l.items) == 0 {
			continue // stale queue slot
		}
		l.state = laneRunning
		h := l.items[0]
		j := job[T]{key: l.key, it: h.it, handled: h.handled}
		s.active++
		go func() { s.results <- s.work(ctx, j) }()
	}
	if len(s.ready) == 0 {
		s.ready = nil
	}
}

// arm sets timer to fire when the earliest waiting lane is due.
func (s *scheduler[T]) arm(timer *time.Timer, now time.Time) {
	if s.waiting.Len() == 0 {
		timer.Stop()
		return
	}
	timer.Reset(max(s.waiting[0].due.Sub(now), 0))
}

// finish applies an attempt's outcome to its lane.
func (s *scheduler[T]) finish(r result[T]) {
	s.active--
	l := s.lanes[r.key]
	if l == nil || l.state != laneRunning || len(l.items) == 0 || l.items[0].it.ID != r.it.ID {
		s.log.Error(s.cfg.Name+": attempt result for an item not in flight", "id", r.it.ID)
		return
	}
	switch r.outcome {
	case outcomeDone, outcomeParked, outcomeGone:
		delete(s.known, l.items[0].it.ID)
		l.items[0] = nil
		l.items = l.items[1:]
	case outcomeBehind:
		s.wantAll = true
		l.items[0].it, l.items[0].handled = r.it, r.handled
	default:
		h := l.items[0]
		h.it, h.handled = r.it, r.handled
		if !h.soonerAt.IsZero() && h.soonerAt.Before(h.it.NextAttempt) {
			h.it.NextAttempt = h.soonerAt
		}
		h.soonerAt = time.Time{}
	}
	l.state = laneIdle
	s.evaluate(l)
}

// laneHeap orders waiting lanes by due time; its methods implement
// heap.Interface and keep each lane's index current.
type laneHeap[T any] []*lane[T]

func (h laneHeap[T]) Len() int           { return len(h) }
func (h laneHeap[T]) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h laneHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *laneHeap[T]) Push(x any) {
	l := x.(*lane[T])
	l.index = len(*h)
	*h = append(*h, l)
}
func (h *laneHeap[T]) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	l.index = -1
	return l
}
