package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/stream"
)

// With risc.stream_check_interval set, the daemon checks the stream at
// start: enabled and a verification that comes back is healthy; a
// disabled stream is not. The metrics and the admin page's view say so.
func TestStreamHealthLoop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enabled bool
		healthy string
		problem string
	}{
		{"enabled", true, "1", ""},
		{"disabled", false, "0", "not enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := googlesim.New(googlesim.Config{AllowHTTPDelivery: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sim.Close() })
			keyFile := filepath.Join(t.TempDir(), "sa.json")
			if err := os.WriteFile(keyFile, sim.ServiceAccountJSON(), 0o600); err != nil {
				t.Fatal(err)
			}
			env := []string{
				"RISCD_RISC_SERVICE_ACCOUNT_FILE=" + keyFile,
				"RISCD_RISC_MANAGEMENT_URL=" + sim.ManagementURL(),
				"RISCD_RISC_STREAM_CHECK_INTERVAL=1h",
			}
			l, err := load(simConfig(t, sim), env, secretsOptions{needKey: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.ConfigureStream(l.cfg.DeliveryURL(), googlesim.StreamEventTypes()); err != nil {
				t.Fatal(err)
			}
			if !tc.enabled {
				client, err := stream.New(context.Background(), sim.ServiceAccountJSON(), stream.Options{BaseURL: sim.ManagementURL()})
				if err != nil {
					t.Fatal(err)
				}
				if err := client.SetStatus(context.Background(), false); err != nil {
					t.Fatal(err)
				}
			}
			m := &Main{Config: l.cfg, Secrets: l.secrets}
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })

			// The first check runs at start; wait for its result.
			testkit.Eventually(t, "the stream check at start", func() bool {
				m.parts.stream.mu.Lock()
				defer m.parts.stream.mu.Unlock()
				return !m.parts.stream.lastCheckAt.IsZero()
			})
			wantStatus := "disabled"
			if tc.enabled {
				wantStatus = "enabled"
			}
			got := scrape(t, "http://"+m.InternalAddr()+"/metrics")
			if !strings.Contains(got, "\nriscd_stream_healthy "+tc.healthy+"\n") || !strings.Contains(got, `riscd_stream_status{status="`+wantStatus+`"} 1`) {
				t.Errorf("metrics, want healthy %s and status %s:\n%s", tc.healthy, wantStatus, grepLines(got, "riscd_stream"))
			}

			v, err := m.parts.stream.view(context.Background())
			if err != nil {
				t.Fatalf("stream view: %v", err)
			}
			if v.Status != wantStatus || v.DeliveryURL != l.cfg.DeliveryURL() || len(v.EventsRequested) == 0 || v.LastCheckAt.IsZero() {
				t.Errorf("stream view %+v, want status %s, delivery URL %s, events and a check time", v, wantStatus, l.cfg.DeliveryURL())
			}
			if tc.enabled != !v.LastVerification.IsZero() || !strings.Contains(v.LastCheckError, tc.problem) || (tc.problem == "") != (v.LastCheckError == "") {
				t.Errorf("stream view: last verification %v, last error %q; want verification %v and an error containing %q", v.LastVerification, v.LastCheckError, tc.enabled, tc.problem)
			}
		})
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
