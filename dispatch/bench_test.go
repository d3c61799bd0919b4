package dispatch

import (
	"context"
	"testing"
	"time"
)

// BenchmarkDispatcherNotifyToHandler measures the time from Notify to the
// handler receiving a freshly committed entry, one entry at a time, with
// polling an hour away. ns/op is that latency plus recording it done.
func BenchmarkDispatcherNotifyToHandler(b *testing.B) {
	q := newFakeQueue()
	got := make(chan time.Time, 1)
	h := HandlerFunc(func(context.Context, Delivery) error {
		got <- time.Now()
		return nil
	})
	d, _ := startDispatcher(b, Config{Queue: q, Handlers: []Handler{h},
		PollInterval: time.Hour, RescanInterval: time.Hour})
	waitFor(b, "initial read", func() bool { p, _ := q.calls(); return p >= 1 })
	var total time.Duration
	n := 0
	for b.Loop() {
		id := q.add("opaque:a")
		start := time.Now()
		d.Notify()
		total += (<-got).Sub(start)
		n++
		waitFor(b, "entry done", func() bool { return q.status(id) == "done" })
	}
	b.ReportMetric(float64(total.Microseconds())/float64(n), "µs-to-handler")
}
