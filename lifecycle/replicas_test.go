package lifecycle_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// runOutboxOf runs lc's outbox until the returned stop is called (or the
// test ends).
func runOutboxOf(t *testing.T, lc *lifecycle.Lifecycle) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- lc.RunOutbox(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunOutbox: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Two replicas' outboxes over one store: each job is worked by one of
// them at a time, so each webhook is delivered once, in its subject's
// order, with the same webhook-id on every attempt whichever replica makes
// it, and every attempt is counted on the job.
func TestOutboxReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBubbleWorld(t, nil)
		w.useRealClock()
		subs := []string{subA, subB, "110000000000000000003"}
		for i, sub := range subs {
			w.grant(sub, refreshToken(uint64(100+i)))
		}
		// Every webhook fails its first two attempts.
		fails := map[string]int{}
		w.hooks.setAnswer(func(p lifecycle.WebhookPayload) int {
			if fails[p.EventJTI] < 2 {
				fails[p.EventJTI]++
				return http.StatusBadGateway
			}
			return 0
		})
		order := map[string][]string{}
		for round := range 4 {
			for _, sub := range subs {
				jti := fmt.Sprintf("%s-%d", sub, round)
				typ := []string{events.TypeSessionsRevoked, events.TypeAccountCredentialChangeRequired}[round%2]
				w.deliver(googleSET(t, jti, typ, issSub(sub), ""))
				order[sub] = append(order[sub], jti)
			}
		}
		// Each call takes a while, as over a network: long enough for the
		// other replica to try the same job meanwhile.
		w.cfg.HTTPClient = &http.Client{Transport: slowTransport{w.cfg.HTTPClient.Transport}, CheckRedirect: w.cfg.HTTPClient.CheckRedirect}
		w.lc = w.build(w.cfg)
		other := w.build(w.cfg)
		runOutboxOf(t, w.lc)
		runOutboxOf(t, other)
		time.Sleep(time.Minute)
		synctest.Wait()

		got := map[string][]string{}
		ids := map[string]string{}
		requests := map[string]int{}
		for _, h := range w.hooks.all() {
			jti := h.payload.EventJTI
			if prev, ok := ids[jti]; ok && prev != h.id {
				t.Errorf("webhook for %s changed its id across attempts: %s then %s", jti, prev, h.id)
			}
			ids[jti] = h.id
			requests[jti]++
			if h.status/100 == 2 {
				got[h.payload.Sub] = append(got[h.payload.Sub], jti)
			}
		}
		for _, sub := range subs {
			if !slices.Equal(got[sub], order[sub]) {
				t.Errorf("%s: delivered %q, want %q, each once", sub, got[sub], order[sub])
			}
		}
		jobs := w.outbox()
		if len(jobs) == 0 {
			t.Fatal("no outbox jobs")
		}
		for _, j := range jobs {
			if j.Kind != riscd.OutboxWebhook {
				continue
			}
			if j.Status != riscd.OutboxDone || j.Attempts != 3 {
				t.Errorf("job %d: %s after %d attempts, want done after 3", j.ID, j.Status, j.Attempts)
			}
		}
		for jti, n := range requests {
			if n != 3 {
				t.Errorf("webhook %s requested %d times, want 3 (two failures, one success)", jti, n)
			}
		}
	})
}

// slowTransport takes a second before each request.
type slowTransport struct{ next http.RoundTripper }

func (s slowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	time.Sleep(time.Second)
	return s.next.RoundTrip(req)
}

// Two replicas' token brokers over one store: concurrent requests for an
// expired token, spread over both, cause exactly one upstream refresh; the
// replica that waited serves the token the other stored.
func TestTokenReplicasShareOneRefresh(t *testing.T) {
	w := newSimWorld(t, 1, nil)
	sub := w.subs[0]
	old := w.simGrant(sub, w.clock.Now().Add(-time.Minute))
	replicas := []*lifecycle.Lifecycle{w.lc, w.build(w.cfg)}

	const n = 200
	toks := make([]lifecycle.Token, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = replicas[i%2].Token(w.ctx, sub, []string{"email"})
		})
	}
	close(start)
	wg.Wait()

	if got := w.refreshRequests(); got != 1 {
		t.Errorf("refresh requests at googlesim = %d, want exactly 1", got)
	}
	first := toks[0].AccessToken
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if toks[i].AccessToken != first {
			t.Fatalf("caller %d (replica %d) got another token than caller 0", i, i%2)
		}
	}
	if first == old.AccessToken || w.getGrant(old.ID).AccessToken != first {
		t.Error("callers got the expired token, or not the one stored")
	}
	w.assertNoSecret(w.rts[sub], first.Reveal())
}
