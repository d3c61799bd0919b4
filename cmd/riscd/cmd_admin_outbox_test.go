package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/adminclient"
	"github.com/riscd/riscd/events"
)

// job queues an outbox job about sub (for an account-disabled event) as the
// lifecycle does and, for another status than pending, marks it so after 9
// attempts.
func (e *adminEnv) job(kind riscd.OutboxKind, sub string, status riscd.OutboxStatus) riscd.OutboxJob {
	e.t.Helper()
	j, err := e.db.EnqueueOutbox(e.t.Context(), riscd.OutboxJob{
		Kind: kind, Key: string(kind) + ":" + sub, Token: riscd.Secret("1//0outbox-job-token-" + sub), GrantID: "g-" + sub,
		Payload:  json.RawMessage(fmt.Sprintf(`{"sub":%q,"event_type":%q}`, sub, events.TypeAccountDisabled)),
		Deadline: e.clock.Now().Add(24 * time.Hour),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if status != riscd.OutboxPending {
		j, err = e.db.UpdateOutbox(e.t.Context(), j.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
			j.Status, j.Attempts, j.LastError, j.DoneAt = status, 9, "revoke: HTTP 503", e.clock.Now()
			return j, nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	e.clock.Advance(time.Second)
	return j
}

func TestOutboxList(t *testing.T) {
	e := newAdminEnv(t)
	pending := e.job(riscd.OutboxWebhook, "alice", riscd.OutboxPending)
	failedRevoke := e.job(riscd.OutboxRevoke, "bob", riscd.OutboxFailed)
	failedHook := e.job(riscd.OutboxWebhook, "carol", riscd.OutboxFailed)
	id := func(j riscd.OutboxJob) string { return strconv.FormatUint(j.ID, 10) }
	if _, err := e.db.UpdateAccount(t.Context(), "bob", func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.Email = "bob@example.com"
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}

	tbl := parseAdminTable(t, e.run("outbox", "list").ok(t).stdout, "ID")
	if got := tbl.column(t, "ID"); !slices.Equal(got, []string{id(pending)}) {
		t.Errorf("pending ids %v, want %v", got, id(pending))
	}
	if want := []string{"ID", "KIND", "EVENT", "SUBJECT", "EMAIL", "GRANT", "CREATED", "ATTEMPTS", "NEXT_ATTEMPT", "LAST_ERROR"}; !slices.Equal(tbl.header, want) {
		t.Errorf("header %v, want %v", tbl.header, want)
	}

	tbl = parseAdminTable(t, e.run("outbox", "list", "--status", "failed").ok(t).stdout, "ID")
	if got := tbl.column(t, "ID"); !slices.Equal(got, []string{id(failedHook), id(failedRevoke)}) {
		t.Errorf("failed ids %v, want newest first", got)
	}
	if want := []string{id(failedRevoke), "revoke", "account-disabled", "bob", "bob@example.com", "g-bob", "2026-03-01T12:00:01Z", "9", "2026-03-01T12:00:01Z", "revoke: HTTP 503"}; !slices.Equal(tbl.rows[1], want) {
		t.Errorf("failed row %q, want %q", tbl.rows[1], want)
	}
	tbl = parseAdminTable(t, e.run("outbox", "list", "--status", "failed", "--kind", "revoke").ok(t).stdout, "ID")
	if got := tbl.column(t, "ID"); !slices.Equal(got, []string{id(failedRevoke)}) {
		t.Errorf("failed revoke ids %v", got)
	}
	r := e.run("outbox", "list", "--status", "failed", "--limit", "1").ok(t)
	if got := parseAdminTable(t, r.stdout, "ID").column(t, "ID"); !slices.Equal(got, []string{id(failedHook)}) || !strings.Contains(r.stderr, "more failed jobs than shown") {
		t.Errorf("--limit 1: ids %v, stderr %q", got, r.stderr)
	}
	var list adminclient.OutboxList
	e.run("outbox", "list", "--status", "failed", "--json").ok(t).decode(t, &list)
	if len(list.Jobs) != 2 || list.Jobs[0].FailedAt == nil || list.Jobs[1].Sub != "bob" {
		t.Errorf("--json: %+v", list.Jobs)
	}
	for _, args := range [][]string{{"--status", "done"}, {"--kind", "email"}, {"--limit", "1001"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e.run(append([]string{"outbox", "list"}, args...)...).fails(t, exitUsage, args[0])
		})
	}
	for _, out := range []string{e.run("outbox", "list").stdout, e.run("outbox", "list", "--status", "failed", "--json").stdout} {
		if strings.Contains(out, "outbox-job-token") {
			t.Errorf("a job's token is shown:\n%s", out)
		}
	}
}

func TestOutboxRetry(t *testing.T) {
	e := newAdminEnv(t)
	failed := e.job(riscd.OutboxRevoke, "bob", riscd.OutboxFailed)
	pending := e.job(riscd.OutboxWebhook, "alice", riscd.OutboxPending)
	id := strconv.FormatUint(failed.ID, 10)

	r := e.run("outbox", "retry", id).ok(t)
	if want := "outbox job " + id + " (revoke): pending again, with a fresh budget of attempts; riscd tries it now\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	got, err := e.db.OutboxJob(t.Context(), failed.ID)
	if err != nil || got.Status != riscd.OutboxPending || got.Attempts != 0 || got.Token != failed.Token {
		t.Errorf("stored: status %s attempts %d, %v; want pending 0 with its token", got.Status, got.Attempts, err)
	}
	// A pending job waiting out its backoff: "retry now".
	e.clock.Advance(time.Minute)
	if _, err := e.db.UpdateOutbox(t.Context(), pending.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Attempts, j.LastError, j.NextAttemptAt = 3, "webhook: HTTP 401", e.clock.Now().Add(time.Hour)
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	pid := strconv.FormatUint(pending.ID, 10)
	r = e.run("outbox", "retry", pid).ok(t)
	if want := "outbox job " + pid + " (webhook): pending, due now after 3 attempts; riscd tries it now\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if got, err := e.db.OutboxJob(t.Context(), pending.ID); err != nil || got.Attempts != 3 || !got.NextAttemptAt.Equal(e.clock.Now()) {
		t.Errorf("stored: attempts %d, next attempt %v, %v; want 3, due now", got.Attempts, got.NextAttemptAt, err)
	}
	done := e.job(riscd.OutboxWebhook, "dave", riscd.OutboxDone)
	did := strconv.FormatUint(done.ID, 10)
	e.run("outbox", "retry", did).fails(t, exitFailure, "outbox job "+did+" is done; only a failed or pending job can be retried (HTTP 409 not_failed)")
	e.run("outbox", "retry", "999").fails(t, exitFailure, "outbox job not found (HTTP 404 not_found)")
	e.run("outbox", "retry", "x").fails(t, exitUsage, `job id "x"`)

	t.Run("json", func(t *testing.T) {
		again := e.job(riscd.OutboxWebhook, "carol", riscd.OutboxFailed)
		var out adminclient.OutboxJob
		e.run("outbox", "retry", "--json", strconv.FormatUint(again.ID, 10)).ok(t).decode(t, &out)
		if out.ID != again.ID || out.Status != adminclient.OutboxPending || out.Sub != "carol" {
			t.Errorf("got %+v", out)
		}
	})
}

func TestOutboxRetryFailed(t *testing.T) {
	e := newAdminEnv(t)
	var revokes, hooks []riscd.OutboxJob
	for i := range 3 {
		revokes = append(revokes, e.job(riscd.OutboxRevoke, fmt.Sprint("r", i), riscd.OutboxFailed))
		hooks = append(hooks, e.job(riscd.OutboxWebhook, fmt.Sprint("w", i), riscd.OutboxFailed))
	}
	pending := e.job(riscd.OutboxWebhook, "p", riscd.OutboxPending)
	status := func(j riscd.OutboxJob) riscd.OutboxStatus {
		t.Helper()
		got, err := e.db.OutboxJob(t.Context(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}

	r := e.run("outbox", "retry-failed", "--kind", "revoke").ok(t)
	if want := "failed jobs now pending again: 3; riscd tries them now\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	for _, j := range revokes {
		if st := status(j); st != riscd.OutboxPending {
			t.Errorf("revoke job %d is %s, want pending", j.ID, st)
		}
	}
	for _, j := range hooks {
		if st := status(j); st != riscd.OutboxFailed {
			t.Errorf("webhook job %d is %s, want still failed", j.ID, st)
		}
	}

	var out adminclient.OutboxList
	e.run("outbox", "retry-failed", "--json").ok(t).decode(t, &out)
	var ids []uint64
	for _, j := range out.Jobs {
		ids = append(ids, j.ID)
	}
	if want := []uint64{hooks[0].ID, hooks[1].ID, hooks[2].ID}; !slices.Equal(ids, want) {
		t.Errorf("retried %v, want the webhooks oldest first %v", ids, want)
	}
	if st := status(pending); st != riscd.OutboxPending {
		t.Errorf("the pending job is %s", st)
	}
	if r := e.run("outbox", "retry-failed").ok(t); r.stdout != "failed jobs now pending again: 0; riscd tries them now\n" {
		t.Errorf("with nothing failed: %q", r.stdout)
	}
	audit, _, err := e.db.ListAudit(t.Context(), riscd.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range audit {
		if a.Action == "retry_outbox" && a.Actor == "operator" {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d retry_outbox audit entries, want 6", n)
	}
	e.run("outbox", "retry-failed", "--kind", "email").fails(t, exitUsage, "--kind")
}

// TestOutboxRetryFailedStopsOnJobsThatFailAgain runs retry-failed against
// an admin API whose jobs fail again the moment they are retried, with
// more failed jobs than one listing shows: each listed job is retried once,
// the command stops, and it says that older failed jobs remain.
func TestOutboxRetryFailedStopsOnJobsThatFailAgain(t *testing.T) {
	const failed = 1200
	var mu sync.Mutex
	retries := map[uint64]int{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && r.URL.Path == "/admin/outbox" {
			list := adminclient.OutboxList{Jobs: []adminclient.OutboxJob{}, Truncated: true}
			for id := uint64(failed); id > failed-adminclient.MaxLimit; id-- { // newest first
				list.Jobs = append(list.Jobs, adminclient.OutboxJob{ID: id, Kind: "webhook", Status: adminclient.OutboxFailed})
			}
			json.NewEncoder(w).Encode(list)
			return
		}
		var id uint64
		if _, err := fmt.Sscanf(r.URL.Path, "/admin/outbox/%d/retry", &id); err != nil || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		mu.Lock()
		retries[id]++
		mu.Unlock()
		json.NewEncoder(w).Encode(adminclient.OutboxJob{ID: id, Kind: "webhook", Status: adminclient.OutboxPending})
	}))
	defer hs.Close()
	e := &adminEnv{t: t}
	r := e.runWith([]string{envAdminToken + "=" + adminTestToken}, "outbox", "retry-failed", "--internal-url", hs.URL).ok(t)
	if want := "failed jobs now pending again: 1000; riscd tries them now\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "more failed jobs remain") {
		t.Errorf("stderr %q, want the note that older failed jobs remain", r.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(retries) != adminclient.MaxLimit {
		t.Errorf("%d jobs retried, want %d", len(retries), adminclient.MaxLimit)
	}
	for id, n := range retries {
		if n != 1 {
			t.Errorf("job %d retried %d times, want once", id, n)
		}
	}
}
