package googlesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd/internal/testkit"
)

func TestStreamPushToStream(t *testing.T) {
	s := newStreamSim(t, nil)
	sink := newSETSink(t)
	alice := s.Users()[0]
	ctx := context.Background()

	if _, err := s.PushToStream(ctx, SessionsRevoked(alice.Sub)); !errors.Is(err, ErrNoStream) {
		t.Fatalf("before any stream: %v, want ErrNoStream", err)
	}
	if err := s.ConfigureStream(sink.URL+"/risc", []string{EventSessionsRevoked, "urn:example:unsupported"}); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Stream(); !slices.Equal(info.Events, []string{EventSessionsRevoked}) || !info.Enabled {
		t.Fatalf("ConfigureStream kept %+v, want sessions-revoked, enabled", info)
	}
	if _, err := s.PushToStream(ctx, AccountPurged(alice.Sub)); !errors.Is(err, ErrEventNotRequested) {
		t.Fatalf("unrequested type: %v, want ErrEventNotRequested", err)
	}
	res, err := s.PushToStream(ctx, SessionsRevoked(alice.Sub))
	if err != nil || res.Status != http.StatusAccepted || !res.Sent || res.Sub != alice.Sub || res.Name != "sessions-revoked" || res.Target != sink.URL+"/risc" {
		t.Fatalf("push = %+v %v, want 202 recorded for alice", res, err)
	}
	got := sink.waitFor(t, 1)
	if typ, body := eventOf(t, got[0]); typ != EventSessionsRevoked || got[0]["jti"] != res.JTI || body["subject"].(map[string]any)["sub"] != alice.Sub {
		t.Errorf("received %v, want sessions-revoked for alice with jti %s", got[0], res.JTI)
	}

	sink.mu.Lock()
	sink.status = http.StatusBadRequest
	sink.mu.Unlock()
	if res, err := s.PushToStream(ctx, SessionsRevoked(alice.Sub)); err != nil || res.Status != http.StatusBadRequest {
		t.Errorf("a receiver's 400: %+v %v, want the status in the result and no error", res, err)
	}

	s.mu.Lock()
	s.stream.enabled = false
	s.mu.Unlock()
	if _, err := s.PushToStream(ctx, SessionsRevoked(alice.Sub)); !errors.Is(err, ErrStreamDisabled) {
		t.Fatalf("disabled stream: %v, want ErrStreamDisabled", err)
	}
	if n := len(s.StreamPushes()); n != 2 {
		t.Errorf("%d pushes recorded, want 2 (refused pushes are not recorded)", n)
	}
	if err := s.ConfigureStream("not a url", nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ConfigureStream(bad URL) = %v, want ErrInvalidConfig", err)
	}
}

func TestStreamPushOffLoopbackRefused(t *testing.T) {
	s := newStreamSim(t, nil)
	if err := s.ConfigureStream("https://riscd.example.com/risc", []string{EventAccountEnabled}); err != nil {
		t.Fatal(err)
	}
	res, err := s.PushToStream(context.Background(), AccountEnabled(s.Users()[0].Sub))
	if !errors.Is(err, ErrNotLoopback) || res.Status != 0 || !strings.Contains(res.Error, "not loopback") {
		t.Fatalf("push off loopback = %+v %v, want ErrNotLoopback recorded", res, err)
	}
}

func TestStreamVerifyPushesVerification(t *testing.T) {
	s := newStreamSim(t, nil)
	sink := newSETSink(t)
	tok := saToken(t, s)
	a := s.call(t, http.MethodPost, PathStreamUpdate, tok, updateBody(sink.URL+"/risc", EventVerification, EventAccountDisabled))
	if a.status != http.StatusOK {
		t.Fatalf("update: %d %v", a.status, a.body)
	}
	if a = s.call(t, http.MethodPost, PathStreamVerify, tok, map[string]string{"state": "state-1"}); a.status != http.StatusOK {
		t.Fatalf("verify: %d %v", a.status, a.body)
	}
	got := sink.waitFor(t, 1)
	typ, body := eventOf(t, got[0])
	if typ != EventVerification || body["state"] != "state-1" || body["subject"] != nil {
		t.Fatalf("received %v, want a verification with state-1 and no subject", got[0])
	}
	waitPushes(t, s, 1)

	t.Run("disabled stream sends nothing", func(t *testing.T) {
		s.call(t, http.MethodPost, PathStreamStatusUpdate, tok, map[string]string{"status": StreamDisabled})
		if a := s.call(t, http.MethodPost, PathStreamVerify, tok, map[string]string{"state": "state-2"}); a.status != http.StatusOK {
			t.Fatalf("verify: %d %v", a.status, a.body)
		}
		p := waitPushes(t, s, 2)[1]
		if p.Sent || !strings.Contains(p.Error, "disabled") {
			t.Errorf("push record %+v, want not sent because disabled", p)
		}
	})
	t.Run("verification not requested sends nothing", func(t *testing.T) {
		s.call(t, http.MethodPost, PathStreamStatusUpdate, tok, map[string]string{"status": StreamEnabled})
		s.call(t, http.MethodPost, PathStreamUpdate, tok, updateBody(sink.URL+"/risc", EventAccountDisabled))
		s.call(t, http.MethodPost, PathStreamVerify, tok, map[string]string{"state": "state-3"})
		p := waitPushes(t, s, 3)[2]
		if p.Sent || !strings.Contains(p.Error, "does not request verification") {
			t.Errorf("push record %+v, want not sent because not requested", p)
		}
	})
	if n := len(sink.got()); n != 1 {
		t.Errorf("sink got %d SETs, want only the first verification", n)
	}
}

func TestCloseEndsVerificationPush(t *testing.T) {
	s := newStreamSim(t, nil)
	sink := newSETSink(t)
	sink.mu.Lock()
	sink.hang = true
	sink.mu.Unlock()
	tok := saToken(t, s)
	s.call(t, http.MethodPost, PathStreamUpdate, tok, updateBody(sink.URL+"/risc", EventVerification))
	s.call(t, http.MethodPost, PathStreamVerify, tok, map[string]string{"state": "s"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waited for the push it cut short.
	p := s.StreamPushes()
	if len(p) != 1 || p[0].Status != 0 || p[0].Error == "" {
		t.Fatalf("pushes after Close = %+v, want one failed push", p)
	}
}

// waitPushes waits until n pushes are recorded and returns them.
func waitPushes(tb testing.TB, s sim, n int) []PushResult {
	tb.Helper()
	var p []PushResult
	testkit.Eventually(tb, fmt.Sprintf("%d pushes recorded", n), func() bool {
		p = s.StreamPushes()
		return len(p) >= n
	})
	return p
}
