// Package locks is riscd.Locker within one process: named locks in memory,
// for an engine (bbolt) whose store only one process can open.
package locks

import (
	"context"
	"sync"
)

// Set is a riscd.Locker whose locks are held in memory. The zero Set is
// ready to use.
type Set struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when released
}

// TryLock takes the lock name if no one holds it.
func (s *Set) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.held[name]; busy {
		return nil, false, nil
	}
	return s.take(name), true, nil
}

// Lock waits until it takes the lock name, or ctx is done.
func (s *Set) Lock(ctx context.Context, name string) (func(), error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		done, busy := s.held[name]
		if !busy {
			release := s.take(name)
			s.mu.Unlock()
			return release, nil
		}
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// take marks name held; s.mu is held.
func (s *Set) take(name string) func() {
	if s.held == nil {
		s.held = map[string]chan struct{}{}
	}
	done := make(chan struct{})
	s.held[name] = done
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.held, name)
			s.mu.Unlock()
			close(done)
		})
	}
}
