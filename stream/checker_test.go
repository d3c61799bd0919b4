package stream

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// reports records what a Checker reports.
type reports struct {
	mu  sync.Mutex
	got []string
}

func (r *reports) report(status string, healthy bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if healthy {
		status += "/healthy"
	} else {
		status += "/unhealthy"
	}
	r.got = append(r.got, status)
}

func (r *reports) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// checkerFor builds a Checker on sim's stream with a fast poll.
func checkerFor(tb testing.TB, sim *googlesim.Server, received func(context.Context, string) (bool, error), deadline time.Duration) (*Checker, *reports, *testkit.SyncBuffer) {
	tb.Helper()
	c, _ := newClient(tb, sim)
	rep, logs := &reports{}, &testkit.SyncBuffer{}
	k, err := NewChecker(c, CheckerConfig{
		Interval: time.Hour, Deadline: deadline, PollInterval: 5 * time.Millisecond,
		Received: received, Report: rep.report,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return k, rep, logs
}

func TestCheckerHealthy(t *testing.T) {
	sim := newSim(t, nil)
	rv := newReceiver(t)
	if err := sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()); err != nil {
		t.Fatal(err)
	}
	k, rep, logs := checkerFor(t, sim, rv.received, 20*time.Second)
	r := k.Check(context.Background())
	if !r.Healthy || r.Status != "enabled" || r.Problem != "" || !strings.HasPrefix(r.State, "riscd-check-") || r.RoundTrip <= 0 {
		t.Fatalf("Check = %+v, want healthy and enabled with a round trip", r)
	}
	if ok, _ := rv.received(context.Background(), r.State); !ok {
		t.Errorf("the receiver never saw state %s", r.State)
	}
	if got := rep.list(); len(got) != 1 || got[0] != "enabled/healthy" {
		t.Errorf("reports = %q, want one enabled/healthy", got)
	}
	if l := logs.String(); !strings.Contains(l, "level=INFO") || strings.Contains(l, "level=ERROR") {
		t.Errorf("log = %q, want one info line", l)
	}
	r2 := k.Check(context.Background())
	if r2.State == r.State {
		t.Errorf("two checks used the same state %q", r.State)
	}
}

func TestCheckerUnhealthy(t *testing.T) {
	never := func(context.Context, string) (bool, error) { return false, nil }
	failing := func(context.Context, string) (bool, error) { return false, errors.New("inbox lookup failed") }
	for _, tc := range []struct {
		name     string
		setup    func(sim *googlesim.Server, rv *receiver)
		received func(rv *receiver) func(context.Context, string) (bool, error)
		want     string
		problem  string
	}{
		{"no stream", func(*googlesim.Server, *receiver) {}, nil, "unknown/unhealthy", "no stream yet"},
		{"disabled", func(sim *googlesim.Server, rv *receiver) {
			must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
			c, _ := newClient(t, sim)
			must(t, c.SetStatus(context.Background(), false))
		}, nil, "disabled/unhealthy", "the stream is disabled, not enabled: run riscd stream enable"},
		{"role revoked", func(sim *googlesim.Server, rv *receiver) {
			must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
			sim.SetStreamDenial(googlesim.StreamMissingRole)
		}, nil, "unknown/unhealthy", "roles/riscconfigs.admin"},
		{"verification not requested", func(sim *googlesim.Server, rv *receiver) {
			must(t, sim.ConfigureStream(rv.URL+"/risc", []string{googlesim.EventAccountDisabled}))
		}, nil, "enabled/unhealthy", "did not arrive within"},
		{"receiver down", func(sim *googlesim.Server, rv *receiver) {
			must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
			rv.Close()
		}, nil, "enabled/unhealthy", "did not arrive within"},
		{"never seen", func(sim *googlesim.Server, rv *receiver) {
			must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
		}, func(*receiver) func(context.Context, string) (bool, error) { return never }, "enabled/unhealthy", "did not arrive within"},
		{"lookup fails", func(sim *googlesim.Server, rv *receiver) {
			must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
		}, func(*receiver) func(context.Context, string) (bool, error) { return failing }, "enabled/unhealthy", "last lookup error: inbox lookup failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t, nil)
			rv := newReceiver(t)
			tc.setup(sim, rv)
			received := rv.received
			if tc.received != nil {
				received = tc.received(rv)
			}
			k, rep, logs := checkerFor(t, sim, received, 300*time.Millisecond)
			r := k.Check(context.Background())
			if r.Healthy || !strings.Contains(r.Problem, tc.problem) {
				t.Fatalf("Check = %+v, want unhealthy with %q", r, tc.problem)
			}
			if got := rep.list(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("reports = %q, want [%s]", got, tc.want)
			}
			if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "stream check: unhealthy") {
				t.Errorf("log = %q, want an error line", l)
			}
		})
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func TestCheckerRunRepeatsUntilCancelled(t *testing.T) {
	sim := newSim(t, nil)
	rv := newReceiver(t)
	must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
	c, _ := newClient(t, sim)
	rep := &reports{}
	k, err := NewChecker(c, CheckerConfig{Interval: time.Millisecond, PollInterval: time.Millisecond, Received: rv.received, Report: rep.report})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	testkit.Eventually(t, "3 checks reported", func() bool { return len(rep.list()) >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	for _, r := range rep.list() {
		if r != "enabled/healthy" {
			t.Errorf("report %q, want enabled/healthy", r)
		}
	}
}

func TestCheckerCancelledCheckNotReported(t *testing.T) {
	sim := newSim(t, nil)
	rv := newReceiver(t)
	must(t, sim.ConfigureStream(rv.URL+"/risc", googlesim.StreamEventTypes()))
	ctx, cancel := context.WithCancel(context.Background())
	received := func(context.Context, string) (bool, error) { cancel(); return false, nil }
	k, rep, logs := checkerFor(t, sim, received, 20*time.Second)
	if r := k.Check(ctx); r.Healthy {
		t.Errorf("Check = %+v, want not healthy", r)
	}
	if got := rep.list(); len(got) != 0 || logs.String() != "" {
		t.Errorf("a check cut short by shutdown reported %q and logged %q", got, logs.String())
	}
}

func TestNewCheckerConfig(t *testing.T) {
	sim := newSim(t, nil)
	c, _ := newClient(t, sim)
	ok := func(context.Context, string) (bool, error) { return true, nil }
	rep := func(string, bool) {}
	for _, tc := range []struct {
		name   string
		client *Client
		cfg    CheckerConfig
		want   []string
	}{
		{"empty", nil, CheckerConfig{}, []string{"client is nil", "interval", "received is nil", "report is nil"}},
		{"negative", c, CheckerConfig{Interval: time.Minute, Deadline: -1, Received: ok, Report: rep}, []string{"negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewChecker(tc.client, tc.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewChecker = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	k, err := NewChecker(c, CheckerConfig{Interval: time.Minute, Received: ok, Report: rep})
	if err != nil || k.cfg.Deadline != time.Minute || k.cfg.PollInterval != time.Second || k.cfg.Logger == nil || k.cfg.Now == nil {
		t.Errorf("defaults: %+v %v", k, err)
	}
}
