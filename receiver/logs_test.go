package receiver_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
)

func TestLogsNeverHoldTokens(t *testing.T) {
	var logs testkit.SyncBuffer
	keys := mustRSAKeys(t, 2)
	h := mustGoogleReceiver(t, keys[:1], func(cfg *receiver.Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	sub := googlesim.DefaultUsers()[0].Sub
	var sent []string
	send := func(ct, tok string) answer {
		sent = append(sent, tok)
		return postAs(t, h.url, ct, tok)
	}
	wantAccepted(t, send("text/plain", mustSign(t, h.g, googlesim.SessionsRevoked(sub))))
	wantAccepted(t, send(receiver.ContentTypeSET, sent[0])) // redelivery
	for _, opts := range [][]googlesim.SETOption{
		{googlesim.WithCorruptSignature()},
		{googlesim.WithAudience("other")},
		{googlesim.WithKeyID("unknown")},
		{googlesim.WithSigningKey(keys[1])},
		{googlesim.WithJTI(strings.Repeat("J", 300))},
		{googlesim.WithIssuer("https://" + strings.Repeat("x", 200) + ".example")},
	} {
		if a := send(receiver.ContentTypeSET, mustSign(t, h.g, googlesim.SessionsRevoked(sub), opts...)); a.status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", a.status)
		}
	}
	_ = h.db.Close()
	wantUnavailable(t, send(receiver.ContentTypeSET, mustSign(t, h.g, googlesim.SessionsRevoked(sub))))

	out := logs.String()
	for _, line := range []string{`"msg":"set accepted"`, `"content_type":"text/plain"`, `"msg":"set rejected"`,
		`"err":"invalid_audience"`, `"msg":"set not accepted: temporary fault"`} {
		if !strings.Contains(out, line) {
			t.Errorf("logs lack %s:\n%s", line, out)
		}
	}
	for _, tok := range sent {
		for i, part := range splitToken(tok) {
			if i == 0 {
				continue // headers are alike and hold nothing secret
			}
			if len(part) > 16 && strings.Contains(out, part[:16]) {
				t.Errorf("logs hold part %d of a token", i)
			}
		}
	}
	if strings.Contains(out, strings.Repeat("x", 65)) || strings.Contains(out, strings.Repeat("J", 65)) {
		t.Errorf("logs quote more than 64 characters of input")
	}
}

func TestRegisterOnEcho(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
	e := echo.New()
	h.r.Register(e, "/risc")
	srv := httptest.NewServer(e)
	defer srv.Close()
	wantAccepted(t, post(t, srv.URL+"/risc", mustSign(t, h.g, googlesim.SessionsRevoked("1"))))
	a := post(t, srv.URL+"/risc", "garbage")
	if a.status != http.StatusBadRequest || a.err != receiver.CodeInvalidRequest {
		t.Errorf("garbage through Echo: answer = %d %q, want 400 invalid_request", a.status, a.err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/risc", nil)
	if a := do(t, req); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET through Echo: status = %d, want 405", a.status)
	}
}
