package receiver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
)

// observations records what a receiver reports to Config.Observe.
type observations struct {
	mu  sync.Mutex
	got []receiver.Observation
}

func (o *observations) observe(ob receiver.Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, ob)
}

// take returns the observations recorded since the last take.
func (o *observations) take() []receiver.Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	got := o.got
	o.got = nil
	return got
}

func TestObserveReportsEachOutcome(t *testing.T) {
	obs := &observations{}
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) { cfg.Observe = obs.observe })
	sub := googlesim.DefaultUsers()[0].Sub
	tok := mustSign(t, h.g, googlesim.SessionsRevoked(sub))
	for _, tc := range []struct {
		name       string
		send       func() answer
		wantStatus int
		want       receiver.Observation
	}{
		{"accepted", func() answer { return post(t, h.url, tok) }, http.StatusAccepted,
			receiver.Observation{Transmitter: "google", Outcome: receiver.OutcomeAccepted}},
		{"duplicate", func() answer { return post(t, h.url, tok) }, http.StatusAccepted,
			receiver.Observation{Transmitter: "google", Outcome: receiver.OutcomeDuplicate}},
		{"rejected after the transmitter is known", func() answer {
			return post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub), googlesim.WithAudience("someone-else")))
		}, http.StatusBadRequest,
			receiver.Observation{Transmitter: "google", Outcome: receiver.OutcomeRejected, ErrCode: receiver.CodeInvalidAudience}},
		{"rejected before the transmitter is known", func() answer { return post(t, h.url, "not-a-jws") }, http.StatusBadRequest,
			receiver.Observation{Outcome: receiver.OutcomeRejected, ErrCode: receiver.CodeInvalidRequest}},
		{"untrusted issuer", func() answer {
			return post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub), googlesim.WithIssuer("https://other.example")))
		}, http.StatusBadRequest,
			receiver.Observation{Outcome: receiver.OutcomeRejected, ErrCode: receiver.CodeInvalidIssuer}},
		{"not a POST", func() answer {
			req, err := http.NewRequest(http.MethodGet, h.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			return do(t, req)
		}, http.StatusMethodNotAllowed,
			receiver.Observation{Outcome: receiver.OutcomeRejected, ErrCode: receiver.CodeInvalidRequest}},
		{"unavailable", func() answer {
			if err := h.db.Close(); err != nil {
				t.Fatal(err)
			}
			return post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub)))
		}, http.StatusServiceUnavailable,
			receiver.Observation{Transmitter: "google", Outcome: receiver.OutcomeUnavailable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs.take()
			if a := tc.send(); a.status != tc.wantStatus {
				t.Fatalf("answer = %d %q, want %d", a.status, a.body, tc.wantStatus)
			}
			// Observe runs before the answer is written: it is already there.
			got := obs.take()
			if len(got) != 1 {
				t.Fatalf("observations = %+v, want exactly one", got)
			}
			if got[0] != tc.want {
				t.Errorf("observation = %+v, want %+v", got[0], tc.want)
			}
		})
	}
}

func TestObserveMeasuresWithTheConfiguredClock(t *testing.T) {
	obs := &observations{}
	c := newClock()
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Observe = obs.observe
		// Every reading of the clock moves it a second on.
		cfg.Now = func() time.Time { c.Advance(time.Second); return c.Now() }
	})
	obs.take()
	wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"))))
	got := obs.take()
	if len(got) != 1 || got[0].Duration < time.Second {
		t.Errorf("observations = %+v, want one lasting at least the clock's second", got)
	}
}

// jwksReports records what a receiver reports to Config.ObserveJWKS.
type jwksReports struct {
	mu  sync.Mutex
	got []string // "transmitter ok" or "transmitter error"
}

func (j *jwksReports) observe(transmitter string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	j.got = append(j.got, transmitter+" "+outcome)
}

func (j *jwksReports) reports() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.got)
}

// waitReport waits until want is among j's reports.
func waitReport(tb testing.TB, j *jwksReports, want string) {
	tb.Helper()
	testkit.Eventually(tb, fmt.Sprintf("JWKS report %q", want), func() bool { return slices.Contains(j.reports(), want) })
}

func TestObserveJWKSReportsFetches(t *testing.T) {
	t.Run("a failed first load, then a success", func(t *testing.T) {
		c := newClock()
		g := mustGoogle(t, c, mustRSAKeys(t, 1))
		if err := g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusServiceUnavailable, Count: 1}); err != nil {
			t.Fatal(err)
		}
		reports := &jwksReports{}
		cfg := baseConfig(t, c)
		cfg.Transmitters = []receiver.Transmitter{googleTransmitter(g)}
		cfg.Inbox = newFakeInbox()
		cfg.ObserveJWKS = reports.observe
		ep := mustReceiver(t, cfg)
		waitReady(t, ep.r)
		if got, want := reports.reports(), []string{"google error", "google ok"}; !slices.Equal(got, want) {
			t.Errorf("reports = %q, want %q", got, want)
		}
	})
	t.Run("every transmitter sharing a key set", func(t *testing.T) {
		c := newClock()
		g := mustGoogle(t, c, mustRSAKeys(t, 1))
		reports := &jwksReports{}
		cfg := baseConfig(t, c)
		cfg.Transmitters = []receiver.Transmitter{
			{Name: "a", Issuer: g.URL(), JWKSURL: g.URL() + googlesim.PathJWKS, Audiences: []string{"x"}},
			{Name: "b", Issuer: "https://other.example", JWKSURL: g.URL() + googlesim.PathJWKS, Audiences: []string{"x"}},
		}
		cfg.Inbox = newFakeInbox()
		cfg.ObserveJWKS = reports.observe
		ep := mustReceiver(t, cfg)
		waitReady(t, ep.r)
		// The keys are in place before the fetch is reported.
		waitReport(t, reports, "a ok")
		waitReport(t, reports, "b ok")
		got := reports.reports()
		slices.Sort(got)
		if want := []string{"a ok", "b ok"}; !slices.Equal(got, want) {
			t.Errorf("reports = %q, want %q", got, want)
		}
	})
	t.Run("a transmitter that joins a key set already loaded", func(t *testing.T) {
		// b's discovery answers only after a's keys are reported loaded,
		// so b joins the shared set after its first fetch: b must still
		// be told that fetch's outcome, once.
		c := newClock()
		g := mustGoogle(t, c, mustRSAKeys(t, 1))
		reports := &jwksReports{}
		aLoaded := make(chan struct{})
		var once sync.Once
		disco := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-aLoaded:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":"https://other.example","jwks_uri":%q}`, g.URL()+googlesim.PathJWKS)
		}))
		t.Cleanup(disco.Close)
		cfg := baseConfig(t, c)
		cfg.Transmitters = []receiver.Transmitter{
			{Name: "a", Issuer: g.URL(), JWKSURL: g.URL() + googlesim.PathJWKS, Audiences: []string{"x"}},
			{Name: "b", ConfigurationURL: disco.URL, Audiences: []string{"x"}},
		}
		cfg.Inbox = newFakeInbox()
		cfg.ObserveJWKS = func(transmitter string, err error) {
			reports.observe(transmitter, err)
			if transmitter == "a" && err == nil {
				once.Do(func() { close(aLoaded) })
			}
		}
		ep := mustReceiver(t, cfg)
		waitReady(t, ep.r)
		if got, want := reports.reports(), []string{"a ok", "b ok"}; !slices.Equal(got, want) {
			t.Errorf("reports = %q, want %q", got, want)
		}
	})
	t.Run("a failed unknown-kid refetch", func(t *testing.T) {
		reports := &jwksReports{}
		h := mustGoogleReceiver(t, mustRSAKeys(t, 2), func(cfg *receiver.Config) { cfg.ObserveJWKS = reports.observe })
		if err := h.g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.g.RotateKeys(false); err != nil {
			t.Fatal(err)
		}
		wantUnavailable(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"))))
		if got, want := reports.reports(), []string{"google ok", "google error"}; !slices.Equal(got, want) {
			t.Errorf("reports = %q, want %q", got, want)
		}
	})
	t.Run("a failed scheduled refresh", func(t *testing.T) {
		reports := &jwksReports{}
		h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
			cfg.ObserveJWKS = reports.observe
			cfg.MinRefresh, cfg.MaxRefresh = time.Second, time.Second
		})
		if err := h.g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
			t.Fatal(err)
		}
		waitReport(t, reports, "google error")
		if got := reports.reports(); got[0] != "google ok" {
			t.Errorf("first report = %q, want google ok", got[0])
		}
	})
}
