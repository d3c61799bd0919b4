package testkit

import (
	"testing"
	"time"
)

// EventuallyTimeout bounds Eventually. It only stops a test that would
// otherwise hang: a slow or loaded machine never comes near it.
const EventuallyTimeout = 2 * time.Minute

// Eventually calls cond until it reports true, sleeping between calls (a
// few milliseconds at first, at most 50 ms), and fails tb naming what it
// waited for once EventuallyTimeout has passed. cond runs on the caller's
// goroutine, so it may itself fail tb at once on a state that can never
// turn good.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(EventuallyTimeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v waiting for %s", EventuallyTimeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
