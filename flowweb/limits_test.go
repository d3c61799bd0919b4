package flowweb_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/store/boltdb"
)

// countingTransport counts the requests to the token endpoint.
type countingTransport struct {
	tokenCalls atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, googlesim.PathToken) {
		c.tokenCalls.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// clientFrom is a browser whose connections leave from the loopback
// address src.
func clientFrom(t *testing.T, src string) *http.Client {
	c := newBrowser(t)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c.Transport = &http.Transport{DialContext: d.DialContext}
	return c
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// /authorize and /oauth2callback are limited per client address: pairs of
// /authorize and /oauth2callback?code=junk reach the token endpoint only
// as often as the limit allows, and another address is not held back.
func TestConsentRoutesAreRateLimited(t *testing.T) {
	tr := &countingTransport{}
	limited := &recordingObserver{}
	e := newEnv(t, envOptions{config: func(cfg *flowweb.Config) {
		cfg.ConsentPerMinute, cfg.ConsentPerMinuteTotal = 4, 1000
		cfg.HTTPClient = &http.Client{Transport: tr, Timeout: 20 * time.Second}
		cfg.Observer = limited
	}})
	attacker := clientFrom(t, "127.0.0.1")
	var statuses []int
	for range 10 {
		resp := get(t, attacker, e.srv.URL+"/authorize")
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode != http.StatusFound {
			if ra := resp.Header.Get("Retry-After"); ra != "15" {
				t.Errorf("Retry-After %q, want 15 (one request every 15 s)", ra)
			}
			continue
		}
		state := resp.Header.Get("Location")
		u, _ := http.NewRequest(http.MethodGet, state, nil)
		resp = get(t, attacker, e.srv.URL+"/oauth2callback?code=junk&state="+u.URL.Query().Get("state"))
		statuses = append(statuses, resp.StatusCode)
	}
	if n := tr.tokenCalls.Load(); n != 2 {
		t.Errorf("the token endpoint was called %d times, want 2 (statuses %v)", n, statuses)
	}
	want := []int{302, 400, 302, 400, 429, 429, 429, 429, 429, 429, 429, 429}
	if len(statuses) != len(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
	if limited.limited.Load() != 8 {
		t.Errorf("observer told of %d limited requests, want 8", limited.limited.Load())
	}
	if resp := get(t, clientFrom(t, "127.0.0.2"), e.srv.URL+"/authorize"); resp.StatusCode != http.StatusFound {
		t.Errorf("another client: %d, want 302", resp.StatusCode)
	}
	e.clock.Advance(15 * time.Second)
	if resp := get(t, attacker, e.srv.URL+"/authorize"); resp.StatusCode != http.StatusFound {
		t.Errorf("after 15 s: %d, want 302", resp.StatusCode)
	}
}

// All clients together are bounded too.
func TestConsentRoutesTotalLimit(t *testing.T) {
	e := newEnv(t, envOptions{config: func(cfg *flowweb.Config) {
		cfg.ConsentPerMinute, cfg.ConsentPerMinuteTotal = 2, 3
	}})
	var got []int
	for _, src := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		got = append(got, get(t, clientFrom(t, src), e.srv.URL+"/authorize").StatusCode)
	}
	if got[0] != 302 || got[1] != 302 || got[2] != 302 || got[3] != 429 {
		t.Errorf("statuses %v, want three 302 then 429", got)
	}
}

// At most MaxPendingFlows flows are started within FlowTTL: past it
// /authorize stores nothing and answers 503 until the oldest expires.
func TestPendingFlowsAreCapped(t *testing.T) {
	e := newEnv(t, envOptions{config: func(cfg *flowweb.Config) {
		cfg.MaxPendingFlows = 3
		cfg.ConsentPerMinute, cfg.ConsentPerMinuteTotal = 100, 100
	}})
	for i := range 3 {
		if resp := get(t, clientFrom(t, "127.0.0.1"), e.srv.URL+"/authorize"); resp.StatusCode != http.StatusFound {
			t.Fatalf("flow %d: %d", i, resp.StatusCode)
		}
		e.clock.Advance(time.Minute)
	}
	resp := get(t, clientFrom(t, "127.0.0.1"), e.srv.URL+"/authorize")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "420" {
		t.Fatalf("a fourth pending flow: %d Retry-After %q, want 503 and 420", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The store holds three flows: sweeping an hour ahead removes three.
	if n, err := e.db.DeleteFlowsBefore(context.Background(), e.clock.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("flows stored: %d %v, want 3", n, err)
	}
	e.clock.Advance(7 * time.Minute)
	if resp := get(t, clientFrom(t, "127.0.0.1"), e.srv.URL+"/authorize"); resp.StatusCode != http.StatusFound {
		t.Errorf("after the oldest expired: %d, want 302", resp.StatusCode)
	}
}

type recordingObserver struct {
	limited atomic.Int32
	skipped atomic.Int32
}

func (o *recordingObserver) Limited(string)                 { o.limited.Add(1) }
func (o *recordingObserver) RecordsSkipped(_ string, n int) { o.skipped.Add(int32(n)) }

// skippingStore is the store with a flow sweep that met undecodable records.
type skippingStore struct {
	*boltdb.DB
}

func (s skippingStore) SweepFlows(ctx context.Context, before time.Time) (riscd.FlowSweep, error) {
	sw, err := s.DB.SweepFlows(ctx, before)
	sw.Undecodable += 2
	return sw, err
}

// The sweep reports undecodable records and goes on to the sessions.
func TestSweepCountsUndecodableFlows(t *testing.T) {
	obs := &recordingObserver{}
	var db *boltdb.DB
	e := newEnv(t, envOptions{config: func(cfg *flowweb.Config) {
		db = cfg.Store.(*boltdb.DB)
		cfg.Store = skippingStore{db}
		cfg.Observer = obs
	}})
	if _, _, err := e.h.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if obs.skipped.Load() != 2 || !strings.Contains(e.logs.String(), "undecodable flow records") {
		t.Errorf("skipped %d; log %s", obs.skipped.Load(), e.logs.String())
	}
}
