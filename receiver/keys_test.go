package receiver_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
)

func TestKeyRotationNeedsOneRefetch(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 3), nil)
	sub := googlesim.DefaultUsers()[0].Sub
	wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub))))
	loads := jwksRequests(h.g)

	if _, err := h.g.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	rotated := mustSign(t, h.g, googlesim.SessionsRevoked(sub))
	wantAccepted(t, post(t, h.url, rotated))
	if got := jwksRequests(h.g) - loads; got != 1 {
		t.Fatalf("key set fetches for a rotation = %d, want 1", got)
	}
	// The new key is now known: no further fetch for the next tokens.
	for range 3 {
		wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub))))
	}
	if got := jwksRequests(h.g) - loads; got != 1 {
		t.Errorf("key set fetches after the new key is known = %d, want still 1", got)
	}
	if got := inboxCount(t, h.db); got != 5 {
		t.Errorf("inbox entries = %d, want 5", got)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 3), nil)
	sub := googlesim.DefaultUsers()[0].Sub
	loads := jwksRequests(h.g)

	// A flood of unknown kids, one every 2 s, costs a fetch after 2 s,
	// 4 s, then every 5 s (UnknownKidRefetch): at 0, 2, 6, 12 and 18 s. A
	// kid that caused a fetch is refused; the others, inside the gap, are
	// asked to come back (503): the set may have changed since, and a
	// refusal would make the transmitter drop its event.
	for i := range 10 {
		a := post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub), googlesim.WithKeyID("unknown")))
		switch i {
		case 0, 1, 3, 6, 9:
			if a.status != http.StatusBadRequest || a.err != receiver.CodeInvalidKey {
				t.Fatalf("unknown kid #%d: answer = %d %q, want 400 invalid_key", i, a.status, a.err)
			}
		default:
			wantUnavailable(t, a)
		}
		h.clock.Advance(2 * time.Second)
	}
	if got := jwksRequests(h.g) - loads; got != 5 {
		t.Fatalf("key set fetches for 10 unknown kids within 20 s = %d, want 5", got)
	}

	// A rotation a moment after the last fetch (18 s; the clock is at
	// 20 s): its first token, inside the 5 s, is answered 503, not
	// refused, and costs no fetch.
	if _, err := h.g.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	rotated := mustSign(t, h.g, googlesim.SessionsRevoked(sub))
	a := post(t, h.url, rotated)
	wantUnavailable(t, a)
	// The transmitter is asked back when a refetch is allowed again, not
	// after the 30 s other temporary faults ask for.
	if got := a.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5 (UnknownKidRefetch)", got)
	}
	if got := jwksRequests(h.g) - loads; got != 5 {
		t.Fatalf("key set fetches = %d, want still 5", got)
	}
	if got := inboxCount(t, h.db); got != 0 {
		t.Fatalf("inbox entries = %d, want 0", got)
	}

	// Past 5 s since the last refetch, the transmitter's retry fetches
	// again and is accepted: no event lost.
	h.clock.Advance(3 * time.Second)
	wantAccepted(t, post(t, h.url, rotated))
	if got := jwksRequests(h.g) - loads; got != 6 {
		t.Errorf("key set fetches = %d, want 6", got)
	}
	if got := inboxCount(t, h.db); got != 1 {
		t.Errorf("inbox entries = %d, want 1", got)
	}

	// That fetch brought a new kid: the next rotation, a second later, is
	// fetched at once.
	h.clock.Advance(time.Second)
	if _, err := h.g.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked(sub))))
	if got := jwksRequests(h.g) - loads; got != 7 {
		t.Errorf("key set fetches = %d, want 7", got)
	}
}

func TestJWKSOutageAtStart(t *testing.T) {
	c := newClock()
	g := mustGoogle(t, c, mustRSAKeys(t, 1))
	if err := g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	db := mustStore(t)
	cfg := baseConfig(t, c)
	cfg.Transmitters = []receiver.Transmitter{googleTransmitter(g)}
	cfg.Inbox = db.InboxWriter()
	ep := mustReceiver(t, cfg)

	tok := mustSign(t, g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
	for range 3 {
		wantUnavailable(t, post(t, ep.url, tok))
	}
	if err := ep.r.Ready(); !errors.Is(err, receiver.ErrNotReady) {
		t.Errorf("Ready() = %v, want ErrNotReady", err)
	}
	if got := inboxCount(t, db); got != 0 {
		t.Fatalf("inbox entries during the outage = %d, want 0", got)
	}

	g.ClearFaults()
	waitReady(t, ep.r)
	wantAccepted(t, post(t, ep.url, tok))
	if got := inboxCount(t, db); got != 1 {
		t.Errorf("inbox entries after recovery = %d, want 1", got)
	}
}

func TestDiscoveryOutageAtStart(t *testing.T) {
	c := newClock()
	g := mustGoogle(t, c, mustRSAKeys(t, 1))
	if err := g.SetFault(googlesim.EndpointRISCConfiguration, googlesim.Fault{Status: http.StatusInternalServerError}); err != nil {
		t.Fatal(err)
	}
	db := mustStore(t)
	cfg := baseConfig(t, c)
	cfg.Transmitters = []receiver.Transmitter{googleTransmitter(g)}
	cfg.Inbox = db.InboxWriter()
	ep := mustReceiver(t, cfg)

	tok := mustSign(t, g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
	// The issuer is unknown until discovery succeeds: 503, never 400.
	wantUnavailable(t, post(t, ep.url, tok))
	// Even an issuer nobody configured: it might be the undiscovered one.
	wantUnavailable(t, post(t, ep.url, mustSign(t, g, googlesim.SessionsRevoked("1"), googlesim.WithIssuer("https://other.example"))))
	// A token no transmitter could ever send is still refused at once.
	if a := post(t, ep.url, mustSign(t, g, googlesim.SessionsRevoked("1"), googlesim.WithAlgNone())); a.status != http.StatusBadRequest {
		t.Errorf("alg none during discovery: status = %d, want 400", a.status)
	}
	if err := ep.r.Ready(); !errors.Is(err, receiver.ErrNotReady) {
		t.Errorf("Ready() = %v, want ErrNotReady", err)
	}

	g.ClearFaults()
	waitReady(t, ep.r)
	wantAccepted(t, post(t, ep.url, tok))
	if a := post(t, ep.url, mustSign(t, g, googlesim.SessionsRevoked("1"), googlesim.WithIssuer("https://other.example"))); a.err != receiver.CodeInvalidIssuer {
		t.Errorf("unknown issuer once discovered: answer = %d %q, want invalid_issuer", a.status, a.err)
	}
	if got := inboxCount(t, db); got != 1 {
		t.Errorf("inbox entries after recovery = %d, want 1", got)
	}
}

func TestJWKSOutageDuringRotationKeepsOldKeys(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 2), nil)
	sub := googlesim.DefaultUsers()[0].Sub
	signedBefore := mustSign(t, h.g, googlesim.SessionsRevoked(sub))

	if err := h.g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.g.RotateKeys(true); err != nil {
		t.Fatal(err)
	}
	rotated := mustSign(t, h.g, googlesim.SessionsRevoked(sub))
	loads := jwksRequests(h.g)

	// The new kid cannot be fetched: 503, so Google retries.
	wantUnavailable(t, post(t, h.url, rotated))
	// Inside the refetch interval, still 503 (the last refetch failed), and no fetch.
	wantUnavailable(t, post(t, h.url, rotated))
	if got := jwksRequests(h.g) - loads; got != 1 {
		t.Errorf("key set fetches = %d, want 1", got)
	}
	// Keys loaded before the outage still verify.
	wantAccepted(t, post(t, h.url, signedBefore))

	h.g.ClearFaults()
	h.clock.Advance(receiver.DefaultUnknownKidRefetch)
	wantAccepted(t, post(t, h.url, rotated))
	if got := inboxCount(t, h.db); got != 2 {
		t.Errorf("inbox entries = %d, want 2: nothing lost", got)
	}
}

func TestJWKSHangingDoesNotHangRequests(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 2), func(cfg *receiver.Config) {
		cfg.FetchTimeout = 200 * time.Millisecond
	})
	if err := h.g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.g.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"))))
}

// heldTransport holds back key set requests once armed: it tells started
// of each and sends it when release closes.
type heldTransport struct {
	mu      sync.Mutex
	armed   bool
	started chan struct{}
	release chan struct{}
}

func (h *heldTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	armed := h.armed && strings.HasSuffix(req.URL.Path, googlesim.PathJWKS)
	h.mu.Unlock()
	if armed {
		h.started <- struct{}{}
		<-h.release
	}
	return http.DefaultTransport.RoundTrip(req)
}

// A transmitter that hangs up while its SET's unknown kid is being
// refetched does not stop the refetch: the key serves its retry, and no
// JWKS error is reported.
func TestHangUpDuringRefetch(t *testing.T) {
	reports := &jwksReports{}
	tr := &heldTransport{started: make(chan struct{}, 1), release: make(chan struct{})}
	observed := make(chan receiver.Observation, 10)
	h := mustGoogleReceiver(t, mustRSAKeys(t, 2), func(cfg *receiver.Config) {
		cfg.ObserveJWKS = reports.observe
		cfg.Observe = func(o receiver.Observation) { observed <- o }
		cfg.HTTPClient = &http.Client{Transport: tr}
	})
	if _, err := h.g.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	rotated := mustSign(t, h.g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub))
	loads := jwksRequests(h.g)

	tr.mu.Lock()
	tr.armed = true
	tr.mu.Unlock()
	ctx, hangUp := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(rotated))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", receiver.ContentTypeSET)
	sent := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		sent <- err
	}()
	<-tr.started // the refetch is on its way to the transmitter
	hangUp()
	if err := <-sent; !errors.Is(err, context.Canceled) {
		t.Fatalf("POST = %v, want the client's own cancellation", err)
	}
	if o := <-observed; o.Outcome != receiver.OutcomeUnavailable {
		t.Fatalf("hung-up request observed as %q, want %q", o.Outcome, receiver.OutcomeUnavailable)
	}
	tr.mu.Lock()
	tr.armed = false
	tr.mu.Unlock()
	close(tr.release) // the request has given up; the refetch goes on
	testkit.Eventually(t, "the refetch's JWKS report", func() bool { return len(reports.reports()) >= 2 })

	wantAccepted(t, post(t, h.url, rotated))
	if got := jwksRequests(h.g) - loads; got != 1 {
		t.Errorf("key set fetches = %d, want 1", got)
	}
	if got, want := reports.reports(), []string{"google ok", "google ok"}; !slices.Equal(got, want) {
		t.Errorf("JWKS reports = %q, want %q: a hang-up is no JWKS error", got, want)
	}
}
