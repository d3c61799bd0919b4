package adminpage_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
)

// uiCookieFor signs in through the handler and returns the session cookie.
func uiCookieFor(b *testing.B, e *admintest.Env) *http.Cookie {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, "/admin/ui/login", strings.NewReader(url.Values{"token": {admintest.AdminToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("sign in: status %d", rec.Code)
	}
	return sessionCookie(b, rec.Header())
}

// BenchmarkUIPages measures admin pages in process (no network) over a
// store of admintest.BenchGrants() grants (one held in ten) and 1,000 audit entries:
// the grant list (a page of 100, unfiltered and held only), a grant page,
// and the held and flagged accounts, whose scan reads the held grants, the
// latest audit entries and up to 500 accounts.
func BenchmarkUIPages(b *testing.B) {
	e, _ := newUIEnv(b, nil, nil)
	admintest.FillStore(b, e.DB, admintest.BenchGrants())
	err := e.DB.Update(b.Context(), func(tx riscd.Tx) error {
		for i := range 1000 {
			if _, err := tx.AppendAudit(b.Context(), riscd.AuditEntry{Sub: fmt.Sprintf("sub-%d", i*7), Action: "hold_grants", Actor: "event"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	grants, _, err := e.DB.ListGrants(b.Context(), riscd.GrantQuery{Limit: 1})
	if err != nil || len(grants) != 1 {
		b.Fatalf("a grant: %v", err)
	}
	ck := uiCookieFor(b, e)
	for _, path := range []string{"/admin/ui/grants", "/admin/ui/grants?status=held", "/admin/ui/grants/" + grants[0].ID, "/admin/ui/accounts"} {
		b.Run("page="+path, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.AddCookie(ck)
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
