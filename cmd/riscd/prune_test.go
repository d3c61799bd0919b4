package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// TestMainPrunesToRetention: at start-up riscd removes the events and
// outbox jobs done before store.retention (90 days by default), keeps the
// newer ones, and reports it in its metrics.
func TestMainPrunesToRetention(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(l.cfg.Store.Retention); got != 90*24*time.Hour {
		t.Fatalf("default store.retention %s, want 2160h", got)
	}
	ctx := context.Background()
	db, err := boltdb.Open(ctx, boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	put := func(jti string, doneAgo time.Duration) {
		t.Helper()
		e, _, err := db.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: jti, Raw: "raw", ReceivedAt: now.Add(-doneAgo - time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		e.Status, e.DoneAt = riscd.InboxDone, now.Add(-doneAgo)
		if err := db.PutInboxEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	put("old", 91*24*time.Hour)
	put("recent", 24*time.Hour)
	job, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k", CreatedAt: now.Add(-100 * 24 * time.Hour), Status: riscd.OutboxDone, DoneAt: now.Add(-99 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	m := MustRunMain(t, cfg)
	metrics := "http://" + m.InternalAddr() + "/metrics"
	lastPrune := regexp.MustCompile(`(?m)^riscd_store_last_prune_timestamp_seconds [1-9]`)
	pruned := lastPrune.MatchString
	testkit.Eventually(t, "a prune reported in the metrics", func() bool { return pruned(scrape(t, metrics)) })
	// One scrape collects its metrics one after another, so the one that
	// saw the timestamp may have read the counters before they were
	// added to; the next starts after both.
	out := scrape(t, metrics)
	for _, want := range []string{`riscd_store_pruned_total{kind="events"} 1`, `riscd_store_pruned_total{kind="jobs"} 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics after the prune lack %s:\n%s", want, grepLines(out, "riscd_store_"))
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = boltdb.Open(ctx, boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.InboxByJTI(ctx, "https://accounts.google.com", "old"); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("old event: %v, want pruned", err)
	}
	if _, err := db.InboxByJTI(ctx, "https://accounts.google.com", "recent"); err != nil {
		t.Errorf("recent event: %v, want kept", err)
	}
	if _, err := db.OutboxJob(ctx, job.ID); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("old job: %v, want pruned", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Error(err)
	}
}
