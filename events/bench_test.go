package events

import (
	"context"
	"testing"
	"time"
)

func BenchmarkParseGoogle(b *testing.B) {
	payload := googleSET(TypeAccountDisabled, `{"subject": `+issSubJSON+`, "reason": "hijacking"}`)
	reg := NewRegistry()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := reg.Parse(payload, FormatGoogle); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSSFComplex(b *testing.B) {
	subID := `{"format": "complex", "session": {"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"}, "user": ` + ssfUserJSON + `, "tenant": {"format": "opaque", "id": "123456789"}}`
	payload := ssfSET(subID, TypeSessionRevoked, `{"initiating_entity": "policy", "reason_admin": {"en": "Landspeed Policy Violation: C076E82F"}, "reason_user": {"en": "Access attempt from multiple regions.", "es-410": "Intento de acceso desde varias regiones."}, "event_timestamp": 1615304991}`)
	reg := NewRegistry()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := reg.Parse(payload, FormatSSF); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	payload := googleSET(TypeAccountDisabled, `{"subject": `+issSubJSON+`, "reason": "hijacking"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckJSON(payload); err != nil {
			b.Fatal(err)
		}
	}
}

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
	d, _ := startDispatcher(b, DispatcherConfig{Queue: q, Handlers: []Handler{h},
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
