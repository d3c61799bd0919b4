package postgres

import (
	"crypto/sha256"
	"math"
	"time"
)

var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// nanos is t as Unix nanoseconds for an ordering column, clamped to the
// range an int64 holds.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nullNanos is nanos, or NULL for the zero time.
func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := nanos(t)
	return &n
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// nullBytes is b, or NULL for "".
func nullBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
