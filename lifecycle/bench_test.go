package lifecycle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

// Event-to-effect, as far as lifecycle owns it: the time the handler takes
// from a delivered SET to the committed change of grant and account state
// (with its audit entries, mark and webhook job), on a store of 100k
// grants (50k subjects). The store commits with fsync, as in production.
//
//	go test -run x -bench Handler -benchtime 2000x ./lifecycle/
//
// CI runs -benchtime 1x: building the store takes about four seconds.
func BenchmarkHandler(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "riscd.db")
	tokens := populateBench(b, path, key, n)
	db, err := boltdb.Open(ctx, boltdb.Options{Path: path, Key: key})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	lc, err := lifecycle.New(lifecycle.Config{
		Store: db, RevokeURL: "http://127.0.0.1:1/revoke", WebhookURL: "http://127.0.0.1:1/hooks", WebhookSecret: testSecret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	h := lc.Handler()
	kinds := []func(i int) *events.SET{
		func(i int) *events.SET {
			return googleSET(b, fmt.Sprint("b", i), events.TypeSessionsRevoked, issSub(benchSub(i*7919%n)), "")
		},
		func(i int) *events.SET {
			return googleSET(b, fmt.Sprint("b", i), events.TypeAccountDisabled, issSub(benchSub(i*7919%n)), `"reason": "hijacking"`)
		},
		func(i int) *events.SET {
			return googleSET(b, fmt.Sprint("b", i), events.TypeAccountEnabled, issSub(benchSub(i*7919%n)), "")
		},
		func(i int) *events.SET {
			return googleSET(b, fmt.Sprint("b", i), events.TypeTokenRevoked,
				tokenSubject(events.AlgHashSHA512SHA512, hashID(tokens[i*7919%n], nil)), "")
		},
	}
	sets := make([]*events.SET, b.N)
	for i := range sets {
		sets[i] = kinds[i%len(kinds)](i)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := h.Handle(ctx, dispatch.Delivery{Entry: dispatch.Entry{Transmitter: transmitter}, SET: sets[i], Attempt: 1}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(n), "grants")
}

func benchSub(i int) string { return fmt.Sprintf("1%020d", i/2) }

// populateBench builds a store of n grants (two per subject, with accounts
// and a session each) in large transactions and returns the refresh tokens.
func populateBench(b *testing.B, path string, key boltdb.Key, n int) []string {
	b.Helper()
	ctx := context.Background()
	db, err := boltdb.Open(ctx, boltdb.Options{Path: path, Key: key, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tokens := make([]string, n)
	const batch = 5000
	for start := 0; start < n; start += batch {
		err := db.Update(ctx, func(tx riscd.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				tokens[i] = refreshToken(uint64(i) + 1_000_000)
				sub := benchSub(i)
				if _, err := tx.CreateGrant(ctx, riscd.Grant{
					Sub: sub, Email: "u" + sub[12:] + "@example.com", Scopes: []string{"openid", "email"},
					RefreshToken: riscd.Secret(tokens[i]), AccessToken: riscd.Secret("ya29." + tokens[i][4:]),
					TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour), Status: riscd.GrantActive,
				}); err != nil {
					return err
				}
				if i%2 == 0 {
					if err := tx.PutAccount(ctx, riscd.Account{Sub: sub, Email: "u" + sub[12:] + "@example.com"}); err != nil {
						return err
					}
					if err := tx.CreateSession(ctx, riscd.Session{ID: riscd.Secret("s" + sub), Sub: sub, CSRF: "c", CreatedAt: t0().Add(-time.Hour)}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return tokens
}
