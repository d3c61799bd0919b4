package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riscd/riscd"
)

// BenchmarkInboxPutInbox16 measures SETs accepted per second through
// Inbox().PutInbox with 16 concurrent writers, each call durable
// (committed, WAL flushed) before it returns.
func BenchmarkInboxPutInbox16(b *testing.B) {
	db := openTest(b, newDatabase(b), testKey(b), nil)
	ctx := context.Background()
	var next atomic.Int64
	const writers = 16
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + writers - 1) / writers
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if _, _, err := db.Inbox().PutInbox(ctx, entry(strconv.FormatInt(next.Add(1), 10))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*writers)/b.Elapsed().Seconds(), "SETs/s")
}

// BenchmarkGrantByRefreshDigest measures the token-revoked lookup among
// 10,000 grants.
func BenchmarkGrantByRefreshDigest(b *testing.B) {
	db := openTest(b, newDatabase(b), testKey(b), nil)
	ctx := context.Background()
	const grants = 10000
	for i := 0; i < grants; i += 500 {
		err := db.Update(ctx, func(tx riscd.Tx) error {
			for j := i; j < i+500; j++ {
				if _, err := tx.CreateGrant(ctx, riscd.Grant{Sub: fmt.Sprint("sub-", j%1000),
					RefreshToken: riscd.Secret(fmt.Sprintf("1//refresh-%08d-token", j))}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	digests := make([][]byte, 256)
	for i := range digests {
		digests[i] = riscd.RefreshTokenDigest(fmt.Sprintf("1//refresh-%08d-token", i*37%grants))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.GrantByRefreshDigest(ctx, digests[i%len(digests)]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
