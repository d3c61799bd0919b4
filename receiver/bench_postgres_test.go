package receiver_test

import (
	"context"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/internal/testkit/hostile"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store"
)

// BenchmarkReceiverPostgres measures riscd's receiver on the PostgreSQL
// engine against the same receiver on the bbolt engine, under the same
// load as BenchmarkReceiver's (b.N pre-signed distinct SETs, benchWorkers
// in flight, sent by a load generator process per server). Each server
// stores through the engine's Inbox(), as riscd does: the two take turns,
// a quarter of the SETs at a time, so that a change in the machine's load
// weighs on both alike, and each sees every SET once.
//
//	pg-*:     the receiver over a fresh PostgreSQL database (a commit,
//	          WAL flushed, before each 202; the server from
//	          RISCD_TEST_POSTGRES_URL, which it skips without);
//	bolt-*:   the receiver over a fresh bbolt file (fsync on);
//	pg-ratio: pg-SETs/s / bolt-SETs/s (target >= 0.5).
//
// CI runs it with -benchtime 1x (one SET per turn, after the warm-up: it
// only proves the benchmark works, in a few seconds); measure with e.g.
// -benchtime 20000x.
func BenchmarkReceiverPostgres(b *testing.B) {
	dbURL := testkit.PostgresDatabase(b, "")
	key := mustRSAKeys(b, 1)[0]
	warm := benchTokens(b, key, "W", 2*benchWorkers)
	toks := benchTokens(b, key, "T", b.N)
	tokFile := writeTokens(b, warm, toks)
	nw := len(warm)
	jwksURL := hostile.ServeJWKS(b, benchKid, &key.PublicKey)

	ctx := context.Background()
	storeKey, _, err := seal.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	open := func(o store.Options) riscd.DB {
		o.Key, o.Now = storeKey, time.Now
		db, err := store.Open(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		return db
	}
	pgDB := open(store.Options{Engine: store.EnginePostgres, URL: dbURL})
	boltDB := open(store.Options{Engine: store.EngineBolt, Path: b.TempDir() + "/riscd.db"})
	pgLoad := startLoadGen(b, tokFile, riscdServerOn(b, jwksURL, pgDB.Inbox(), nil))
	boltLoad := startLoadGen(b, tokFile, riscdServerOn(b, jwksURL, boltDB.Inbox(), nil))
	b.ResetTimer()

	pgLoad.closed(0, nw)
	boltLoad.closed(0, nw)
	var pgRun, boltRun loadRun
	for r := range benchRounds {
		from, to := nw+len(toks)*r/benchRounds, nw+len(toks)*(r+1)/benchRounds
		if from == to {
			continue
		}
		// Alternate which engine goes first, so neither always follows
		// the other's background work (bbolt's page writes, PostgreSQL's
		// checkpoints).
		if r%2 == 0 {
			pgRun.add(pgLoad.closed(from, to))
			boltRun.add(boltLoad.closed(from, to))
		} else {
			boltRun.add(boltLoad.closed(from, to))
			pgRun.add(pgLoad.closed(from, to))
		}
	}
	b.StopTimer()
	pg, bolt := pgRun.summarize(), boltRun.summarize()

	for name, db := range map[string]riscd.DB{"postgres": pgDB, "bbolt": boltDB} {
		// bbolt's inbox writer journals entries and files them shortly
		// after: wait for that before counting.
		if f, ok := db.(interface{ FlushInbox(context.Context) error }); ok {
			if err := f.FlushInbox(ctx); err != nil {
				b.Fatal(err)
			}
		}
		n, err := db.CountInbox(ctx, riscd.InboxPending)
		if err != nil {
			b.Fatal(err)
		}
		if want := len(toks) + len(warm); n != want {
			b.Fatalf("%s: pending inbox entries = %d, want %d", name, n, want)
		}
	}
	pg.report(b, "pg")
	bolt.report(b, "bolt")
	b.ReportMetric(pg.rate/bolt.rate, "pg-ratio")
	b.ReportMetric(1e9/pg.rate, "ns/op")
}
