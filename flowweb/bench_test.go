package flowweb_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/riscd/riscd/googlesim"
)

// BenchmarkAuthorize measures GET /authorize: a flow record committed to
// the store and the authorization URL built.
func BenchmarkAuthorize(b *testing.B) {
	e := newEnv(b, envOptions{})
	for b.Loop() {
		if p := e.get("/authorize"); p.status != http.StatusFound {
			b.Fatalf("status %d", p.status)
		}
	}
}

// BenchmarkConsent measures a whole re-consent: /authorize, googlesim's
// immediate approval, and the callback (code exchange, ID-token check,
// grant, account and session in one transaction).
func BenchmarkConsent(b *testing.B) {
	e := newEnv(b, envOptions{})
	e.connect("", googlesim.Choice{})
	for b.Loop() {
		cb, err := googlesim.Consent(context.Background(), e.browser, e.startAuth("").String(), googlesim.Choice{})
		if err != nil {
			b.Fatal(err)
		}
		if p := e.get(cb.String()); p.status != http.StatusSeeOther {
			b.Fatalf("callback status %d (%s)", p.status, p.code())
		}
	}
}

// BenchmarkIndex measures the signed-in index page: session, account and
// grants read, page rendered.
func BenchmarkIndex(b *testing.B) {
	e := newEnv(b, envOptions{})
	e.connect("", googlesim.Choice{})
	for b.Loop() {
		if p := e.get("/"); p.status != http.StatusOK {
			b.Fatalf("status %d", p.status)
		}
	}
}

// BenchmarkFeatureCall measures GET /features/drive with a fresh token
// (the call to googlesim's Drive included).
func BenchmarkFeatureCall(b *testing.B) {
	e := newEnv(b, envOptions{})
	e.connect("", googlesim.Choice{})
	for b.Loop() {
		if p := e.get("/features/drive"); p.status != http.StatusOK {
			b.Fatalf("status %d", p.status)
		}
	}
}
