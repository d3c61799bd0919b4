package limit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Attempts made together are judged one at a time: of 200 at once, exactly
// the burst is allowed.
func TestKeyedReservesAtomically(t *testing.T) {
	k := NewKeyed(KeyedConfig{Every: 12 * time.Second, Burst: 5})
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			if k.Reserve("192.0.2.1", t0) == 0 {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != 5 {
		t.Fatalf("%d of 200 attempts allowed, want 5", got)
	}
	if d := k.Reserve("192.0.2.1", t0); d != 12*time.Second {
		t.Errorf("wait %v, want 12s", d)
	}
	if d := k.Reserve("192.0.2.1", t0.Add(12*time.Second)); d != 0 {
		t.Errorf("after 12 s: wait %v, want 0", d)
	}
	k.Forget("192.0.2.1")
	for i := range 5 {
		if d := k.Reserve("192.0.2.1", t0.Add(12*time.Second)); d != 0 {
			t.Fatalf("after Forget, attempt %d: wait %v", i, d)
		}
	}
}

// A full table neither shares a bucket among new keys nor grows: a new
// key evicts a refilled key first, else the least recently seen.
func TestKeyedBoundedAndFair(t *testing.T) {
	k := NewKeyed(KeyedConfig{Every: time.Minute, Burst: 2, Size: 64})
	k.Reserve("operator", t0) // refills after a minute
	for i := range 63 {
		key := fmt.Sprintf("attacker-%d", i)
		k.Reserve(key, t0.Add(time.Minute))
		k.Reserve(key, t0.Add(time.Minute))
	}
	if k.Len() != 64 {
		t.Fatalf("len %d", k.Len())
	}
	now := t0.Add(time.Minute)
	// Many new keys: each has its own bucket (two attempts each), none is
	// refused because others filled the table.
	for i := range 1000 {
		key := fmt.Sprintf("new-%d", i)
		if d := k.Reserve(key, now); d != 0 {
			t.Fatalf("new key %d refused for %v: it shares a bucket", i, d)
		}
		if d := k.Reserve(key, now); d != 0 {
			t.Fatalf("new key %d refused at its second attempt for %v", i, d)
		}
	}
	if k.Len() > 64 {
		t.Errorf("table grew to %d", k.Len())
	}
	// The last keys seen are still limited.
	if d := k.Reserve("new-999", now); d == 0 {
		t.Error("the most recent key's third attempt was allowed")
	}
}

// The shared bucket bounds all keys together, and a refused attempt
// counts in neither bucket.
func TestKeyedTotal(t *testing.T) {
	k := NewKeyed(KeyedConfig{Every: time.Second, Burst: 3, TotalEvery: time.Second, TotalBurst: 4})
	n := 0
	for i := range 10 {
		if k.Reserve(fmt.Sprint("c", i), t0) == 0 {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d allowed, want 4 (the shared burst)", n)
	}
	if d := k.Reserve("c9", t0.Add(time.Second)); d != 0 {
		t.Errorf("c9 refused %v after the shared bucket refilled one", d)
	}
}
