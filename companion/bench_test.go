package companion_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/companion"
)

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

// BenchmarkTokenRoute measures POST /v1/token in process (no network) with a
// broker that answers from memory: the companion API's own cost (auth,
// decoding, the answer, the request log) on top of the broker's.
func BenchmarkTokenRoute(b *testing.B) {
	e := admintest.NewWith(b, nil, nil)
	e.Broker.Answers["alice"] = admintest.BrokerAnswer{Tok: companion.Token{AccessToken: "ya29.cached", Expiry: admintest.T0.Add(time.Hour), Scopes: []string{"openid"}}}
	body := `{"sub":"alice","scopes":["openid"]}`
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admintest.AppToken)
		rec := httptest.NewRecorder()
		start := time.Now()
		e.Handler.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	reportLatency(b, lat)
}
