package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
)

// outboxJob is an outbox job as GET /admin/outbox shows it.
type outboxJob struct {
	ID        uint64     `json:"id"`
	Kind      string     `json:"kind"`
	Sub       string     `json:"sub"`
	GrantID   string     `json:"grant_id"`
	Status    string     `json:"status"`
	LastError string     `json:"last_error"`
	FailedAt  *time.Time `json:"failed_at"`
}

// TestFailedRevocationRetried: Google's revoke endpoint refuses an
// operator's revocation for good (403), so riscd gives the job up and
// lists it as failed; once Google answers again, the operator's retry
// through the admin API revokes the token at Google, and the audit log
// records the retry.
func TestFailedRevocationRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t, rigOptions{})
	r.start()
	alice := r.sim.Users()[0]
	g := r.mustConsent(ctx, alice)
	info, _ := r.sim.Grant(alice.Sub)
	refresh := info.RefreshTokens[0]

	if err := r.sim.SetFault(googlesim.EndpointRevoke, googlesim.Fault{Status: http.StatusForbidden}); err != nil {
		t.Fatal(err)
	}
	if code, body, err := r.do(ctx, http.MethodDelete, r.internal+"/admin/grants/"+g.ID, r.adminToken, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("revoke: %d %s %v, want 202", code, body, err)
	}
	var failed struct {
		Jobs []outboxJob `json:"jobs"`
	}
	waitFor(t, 30*time.Second, "the revocation never failed", func() bool {
		r.adminJSON(ctx, "/admin/outbox?status=failed", &failed)
		return len(failed.Jobs) == 1
	})
	job := failed.Jobs[0]
	if job.Kind != "revoke" || job.Sub != alice.Sub || job.GrantID != g.ID || job.LastError != "revoke: HTTP 403" || job.FailedAt == nil {
		t.Errorf("failed job %+v: want alice's revocation, refused with HTTP 403", job)
	}
	if r.sim.IsRevoked(refresh) {
		t.Fatal("the refresh token is revoked at Google though the endpoint refused")
	}

	if err := r.sim.SetFault(googlesim.EndpointRevoke, googlesim.Fault{}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/admin/outbox/%d/retry", job.ID)
	if code, body, err := r.do(ctx, http.MethodPost, r.internal+path, r.adminToken, nil); err != nil || code != http.StatusOK {
		t.Fatalf("POST %s: %d %s %v, want 200", path, code, body, err)
	}
	waitFor(t, 30*time.Second, "the retried revocation never reached Google", func() bool { return r.sim.IsRevoked(refresh) })
	r.waitDrained(ctx, 30*time.Second)
	r.adminJSON(ctx, "/admin/outbox?status=failed", &failed)
	if len(failed.Jobs) != 0 {
		t.Errorf("failed jobs after the retry: %+v", failed.Jobs)
	}
	if code, body, err := r.do(ctx, http.MethodPost, r.internal+path, r.adminToken, nil); err != nil || code != http.StatusConflict {
		t.Errorf("second retry: %d %s %v, want 409", code, body, err)
	}
	var audit struct {
		Entries []struct {
			Action string `json:"action"`
			Actor  string `json:"actor"`
		} `json:"entries"`
	}
	r.adminJSON(ctx, "/admin/audit?sub="+alice.Sub, &audit)
	retries := 0
	for _, e := range audit.Entries {
		if e.Action == "retry_outbox" && e.Actor == "operator" {
			retries++
		}
	}
	if retries != 1 {
		t.Errorf("audit %+v: want one retry_outbox by the operator", audit.Entries)
	}
	r.stop()
	r.checkStore(ctx)
}
