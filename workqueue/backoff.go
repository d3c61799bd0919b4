package workqueue

import (
	"math/rand/v2"
	"time"
)

// Backoff returns the wait before retrying after the given number of failed
// attempts (from 1): base doubled per further attempt, capped at max, with
// "equal jitter" so that the result lies in [d/2, d]. Retries of items that
// failed together spread out instead of hammering a recovering dependency at
// the same instant.
func Backoff(base, max time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	if d > max || d <= 0 {
		d = max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
