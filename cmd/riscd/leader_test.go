package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store"
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
		// b starts half an hour later, so that the replicas' rounds never
		// fall at one instant: a leader lets its lock go and takes it
		// again at each round, and at one instant which replica then
		// leads is a race (harmless: one of them runs the round).
		time.Sleep(30 * time.Minute)
		stopB := run("b")
		defer stopB()
		time.Sleep(2*time.Hour + 31*time.Minute)
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

// On PostgreSQL a lock is a session's: when the database ends the session
// holding a loop's lock (a restart, a dropped connection), the leader is not
// told. Another replica then takes the lead, and the old leader must learn
// it at its next round and skip it, not run the loop's rounds alongside.
func TestLeaderLearnsItsLockWasDropped(t *testing.T) {
	dbURL := testkit.PostgresDatabase(t, "")
	ctx := context.Background()
	key, _, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	open := func(name string) riscd.DB {
		db, err := store.Open(ctx, store.Options{Engine: store.EnginePostgres, URL: dbURL + "&application_name=" + name, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	var logs testkit.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, b := newLeader(open("replica-a"), "sweep", log), newLeader(open("replica-b"), "sweep", log)
	defer a.resign()
	defer b.resign()
	if !a.lead(ctx) || !a.lead(ctx) {
		t.Fatal("a does not lead, alone")
	}
	if b.lead(ctx) {
		t.Fatal("b leads while a does")
	}

	// The database ends a's sessions, the lock's among them, as a restart
	// would.
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'replica-a' AND datname = current_database()`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("terminating a's sessions: %d sessions, %v; want some", n, err)
	}
	testkit.Eventually(t, "b takes the lead the database released", func() bool { return b.lead(ctx) })
	if a.lead(ctx) {
		t.Fatal("a still leads after the database dropped its lock and b took it")
	}
	if !strings.Contains(logs.String(), "lost the loop's lead") {
		t.Errorf("a did not log the lead it lost; log:\n%s", logs.String())
	}
	b.resign()
	if !a.lead(ctx) {
		t.Error("a does not take the lead back once b resigned")
	}
}
