package lifecycle

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riscd/riscd"
)

// useWriteEvery: a grant's LastUsedAt is written when the stored one is at
// least this old, so a busy grant costs one write a minute, not one a call.
const useWriteEvery = time.Minute

// maxJitter is the most a refresh ahead of expiry starts earlier than the
// lead time asks: a fifth of it, so that grants used together spread out.
func maxJitter(lead time.Duration) time.Duration { return lead / 5 }

// schedule is the refresher's memory of recently used grants: when each
// one's access token is to be refreshed ahead of its expiry, and the
// LastUsedAt values waiting to be written. The broker feeds it on every
// token it serves, so the refresher never scans the store for due grants.
// It is safe for concurrent use.
type schedule struct {
	lead, window time.Duration
	planning     bool // false when nothing can be refreshed: only LastUsedAt is kept

	mu    sync.Mutex
	slots map[string]*slot
	queue slotQueue            // slots waiting for their due time, earliest first
	dirty map[string]time.Time // grant ID -> LastUsedAt to write
}

// slot is one recently used grant.
type slot struct {
	id       string
	lastUsed time.Time
	expiry   time.Time // of the access token the slot was planned for
	due      time.Time // when the refresher looks at it next
	index    int       // in queue; -1 when not queued
}

func newSchedule(lead, window time.Duration, planning bool) *schedule {
	return &schedule{lead: lead, window: window, planning: planning, slots: map[string]*slot{}, dirty: map[string]time.Time{}}
}

// used records that g's token was served at now.
func (s *schedule) used(g riscd.Grant, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(g.LastUsedAt) >= useWriteEvery {
		if t, ok := s.dirty[g.ID]; !ok || t.Before(now) {
			s.dirty[g.ID] = now
		}
	}
	if !s.planning {
		return
	}
	sl := s.slots[g.ID]
	if sl == nil {
		sl = &slot{id: g.ID, index: -1}
		s.slots[g.ID] = sl
	}
	if now.After(sl.lastUsed) {
		sl.lastUsed = now
	}
	if sl.index < 0 || !sl.expiry.Equal(g.Expiry) {
		s.plan(sl, g.Expiry)
	}
}

// seed adds a grant the store says was used recently (after a restart).
func (s *schedule) seed(g riscd.Grant, now time.Time) {
	if !s.planning || now.Sub(g.LastUsedAt) > s.window || g.RefreshToken.IsZero() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots[g.ID] != nil {
		return
	}
	sl := &slot{id: g.ID, lastUsed: g.LastUsedAt, index: -1}
	s.slots[g.ID] = sl
	s.plan(sl, g.Expiry)
}

// refreshed re-plans a grant on the schedule for its new expiry.
func (s *schedule) refreshed(id string, expiry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[id]; sl != nil {
		s.plan(sl, expiry)
	}
}

// retry makes the refresher look at a grant on the schedule again at t.
func (s *schedule) retry(id string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[id]; sl != nil {
		sl.due = t
		s.queueSlot(sl)
	}
}

// drop forgets a grant whose tokens may no longer be served.
func (s *schedule) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[id]; sl != nil {
		if sl.index >= 0 {
			heap.Remove(&s.queue, sl.index)
		}
		delete(s.slots, id)
	}
}

// plan sets sl's due time for expiry: the lead time and a random jitter
// before it; a grant of unknown expiry is only looked at again when it may
// have gone idle.
func (s *schedule) plan(sl *slot, expiry time.Time) {
	sl.expiry = expiry
	if expiry.IsZero() {
		sl.due = sl.lastUsed.Add(s.window)
	} else {
		sl.due = expiry.Add(-s.lead - rand.N(maxJitter(s.lead)+1))
	}
	s.queueSlot(sl)
}

func (s *schedule) queueSlot(sl *slot) {
	if sl.index >= 0 {
		heap.Fix(&s.queue, sl.index)
	} else {
		heap.Push(&s.queue, sl)
	}
}

// popDue takes up to max grants whose due time has come and that were used
// within the window; grants idle longer leave the schedule.
func (s *schedule) popDue(now time.Time, max int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for len(ids) < max && len(s.queue) > 0 && !s.queue[0].due.After(now) {
		sl := heap.Pop(&s.queue).(*slot)
		switch {
		case now.Sub(sl.lastUsed) > s.window:
			delete(s.slots, sl.id)
		case sl.expiry.IsZero():
			s.plan(sl, sl.expiry)
		default:
			ids = append(ids, sl.id)
		}
	}
	return ids
}

// takeDirty returns the LastUsedAt values to write and forgets them.
func (s *schedule) takeDirty() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.dirty) == 0 {
		return nil
	}
	d := s.dirty
	s.dirty = map[string]time.Time{}
	return d
}

// putDirty returns values takeDirty gave that could not be written.
func (s *schedule) putDirty(d map[string]time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range d {
		if cur, ok := s.dirty[id]; !ok || cur.Before(t) {
			s.dirty[id] = t
		}
	}
}

// slotQueue is a min-heap of slots by due time (container/heap).
type slotQueue []*slot

func (q slotQueue) Len() int           { return len(q) }
func (q slotQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q slotQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *slotQueue) Push(x any) {
	sl := x.(*slot)
	sl.index = len(*q)
	*q = append(*q, sl)
}
func (q *slotQueue) Pop() any {
	old := *q
	sl := old[len(old)-1]
	old[len(old)-1] = nil
	sl.index = -1
	*q = old[:len(old)-1]
	return sl
}
