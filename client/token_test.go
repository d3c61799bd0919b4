package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/internal/testkit"
)

const driveScope = "https://www.googleapis.com/auth/drive.metadata.readonly"

// tokenServer answers POST /v1/token with tok-1, tok-2, ... each expiring
// ttl after clk's now.
func tokenServer(clk *testkit.Clock, ttl time.Duration) (http.HandlerFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		exp := ""
		if ttl > 0 {
			exp = `"expiry":"` + clk.Now().Add(ttl).Format(time.RFC3339Nano) + `",`
		}
		answer(w, http.StatusOK, fmt.Sprintf(`{"access_token":"tok-%d","token_type":"Bearer",%s"scopes":["openid",%q]}`, i, exp, driveScope))
	}, &n
}

func TestTokenSourceReusesUntilShortlyBeforeExpiry(t *testing.T) {
	clk := testkit.NewClock(t0)
	h, calls := tokenServer(clk, time.Hour)
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/token": h})
	ts := mustNew(f, clk).TokenSource(context.Background(), client.Sub("alice"), driveScope)

	want := func(step, access string, n int32) {
		t.Helper()
		tok, err := ts.Token()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if tok.AccessToken != access || tok.RefreshToken != "" || calls.Load() != n {
			t.Fatalf("%s: token %q (refresh %q) after %d requests, want %q after %d", step, tok.AccessToken, tok.RefreshToken, calls.Load(), access, n)
		}
	}
	want("first", "tok-1", 1)
	if got := f.requests()[0]; got.path != "/v1/token" || got.body["sub"] != "alice" || got.body["app_user"] != nil ||
		fmt.Sprint(got.body["scopes"]) != "["+driveScope+"]" {
		t.Errorf("request %+v, want {sub: alice, scopes: [drive]}", got)
	}
	want("again", "tok-1", 1)
	clk.Set(t0.Add(time.Hour - client.DefaultExpiryMargin - time.Second))
	want("just before the margin", "tok-1", 1)
	clk.Set(t0.Add(time.Hour - client.DefaultExpiryMargin))
	want("within the margin", "tok-2", 2)
	want("the new one again", "tok-2", 2)
}

func TestTokenSourceSharesOneRequest(t *testing.T) {
	clk := testkit.NewClock(t0)
	release := make(chan struct{})
	h, calls := tokenServer(clk, time.Hour)
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/token": func(w http.ResponseWriter, r *http.Request) {
		<-release
		h(w, r)
	}})
	ts := mustNew(f, clk).TokenSource(context.Background(), client.Sub("alice"), driveScope)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = tok.AccessToken
		})
	}
	close(release)
	wg.Wait()
	if calls.Load() != 1 || slices.ContainsFunc(got, func(s string) bool { return s != "tok-1" }) {
		t.Errorf("%d requests, tokens %v; want one request and tok-1 for all", calls.Load(), got)
	}
}

func TestTokenSourceForAnAppUser(t *testing.T) {
	clk := testkit.NewClock(t0)
	h, _ := tokenServer(clk, time.Hour)
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/token": h})
	tok, err := mustNew(f, clk).TokenSource(context.Background(), client.AppUser("u-123"), "openid", "email").Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[0].body; got["app_user"] != "u-123" || got["sub"] != nil || fmt.Sprint(got["scopes"]) != "[openid email]" {
		t.Errorf("body %v, want app_user u-123, no sub, the scopes", got)
	}
	if sc, _ := tok.Extra("scopes").([]string); !slices.Equal(sc, []string{"openid", driveScope}) {
		t.Errorf("Extra(scopes) = %v, want riscd's answer", tok.Extra("scopes"))
	}
}

func TestTokenWithoutExpiryIsNotReused(t *testing.T) {
	clk := testkit.NewClock(t0)
	h, calls := tokenServer(clk, 0)
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/token": h})
	ts := mustNew(f, clk).TokenSource(context.Background(), client.Sub("alice"), driveScope)
	for _, want := range []string{"tok-1", "tok-2"} {
		tok, err := ts.Token()
		if err != nil || tok.AccessToken != want || !tok.Expiry.IsZero() {
			t.Fatalf("Token() = %v %v, want %s without expiry", tok, err, want)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d requests, want 2", calls.Load())
	}
}

func TestTokenRefusalsAreTyped(t *testing.T) {
	secretish := "ya29.must-not-leak"
	tests := []struct {
		name   string
		status int
		body   string
		header map[string]string
		check  func(t *testing.T, err error)
	}{
		{"no grant", http.StatusNotFound, `{"error":"no_grant","detail":"riscd holds no grant for this subject"}`, nil, func(t *testing.T, err error) {
			if !errors.Is(err, client.ErrNoGrant) || errors.Is(err, client.ErrNotFound) {
				t.Errorf("%v: want ErrNoGrant only", err)
			}
		}},
		{"missing scopes", http.StatusForbidden, `{"error":"missing_scopes","detail":{"missing_scopes":["https://www.googleapis.com/auth/calendar"]}}`, nil, func(t *testing.T, err error) {
			var se *client.ScopeError
			if !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"https://www.googleapis.com/auth/calendar"}) || !errors.Is(err, client.ErrMissingScopes) {
				t.Errorf("%v: want a *ScopeError missing calendar", err)
			}
		}},
		{"unknown error code", http.StatusTeapot, `{"error":"teapot","detail":"` + secretish + `"}`, nil, func(t *testing.T, err error) {
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusTeapot || ae.Code != "teapot" || ae.Temporary() {
				t.Errorf("%v: want *APIError 418 teapot, not temporary", err)
			}
		}},
		{"upstream down", http.StatusServiceUnavailable, `{"error":"upstream_unavailable","detail":"the token endpoint failed; retry later"}`, map[string]string{"Retry-After": "5"}, func(t *testing.T, err error) {
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Code != client.CodeUpstreamUnavailable || !ae.Temporary() || ae.RetryAfter != 5*time.Second {
				t.Errorf("%v: want a temporary *APIError with Retry-After 5s", err)
			}
		}},
		{"not JSON", http.StatusBadGateway, `<html>bad gateway</html>`, nil, func(t *testing.T, err error) {
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != "" || !ae.Temporary() {
				t.Errorf("%v: want a temporary *APIError 502 without code", err)
			}
		}},
	}
	for _, state := range []string{client.StateHeld, client.StateRevoked, client.StateReconsentRequired, client.StateReauthRequired} {
		tests = append(tests, struct {
			name   string
			status int
			body   string
			header map[string]string
			check  func(t *testing.T, err error)
		}{state, http.StatusConflict, `{"error":"grant_unavailable","detail":{"reason":"hijacking","state":"` + state + `"}}`, nil, func(t *testing.T, err error) {
			var ue *client.UnavailableError
			if !errors.As(err, &ue) || ue.State != state || ue.Reason != "hijacking" || !errors.Is(err, client.ErrGrantUnavailable) {
				t.Errorf("%v: want *UnavailableError %s (hijacking)", err, state)
			}
		}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			f := newFake(t, map[string]http.HandlerFunc{"POST /v1/token": func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				answer(w, tc.status, tc.body)
			}})
			ts := mustNew(f, testkit.NewClock(t0)).TokenSource(context.Background(), client.Sub("alice"), driveScope)
			for range 2 { // refusals are not cached
				tok, err := ts.Token()
				if err == nil {
					t.Fatalf("Token() = %v, want an error", tok)
				}
				tc.check(t, err)
				if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), appToken) {
					t.Errorf("error text %q quotes the answer or the app token", err)
				}
			}
			if calls.Load() != 2 {
				t.Errorf("%d requests, want 2: a refusal is not cached", calls.Load())
			}
		})
	}
}

func TestWrongAppTokenIsUnauthorized(t *testing.T) {
	f := newFake(t, nil)
	_, err := client.New(f.URL, "wrong", client.WithHTTPClient(f.Client())).Token(context.Background(), client.Sub("alice"), "openid")
	if !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("err = %v, want ErrUnauthorized", err)
	}
	if _, err := client.New(f.URL, appToken).Token(context.Background(), client.Who{}, "openid"); err == nil {
		t.Error("a token for nobody: no error")
	}
}

// TestErrorsReachTheAPICaller: a refusal of riscd comes out of an HTTP
// client made by oauth2.NewClient, as Google's libraries make theirs,
// still typed.
func TestErrorsReachTheAPICaller(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/token": func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusConflict, `{"error":"grant_unavailable","detail":{"reason":"hijacking","state":"held"}}`)
	}})
	ctx := context.Background()
	hc := oauth2.NewClient(ctx, mustNew(f, testkit.NewClock(t0)).TokenSource(ctx, client.Sub("alice"), driveScope))
	_, err := hc.Get(f.URL + "/never-reached")
	var ue *client.UnavailableError
	if !errors.As(err, &ue) || ue.State != client.StateHeld {
		t.Errorf("GET = %v, want an *UnavailableError held", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests reached the fake, want only the token request", n)
	}
}

func TestStatesAreRiscds(t *testing.T) {
	for _, c := range [][2]string{
		{client.StateHeld, riscd.StateHeld}, {client.StateRevoked, riscd.StateRevoked},
		{client.StateReconsentRequired, riscd.StateReconsentRequired}, {client.StateReauthRequired, riscd.StateReauthRequired},
	} {
		if c[0] != c[1] {
			t.Errorf("client state %q, riscd's %q", c[0], c[1])
		}
	}
}

func TestClientDoesNotPrintItsToken(t *testing.T) {
	c := client.New("http://127.0.0.1:9090", appToken)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, appToken) {
			t.Errorf("printed %q", s)
		}
	}
}
