package boltdb_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// benchInboxEntry is a Google-shaped SET as the receiver stores it: the
// compact JWS (about 1 KB) and its payload.
func benchInboxEntry(i int) riscd.InboxEntry {
	claims := fmt.Sprintf(`{"iss":"https://accounts.google.com","aud":"123456789012-bench.apps.googleusercontent.com","iat":1772366400,"jti":"T%016X","events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com","sub":"10%09d"},"reason":"hijacking"}}}`, i, i%5000)
	enc := base64.RawURLEncoding
	sig := make([]byte, 256)
	for j := range sig {
		sig[j] = byte(mix(uint64(i*256 + j)))
	}
	raw := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"bench-kid"}`)) + "." + enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString(sig)
	return riscd.InboxEntry{
		Transmitter: "google",
		Iss:         "https://accounts.google.com",
		JTI:         fmt.Sprintf("T%016X", i),
		Subject:     fmt.Sprintf("iss-sub:https://accounts.google.com|10%09d", i%5000),
		Types:       []string{"https://schemas.openid.net/secevent/risc/event-type/account-disabled"},
		Raw:         raw,
		Claims:      []byte(claims),
		ReceivedAt:  benchStart().Add(time.Duration(i) * time.Millisecond),
	}
}

// BenchmarkPutInbox is the cost of storing one received SET, in
// transactions of 64 entries, fsync off: the work the receiver's group
// commit does inside the single-writer transaction.
func BenchmarkPutInbox(b *testing.B) {
	const batch = 64
	db, err := boltdb.Open(context.Background(), boltdb.Options{
		Path: filepath.Join(b.TempDir(), "riscd.db"), Key: mustKey(b), NoSync: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	entries := make([]riscd.InboxEntry, 4096)
	for i := range entries {
		entries[i] = benchInboxEntry(i)
	}
	n := 0
	for b.Loop() {
		err := db.Update(context.Background(), func(tx riscd.Tx) error {
			for range batch {
				e := entries[n%len(entries)]
				e.JTI = fmt.Sprintf("T%016X", n)
				if _, created, err := tx.PutInbox(context.Background(), e); err != nil || !created {
					return fmt.Errorf("PutInbox: created %v, %v", created, err)
				}
				n++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/entry")
}

// BenchmarkPutPreparedInbox is BenchmarkPutInbox with the entries encoded
// by PrepareInbox before the transaction, as the receiver does: ns/entry
// is the time the single writer holds the lock per entry.
func BenchmarkPutPreparedInbox(b *testing.B) {
	const batch = 64
	db, err := boltdb.Open(context.Background(), boltdb.Options{
		Path: filepath.Join(b.TempDir(), "riscd.db"), Key: mustKey(b), NoSync: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	entries := make([]riscd.InboxEntry, 4096)
	for i := range entries {
		entries[i] = benchInboxEntry(i)
	}
	n := 0
	prepared := make([]boltdb.PreparedInbox, batch)
	var inTx time.Duration
	for b.Loop() {
		for i := range prepared {
			e := entries[(n+i)%len(entries)]
			e.JTI = fmt.Sprintf("T%016X", n+i)
			if prepared[i], err = db.PrepareInbox(e); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		err := db.Update(context.Background(), func(tx riscd.Tx) error {
			for _, p := range prepared {
				// PutPreparedInbox is bbolt's own, not the riscd.Tx contract.
				if _, created, err := tx.(*boltdb.Tx).PutPreparedInbox(context.Background(), p); err != nil || !created {
					return fmt.Errorf("PutPreparedInbox: created %v, %v", created, err)
				}
				n++
			}
			return nil
		})
		inTx += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/entry")
	b.ReportMetric(float64(inTx.Nanoseconds())/float64(n), "ns/entry-in-tx")
}

// BenchmarkPrune is the cost of pruning done SETs: each iteration fills a
// store with 20,000 done entries (not timed) and prunes them all, in
// Prune's transactions of 500, fsync on as in riscd. ns/entry is the time
// per entry removed; tx-ms is the mean time of one of Prune's
// transactions, which another writer may wait for.
func BenchmarkPrune(b *testing.B) {
	const n, perTx = 20000, 500
	var total time.Duration
	removed := 0
	for b.Loop() {
		b.StopTimer()
		db, err := boltdb.Open(context.Background(), boltdb.Options{Path: filepath.Join(b.TempDir(), "riscd.db"), Key: mustKey(b)})
		if err != nil {
			b.Fatal(err)
		}
		err = db.Update(context.Background(), func(tx riscd.Tx) error {
			for i := range n {
				e := benchInboxEntry(i)
				e.Status, e.DoneAt = riscd.InboxDone, e.ReceivedAt.Add(time.Second)
				if _, _, err := tx.PutInbox(context.Background(), e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		got, err := db.Prune(context.Background(), benchStart().Add(time.Hour))
		total += time.Since(start)
		b.StopTimer()
		if err != nil || got.Events != n {
			b.Fatalf("Prune = %+v, %v; want %d events", got, err, n)
		}
		removed += got.Events
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(removed), "ns/entry")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(removed/perTx), "tx-ms")
}
