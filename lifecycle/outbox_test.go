package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
)

// Google's revoke endpoint fails (500), then hangs, then comes back: every
// token is revoked exactly once and each revocation is audited.
func TestUpstreamRevokeThroughOutage(t *testing.T) {
	sim, tokens := startSim(t, 4)
	obs := newCountingObserver()
	w := newWorld(t, func(c *lifecycle.Config) {
		c.Observer = obs
		useSim(c, sim)
		c.AttemptTimeout = 200 * time.Millisecond
		c.Actions = map[string][]string{"account-disabled/hijacking": {"end_sessions", "revoke_upstream", "revoke_grants", "notify"}}
	})
	w.useRealClock()
	grants := map[string]riscd.Grant{}
	for sub, rt := range tokens {
		grants[sub] = w.grant(sub, rt)
	}
	if err := sim.SetFault(googlesim.EndpointRevoke, googlesim.Fault{Status: http.StatusInternalServerError}); err != nil {
		t.Fatal(err)
	}
	i := 0
	for sub := range tokens {
		i++
		if i%2 == 0 {
			// An operator's delete takes the same path.
			if err := w.lc.DiscardGrant(w.ctx, grants[sub].ID, ""); err != nil {
				t.Fatalf("DiscardGrant: %v", err)
			}
			continue
		}
		w.deliver(googleSET(t, "jti-"+sub, events.TypeAccountDisabled, fmt.Sprintf(`{"subject_type": "iss-sub", "iss": %q, "sub": %q}`, googleIss, sub), `"reason": "hijacking"`))
	}
	for sub, g := range grants {
		if got := w.getGrant(g.ID); got.Status != riscd.GrantRevoked || got.RefreshToken != "" {
			t.Errorf("grant of %s: status %s, token kept %v: the event path must not wait for Google", sub, got.Status, got.RefreshToken != "")
		}
	}
	stop := w.runOutbox()
	revokes := func() int { return sim.Stats().Requests[googlesim.EndpointRevoke] }
	waitFor(t, "failed revoke attempts", func() bool { return revokes() >= 8 })
	if err := sim.SetFault(googlesim.EndpointRevoke, googlesim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	n := revokes()
	waitFor(t, "hanging revoke attempts", func() bool { return revokes() >= n+4 })
	sim.ClearFaults()
	w.waitJobs()
	stop()

	if got := sim.Stats().Revocations; got != len(tokens) {
		t.Errorf("googlesim counted %d revocations, want %d", got, len(tokens))
	}
	for sub, rt := range tokens {
		if !sim.IsRevoked(rt) {
			t.Errorf("token of %s not revoked at Google", sub)
		}
	}
	revoked := map[string]int{}
	for _, e := range w.audit() {
		if e.Actor == "outbox" && e.Action == "revoke_upstream" {
			if e.Outcome != "revoked" {
				t.Errorf("revoke audit outcome %q, want revoked", e.Outcome)
			}
			revoked[e.Sub]++
		}
	}
	for sub := range tokens {
		if revoked[sub] != 1 {
			t.Errorf("%s: %d revoke audit entries, want 1", sub, revoked[sub])
		}
	}
	revokeAttempts := 0
	for _, j := range w.outbox() {
		if j.Status != riscd.OutboxDone || j.Token != "" {
			t.Errorf("job %d (%s): status %s, token kept %v", j.ID, j.Kind, j.Status, j.Token != "")
		}
		if j.Kind == riscd.OutboxRevoke && j.Attempts < 2 {
			t.Errorf("revoke job %d: %d attempts, want retries through the outage", j.ID, j.Attempts)
		}
		if j.Kind == riscd.OutboxRevoke {
			revokeAttempts += j.Attempts
		}
	}
	// The observer heard of every attempt the jobs record.
	done, retry := obs.attemptCount("revoke", lifecycle.OutboxDone), obs.attemptCount("revoke", lifecycle.OutboxRetry)
	if done != len(tokens) || done+retry != revokeAttempts || obs.attemptCount("revoke", lifecycle.OutboxFailed) != 0 {
		t.Errorf("observer: %d revokes done, %d retried, want %d done and %d attempts in all", done, retry, len(tokens), revokeAttempts)
	}
}

// Revoking a token Google no longer knows is done, not retried.
func TestUpstreamRevokeOfDeadToken(t *testing.T) {
	sim, tokens := startSim(t, 1)
	w := newWorld(t, func(c *lifecycle.Config) { useSim(c, sim) })
	var g riscd.Grant
	for sub, rt := range tokens {
		g = w.grant(sub, rt)
		if err := sim.RevokeGrant(sub); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.lc.DiscardGrant(w.ctx, g.ID, ""); err != nil {
		t.Fatalf("DiscardGrant: %v", err)
	}
	if err := w.lc.DiscardGrant(w.ctx, g.ID, ""); err != nil {
		t.Fatalf("DiscardGrant again: %v", err)
	}
	if err := w.lc.DiscardGrant(w.ctx, "000000000000000000000000", ""); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("DiscardGrant of an unknown grant: %v, want ErrNotFound", err)
	}
	stop := w.runOutbox()
	w.waitJobs()
	stop()
	var got []string
	for _, e := range w.audit() {
		outcome, _, _ := strings.Cut(e.Outcome, " (msg_")
		got = append(got, e.Actor+" "+e.Action+": "+outcome)
	}
	want := []string{
		"operator record: recorded",
		"operator revoke_upstream: queued 1 upstream revocations",
		"operator revoke_grants: revoked 1 grants",
		"operator notify: webhook queued",
		"outbox revoke_upstream: already revoked: Google answered invalid_token",
		"outbox notify: delivered",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("audit:\n got %q\nwant %q", got, want)
	}
	hooks := w.hooks.delivered()
	if len(hooks) != 1 || hooks[0].payload.Type != "operator:discard-grant" || hooks[0].payload.Action != "revoke_upstream,revoke_grants" {
		t.Errorf("webhooks %+v, want one operator:discard-grant", hooks)
	}
}

// The webhook receiver is down for a while: every webhook arrives once it
// is back, in order per subject, and a subject whose webhooks fail holds up
// no other subject.
func TestWebhooksThroughOutageInOrder(t *testing.T) {
	w := newWorld(t, nil)
	w.useRealClock()
	subs := []string{subA, subB, "110000000000000000003"}
	for i, sub := range subs {
		w.grant(sub, refreshToken(uint64(100+i)))
	}
	// A's webhooks fail until told otherwise; B and C fail their first
	// two attempts.
	aDown := true
	fails := map[string]int{}
	w.hooks.setAnswer(func(p lifecycle.WebhookPayload) int {
		if p.Sub == subA && aDown {
			return http.StatusServiceUnavailable
		}
		if fails[p.EventJTI] < 2 {
			fails[p.EventJTI]++
			return http.StatusBadGateway
		}
		return 0
	})
	order := map[string][]string{}
	stop := w.runOutbox()
	for round := range 4 {
		for _, sub := range subs {
			jti := fmt.Sprintf("%s-%d", sub, round)
			typ := []string{events.TypeSessionsRevoked, events.TypeAccountCredentialChangeRequired}[round%2]
			w.deliver(googleSET(t, jti, typ, issSub(sub), ""))
			order[sub] = append(order[sub], jti)
		}
	}
	waitFor(t, "B's and C's webhooks", func() bool {
		n := 0
		for _, h := range w.hooks.delivered() {
			if h.payload.Sub != subA {
				n++
			}
		}
		return n == 8
	})
	for _, h := range w.hooks.all() {
		if h.payload.Sub == subA && h.payload.EventJTI != order[subA][0] {
			t.Fatalf("A's later webhook %s was sent while its first was failing", h.payload.EventJTI)
		}
	}
	w.hooks.mu.Lock()
	aDown = false
	w.hooks.mu.Unlock()
	w.waitJobs()
	stop()

	got := map[string][]string{}
	ids := map[string]string{}
	for _, h := range w.hooks.all() {
		if prev, ok := ids[h.payload.EventJTI]; ok && prev != h.id {
			t.Errorf("webhook for %s changed its id across retries: %s then %s", h.payload.EventJTI, prev, h.id)
		}
		ids[h.payload.EventJTI] = h.id
		if h.status/100 == 2 {
			got[h.payload.Sub] = append(got[h.payload.Sub], h.payload.EventJTI)
		}
	}
	for _, sub := range subs {
		if !slices.Equal(got[sub], order[sub]) {
			t.Errorf("%s: delivered %q, want %q", sub, got[sub], order[sub])
		}
	}
}

// A job past its deadline is failed and audited.
func TestWebhookDeadline(t *testing.T) {
	w := newWorld(t, nil)
	w.grant(subA, refreshToken(1))
	w.hooks.setAnswer(func(lifecycle.WebhookPayload) int { return http.StatusInternalServerError })
	w.deliver(googleSET(t, "late", events.TypeSessionsRevoked, issSub(subA), ""))
	w.deliver(googleSET(t, "later", events.TypeAccountCredentialChangeRequired, issSub(subA), ""))
	w.clock.Advance(24*time.Hour + time.Second)
	stop := w.runOutbox()
	w.waitJobs()
	stop()
	for _, j := range w.outbox() {
		if j.Status != riscd.OutboxFailed || j.Attempts != 1 || j.LastError != "webhook: HTTP 500" {
			t.Errorf("job %d: status %s after %d attempts (%q), want failed after 1 with the HTTP status", j.ID, j.Status, j.Attempts, j.LastError)
		}
	}
	var failed []string
	for _, e := range w.audit() {
		if e.Actor == "outbox" {
			failed = append(failed, e.EventJTI+": "+e.Outcome)
			if !strings.Contains(e.Detail, "webhook: HTTP 500") || e.Action != "notify" {
				t.Errorf("failure audit %+v: want action notify and the last error", e)
			}
		}
	}
	want := []string{"late: failed after 1 attempts: deadline passed", "later: failed after 1 attempts: deadline passed"}
	if !slices.Equal(failed, want) {
		t.Errorf("outbox audit %q, want %q", failed, want)
	}
}

// newFailedWebhookWorld is a world (from newWorld or newBubbleWorld) whose
// outbox runs (until the test ends, rescanning only hourly) and holds one
// webhook, for event "late" about subA, that failed when its deadline
// passed; webhooks still answer 500.
func newFailedWebhookWorld(t *testing.T, newWorld func(*testing.T, func(*lifecycle.Config)) *world) *world {
	t.Helper()
	w := newWorld(t, func(cfg *lifecycle.Config) { cfg.RescanInterval = time.Hour })
	w.grant(subA, refreshToken(1))
	w.hooks.setAnswer(func(lifecycle.WebhookPayload) int { return http.StatusInternalServerError })
	w.deliver(googleSET(t, "late", events.TypeSessionsRevoked, issSub(subA), ""))
	w.clock.Advance(24*time.Hour + time.Second)
	w.runOutbox() // stopped when the test ends
	w.waitJobs()
	return w
}

// A failed job an operator returns to pending is tried again at once after
// RescanOutbox: NotifyOutbox alone reads only newer jobs, and the clock
// never reaches the next rescan.
func TestRescanOutboxPicksUpRetriedJob(t *testing.T) {
	// In a bubble the worker's polls run on the bubble's clock, and a sleep
	// returns only once every goroutine waits: "five polls and nothing
	// delivered" is then exact, not a guess about the machine's speed.
	synctest.Test(t, func(t *testing.T) {
		w := newFailedWebhookWorld(t, newBubbleWorld)
		jobs := w.outbox()
		if len(jobs) != 1 || jobs[0].Status != riscd.OutboxFailed {
			t.Fatalf("jobs %+v, want one failed", jobs)
		}
		w.hooks.setAnswer(nil)
		// A newer job, read by NotifyOutbox, shows the worker is awake.
		w.deliver(googleSET(t, "next", events.TypeAccountCredentialChangeRequired, issSub(subA), ""))
		waitFor(t, "the newer webhook", func() bool { return len(w.hooks.delivered()) == 1 })

		_, err := w.db.UpdateOutbox(w.ctx, jobs[0].ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
			j.Status, j.Attempts, j.Deadline = riscd.OutboxPending, 0, w.clock.Now().Add(time.Hour)
			return j, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		w.lc.NotifyOutbox()
		time.Sleep(5 * w.cfg.PollInterval) // five polls
		synctest.Wait()                    // and every attempt they started has ended
		if n := len(w.hooks.delivered()); n != 1 {
			t.Fatalf("%d webhooks delivered after NotifyOutbox alone, want the newer one only", n)
		}
		w.lc.RescanOutbox()
		waitFor(t, "the retried webhook", func() bool { return len(w.hooks.delivered()) == 2 })
		if got := w.hooks.delivered()[1].payload.EventJTI; got != "late" {
			t.Errorf("second webhook delivered for %s, want late", got)
		}
		w.waitJobs() // the attempt is recorded after the answer
		if j := w.outbox()[0]; j.Status != riscd.OutboxDone {
			t.Errorf("retried job is %s, want done", j.Status)
		}
	})
}

// An operator's retry of a failed webhook: the job is pending again with a
// fresh deadline and no attempts, the retry is audited with the job's
// event, and the worker delivers it at once. A job that has not failed, or
// none, is refused and nothing changes.
func TestRetryOutboxJob(t *testing.T) {
	w := newFailedWebhookWorld(t, newWorld)
	failed := w.outbox()[0]
	if failed.Status != riscd.OutboxFailed || !failed.DoneAt.Equal(w.clock.Now()) {
		t.Fatalf("job %s ended at %v, want failed at %v", failed.Status, failed.DoneAt, w.clock.Now())
	}
	w.hooks.setAnswer(nil)
	w.clock.Advance(time.Hour)

	j, err := w.lc.RetryOutboxJob(w.ctx, failed.ID, lifecycle.Op{Actor: "operator", Reason: "request r-1"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != riscd.OutboxPending || j.Attempts != 0 || j.LastError != "" || !j.DoneAt.IsZero() {
		t.Errorf("retried job %+v, want pending with no attempts, error or end", j)
	}
	if want := w.clock.Now().Add(24 * time.Hour); !j.Deadline.Equal(want) {
		t.Errorf("deadline %v, want %v (the job's 24h again)", j.Deadline, want)
	}
	waitFor(t, "the retried webhook", func() bool { return len(w.hooks.delivered()) == 1 })
	if got := w.hooks.delivered()[0].payload.EventJTI; got != "late" {
		t.Errorf("delivered the webhook of %s, want late", got)
	}
	w.waitJobs()

	var retries []riscd.AuditEntry
	for _, e := range w.audit() {
		if e.Action == "retry_outbox" {
			retries = append(retries, e)
		}
	}
	if len(retries) != 1 {
		t.Fatalf("audit has %d retry_outbox entries, want 1", len(retries))
	}
	e := retries[0]
	if e.Actor != "operator" || e.Outcome != "pending" || e.Sub != subA || e.EventJTI != "late" ||
		!strings.Contains(e.Detail, "request r-1") || !strings.Contains(e.Detail, "last error: webhook: HTTP 500") {
		t.Errorf("retry audit %+v: want the operator, the subject, the event, the reason and the last error", e)
	}

	done := w.outbox()[0]
	_, err = w.lc.RetryOutboxJob(w.ctx, done.ID, lifecycle.Op{})
	var se *lifecycle.JobStateError
	if !errors.As(err, &se) || se.JobStatus() != "done" {
		t.Errorf("retry of a done job: %v, want a JobStateError naming done", err)
	}
	if _, err := w.lc.RetryOutboxJob(w.ctx, 999, lifecycle.Op{}); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("retry of an unknown job: %v, want ErrNotFound", err)
	}
	if got := w.outbox()[0]; got.Status != riscd.OutboxDone || got.Attempts != done.Attempts {
		t.Errorf("the refused retry changed the job: %+v", got)
	}
	if n := len(w.hooks.delivered()); n != 1 {
		t.Errorf("%d webhooks delivered, want 1", n)
	}
}

// A new Lifecycle over the reopened store delivers what the first left.
func TestOutboxResumesAfterRestart(t *testing.T) {
	w := newWorld(t, nil)
	w.useRealClock()
	w.grant(subA, refreshToken(1))
	w.hooks.setAnswer(func(lifecycle.WebhookPayload) int { return http.StatusServiceUnavailable })
	for i := range 3 {
		w.deliver(googleSET(t, fmt.Sprint("r", i), events.TypeSessionsRevoked, issSub(subA), ""))
	}
	stop := w.runOutbox()
	waitFor(t, "a failed attempt", func() bool { return len(w.hooks.all()) > 0 })
	stop()
	if got := len(w.hooks.delivered()); got != 0 {
		t.Fatalf("%d webhooks delivered while the receiver was down", got)
	}

	w.reopen()
	w.hooks.setAnswer(nil)
	stop = w.runOutbox()
	w.waitJobs()
	stop()
	var got []string
	for _, h := range w.hooks.delivered() {
		got = append(got, h.payload.EventJTI)
	}
	if want := []string{"r0", "r1", "r2"}; !slices.Equal(got, want) {
		t.Errorf("after restart delivered %q, want %q", got, want)
	}
}

func TestRunOutboxTwice(t *testing.T) {
	w := newWorld(t, nil)
	ctx, cancel := context.WithCancel(w.ctx)
	results := make(chan error, 2)
	for range 2 {
		go func() { results <- w.lc.RunOutbox(ctx) }()
	}
	if err := <-results; !errors.Is(err, lifecycle.ErrRunning) {
		t.Errorf("one of two RunOutbox calls returned %v, want ErrRunning", err)
	}
	cancel()
	if err := <-results; err != nil {
		t.Errorf("the running RunOutbox returned %v after cancel, want nil", err)
	}
}

// "Retry now": a webhook still pending, waiting out its backoff after a
// failed attempt (the test's clock never reaches its retry time), is tried
// at once when an operator retries it, keeping its attempts and deadline,
// and the retry is audited.
func TestRetryNowOfAPendingJob(t *testing.T) {
	w := newWorld(t, func(cfg *lifecycle.Config) { cfg.RescanInterval = time.Hour })
	w.grant(subA, refreshToken(1))
	w.hooks.setAnswer(func(lifecycle.WebhookPayload) int { return http.StatusServiceUnavailable })
	w.runOutbox()
	w.deliver(googleSET(t, "waiting", events.TypeSessionsRevoked, issSub(subA), ""))
	var pending riscd.OutboxJob
	waitFor(t, "a failed attempt", func() bool {
		for _, j := range w.outbox() {
			if j.Kind == riscd.OutboxWebhook && j.Attempts == 1 {
				pending = j
				return true
			}
		}
		return false
	})
	if pending.Status != riscd.OutboxPending || !pending.NextAttemptAt.After(w.clock.Now()) {
		t.Fatalf("job %+v, want pending with its retry time ahead", pending)
	}
	w.hooks.setAnswer(nil)

	j, err := w.lc.RetryOutboxJob(w.ctx, pending.ID, lifecycle.Op{Actor: "operator:dana", Reason: "request r-2"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != riscd.OutboxPending || j.Attempts != 1 || !j.NextAttemptAt.Equal(w.clock.Now()) || !j.Deadline.Equal(pending.Deadline) {
		t.Errorf("retried job %+v, want pending, due now, its attempts and deadline kept", j)
	}
	waitFor(t, "the webhook retried now", func() bool { return len(w.hooks.delivered()) == 1 })
	w.waitJobs()
	if got, _ := w.db.OutboxJob(w.ctx, pending.ID); got.Status != riscd.OutboxDone || got.Attempts != 2 {
		t.Errorf("job after the retry: %s after %d attempts, want done after 2", got.Status, got.Attempts)
	}
	var audited bool
	for _, e := range w.audit() {
		if e.Action == "retry_outbox" {
			audited = e.Actor == "operator:dana" && e.Outcome == "pending" && strings.Contains(e.Detail, "retry now") &&
				strings.Contains(e.Detail, "last error: webhook: HTTP 503")
		}
	}
	if !audited {
		t.Errorf("audit %+v: want a retry_outbox entry by operator:dana saying retry now and the last error", w.audit())
	}
}
