package storetest

import (
	"context"
	"errors"
	"sync/atomic"
)

// lockCases pin riscd.Locker. They take the locks of one store handle; an
// engine whose locks span processes tests that on its own.
func lockCases() []tcase {
	return []tcase{
		{"try lock refuses a held lock until it is released", func(e *env) func(*env) {
			release := tryLock(e, "a", true)
			tryLock(e, "a", false) // not reentrant, and not anyone else's
			rb := tryLock(e, "b", true)
			release()
			release() // harmless
			again := tryLock(e, "a", true)
			release() // a stale release does not free the new holder's lock
			tryLock(e, "a", false)
			again()
			rb()
			tryLock(e, "a", true)()
			return func(e *env) { tryLock(e, "a", true)() }
		}},
		{"lock waits for the release", func(e *env) func(*env) {
			release := tryLock(e, "job", true)
			var released atomic.Bool
			got := make(chan error, 1)
			go func() {
				r, err := e.db.Lock(e.ctx, "job")
				if err == nil {
					if !released.Load() {
						err = errAcquiredWhileHeld
					}
					r()
				}
				got <- err
			}()
			// A Lock whose context ends while the lock is held gives up
			// with the context's error rather than taking the lock.
			ctx, cancel := context.WithCancel(e.ctx)
			done := make(chan error, 1)
			go func() {
				r, err := e.db.Lock(ctx, "job")
				if err == nil {
					r()
				}
				done <- err
			}()
			cancel()
			wantErr(e.t, "Lock with a context ended while the lock is held", <-done, context.Canceled)
			released.Store(true)
			release()
			noErr(e.t, <-got)
			// After the waiter released it, the lock is free.
			r := must(e.db.Lock(e.ctx, "job"))(e.t)
			r()
			r()
			return nil
		}},
	}
}

var errAcquiredWhileHeld = errors.New("Lock returned while another holder had the lock")

// tryLock calls TryLock(name), fails the case unless it reports want, and
// returns the release function (a no-op when the lock was refused).
func tryLock(e *env, name string, want bool) func() {
	e.t.Helper()
	release, ok, err := e.db.TryLock(e.ctx, name)
	noErr(e.t, err)
	if ok != want {
		e.t.Fatalf("TryLock(%q) = %v, want %v", name, ok, want)
	}
	if !ok {
		return func() {}
	}
	return release
}
