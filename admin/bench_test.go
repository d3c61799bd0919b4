package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
)

// BenchmarkScrape measures one /metrics exposition over a store of
// admintest.BenchGrants() grants, 1,000 pending events and 200 pending outbox jobs:
// what a Prometheus scrape costs riscd.
func BenchmarkScrape(b *testing.B) {
	e := admintest.New(b, nil)
	admintest.FillStore(b, e.DB, admintest.BenchGrants())
	err := e.DB.Update(context.Background(), func(tx riscd.Tx) error {
		for i := range 1000 {
			en := admintest.DisabledEvent(fmt.Sprintf("j%d", i), fmt.Sprintf("sub-%d", i), "")
			en.Iss, en.Transmitter = admintest.GoogleIss, "google"
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
	if err := e.Srv.CountGrants(context.Background()); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		rec := httptest.NewRecorder()
		start := time.Now()
		e.Handler.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	admintest.ReportLatency(b, lat)
}

// BenchmarkCountGrants measures Run's periodic count of grants by status
// (a walk over every grant) at admintest.BenchGrants() grants.
func BenchmarkCountGrants(b *testing.B) {
	e := admintest.New(b, nil)
	n := admintest.BenchGrants()
	admintest.FillStore(b, e.DB, n)
	b.ResetTimer()
	for b.Loop() {
		if err := e.Srv.CountGrants(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/grant")
}

// BenchmarkListGrantsPage measures GET /admin/grants (a page of 100) over
// admintest.BenchGrants() grants, unfiltered and with a status filter that matches
// one grant in ten.
func BenchmarkListGrantsPage(b *testing.B) {
	e := admintest.New(b, nil)
	admintest.FillStore(b, e.DB, admintest.BenchGrants())
	for _, q := range []string{"", "?status=held"} {
		b.Run("query="+q, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/admin/grants"+q, nil)
				req.Header.Set("Authorization", "Bearer "+admintest.AdminToken)
				rec := httptest.NewRecorder()
				start := time.Now()
				e.Handler.ServeHTTP(rec, req)
				lat = append(lat, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
			admintest.ReportLatency(b, lat)
		})
	}
}
