package locks

import (
	"context"
	"errors"
	"testing"
)

func TestTryLockRefusesAHeldLockUntilReleased(t *testing.T) {
	var s Set
	ctx := t.Context()
	release, ok, err := s.TryLock(ctx, "a")
	if err != nil || !ok {
		t.Fatalf("first TryLock: ok %v, err %v", ok, err)
	}
	if _, ok, _ := s.TryLock(ctx, "a"); ok {
		t.Fatal("second TryLock of a held lock succeeded")
	}
	if r, ok, _ := s.TryLock(ctx, "b"); !ok {
		t.Fatal("TryLock of another name refused")
	} else {
		r()
	}
	release()
	release() // a second call is harmless
	r, ok, _ := s.TryLock(ctx, "a")
	if !ok {
		t.Fatal("TryLock after release refused")
	}
	r()
}

func TestLockWaitsForTheHolder(t *testing.T) {
	var s Set
	ctx := t.Context()
	release, err := s.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		r, err := s.Lock(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	release()
	(<-got)()
}

func TestLockGivesUpWithItsContext(t *testing.T) {
	var s Set
	release, _ := s.Lock(t.Context(), "a")
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Lock(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled context: %v", err)
	}
}
