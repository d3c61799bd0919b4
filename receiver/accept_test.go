package receiver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/receiver"
	"github.com/riscd/riscd/store/boltdb"
)

// Compile-time checks: the store and its group-committing writer are
// Inboxes.
var (
	_ receiver.Inbox = (*boltdb.DB)(nil)
	_ receiver.Inbox = (*boltdb.InboxWriter)(nil)
)

func TestAcceptStoresTheVerifiedSET(t *testing.T) {
	var notified atomic.Int32
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Notify = func() { notified.Add(1) }
	})
	sub := googlesim.DefaultUsers()[0].Sub
	tok := mustSign(t, h.g, googlesim.AccountDisabled(sub, googlesim.ReasonHijacking), googlesim.WithJTI("JTI-1"))

	wantAccepted(t, post(t, h.url, tok))

	e, err := h.db.InboxByJTI(context.Background(), h.g.URL(), "JTI-1")
	if err != nil {
		t.Fatalf("InboxByJTI: %v", err)
	}
	if e.Transmitter != "google" || e.Iss != h.g.URL() || e.JTI != "JTI-1" || e.Raw != tok {
		t.Errorf("entry = transmitter %q iss %q jti %q raw equal %v, want google, %q, JTI-1, true",
			e.Transmitter, e.Iss, e.JTI, e.Raw == tok, h.g.URL())
	}
	if want := events.SubjectKey(events.IssSub{Iss: h.g.URL(), Sub: sub}); e.Subject != want {
		t.Errorf("Subject = %q, want %q", e.Subject, want)
	}
	if want := []string{events.TypeAccountDisabled}; !slices.Equal(e.Types, want) {
		t.Errorf("Types = %q, want %q", e.Types, want)
	}
	if !e.ReceivedAt.Equal(t0) {
		t.Errorf("ReceivedAt = %v, want the pinned clock %v", e.ReceivedAt, t0)
	}
	if e.Status != riscd.InboxPending {
		t.Errorf("Status = %q, want pending", e.Status)
	}
	set, err := events.NewRegistry().Parse(e.Claims, events.FormatGoogle)
	if err != nil {
		t.Fatalf("stored claims do not parse: %v", err)
	}
	if d, ok := set.Events[0].(events.AccountDisabled); !ok || d.Reason != events.ReasonHijacking {
		t.Errorf("stored event = %#v, want AccountDisabled(hijacking)", set.Events[0])
	}
	if got := notified.Load(); got != 1 {
		t.Errorf("Notify called %d times, want 1", got)
	}
}

func TestEveryGoogleEventIsAccepted(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	sub := googlesim.DefaultUsers()[0].Sub
	for _, tc := range []struct {
		name string
		ev   googlesim.Event
		opts []googlesim.SETOption
	}{
		{"sessions-revoked", googlesim.SessionsRevoked(sub), nil},
		{"tokens-revoked", googlesim.TokensRevoked(sub), nil},
		{"token-revoked prefix", googlesim.TokenRevoked("1//0abcdefghijklmnopqrstuvwxyz", googlesim.IdentifierPrefix), nil},
		{"token-revoked hash", googlesim.TokenRevoked("1//0abcdefghijklmnopqrstuvwxyz", googlesim.IdentifierHash), nil},
		{"account-disabled bulk", googlesim.AccountDisabled(sub, googlesim.ReasonBulkAccount), nil},
		{"account-disabled no reason", googlesim.AccountDisabled(sub, ""), nil},
		{"account-enabled", googlesim.AccountEnabled(sub), nil},
		{"credential-change-required", googlesim.AccountCredentialChangeRequired(sub), nil},
		{"account-purged", googlesim.AccountPurged(sub), nil},
		{"verification", googlesim.Verification("state-1"), nil},
		{"RFC 9493 subject spelling", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithRFC9493Subject()}},
		{"unknown event type", googlesim.Event{Type: "https://example.com/event/new", Fields: map[string]any{"x": 1}}, nil},
		{"typ secevent+jwt", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithType("secevent+jwt")}},
		{"typ application/SECEVENT+JWT", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithType("application/SECEVENT+JWT")}},
		{"old iat", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithIssuedAt(t0.AddDate(-1, 0, 0))}},
		{"expired exp is not checked", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithClaim("exp", t0.Add(-time.Hour).Unix())}},
		{"iat just inside the skew", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithIssuedAt(t0.Add(5 * time.Minute))}},
		{"fractional iat", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithClaim("iat", float64(t0.Unix())+0.5)}},
		{"jku header ignored", googlesim.SessionsRevoked(sub), []googlesim.SETOption{googlesim.WithHeader("jku", "http://127.0.0.1:1/keys")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := inboxCount(t, h.db)
			wantAccepted(t, post(t, h.url, mustSign(t, h.g, tc.ev, tc.opts...)))
			if got := inboxCount(t, h.db); got != before+1 {
				t.Errorf("inbox entries = %d, want %d", got, before+1)
			}
		})
	}
}

func TestRedeliveryIsAcceptedOnce(t *testing.T) {
	var notified atomic.Int32
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Notify = func() { notified.Add(1) }
	})
	sub := googlesim.DefaultUsers()[0].Sub
	tok := mustSign(t, h.g, googlesim.SessionsRevoked(sub))
	wantAccepted(t, post(t, h.url, tok))
	h.clock.Advance(time.Hour)
	wantAccepted(t, post(t, h.url, tok))
	if got := inboxCount(t, h.db); got != 1 {
		t.Fatalf("inbox entries after a redelivery = %d, want 1", got)
	}
	// The same jti signed again (another token, same SET identity): still one.
	var claims struct {
		JTI string `json:"jti"`
	}
	mustClaims(t, tok, &claims)
	again := mustSign(t, h.g, googlesim.SessionsRevoked(sub), googlesim.WithJTI(claims.JTI))
	wantAccepted(t, post(t, h.url, again))
	if got := inboxCount(t, h.db); got != 1 {
		t.Fatalf("inbox entries after a re-signed redelivery = %d, want 1", got)
	}
	if got := notified.Load(); got != 1 {
		t.Errorf("Notify called %d times, want 1 (only for the new entry)", got)
	}
	e, err := h.db.InboxByJTI(context.Background(), h.g.URL(), claims.JTI)
	if err != nil || e.Raw != tok || !e.ReceivedAt.Equal(t0) {
		t.Errorf("stored entry = raw equal %v, received %v, err %v; want the first delivery", e.Raw == tok, e.ReceivedAt, err)
	}
}

func TestConcurrentRedeliveriesMakeOneEntry(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	tok := mustSign(t, h.g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
	statuses := make(chan int, 16)
	for range cap(statuses) {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, h.url, stringsReader(tok))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	for range cap(statuses) {
		if got := <-statuses; got != http.StatusAccepted {
			t.Errorf("status = %d, want 202", got)
		}
	}
	if got := inboxCount(t, h.db); got != 1 {
		t.Errorf("inbox entries = %d, want 1", got)
	}
}

func TestContentTypeOtherThanSETIsAccepted(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	for i, ct := range []string{"application/jwt", "text/plain", "", "application/secevent+jwt; charset=utf-8"} {
		tok := mustSign(t, h.g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
		wantAccepted(t, postAs(t, h.url, ct, tok))
		if got := inboxCount(t, h.db); got != i+1 {
			t.Errorf("Content-Type %q: inbox entries = %d, want %d", ct, got, i+1)
		}
	}
}

func TestMethodOtherThanPOST(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, h.url, nil)
		a := do(t, req)
		if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: answer = %d Allow %q, want 405 Allow POST", m, a.status, a.header.Get("Allow"))
		}
	}
}

// mustClaims decodes the payload of a compact JWS into v.
func mustClaims(tb testing.TB, tok string, v any) {
	tb.Helper()
	parts := splitToken(tok)
	if err := json.Unmarshal(mustB64(tb, parts[1]), v); err != nil {
		tb.Fatalf("payload: %v", err)
	}
}

// failingBody yields part of a token, then fails as a read that timed out.
type failingBody struct{ part []byte }

func (b *failingBody) Read(p []byte) (int, error) {
	if len(b.part) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, b.part)
	b.part = b.part[n:]
	return n, nil
}

// A body that cannot be read to its end (a read timeout, a broken
// connection) says nothing about the SET: the answer is 503, so the
// transmitter retries, never 400, which would make it drop the event.
func TestBodyReadFailureIsTemporary(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	tok := mustSign(t, h.g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
	req := httptest.NewRequest(http.MethodPost, "/risc", &failingBody{part: []byte(tok[:len(tok)/2])})
	req.Header.Set("Content-Type", receiver.ContentTypeSET)
	rec := httptest.NewRecorder()
	h.r.ServeHTTP(rec, req)
	wantUnavailable(t, answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()})
	if got := inboxCount(t, h.db); got != 0 {
		t.Fatalf("inbox entries = %d, want 0", got)
	}
	// The transmitter's retry, whole this time, is accepted.
	wantAccepted(t, post(t, h.url, tok))
}
