package boltdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// Benchmarks run at 10k grants by default. The 1M-grant store takes about a
// minute and ~1.5 GB of temporary disk to build, so it runs only when
// RISCD_BENCH_LARGE=1 is set:
//
//	RISCD_BENCH_LARGE=1 go test -run x -bench . -benchtime 2s ./store/
//
// CI runs `go test -run x -bench . -benchtime 1x ./store/`, which stays quick.

// benchSub spreads grants over subjects two at a time, with realistic
// 21-digit subject identifiers in no particular order.
func benchSub(i int) string {
	return fmt.Sprintf("1%020d", mix(uint64(i/2))%100_000_000_000_000_000)
}

// mix is splitmix64: a fixed scrambling, so runs are repeatable.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func benchStart() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func benchGrant(i int) riscd.Grant {
	sub := benchSub(i)
	return riscd.Grant{
		Sub:           sub,
		Email:         "user" + sub[12:] + "@example.com",
		EmailVerified: true,
		Scopes:        []string{"openid", "email", "https://www.googleapis.com/auth/gmail.readonly"},
		RefreshToken:  riscd.Secret(storetest.RefreshToken(uint64(i))),
		AccessToken:   riscd.Secret(storetest.AccessToken(uint64(i))),
		TokenType:     "Bearer",
		Expiry:        benchStart().Add(3599 * time.Second),
		Status:        riscd.GrantActive,
		RefreshedAt:   benchStart(),
	}
}

// populate builds a store of n grants in transactions of up to batch
// grants and returns it with the options that open it.
func populate(b *testing.B, n, batch int) (*boltdb.DB, boltdb.Options) {
	b.Helper()
	opts := boltdb.Options{Path: filepath.Join(b.TempDir(), "riscd.db"), Key: mustKey(b), NoSync: true}
	db, err := boltdb.Open(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for start := 0; start < n; start += batch {
		err := db.Update(context.Background(), func(tx riscd.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				if _, err := tx.CreateGrant(context.Background(), benchGrant(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return db, opts
}

func reportSize(b *testing.B, db *boltdb.DB, n int) {
	b.Helper()
	s, err := db.Stats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(s.FileBytes)/float64(n), "file-B/grant")
	b.ReportMetric(float64(s.DataBytes)/float64(n), "disk-B/grant")
	b.ReportMetric(float64(s.LiveBytes)/float64(n), "live-B/grant")
}

func BenchmarkGrants(b *testing.B) {
	sizes := []int{10_000}
	if os.Getenv("RISCD_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db, opts := populate(b, n, 100_000)
			ctx := context.Background()
			const sample = 4096
			digests := make([][]byte, sample)
			subs := make([]string, sample)
			for i := range sample {
				j := int(mix(uint64(i)+1<<40) % uint64(n))
				digests[i] = riscd.RefreshTokenDigest(storetest.RefreshToken(uint64(j)))
				subs[i] = benchSub(j)
			}
			b.Run("ByRefreshDigest", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := db.GrantByRefreshDigest(ctx, digests[i%sample]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				reportSize(b, db, n)
			})
			b.Run("BySub", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if gs, err := db.GrantsBySub(ctx, subs[i%sample]); err != nil || len(gs) == 0 {
						b.Fatalf("GrantsBySub: %d grants, %v", len(gs), err)
					}
					i++
				}
				reportSize(b, db, n)
			})
			b.Run("ByVerifiedEmail", func(b *testing.B) {
				// The lookup of one email subject of another transmitter.
				i := 0
				for b.Loop() {
					if _, err := db.GrantsByVerifiedEmail(ctx, "user"+subs[i%sample][12:]+"@example.com"); err != nil {
						b.Fatal(err)
					}
					i++
				}
				reportSize(b, db, n)
			})
			b.Run("CreateGrant", func(b *testing.B) {
				i := n
				for b.Loop() {
					if _, err := db.CreateGrant(ctx, benchGrant(i)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			// The riscd_grants gauge, at every scrape.
			b.Run("CountGrants", func(b *testing.B) {
				for b.Loop() {
					if c, err := db.CountGrants(ctx); err != nil || c[riscd.GrantActive] < n {
						b.Fatalf("CountGrants = %v, %v", c, err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/grant")
			})
			// The admin page's held grants: 10 among n.
			b.Run("ListHeld", func(b *testing.B) {
				for i := range 10 {
					g, _, err := db.ListGrants(ctx, riscd.GrantQuery{Sub: benchSub(i * 997 % n)})
					if err != nil || len(g) == 0 {
						b.Fatalf("ListGrants: %d, %v", len(g), err)
					}
					if _, err := db.UpdateGrant(ctx, g[0].ID, func(g riscd.Grant) (riscd.Grant, error) {
						g.Status = riscd.GrantHeld
						return g, nil
					}); err != nil {
						b.Fatal(err)
					}
				}
				for b.Loop() {
					if gs, _, err := db.ListGrants(ctx, riscd.GrantQuery{Status: riscd.GrantHeld, Limit: riscd.MaxLimit}); err != nil || len(gs) != 10 {
						b.Fatalf("ListGrants held: %d grants, %v", len(gs), err)
					}
				}
			})
			// Last, as it closes the shared store: the time to open it.
			b.Run("Open", func(b *testing.B) {
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					db, err := boltdb.Open(context.Background(), opts)
					if err != nil {
						b.Fatal(err)
					}
					db.Close()
				}
			})
		})
	}
}

// BenchmarkCreateGrantOneByOne builds a store one grant per committed
// transaction, as riscd does in service, to compare its size with the bulk
// built stores (the fill of hash-keyed index pages differs).
func BenchmarkCreateGrantOneByOne(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			db, err := boltdb.Open(context.Background(), boltdb.Options{
				Path: filepath.Join(b.TempDir(), "riscd.db"), Key: mustKey(b), NoSync: !sync,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			n := 0
			for b.Loop() {
				if _, err := db.CreateGrant(context.Background(), benchGrant(n)); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportSize(b, db, n)
		})
	}
}
