package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// benchGrants is how many grants the store benchmarks hold: 10,000, or
// 100,000 with RISCD_BENCH_LARGE=1.
func benchGrants() int {
	if os.Getenv("RISCD_BENCH_LARGE") == "1" {
		return 100_000
	}
	return 10_000
}

// fillStore adds n grants (one held in ten), in transactions of 1,000.
func fillStore(b *testing.B, db *boltdb.DB, n int) {
	b.Helper()
	for start := 0; start < n; start += 1000 {
		err := db.Update(context.Background(), func(tx riscd.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				st := riscd.GrantActive
				if i%10 == 0 {
					st = riscd.GrantHeld
				}
				_, err := tx.CreateGrant(context.Background(), riscd.Grant{
					Sub: fmt.Sprintf("sub-%d", i), Scopes: []string{"openid", "email"}, Status: st,
					RefreshToken: riscd.Secret(fmt.Sprintf("1//0bench-refresh-%08d-%s", i, strings.Repeat("x", 80))),
					AccessToken:  riscd.Secret(fmt.Sprintf("ya29.bench-access-%08d-%s", i, strings.Repeat("y", 150))),
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// reportLatency reports p50 and p99 of the durations in microseconds.
func reportLatency(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkScrape measures one /metrics exposition over a store of
// benchGrants() grants, 1,000 pending events and 200 pending outbox jobs:
// what a Prometheus scrape costs riscd.
func BenchmarkScrape(b *testing.B) {
	e := newEnv(b, nil)
	fillStore(b, e.db, benchGrants())
	err := e.db.Update(context.Background(), func(tx riscd.Tx) error {
		for i := range 1000 {
			en := disabledEvent(fmt.Sprintf("j%d", i), fmt.Sprintf("sub-%d", i), "")
			en.Iss, en.Transmitter = googleIss, "google"
			if _, _, err := tx.PutInbox(context.Background(), en); err != nil {
				return err
			}
		}
		for range 200 {
			if _, err := tx.EnqueueOutbox(context.Background(), riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.srv.CountGrants(context.Background()); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		rec := httptest.NewRecorder()
		start := time.Now()
		e.handler.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	reportLatency(b, lat)
}

// BenchmarkCountGrants measures Run's periodic count of grants by status
// (a walk over every grant) at benchGrants() grants.
func BenchmarkCountGrants(b *testing.B) {
	e := newEnv(b, nil)
	n := benchGrants()
	fillStore(b, e.db, n)
	b.ResetTimer()
	for b.Loop() {
		if err := e.srv.CountGrants(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/grant")
}

// BenchmarkListGrantsPage measures GET /admin/grants (a page of 100) over
// benchGrants() grants, unfiltered and with a status filter that matches
// one grant in ten.
func BenchmarkListGrantsPage(b *testing.B) {
	e := newEnv(b, nil)
	fillStore(b, e.db, benchGrants())
	for _, q := range []string{"", "?status=held"} {
		b.Run("query="+q, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/admin/grants"+q, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				rec := httptest.NewRecorder()
				start := time.Now()
				e.handler.ServeHTTP(rec, req)
				lat = append(lat, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
			reportLatency(b, lat)
		})
	}
}
