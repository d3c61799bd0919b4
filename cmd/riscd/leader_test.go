package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Two replicas run a leader-guarded loop over one store: only one runs its
// rounds, every interval; when it stops, the other takes the lead at its
// next round.
func TestLedLoopRunsOnOneReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openReplicaStore(t)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		var mu sync.Mutex
		rounds := map[string]int{}
		run := func(name string) (stop func()) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				runLed(ctx, db, log, "prune", time.Hour, func(context.Context) {
					mu.Lock()
					rounds[name]++
					mu.Unlock()
				})
			}()
			return func() { cancel(); <-done }
		}
		count := func() (a, b int) {
			mu.Lock()
			defer mu.Unlock()
			return rounds["a"], rounds["b"]
		}
		stopA := run("a")
		synctest.Wait() // a has taken the lead and run its first round
		stopB := run("b")
		defer stopB()
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		if a, b := count(); a != 4 || b != 0 {
			t.Fatalf("rounds a %d, b %d after three hours; want 4 (at start, then hourly) and 0", a, b)
		}
		stopA()
		time.Sleep(time.Hour)
		synctest.Wait()
		if a, b := count(); a != 4 || b != 1 {
			t.Errorf("rounds a %d, b %d an hour after a stopped; want 4 and 1", a, b)
		}
	})
}
