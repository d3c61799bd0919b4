package workqueue

import (
	"fmt"
	"testing"
	"time"
)

// The wait doubles per attempt from base up to max, and the jitter keeps it
// within [d/2, d].
func TestBackoff(t *testing.T) {
	base, maxWait := time.Second, 10*time.Minute
	for attempts := 1; attempts <= 40; attempts++ {
		ceiling := base << min(attempts-1, 20)
		if ceiling > maxWait {
			ceiling = maxWait
		}
		for range 50 {
			got := Backoff(base, maxWait, attempts)
			if got < ceiling/2 || got > ceiling {
				t.Fatalf("Backoff(attempts=%d) = %v, want within [%v, %v]", attempts, got, ceiling/2, ceiling)
			}
		}
	}
}

func TestBackoffTable(t *testing.T) {
	tests := []struct {
		attempts int
		lo, hi   int64 // seconds
	}{
		{1, 1, 2}, {2, 2, 4}, {3, 4, 8}, {10, 30, 60}, {100, 30, 60},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.attempts), func(t *testing.T) {
			for range 50 {
				d := Backoff(2*time.Second, 60*time.Second, tc.attempts)
				if d < seconds(tc.lo) || d > seconds(tc.hi) {
					t.Fatalf("Backoff after %d attempts = %v, want within [%ds, %ds]", tc.attempts, d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func seconds(s int64) time.Duration { return time.Duration(s) * time.Second }
