package googlesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/testkit"
)

func TestFaultStatus(t *testing.T) {
	cases := []struct {
		ep     Endpoint
		path   string
		status int
	}{
		{EndpointJWKS, PathJWKS, 503},
		{EndpointRISCConfiguration, PathRISCConfiguration, 500},
		{EndpointOpenIDConfiguration, PathOpenIDConfiguration, 500},
		{EndpointDrive, PathDriveFiles, 429},
	}
	for _, tc := range cases {
		t.Run(string(tc.ep), func(t *testing.T) {
			s := newSim(t, nil)
			if err := s.SetFault(tc.ep, Fault{Status: tc.status, Count: 2}); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				a := s.get(t, tc.path, "")
				errBody, _ := a.body["error"].(map[string]any)
				if a.status != tc.status || errBody["code"] != float64(tc.status) {
					t.Errorf("request %d: %d %v, want %d with Google's error body", i+1, a.status, a.body, tc.status)
				}
			}
			if a := s.get(t, tc.path, ""); a.status == tc.status {
				t.Errorf("third request still faulted (Count 2)")
			}
			if got := s.Stats().Requests[tc.ep]; got != 3 {
				t.Errorf("Requests[%s] = %d, want 3", tc.ep, got)
			}
		})
	}
}

func TestTokenFault(t *testing.T) {
	s := newSim(t, nil)
	rt := s.grantFlow(t, browser(t), nil, Choice{}).str("refresh_token")
	if err := s.SetFault(EndpointToken, Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wantError(t, s.refresh(t, rt), 500, "internal_failure", "")
	}
	if err := s.SetFault(EndpointToken, Fault{}); err != nil {
		t.Fatal(err)
	}
	if a := s.refresh(t, rt); a.status != http.StatusOK {
		t.Errorf("after clearing the fault: %d %v", a.status, a.body)
	}
	if got := s.Stats().TokenRequests["refresh_token"]; got != 1 {
		t.Errorf("TokenRequests[refresh_token] = %d, want 1 (faulted requests never reach the grant)", got)
	}
}

func TestFaultDelayAnswersNormally(t *testing.T) {
	s := newSim(t, nil)
	if err := s.SetFault(EndpointJWKS, Fault{Delay: 20 * time.Millisecond, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if a := s.get(t, PathJWKS, ""); a.status != http.StatusOK {
		t.Errorf("delayed JWKS: status %d, want 200", a.status)
	}
}

func TestFaultHangHonoursClientContext(t *testing.T) {
	s := newSim(t, nil)
	if err := s.SetFault(EndpointRevoke, Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+PathRevoke+"?token=x", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitForRequest(t, s, EndpointRevoke, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("hung request ended with %v, want context.Canceled", err)
	}
}

func TestFaultHangEndsAtClose(t *testing.T) {
	s := newSim(t, nil)
	if err := s.SetFault(EndpointToken, Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.PostForm(s.URL()+PathToken, url.Values{"grant_type": {"refresh_token"}})
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitForRequest(t, s, EndpointToken, 1)
	if err := s.Close(); err != nil {
		t.Errorf("Close with a hung request: %v", err)
	}
	if err := <-errc; err == nil {
		t.Error("hung request got an answer after Close, want a dropped connection")
	}
}

func TestSetFaultUnknownEndpoint(t *testing.T) {
	s := newSim(t, nil)
	if err := s.SetFault("userinfo-v2", Fault{Status: 500}); !errors.Is(err, ErrUnknownEndpoint) {
		t.Errorf("err = %v, want ErrUnknownEndpoint", err)
	}
}

// waitForRequest waits until the endpoint has seen n requests.
func waitForRequest(tb testing.TB, s sim, ep Endpoint, n int) {
	tb.Helper()
	testkit.Eventually(tb, fmt.Sprintf("%d requests to %s", n, ep), func() bool { return s.Stats().Requests[ep] >= n })
}
