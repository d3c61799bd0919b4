package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/internal/testkit"
)

var (
	keyA    = []byte("0123456789abcdef0123456789abcdef")
	keyB    = []byte("fedcba9876543210fedcba9876543210")
	secretA = "whsec_" + base64.StdEncoding.EncodeToString(keyA)
	secretB = "whsec_" + base64.StdEncoding.EncodeToString(keyB)
)

// sign is the webhook-signature of a message, written from the Standard
// Webhooks specification ("Verifying webhooks"): v1, and base64 of
// HMAC-SHA256 of "<id>.<timestamp>.<body>".
func sign(key []byte, id string, ts int64, body string) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

const hookBody = `{"type":"account-disabled","sub":"110169484474386276334","transmitter":"google","event_jti":"756E69717565206964656E746966696572",` +
	`"grant_ids":["1898b665669ff000c3a80c88"],"action":"end_sessions,set_sessions_revoked_at,hold_grants","at":"2026-03-01T11:59:00Z",` +
	`"end_sessions_before":"2026-03-01T11:59:00.999999999Z","signin_disabled":false,"held":true,"reason":"hijacking","app_users":["u-1","u-2"],"later_field":1}`

// hookRequest is a webhook POST.
func hookRequest(id string, ts int64, sig, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if id != "" {
		r.Header.Set("webhook-id", id)
	}
	r.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	if sig != "" {
		r.Header.Set("webhook-signature", sig)
	}
	return r
}

// events collects what OnEvent is handed.
type events struct {
	mu  sync.Mutex
	got []client.Event
	err error
}

func (e *events) on(_ context.Context, ev client.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
	return e.err
}

func (e *events) list() []client.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]client.Event(nil), e.got...)
}

func mustHandler(t *testing.T, clk *testkit.Clock, ev *events, secrets ...string) *client.WebhookHandler {
	t.Helper()
	h, err := client.NewWebhookHandler(client.WebhookConfig{Secrets: secrets, OnEvent: ev.on, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestWebhookSpecVector checks the Standard Webhooks specification's
// published example: secret, id, timestamp, body and signature.
func TestWebhookSpecVector(t *testing.T) {
	h, err := client.NewWebhookHandler(client.WebhookConfig{
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		Now:     func() time.Time { return time.Unix(1614265330, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	hdr.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	hdr.Set("webhook-timestamp", "1614265330")
	hdr.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	if _, err := h.Verify(hdr, []byte(`{"test": 2432232314}`)); err != nil {
		t.Errorf("the specification's example: %v", err)
	}
	if _, err := h.Verify(hdr, []byte(`{"test": 2432232315}`)); !errors.Is(err, client.ErrWebhookSignature) {
		t.Errorf("a changed body: %v, want ErrWebhookSignature", err)
	}
}

func TestWebhookDeliversTypedEvents(t *testing.T) {
	clk := testkit.NewClock(t0)
	var ev events
	h := mustHandler(t, clk, &ev, secretA)
	ts := t0.Unix()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hookRequest("msg_1", ts, sign(keyA, "msg_1", ts, hookBody), hookBody))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204", rec.Code)
	}
	got := ev.list()
	if len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	e := got[0]
	if e.ID != "msg_1" || !e.Timestamp.Equal(t0) || e.Type != "account-disabled" || e.Sub != "110169484474386276334" ||
		e.Transmitter != "google" || e.EventJTI != "756E69717565206964656E746966696572" || len(e.GrantIDs) != 1 ||
		e.GrantIDs[0] != "1898b665669ff000c3a80c88" || !e.At.Equal(t0.Add(-time.Minute)) || e.Reason != "hijacking" ||
		len(e.AppUsers) != 2 || e.AppUsers[0] != "u-1" || e.AppUsers[1] != "u-2" {
		t.Errorf("event %+v", e)
	}
	if !e.Did(client.ActionHoldGrants) || e.Did(client.ActionRevokeGrants) || len(e.Actions()) != 3 {
		t.Errorf("actions %v: want end_sessions, set_sessions_revoked_at, hold_grants", e.Actions())
	}
	if e.EndSessionsBefore == nil || !e.EndSessionsBefore.Equal(t0.Add(-time.Minute+time.Second-time.Nanosecond)) || e.SigninDisabled || !e.Held {
		t.Errorf("decision end_sessions_before=%v signin_disabled=%v held=%v", e.EndSessionsBefore, e.SigninDisabled, e.Held)
	}
	if !e.EndsSession(t0.Add(time.Hour)) {
		t.Errorf("a held account's session survives the event")
	}
	e.Held = false
	if !e.EndsSession(t0.Add(-time.Minute)) || e.EndsSession(t0.Add(-time.Minute+time.Second)) {
		t.Errorf("end_sessions_before %v: sessions at it must end, after it survive", e.EndSessionsBefore)
	}
}

func TestWebhookRefusals(t *testing.T) {
	clk := testkit.NewClock(t0)
	now := t0.Unix()
	old := t0.Add(-client.DefaultWebhookTolerance - time.Second).Unix()
	future := t0.Add(client.DefaultWebhookTolerance + time.Second).Unix()
	edge := t0.Add(-client.DefaultWebhookTolerance).Unix()
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"signed with A", hookRequest("m", now, sign(keyA, "m", now, hookBody), hookBody), http.StatusNoContent},
		{"signed with B during a rotation", hookRequest("m", now, sign(keyB, "m", now, hookBody), hookBody), http.StatusNoContent},
		{"one good signature among several", hookRequest("m", now, "v1,AAAA v2,x "+sign(keyA, "m", now, hookBody), hookBody), http.StatusNoContent},
		{"at the tolerance's edge", hookRequest("m", edge, sign(keyA, "m", edge, hookBody), hookBody), http.StatusNoContent},
		{"signed with another key", hookRequest("m", now, sign([]byte("another key of 32 bytes........."), "m", now, hookBody), hookBody), http.StatusUnauthorized},
		{"body changed", hookRequest("m", now, sign(keyA, "m", now, hookBody), strings.Replace(hookBody, "hijacking", "bulk-account", 1)), http.StatusUnauthorized},
		{"id changed", hookRequest("m2", now, sign(keyA, "m", now, hookBody), hookBody), http.StatusUnauthorized},
		{"old timestamp, signed", hookRequest("m", old, sign(keyA, "m", old, hookBody), hookBody), http.StatusUnauthorized},
		{"future timestamp, signed", hookRequest("m", future, sign(keyA, "m", future, hookBody), hookBody), http.StatusUnauthorized},
		{"timestamp changed", hookRequest("m", now+1, sign(keyA, "m", now, hookBody), hookBody), http.StatusUnauthorized},
		{"v2 scheme only", hookRequest("m", now, strings.Replace(sign(keyA, "m", now, hookBody), "v1,", "v2,", 1), hookBody), http.StatusUnauthorized},
		{"no signature", hookRequest("m", now, "", hookBody), http.StatusBadRequest},
		{"no id", hookRequest("", now, sign(keyA, "", now, hookBody), hookBody), http.StatusBadRequest},
		{"signed, not JSON", hookRequest("m", now, sign(keyA, "m", now, "not json"), "not json"), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev events
			h := mustHandler(t, clk, &ev, secretA, secretB)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if n := len(ev.list()); (n == 1) != (tc.status == http.StatusNoContent) {
				t.Errorf("%d events handed on", n)
			}
		})
	}
	t.Run("not a POST", func(t *testing.T) {
		rec := httptest.NewRecorder()
		mustHandler(t, clk, &events{}, secretA).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hooks", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", rec.Code)
		}
	})
	t.Run("OnEvent fails", func(t *testing.T) {
		ev := &events{err: errors.New("database down")}
		rec := httptest.NewRecorder()
		mustHandler(t, clk, ev, secretA).ServeHTTP(rec, hookRequest("m", now, sign(keyA, "m", now, hookBody), hookBody))
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "database") {
			t.Errorf("status %d %q, want 500 without the cause", rec.Code, rec.Body)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		h, err := client.NewWebhookHandler(client.WebhookConfig{Secrets: []string{secretA}, MaxBody: 16, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, hookRequest("m", now, sign(keyA, "m", now, hookBody), hookBody))
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", rec.Code)
		}
	})
}

func TestWebhookSecrets(t *testing.T) {
	for _, s := range []string{
		secretA,
		base64.StdEncoding.EncodeToString(keyA), // without the prefix
		"whsec_" + base64.RawURLEncoding.EncodeToString(keyA) + "\n", // URL alphabet, no padding, a newline from a file
	} {
		if _, err := client.NewWebhookHandler(client.WebhookConfig{Secrets: []string{s}}); err != nil {
			t.Errorf("secret %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "whsec_!!not-base64!!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		_, err := client.NewWebhookHandler(client.WebhookConfig{Secrets: []string{secretA, s}})
		if err == nil {
			t.Errorf("secret %q accepted", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
			t.Errorf("error %q quotes the secret", err)
		}
	}
	if _, err := client.NewWebhookHandler(client.WebhookConfig{}); err == nil {
		t.Error("no secret accepted")
	}
}

func TestWebhookHandlerDoesNotPrintItsSecrets(t *testing.T) {
	h := mustHandler(t, testkit.NewClock(t0), &events{}, secretA)
	for _, s := range []string{fmt.Sprint(h), fmt.Sprintf("%v %+v %#v %s", h, h, h, h)} {
		if strings.Contains(s, strings.TrimPrefix(secretA, "whsec_")) || strings.Contains(s, string(keyA)) {
			t.Errorf("printed %q", s)
		}
	}
}
