package events

import (
	"container/heap"
	"context"
	"log/slog"
	"sort"
	"strconv"
	"time"
)

// laneState says where a lane is: queued to run, waiting for its head's
// retry time, or running its head. A lane with no entries is deleted.
type laneState int

const (
	laneIdle laneState = iota
	laneReady
	laneWaiting
	laneRunning
)

// item is one entry the scheduler holds in memory.
type item struct {
	entry   Entry
	set     *SET   // parsed claims, kept across retries
	done    []bool // handlers that already succeeded for this entry in this run
	handled bool   // every handler succeeded; recording that failed
}

// lane holds the pending entries of one subject, in ID order. Only its head
// is ever handled.
type lane struct {
	key    string
	items  []*item
	state  laneState
	queued bool      // in scheduler.ready (possibly stale: check state)
	due    time.Time // when waiting: the head's NextAttempt
	index  int       // position in scheduler.waiting, -1 when absent
}

// scheduler is the state of one Run. Only the goroutine running run touches
// it; deliveries run in their own goroutines and report through results.
type scheduler struct {
	cfg     DispatcherConfig
	notify  <-chan struct{}
	rescan  <-chan struct{}
	log     *slog.Logger
	lanes   map[string]*lane
	known   map[uint64]*lane // every entry held, by ID
	ready   []*lane          // FIFO of lanes whose head may run now
	waiting laneHeap         // lanes whose head waits for a retry time
	cursor  uint64           // highest entry ID read so far
	active  int              // deliveries in progress
	results chan result

	wantNew, wantAll bool      // a fetch of new entries / of every entry is due
	fetchAfter       time.Time // after a Queue error, do not fetch before this
}

func newScheduler(d *Dispatcher) *scheduler {
	return &scheduler{
		cfg:     d.cfg,
		notify:  d.notify,
		rescan:  d.rescan,
		log:     d.cfg.Logger,
		lanes:   make(map[string]*lane),
		known:   make(map[uint64]*lane),
		results: make(chan result, d.cfg.Workers),
		wantAll: true,
	}
}

// run is the dispatcher's loop; it returns when ctx is done and every
// delivery in progress has finished.
func (s *scheduler) run(ctx context.Context) {
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

// fetch reads pending entries from the queue when a read is due: all of them
// (wantAll: at start, on Rescan, every RescanInterval), or those after the
// highest ID read so far (wantNew: on Notify, every PollInterval). A full
// read also forgets entries the queue no longer lists as pending.
func (s *scheduler) fetch(ctx context.Context) {
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
		es, err := s.cfg.Queue.Pending(ctx, after, s.cfg.PageSize)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "events: reading pending entries failed; will retry", "err", err)
				s.fetchAfter = s.cfg.Now().Add(s.cfg.PollInterval)
			}
			return
		}
		progress := false
		for _, e := range es {
			if seen != nil {
				seen[e.ID] = true
			}
			s.add(e)
			if e.ID > after {
				after, progress = e.ID, true
			}
		}
		if len(es) < s.cfg.PageSize {
			break
		}
		if !progress {
			s.log.ErrorContext(ctx, "events: queue returned a full page without progress", "after", after)
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

// laneKey is the lane an entry belongs to: its subject, or a lane of its own
// when it has none.
func laneKey(e Entry) string {
	if e.Subject == "" {
		return "\x00entry:" + strconv.FormatUint(e.ID, 10)
	}
	return e.Subject
}

// add takes an entry into memory unless it is already held.
func (s *scheduler) add(e Entry) {
	if _, ok := s.known[e.ID]; ok {
		return
	}
	key := laneKey(e)
	l := s.lanes[key]
	if l == nil {
		l = &lane{key: key, index: -1}
		s.lanes[key] = l
	}
	it := &item{entry: e, done: make([]bool, len(s.cfg.Handlers))}
	pos := sort.Search(len(l.items), func(i int) bool { return l.items[i].entry.ID > e.ID })
	l.items = append(l.items, nil)
	copy(l.items[pos+1:], l.items[pos:])
	l.items[pos] = it
	s.known[e.ID] = l
	if l.state != laneRunning && pos == 0 {
		s.evaluate(l)
	}
}

// prune forgets entries not in seen, except a head being handled.
func (s *scheduler) prune(seen map[uint64]bool) {
	for id, l := range s.known {
		if seen[id] {
			continue
		}
		i := sort.Search(len(l.items), func(i int) bool { return l.items[i].entry.ID >= id })
		if i == len(l.items) || l.items[i].entry.ID != id {
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
func (s *scheduler) evaluate(l *lane) {
	if l.index >= 0 {
		heap.Remove(&s.waiting, l.index)
	}
	if len(l.items) == 0 {
		l.state = laneIdle
		delete(s.lanes, l.key)
		return
	}
	head := l.items[0].entry
	if head.NextAttempt.After(s.cfg.Now()) {
		l.state = laneWaiting
		l.due = head.NextAttempt
		heap.Push(&s.waiting, l)
		return
	}
	s.makeReady(l)
}

func (s *scheduler) makeReady(l *lane) {
	l.state = laneReady
	if !l.queued {
		l.queued = true
		s.ready = append(s.ready, l)
	}
}

// promote moves lanes whose retry time has come to the ready queue.
func (s *scheduler) promote(now time.Time) {
	for s.waiting.Len() > 0 && !s.waiting[0].due.After(now) {
		s.makeReady(heap.Pop(&s.waiting).(*lane))
	}
}

// start hands ready heads to new deliveries while workers are free.
func (s *scheduler) start(ctx context.Context) {
	for s.active < s.cfg.Workers && len(s.ready) > 0 && ctx.Err() == nil {
		l := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		l.queued = false
		if s.lanes[l.key] != l || l.state != laneReady || len(l.items) == 0 {
			continue // stale queue slot
		}
		l.state = laneRunning
		it := l.items[0]
		j := job{
			key:     l.key,
			entry:   it.entry,
			set:     it.set,
			done:    append([]bool(nil), it.done...),
			handled: it.handled,
		}
		s.active++
		go func() { s.results <- s.deliver(ctx, j) }()
	}
	if len(s.ready) == 0 {
		s.ready = nil
	}
}

// arm sets timer to fire when the earliest waiting lane is due.
func (s *scheduler) arm(timer *time.Timer, now time.Time) {
	if s.waiting.Len() == 0 {
		timer.Stop()
		return
	}
	timer.Reset(max(s.waiting[0].due.Sub(now), 0))
}

// finish applies a delivery's outcome to its lane.
func (s *scheduler) finish(r result) {
	s.active--
	l := s.lanes[r.key]
	if l == nil || l.state != laneRunning || len(l.items) == 0 || l.items[0].entry.ID != r.id {
		s.log.Error("events: delivery result for an entry not running", "entry", r.id)
		return
	}
	it := l.items[0]
	switch r.outcome {
	case outcomeDone:
		s.popHead(l)
	case outcomeParked:
		if r.storeErr == nil {
			s.popHead(l)
			break
		}
		fallthrough // not recorded: keep it and try again later
	case outcomeRetry:
		it.set, it.done = r.set, r.done
		it.entry.Attempts = r.attempts
		it.entry.NextAttempt = r.next
	case outcomeUnrecorded:
		it.set, it.done, it.handled = r.set, r.done, true
		it.entry.NextAttempt = r.next
	case outcomeAborted:
		it.set, it.done = r.set, r.done
	}
	l.state = laneIdle
	s.evaluate(l)
}

// popHead forgets a lane's finished head.
func (s *scheduler) popHead(l *lane) {
	delete(s.known, l.items[0].entry.ID)
	l.items[0] = nil
	l.items = l.items[1:]
}

// laneHeap orders waiting lanes by due time; its methods implement
// heap.Interface and keep each lane's index current.
type laneHeap []*lane

func (h laneHeap) Len() int           { return len(h) }
func (h laneHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h laneHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *laneHeap) Push(x any) {
	l := x.(*lane)
	l.index = len(*h)
	*h = append(*h, l)
}
func (h *laneHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	l.index = -1
	return l
}
