package lifecycle_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store"
	"github.com/riscd/riscd/store/boltdb"
)

// The /v1/token path for a cached, valid token, without HTTP (the admin
// package measures its route): Token reads the subject's account and
// grants, picks the grant, checks its expiry and records the use. The
// store holds 100k grants (50k subjects) and commits with fsync, as in
// production; no refresh is needed. "serial" is one caller at a time,
// "parallel" GOMAXPROCS callers at once; each reports p50 and p99 latency
// and calls per second.
//
//	go test -run x -bench TokenCached -benchtime 200000x ./lifecycle/
//
// CI runs -benchtime 1x: the store then holds benchGrants' small number
// of grants, built in a second.
func BenchmarkTokenCached(b *testing.B) {
	n := benchGrants(b)
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "riscd.db")
	populateBench(b, path, key, n)
	db, err := boltdb.Open(ctx, boltdb.Options{Path: path, Key: key})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	benchTokenCached(b, db, n)
}

// BenchmarkTokenCachedPostgres is BenchmarkTokenCached on the PostgreSQL
// engine: a fresh database on the server RISCD_TEST_POSTGRES_URL names
// (skipped without one), holding the same records, copied in with Import
// from a bbolt store built as BenchmarkTokenCached's (100k grants take
// about a minute to import; -benchtime 1x imports benchGrants' small
// number). The target is a p99 of at most 2 ms. "floor" is the same
// number of round trips to the server with nothing to read (BEGIN, two
// SELECT 1, COMMIT): what the machine's scheduling of two processes costs
// by itself.
//
//	go test -run x -bench TokenCachedPostgres -benchtime 20000x ./lifecycle/
func BenchmarkTokenCachedPostgres(b *testing.B) {
	n := benchGrants(b)
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	dbURL := testkit.PostgresDatabase(b, "")
	path := filepath.Join(b.TempDir(), "riscd.db")
	populateBench(b, path, key, n)
	src, err := boltdb.Open(ctx, boltdb.Options{Path: path, Key: key, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, store.Options{Engine: store.EnginePostgres, URL: dbURL, Key: key})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.Import(ctx, src.Export)
	_ = src.Close()
	if err != nil {
		b.Fatal(err)
	}
	benchTokenCached(b, db, n)
	// What the machine's round trips to PostgreSQL cost by themselves: a
	// read-only transaction of two one-row selects (as Token's View is
	// BEGIN, the account, the grants, COMMIT) on one connection.
	b.Run("floor", func(b *testing.B) {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		lat := make([]time.Duration, 0, b.N)
		start := time.Now()
		for b.Loop() {
			t := time.Now()
			err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
				var one int
				for range 2 {
					if err := tx.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		reportLatency(b, lat, time.Since(start), n)
	})
}

// reportLatency reports the p50 and p99 of lat, the calls per second over
// elapsed and the store's number of grants.
func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration, grants int) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(grants), "grants")
}

// benchGrants is how many grants the token benchmarks' store holds:
// 100,000, or 2,000 when the benchmark runs once (-benchtime 1x, as CI
// does) to prove it works. RISCD_BENCH_GRANTS sets another number.
func benchGrants(b *testing.B) int {
	if n, err := strconv.Atoi(os.Getenv("RISCD_BENCH_GRANTS")); err == nil && n > 0 {
		return n
	}
	if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() == "1x" {
		return 2_000
	}
	return 100_000
}

// benchTokenCached runs the serial and parallel /v1/token calls over db,
// which holds n grants built by populateBench.
func benchTokenCached(b *testing.B, db lifecycle.Store, n int) {
	ctx := context.Background()
	lc, err := lifecycle.New(lifecycle.Config{
		Store: db, RevokeURL: "http://127.0.0.1:1/revoke",
		ClientID: "bench", ClientSecret: "bench-secret", TokenURL: "http://127.0.0.1:1/token",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	scopes := []string{"email"}
	call := func(i int) time.Duration {
		start := time.Now()
		tok, err := lc.Token(ctx, benchSub(i*7919%n), scopes)
		d := time.Since(start)
		if err != nil || tok.AccessToken.IsZero() {
			b.Fatalf("Token: %v", err)
		}
		return d
	}
	report := func(b *testing.B, lat []time.Duration, elapsed time.Duration) { reportLatency(b, lat, elapsed, n) }
	b.Run("serial", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			lat = append(lat, call(i))
		}
		report(b, lat, time.Since(start))
	})
	b.Run("parallel", func(b *testing.B) {
		var mu sync.Mutex
		var lat []time.Duration
		var next atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			local := make([]time.Duration, 0, 1024)
			for pb.Next() {
				local = append(local, call(int(next.Add(1))))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
		report(b, lat, time.Since(start))
	})
}
