package lifecycle_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// A refused webhook's last error quotes the start of the app's answer
// (what the status alone does not say), on one line, cut short, and
// without the signature or the secret should the app echo them.
func TestWebhookErrorQuotesTheAnswer(t *testing.T) {
	w := newWorld(t, nil)
	w.grant(subA, refreshToken(1))
	w.hooks.setAnswer(func(lifecycle.WebhookPayload) int { return http.StatusUnauthorized })
	w.hooks.setBody(func(h http.Header) string {
		return "{\"error\":\"bad signature\",\n\"got\":\"" + h.Get("webhook-signature") + "\",\"secret\":\"" + testSecret + "\",\"pad\":\"" +
			strings.Repeat("x", 400) + "\"}"
	})
	w.deliver(googleSET(t, "refused", events.TypeSessionsRevoked, issSub(subA), ""))
	w.clock.Advance(24*time.Hour + time.Second)
	stop := w.runOutbox()
	w.waitJobs()
	stop()
	jobs := w.outbox()
	if len(jobs) == 0 {
		t.Fatal("no outbox job")
	}
	for _, j := range jobs {
		if j.Kind != riscd.OutboxWebhook {
			continue
		}
		msg := j.LastError
		if !strings.HasPrefix(msg, `webhook: HTTP 401: {"error":"bad signature", "got":"[redacted]","secret":"[redacted]","pad":"xxx`) {
			t.Errorf("last error %q, want the status and the start of the answer, secrets redacted", msg)
		}
		if strings.Contains(msg, "\n") || len(msg) > 260 || !strings.HasSuffix(msg, "…") {
			t.Errorf("last error %q (%d bytes): want one line, cut short", msg, len(msg))
		}
		if strings.Contains(msg, testSecret) || strings.Contains(msg, "v1,") {
			t.Errorf("last error %q carries the secret or the signature", msg)
		}
	}
}
